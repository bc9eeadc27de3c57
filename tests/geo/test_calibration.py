"""Sentinel-1 GRD calibration: DN -> sigma0 with the real annotation schema, and the GCP warp."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from geo.calibration import (
    LineLut,
    calibrate_sigma0,
    parse_calibration_xml,
    parse_noise_xml,
)
from geo.catalog import Scene
from geo.errors import CalibrationError
from geo.tiles import read_tile
from tests.factories import imagery_grd_product, imagery_port


@pytest.fixture(scope="module")
def port():  # type: ignore[no-untyped-def]
    return imagery_port("rajin")


@pytest.fixture(scope="module")
def grd(tmp_path_factory: pytest.TempPathFactory, port) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return imagery_grd_product(tmp_path_factory.mktemp("grd") / "S1A_IW_GRDH_TEST.SAFE", port)


def test_calibration_xml_vectors_are_read_in_line_order(grd) -> None:  # type: ignore[no-untyped-def]
    lut = parse_calibration_xml(Path(grd["calibration"]).read_bytes())
    assert lut.lines[0] == 0 and np.all(np.diff(lut.lines) > 0)
    assert len(lut.pixels) == len(lut.lines) == len(lut.values)
    assert lut.pixels[0][0] == 0 and lut.pixels[0][-1] == grd["dn"].shape[1] - 1
    assert lut.values[1][0] == pytest.approx(400.0 + 0.2 * 50)


def test_bilinear_interpolation_is_exact_for_linear_tables(grd) -> None:  # type: ignore[no-untyped-def]
    lut = parse_calibration_xml(Path(grd["calibration"]).read_bytes())
    rows, cols = grd["dn"].shape
    a = lut.interpolate(np.arange(rows), np.arange(cols))
    np.testing.assert_allclose(a, grd["a_sigma"], rtol=1e-9)
    noise = parse_noise_xml(Path(grd["noise"]).read_bytes())
    assert len(noise.azimuth) == 1
    np.testing.assert_allclose(
        noise.interpolate(np.arange(rows), np.arange(cols)), grd["eta"], rtol=1e-9
    )


def test_interpolation_between_vectors_with_different_pixels() -> None:
    lut = LineLut(
        np.array([0.0, 100.0]),
        (np.array([0.0, 50.0, 100.0]), np.array([0.0, 100.0])),
        (np.array([1.0, 2.0, 3.0]), np.array([5.0, 7.0])),
    )
    got = lut.interpolate([0, 50, 100, 150], [25, 100])
    # Row 50 is halfway: (1.5 + 5.5) / 2 at pixel 25, (3 + 7) / 2 at pixel 100; beyond: constant.
    np.testing.assert_allclose(got, [[1.5, 3.0], [3.5, 5.0], [5.5, 7.0], [5.5, 7.0]])


def test_sigma0_is_dn_squared_minus_noise_over_a_squared(grd) -> None:  # type: ignore[no-untyped-def]
    lut = parse_calibration_xml(Path(grd["calibration"]).read_bytes())
    noise = parse_noise_xml(Path(grd["noise"]).read_bytes())
    dn = grd["dn"]
    s0 = calibrate_sigma0(
        dn[50:150, 100:300], calibration=lut, noise=noise, row_off=50, col_off=100
    )
    assert s0.dtype == np.float32
    want = (dn[50:150, 100:300].astype(float) ** 2 - grd["eta"][50:150, 100:300]) / grd["a_sigma"][
        50:150, 100:300
    ] ** 2
    np.testing.assert_allclose(s0, np.maximum(want, 0), rtol=1e-5)
    truth = grd["sigma0"][50:150, 100:300]
    np.testing.assert_allclose(s0, truth, rtol=0.03)  # DN quantisation only


def test_zero_dn_is_no_data_and_negative_power_clips_to_zero() -> None:
    lut = LineLut(np.array([0.0]), (np.array([0.0, 10.0]),), (np.array([10.0, 10.0]),))
    noise_xml = (
        b"<noise><noiseVectorList><noiseVector><azimuthTime/><line>0</line>"
        b"<pixel>0 10</pixel><noiseLut>50 50</noiseLut></noiseVector></noiseVectorList></noise>"
    )  # the pre-2.9 layout
    noise = parse_noise_xml(noise_xml)
    s0 = calibrate_sigma0(np.array([[0, 5, 10]], dtype=np.uint16), calibration=lut, noise=noise)
    assert np.isnan(s0[0, 0]) and s0[0, 1] == 0.0
    assert s0[0, 2] == pytest.approx((100 - 50) / 100)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"not xml", "not readable XML"),
        (b"<noise/>", "root element is <noise>, expected <calibration>"),
        (b"<calibration><calibrationVectorList/></calibration>", "no vectors"),
        (
            b"<calibration><calibrationVectorList><calibrationVector><line>0</line>"
            b"<pixel>0 10 20</pixel><sigmaNought>1 2</sigmaNought></calibrationVector>"
            b"</calibrationVectorList></calibration>",
            "3 pixels but 2",
        ),
    ],
)
def test_bad_calibration_xml_is_a_clear_error(xml: bytes, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        parse_calibration_xml(xml, source="cal.xml")


def _grd_scene(grd: dict, port) -> Scene:  # type: ignore[no-untyped-def, type-arg]
    return Scene(
        id="S1A_IW_GRDH_TEST",
        collection="sentinel-1-grd",
        source="test",
        sensor="sar",
        platform="sentinel-1a",
        acquired_utc=dt.datetime(2023, 9, 2, 21, 30, tzinfo=dt.UTC),
        footprint=port.aoi.buffer(0.02),
        cloud_cover=None,
        assets={"vv": str(grd["vv"])},
        product="s1-grd-dn",
        aux_assets={"calibration-vv": str(grd["calibration"]), "noise-vv": str(grd["noise"])},
    )


def test_grd_tile_is_calibrated_and_warped_by_its_gcps_onto_the_grid(grd, port) -> None:  # type: ignore[no-untyped-def]
    tile = read_tile(_grd_scene(grd, port), port)
    assert tile.shape == port.grid.shape and tile.transform == port.grid.transform
    vv = tile.bands["vv"]
    r0, r1, c0, c1 = grd["box"]
    inside = np.zeros(port.grid.shape, bool)
    inside[r0:r1, c0:c1] = True
    core = ndimage.binary_erosion(inside, iterations=1)
    far = ~ndimage.binary_dilation(inside, iterations=2) & tile.valid
    # The bright box lands where it belongs (within a pixel), in calibrated linear sigma0.
    assert np.nanmin(vv[core]) > 0.6
    assert np.nanpercentile(vv[far], 99.9) < 0.05
    assert np.nanmedian(vv[far]) == pytest.approx(0.03, rel=0.03)
    assert tile.product == "s1-grd-dn" and tile.valid.mean() > 0.9


def test_grd_without_calibration_asset_is_refused(grd, port) -> None:  # type: ignore[no-untyped-def]
    from geo.errors import RasterMetadataError

    scene = Scene.from_dict(_grd_scene(grd, port).to_dict() | {"aux_assets": {}})
    with pytest.raises(RasterMetadataError, match="no calibration annotation"):
        read_tile(scene, port)
