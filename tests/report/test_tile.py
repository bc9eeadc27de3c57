"""The latest-observation figure: tiles read for display, north arrow, chips."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from pyproj import Proj

from geo.ports import load_ports
from report._tile import TileMark, chip_data_uri, north_angle_deg, read_display_image, render_tile
from tests.factories import report_detection, report_write_chip, report_write_tile


def _png(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")


@pytest.mark.parametrize("port_id", ["rajin", "dunai"])
def test_north_arrow_follows_the_meridian_convergence(port_id: str) -> None:
    port = load_ports()[port_id]
    grid = port.grid
    centre = port.aoi.centroid
    # pyproj's meridian convergence: angle from true north to grid north, positive clockwise...
    convergence = Proj(grid.crs).get_factors(centre.x, centre.y).meridian_convergence
    angle = north_angle_deg(grid.transform, grid.crs, grid.shape)
    # ...so true north is that many degrees anticlockwise of grid "up".
    assert angle == pytest.approx(-convergence, abs=0.05)
    assert 0.3 < abs(angle) < 3  # both ports lie well off their zone's central meridian


def test_sar_tile_masks_invalid_pixels_and_uses_db(tmp_path: Path) -> None:
    port = load_ports()["rajin"]
    path = report_write_tile(tmp_path / "t.tif", port, sensor="sar", seed=1)
    disp = read_display_image(path)
    assert disp.image.shape == port.grid.shape
    assert np.isnan(disp.image[:12]).all()  # the factory's out-of-swath strip
    assert np.isfinite(disp.image[12:]).all()
    assert "SAR VV" in disp.description and "dB" in disp.description
    water = port.water_mask()[12:]
    assert np.nanmean(disp.image[12:][water]) < np.nanmean(disp.image[12:][~water])


def test_optical_tile_renders_rgb_with_outlines(tmp_path: Path) -> None:
    port = load_ports()["dunai"]
    det = report_detection(port, "S2", 0, "vessel", "dunai-pier-n", length_m=150.0)
    path = report_write_tile(tmp_path / "o.tif", port, sensor="optical", detections=[det], seed=2)
    disp = read_display_image(path)
    assert disp.image.shape == (*port.grid.shape, 3)
    assert "optical" in disp.description
    uri, _ = render_tile(path, port=port, marks=[TileMark(1, "vessel", det.geometry)], title="t")
    img = _png(uri)
    assert img.shape[0] > 300 and img.std() > 0.05
    # The vessel outline is drawn in red (#ff3b3b) somewhere on the figure.
    red = (img[..., 0] > 0.9) & (img[..., 1] < 0.35) & (img[..., 2] < 0.35)
    assert red.sum() > 20


def test_chip_png_is_embedded_as_is_and_tiff_is_rendered(tmp_path: Path) -> None:
    png = report_write_chip(tmp_path / "c.png")
    uri = chip_data_uri(png)
    assert base64.b64decode(uri.split(",", 1)[1]) == png.read_bytes()
    port = load_ports()["rajin"]
    tif = report_write_tile(tmp_path / "c.tif", port, sensor="sar")
    assert _png(chip_data_uri(tif)).shape[:2] == port.grid.shape
