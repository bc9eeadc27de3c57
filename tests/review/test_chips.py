"""Image chips: crop, contrast stretch, outline, scale bar, reference median, overview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shapely.geometry import Point

from review.chips import ChipParams, render_detection_chips, render_overview, tile_position
from review.errors import ChipRenderError, ReviewError
from tests.factories import (
    imagery_port,
    review_detection,
    review_write_tile,
    review_zone_centre,
)

YELLOW = np.array([255, 221, 0])


@pytest.fixture(scope="module")
def port():  # type: ignore[no-untyped-def]
    return imagery_port("rajin")


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB")).astype(int)


def test_chip_shows_the_ship_outlined_and_the_reference_does_not(port, tmp_path: Path) -> None:
    lon, lat = review_zone_centre(port, "rajin-pier1-w")
    det = review_detection(port, "now", 0, lon, lat, length_m=120.0)
    now = review_write_tile(tmp_path / "now.tif", port, seed=1, ships=((lon, lat, 120.0),))
    earlier = [review_write_tile(tmp_path / f"e{k}.tif", port, seed=10 + k) for k in range(3)]
    p = ChipParams(size_px=48, upscale=4)
    chip, ref = render_detection_chips(
        now,
        geometry=det.geometry,
        chip_path=tmp_path / "chips" / "c.png",
        reference_tile_paths=earlier,
        reference_chip_path=tmp_path / "chips" / "c-ref.png",
        params=p,
    )
    assert ref is not None
    a, b = _pixels(chip), _pixels(ref)
    assert a.shape == b.shape == (192, 192, 3)
    # The footprint outline is drawn in yellow around the centre, in both chips.
    yellow = np.all(a == YELLOW, axis=-1)
    rows, cols = np.nonzero(yellow[:150])  # above the scale bar
    assert abs(rows.mean() - 96) < 6 and abs(cols.mean() - 96) < 6
    assert 120 / 10 * 4 <= cols.max() - cols.min() <= 120 / 10 * 4 + 12  # 120 m long, 4x
    assert (
        np.all(b == YELLOW, axis=-1).sum()
        == yellow[:150].sum() + np.all(a[150:] == YELLOW, axis=-1).sum()
    )
    # Inside the outline: the hull is saturated now, and ordinary sea in the reference median.
    inside = (slice(92, 98), slice(80, 112))
    assert a[inside].mean() > 200
    assert b[inside].mean() < 200
    # The scale bar: a white bar on black, bottom left.
    corner = a[170:, :100]
    assert (np.all(corner == 255, axis=-1)).sum() > 100
    assert (np.all(corner == 0, axis=-1)).sum() > 100


def test_no_reference_without_earlier_tiles(port, tmp_path: Path) -> None:
    lon, lat = review_zone_centre(port, "rajin-pier1-w")
    det = review_detection(port, "now", 0, lon, lat)
    tile = review_write_tile(tmp_path / "now.tif", port, seed=1)
    chip, ref = render_detection_chips(
        tile,
        geometry=det.geometry,
        chip_path=tmp_path / "c.png",
        reference_chip_path=tmp_path / "r.png",
    )
    assert chip.is_file() and ref is None and not (tmp_path / "r.png").exists()


def test_optical_chip_is_true_colour(port, tmp_path: Path) -> None:
    lon, lat = review_zone_centre(port, "rajin-pier1-w")
    det = review_detection(port, "now", 0, lon, lat)
    tile = review_write_tile(
        tmp_path / "opt.tif", port, seed=2, optical=True, ships=((lon, lat, 120.0),)
    )
    chip, _ = render_detection_chips(tile, geometry=det.geometry, chip_path=tmp_path / "c.png")
    px = _pixels(chip)
    # Bands differ (blue/green/red have different levels), so the chip is not grey everywhere.
    assert np.mean(np.abs(px[..., 0] - px[..., 2])) > 1


def test_chip_at_the_tile_edge_and_point_geometry(port, tmp_path: Path) -> None:
    grid = port.grid
    corner = port.to_lonlat(Point(grid.transform.c + 15, grid.transform.f - 15))  # pixel (1, 1)
    tile = review_write_tile(tmp_path / "t.tif", port, seed=3)
    chip, _ = render_detection_chips(
        tile,
        geometry=Point(corner.x, corner.y),
        chip_path=tmp_path / "c.png",
        params=ChipParams(size_px=32, upscale=2),
    )
    px = _pixels(chip)
    assert px.shape == (64, 64, 3)
    assert np.all(px[:20, :20] == 0)  # outside the tile: no data, black
    assert np.all(px == YELLOW, axis=-1).sum() > 10  # the circle around the point


def test_overview_and_position(port, tmp_path: Path) -> None:
    tile = review_write_tile(tmp_path / "t.tif", port, seed=4)
    out = render_overview(tile, out_path=tmp_path / "o.png", max_px=150)
    rows, cols = port.grid.shape
    with Image.open(out) as img:
        assert max(img.size) == 150
        assert img.size[0] / img.size[1] == pytest.approx(cols / rows, rel=0.02)
    centre = port.to_lonlat(Point(*(port.grid.transform @ (cols / 2, rows / 4))))
    r, c = tile_position(tile, centre)
    assert (r, c) == (pytest.approx(0.25, abs=1e-6), pytest.approx(0.5, abs=1e-6))


def test_unreadable_tile_is_a_chip_render_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    with pytest.raises(ChipRenderError, match="bad.tif: tile not readable"):
        render_detection_chips(bad, geometry=Point(130.3, 42.2), chip_path=tmp_path / "c.png")
    with pytest.raises(OSError):
        render_overview(tmp_path / "missing.tif", out_path=tmp_path / "o.png")
    assert issubclass(ChipRenderError, ReviewError)
