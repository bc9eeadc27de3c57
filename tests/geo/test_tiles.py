"""geo.tiles offline: scenes onto the port grid, physical values, valid masks, the tile cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.catalog import Scene, open_source
from geo.errors import TileReadError
from geo.network import HttpParams
from geo.tiles import (
    SCL_NOT_OBSERVED,
    fetch_tile_to_cache,
    load_cached_tile,
    read_tile,
    tile_path,
)
from tests.factories import (
    imagery_port,
    imagery_s1_arrays,
    imagery_s2_arrays,
    imagery_sim_catalog,
    imagery_write_raster,
)

SEP1, SEP30 = dt.date(2023, 9, 1), dt.date(2023, 9, 30)


@pytest.fixture(scope="module")
def port():  # type: ignore[no-untyped-def]
    return imagery_port("rajin")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory, port) -> dict[str, Scene]:  # type: ignore[no-untyped-def]
    catalog = imagery_sim_catalog(tmp_path_factory.mktemp("tiles") / "cat", port)
    found = open_source(f"local:{catalog}").search(port, SEP1, SEP30)
    return {s.id: s for s in found}


def test_tiles_of_one_port_share_one_grid_exactly(scenes, port) -> None:  # type: ignore[no-untyped-def]
    tiles = [read_tile(s, port) for s in scenes.values()]
    assert {t.sensor for t in tiles} == {"sar", "optical"}
    for t in tiles:
        assert t.shape == port.grid.shape
        assert t.transform == port.grid.transform
        assert t.crs == port.grid.crs
        for band in t.bands.values():
            assert band.shape == port.grid.shape and band.dtype == np.float32


def test_sar_tile_is_linear_sigma0_with_swath_edge_not_observed(scenes, port) -> None:  # type: ignore[no-untyped-def]
    tile = read_tile(scenes["SIM_S1_rajin_20230902"], port)
    truth = imagery_s1_arrays(port, seed=0)
    # Source already on the port grid: values come back exactly.
    np.testing.assert_array_equal(tile.bands["vv"], truth["vv"])
    assert not tile.valid[:, :20].any() and tile.valid[:, 20:].all()
    assert tile.bands["vv"][100:104, 150:160].min() > 0.5  # the bright ship, linear units
    assert tile.simulated and tile.product == "sigma0" and tile.scl is None
    assert tile.valid_fraction == pytest.approx(1 - 20 / port.grid.shape[1])


def test_optical_tile_is_reflectance_and_clouds_are_not_observed(scenes, port) -> None:  # type: ignore[no-untyped-def]
    tile = read_tile(scenes["SIM_S2_rajin_20230907"], port)
    rows, cols = port.grid.shape
    dn = imagery_s2_arrays((rows + 6, cols + 6), seed=100)
    # The S2 grid starts 3 px left and 2 px above the port grid: a whole-pixel shift.
    expected_red = dn["red"][2 : 2 + rows, 3 : 3 + cols] * np.float32(1e-4) - np.float32(0.1)
    np.testing.assert_allclose(tile.bands["red"], expected_red, atol=1e-6)
    assert 0.0 < float(np.nanmean(tile.bands["red"])) < 0.1  # reflectance, not DN
    # SCL 9 (cloud) at 20 m rows 10..29, cols 40..69 -> port rows 18..57, cols 77..136.
    assert tile.scl is not None
    assert (tile.scl[18:58, 77:137] == 9).all() and not tile.valid[18:58, 77:137].any()
    assert (tile.scl[98:108, 197:217] == 3).all() and not tile.valid[98:108, 197:217].any()
    observed = ~np.isin(tile.scl, SCL_NOT_OBSERVED)
    np.testing.assert_array_equal(tile.valid, observed & np.isfinite(tile.bands["red"]))


def test_zone_valid_fraction_counts_observed_pixels_of_each_zone(scenes, port) -> None:  # type: ignore[no-untyped-def]
    tile = read_tile(scenes["SIM_S2_rajin_20230907"], port)
    assert set(tile.zone_valid_fraction) == {z.id for z in port.zones}
    for zone in port.zones:
        mask = port.zone_mask(zone.id)
        want = float(tile.valid[mask].mean()) if mask.any() else 0.0
        assert tile.zone_valid_fraction[zone.id] == pytest.approx(want)
        assert 0.0 <= tile.zone_valid_fraction[zone.id] <= 1.0


def test_other_crs_and_pixel_size_land_on_the_same_grid(tmp_path: Path, port) -> None:  # type: ignore[no-untyped-def]
    # A 20 m raster in the neighbouring UTM zone (EPSG:32653) covering Rajin.
    from pyproj import Transformer

    tf = Transformer.from_crs(4326, 32653, always_xy=True)
    minx, miny = tf.transform(port.aoi.bounds[0] - 0.02, port.aoi.bounds[1] - 0.02)
    maxx, maxy = tf.transform(port.aoi.bounds[2] + 0.02, port.aoi.bounds[3] + 0.02)
    shape = (int((maxy - miny) // 20), int((maxx - minx) // 20))
    data = np.full(shape, 0.25, dtype=np.float32)
    href = imagery_write_raster(
        tmp_path / "z53.tif",
        data,
        crs="EPSG:32653",
        transform=Affine(20.0, 0, minx, 0, -20.0, maxy),
        nodata=float("nan"),
    )
    scene = Scene(
        "Z53",
        "test",
        "test",
        "sar",
        "sentinel-1a",
        dt.datetime(2023, 9, 5, tzinfo=dt.UTC),
        port.aoi.buffer(0.01),
        None,
        {"vv": str(href)},
        product="sigma0",
    )
    tile = read_tile(scene, port)
    assert tile.transform == port.grid.transform and tile.shape == port.grid.shape
    assert tile.valid.all()
    np.testing.assert_allclose(tile.bands["vv"], 0.25, rtol=1e-6)


def test_scene_beside_the_grid_gives_an_empty_tile_not_an_error(tmp_path: Path, port) -> None:  # type: ignore[no-untyped-def]
    grid = port.grid
    far = Affine(10.0, 0, grid.transform.c + 50_000, 0, -10.0, grid.transform.f)
    href = imagery_write_raster(
        tmp_path / "far.tif", np.ones((50, 50), np.float32), crs=grid.crs, transform=far
    )
    scene = Scene(
        "FAR", "test", "test", "sar", "s1", dt.datetime(2023, 9, 5, tzinfo=dt.UTC),
        port.aoi, None, {"vv": str(href)}, product="sigma0",
    )  # fmt: skip
    tile = read_tile(scene, port)
    assert tile.shape == grid.shape and not tile.valid.any()
    assert all(v == 0.0 for v in tile.zone_valid_fraction.values())


def test_cache_is_a_cog_and_a_second_run_reads_from_it(scenes, port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scene = scenes["SIM_S2_rajin_20230907"]
    cache = tmp_path / "tiles"
    first = read_tile(scene, port, cache_dir=cache)
    path = tile_path(scene, port, cache_dir=cache)
    assert first.path == path and path == cache / "rajin" / "SIM_S2_rajin_20230907.tif"
    with rasterio.open(path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert list(ds.descriptions) == ["blue", "green", "red", "nir", "valid", "scl"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    again = load_cached_tile(path)
    for name, band in first.bands.items():
        np.testing.assert_array_equal(again.bands[name], band)
    np.testing.assert_array_equal(again.valid, first.valid)
    assert again.scl is not None and first.scl is not None
    np.testing.assert_array_equal(again.scl, first.scl)
    assert again.zone_valid_fraction == first.zone_valid_fraction
    assert (again.acquired_utc, again.simulated, again.source) == (
        first.acquired_utc,
        first.simulated,
        first.source,
    )
    # The second run never touches the source: make it unreadable and read again.
    broken = Scene.from_dict(scene.to_dict() | {"assets": {"red": str(tmp_path / "gone.tif")}})
    cached = read_tile(broken, port, cache_dir=cache)
    np.testing.assert_array_equal(cached.bands["red"], first.bands["red"])
    with pytest.raises(TileReadError, match="gone.tif"):
        read_tile(broken, port, params=HttpParams(retry_delay_s=0.0, attempts=2))


def test_fetch_tile_to_cache_returns_the_path_in_the_data_folder(scenes, port) -> None:  # type: ignore[no-untyped-def]
    from geo import settings

    scene = scenes["SIM_S1_rajin_20230914"]
    path = fetch_tile_to_cache(scene, port)
    assert path == settings.data_dir() / "tiles" / "rajin" / "SIM_S1_rajin_20230914.tif"
    assert load_cached_tile(path).scene_id == scene.id


def test_a_damaged_cached_tile_is_read_again(scenes, port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scene = scenes["SIM_S1_rajin_20230902"]
    path = tile_path(scene, port, cache_dir=tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"II*\x00 not a tiff")
    tile = read_tile(scene, port, cache_dir=tmp_path)
    assert load_cached_tile(path).valid.sum() == tile.valid.sum() > 0


@settings(max_examples=12, deadline=None)
@given(dr=st.integers(-40, 40), dc=st.integers(-40, 40))
def test_any_whole_pixel_shift_reads_back_onto_the_grid(
    port, tmp_path_factory, dr: int, dc: int
) -> None:  # type: ignore[no-untyped-def]
    grid = port.grid
    rows, cols = grid.shape
    data = np.arange((rows + 100) * (cols + 100), dtype=np.float32).reshape(rows + 100, cols + 100)
    t = Affine(
        10.0, 0, grid.transform.c - 10.0 * (50 + dc), 0, -10.0, grid.transform.f + 10.0 * (50 + dr)
    )
    href = imagery_write_raster(
        tmp_path_factory.mktemp("shift") / "s.tif", data, crs=grid.crs, transform=t
    )
    scene = Scene(
        "S", "t", "t", "sar", "s1", dt.datetime(2023, 9, 5, tzinfo=dt.UTC),
        port.aoi, None, {"vv": str(href)}, product="sigma0",
    )  # fmt: skip
    tile = read_tile(scene, port)
    np.testing.assert_array_equal(
        tile.bands["vv"], data[50 + dr : 50 + dr + rows, 50 + dc : 50 + dc + cols]
    )


def test_integer_radar_pixels_are_never_taken_for_sigma0(tmp_path: Path, port) -> None:  # type: ignore[no-untyped-def]
    from geo.catalog import scene_from_item
    from geo.errors import RasterMetadataError

    grid = port.grid
    href = imagery_write_raster(
        tmp_path / "dn.tif",
        np.full(grid.shape, 90, np.uint16),
        crs=grid.crs,
        transform=grid.transform,
    )
    scene = Scene(
        "DN", "t", "t", "sar", "s1", dt.datetime(2023, 9, 5, tzinfo=dt.UTC),
        port.aoi, None, {"vv": str(href)}, product="sigma0",
    )  # fmt: skip
    with pytest.raises(RasterMetadataError, match="uint16 values, not calibrated"):
        read_tile(scene, port)
    # A GRD item without its calibration annotation is a GRD all the same, and refused.
    item = {
        "id": "S1A_GRD", "collection": "sentinel-1-grd", "geometry": None,
        "bbox": list(port.aoi.bounds),
        "properties": {"datetime": "2023-09-05T21:30:00Z", "constellation": "sentinel-1"},
        "assets": {"vv": {"href": str(href)}},
    }  # fmt: skip
    grd = scene_from_item(item, source="t")
    assert grd is not None and grd.product == "s1-grd-dn"
    with pytest.raises(RasterMetadataError, match="no calibration annotation"):
        read_tile(grd, port)
