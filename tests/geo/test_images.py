"""geo.images: local rasters for `berthwatch detect` (pixel sizes, grids, masks, GeoJSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS

from detection.types import Vessel
from geo.errors import (
    EmptyRasterError,
    GridMismatchError,
    MissingPixelSizeError,
    OutputWriteError,
    RasterReadError,
)
from geo.images import (
    check_not_empty,
    ground_pixel_size_m,
    open_band_set,
    open_raster,
    read_band_set,
    read_water_mask,
    read_with_valid,
    vessels_feature_collection,
    write_vessels_geojson,
)
from geo.transforms import pixels_to_lonlat
from tests.factories import det_write_raster

UTM = Affine(10, 0, 500_000, 0, -10, 4_600_000)


def test_pixel_size_from_utm_webmercator_and_geographic(tmp_path: Path) -> None:
    a = np.ones((20, 30), np.float32)
    utm = open_raster(det_write_raster(tmp_path / "u.tif", a, crs="EPSG:32633", transform=UTM))
    assert utm.pixel_size_m == pytest.approx(10.0, rel=1e-3)
    # Web Mercator at 44.4 N: 10 projection metres are 7.15 m on the ground.
    wm = Affine(10, 0, 985_900, 0, -10, 5_530_000)
    merc = open_raster(det_write_raster(tmp_path / "m.tif", a, crs="EPSG:3857", transform=wm))
    assert merc.pixel_size_m == pytest.approx(7.15, abs=0.05)
    # Geographic at 60 N: 0.0001 deg of longitude is 5.6 m, of latitude 11.1 m.
    geo = Affine(0.0001, 0, 10.0, 0, -0.0001, 60.0)
    ll = open_raster(det_write_raster(tmp_path / "g.tif", a, crs="EPSG:4326", transform=geo))
    assert ll.pixel_size_m == pytest.approx(0.5 * (5.58 + 11.14), abs=0.1)
    assert ground_pixel_size_m(CRS.from_epsg(32633), UTM, (5, 5)) == pytest.approx(10, rel=1e-3)


def test_pixel_size_option_overrides_and_is_required_without_georeference(tmp_path: Path) -> None:
    png = det_write_raster(tmp_path / "c.png", np.zeros((8, 8), np.uint8), driver="PNG")
    with pytest.raises(MissingPixelSizeError, match="--pixel-size"):
        open_raster(png)
    src = open_raster(png, pixel_size_m=5.0)
    assert src.pixel_size_m == 5.0 and not src.georeferenced
    tif = det_write_raster(tmp_path / "u.tif", np.ones((4, 4)), crs="EPSG:32633", transform=UTM)
    assert open_raster(tif, pixel_size_m=3.0).pixel_size_m == 3.0
    with pytest.raises(MissingPixelSizeError, match="> 0"):
        open_raster(tif, pixel_size_m=-1.0)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RasterReadError, match="file not found"):
        open_raster(tmp_path / "nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(RasterReadError, match="not a raster GDAL can read"):
        open_raster(bad)
    assert issubclass(RasterReadError, OSError)


def test_nodata_valid_mask_and_all_nodata(tmp_path: Path) -> None:
    a = np.full((10, 10), -20.0, np.float32)
    a[:, :3] = 0.0
    src = open_raster(
        det_write_raster(tmp_path / "db.tif", a, crs="EPSG:32633", transform=UTM, nodata=0.0)
    )
    data, valid = read_with_valid(src)
    assert valid is not None and valid[:, :3].sum() == 0 and valid[:, 3:].all()
    check_not_empty(src)
    empty = open_raster(
        det_write_raster(
            tmp_path / "e.tif",
            np.zeros((10, 10), np.float32),
            crs="EPSG:32633",
            transform=UTM,
            nodata=0.0,
        )
    )
    with pytest.raises(EmptyRasterError, match="nodata"):
        check_not_empty(empty, block_px=4)
    nan = open_raster(
        det_write_raster(
            tmp_path / "n.tif", np.full((5, 5), np.nan, np.float32), crs="EPSG:32633", transform=UTM
        )
    )
    with pytest.raises(EmptyRasterError):
        check_not_empty(nan)


def test_windows_read_like_the_array(tmp_path: Path) -> None:
    a = np.arange(200, dtype=np.float32).reshape(10, 20)
    src = open_raster(det_write_raster(tmp_path / "a.tif", a, crs="EPSG:32633", transform=UTM))
    assert np.array_equal(src[2:5, 7:19], a[2:5, 7:19])
    assert src.shape == (10, 20) and src.dtype == np.float32


def test_declared_scale_and_offset_give_physical_values(tmp_path: Path) -> None:
    # Sentinel-2 L2A since processing baseline 04.00: DN = 10000 * reflectance + 1000, declared
    # as scale 1e-4 and offset -0.1; read raw, every reflectance would be 0.1 too high.
    refl = np.array([[0.02, 0.05], [0.30, 0.0]], dtype=np.float32)
    dn = np.round(refl * 10000 + 1000).astype(np.uint16)
    path = det_write_raster(
        tmp_path / "b08.tif", dn, crs="EPSG:32633", transform=UTM, scale_offset=(1e-4, -0.1)
    )
    src = open_raster(path)
    assert (src.scale, src.offset) == pytest.approx((1e-4, -0.1)) and src.dtype == np.float32
    assert np.allclose(src.read(), refl, atol=1e-6)
    assert np.allclose(src[1:2, 0:2], refl[1:2], atol=1e-6)
    bands, _ = read_band_set({"nir": src})
    assert bands["nir"].dtype == np.float32 and np.allclose(bands["nir"], refl, atol=1e-6)
    # Without declared scaling the values are read as stored.
    plain = open_raster(
        det_write_raster(tmp_path / "plain.tif", dn, crs="EPSG:32633", transform=UTM)
    )
    assert plain.dtype == np.uint16 and np.array_equal(plain.read(), dn)
    # A zero scale is broken metadata: one line saying how to fix it.
    broken = det_write_raster(
        tmp_path / "broken.tif", dn, crs="EPSG:32633", transform=UTM, scale_offset=(0.0, 0.0)
    )
    with pytest.raises(RasterReadError, match="scale 0.0 .*gdal_edit.py"):
        open_raster(broken)


def test_band_set_must_share_one_grid(tmp_path: Path) -> None:
    a = np.ones((10, 10), np.uint16)
    g = det_write_raster(tmp_path / "g.tif", a, crs="EPSG:32633", transform=UTM)
    n = det_write_raster(tmp_path / "n.tif", a, crs="EPSG:32633", transform=UTM)
    shifted = det_write_raster(
        tmp_path / "s.tif", a, crs="EPSG:32633", transform=UTM @ Affine.translation(1, 0)
    )
    other_crs = det_write_raster(tmp_path / "c.tif", a, crs="EPSG:32634", transform=UTM)
    assert set(open_band_set({"green": g, "nir": n})) == {"green", "nir"}
    for bad in (shifted, other_crs):
        with pytest.raises(GridMismatchError, match="not on the grid"):
            open_band_set({"green": g, "nir": bad})
    smaller = det_write_raster(tmp_path / "x.tif", a[:5], crs="EPSG:32633", transform=UTM)
    with pytest.raises(GridMismatchError):
        open_band_set({"green": g, "nir": smaller})


def test_scl_band_becomes_invalid(tmp_path: Path) -> None:
    a = np.full((6, 6), 500, np.uint16)
    scl = np.full((6, 6), 6, np.uint8)
    scl[0, :] = 9  # cloud high probability
    scl[1, :] = 3  # cloud shadow
    paths = {
        "green": det_write_raster(tmp_path / "g.tif", a, crs="EPSG:32633", transform=UTM),
        "nir": det_write_raster(tmp_path / "n.tif", a, crs="EPSG:32633", transform=UTM),
        "scl": det_write_raster(tmp_path / "s.tif", scl, crs="EPSG:32633", transform=UTM),
    }
    arrays, invalid = read_band_set(open_band_set(paths))
    assert set(arrays) == {"green", "nir"}
    assert invalid is not None and invalid[:2].all() and not invalid[2:].any()


def test_water_mask_same_grid_reprojected_and_mismatched(tmp_path: Path) -> None:
    img = open_raster(
        det_write_raster(
            tmp_path / "i.tif", np.ones((40, 40), np.float32), crs="EPSG:32633", transform=UTM
        )
    )
    m = np.zeros((40, 40), np.uint8)
    m[:, 20:] = 1
    same = read_water_mask(
        det_write_raster(tmp_path / "m.tif", m, crs="EPSG:32633", transform=UTM), img
    )
    assert same[:, 20:].all() and not same[:, :20].any()
    # The same mask at 20 m pixels: resampled onto the 10 m grid.
    coarse = m[::2, ::2]
    t20 = Affine(20, 0, 500_000, 0, -20, 4_600_000)
    res = read_water_mask(
        det_write_raster(tmp_path / "c.tif", coarse, crs="EPSG:32633", transform=t20), img
    )
    assert res.shape == (40, 40) and res[:, 20:].all() and not res[:, :20].any()
    chip = det_write_raster(tmp_path / "p.png", m[:10], driver="PNG")
    with pytest.raises(GridMismatchError, match="water mask"):
        read_water_mask(chip, img)


def test_geojson_points_follow_geo_transforms(tmp_path: Path) -> None:
    src = open_raster(
        det_write_raster(
            tmp_path / "i.tif", np.ones((40, 40), np.float32), crs="EPSG:32633", transform=UTM
        )
    )
    v = Vessel(row=12.5, col=30.0, length_m=120.0, width_m=20.0, heading_deg=45.0, score=9.0)
    out = tmp_path / "o.geojson"
    assert write_vessels_geojson([v], out, src) == 1
    fc = json.loads(out.read_text())
    feat = fc["features"][0]
    lon, lat = pixels_to_lonlat([12.5], [30.0], UTM, "EPSG:32633")
    assert feat["geometry"]["coordinates"] == pytest.approx([lon[0], lat[0]], abs=1e-6)
    assert feat["properties"]["row"] == 12.5 and feat["properties"]["col"] == 30.0
    for key in ("length_m", "width_m", "heading_deg", "score"):
        assert key in feat["properties"]
    chip = open_raster(
        det_write_raster(tmp_path / "c.png", np.zeros((5, 5), np.uint8), driver="PNG"),
        pixel_size_m=10.0,
    )
    assert vessels_feature_collection([v], chip)["features"][0]["geometry"] is None
    assert vessels_feature_collection([], chip) == {"type": "FeatureCollection", "features": []}
    with pytest.raises(OutputWriteError, match="cannot write"):
        write_vessels_geojson([v], tmp_path / "no" / "dir" / "o.geojson", src)
