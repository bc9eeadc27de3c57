"""Optical detector, shape rules: thin lines, marina combs and a hull's two shore ends."""

from __future__ import annotations

import numpy as np

from detection import detect_optical_vessels
from detection.params import OpticalParams
from tests.factories import det_hull, det_optical_scene

PX = 10.0
SHAPE = (200, 200)
MOORED = OpticalParams(moored_search=True)  # the stern-to search, off by default


def _quay() -> np.ndarray:
    land = np.zeros(SHAPE, dtype=bool)
    land[:, :60] = True
    return land


def test_long_thin_line_is_not_a_hull_but_a_ship_is() -> None:
    line = np.zeros(SHAPE, dtype=bool)
    line[50, 80:110] = True  # 1 pixel x 300 m: a quay edge, not a hull (300 / 20 m = 15)
    hull = det_hull(SHAPE, row=140, col=100, length_px=15, width_px=3, heading_deg=90)
    bands = det_optical_scene(SHAPE, hulls=[line, hull], seed=11)
    found = detect_optical_vessels(bands, pixel_size_m=PX)
    assert [(round(v.row), round(v.col)) for v in found] == [(140, 100)]
    loose = OpticalParams(max_elongation=1000.0)
    assert len(detect_optical_vessels(bands, pixel_size_m=PX, params=loose)) == 2


def test_one_pixel_strip_of_a_hull_alongside_is_kept() -> None:
    # A 120 m hull of which only a 1-pixel strip shows (half-hidden at a quay): its width is not
    # resolved, so the elongation test uses min_width_m (120 / 20 = 6 < 10).
    strip = np.zeros(SHAPE, dtype=bool)
    strip[100, 90:102] = True
    found = detect_optical_vessels(
        det_optical_scene(SHAPE, hulls=[strip], seed=12), pixel_size_m=PX
    )
    assert len(found) == 1 and abs(found[0].row - 100) <= 1


def _finger_piers(n: int, spacing_px: int) -> np.ndarray:
    land = _quay()
    for k in range(n):
        r = 60 + k * spacing_px
        land[r : r + 2, 60:67] = True  # 20 m wide, 70 m long piers
    return land


def test_marina_comb_is_not_moored_ships() -> None:
    comb = det_optical_scene(SHAPE, land=_finger_piers(6, 4), seed=13)
    found = detect_optical_vessels(comb, pixel_size_m=PX, params=MOORED)
    assert [v for v in found if "moored_shape" in v.flags] == []
    off = OpticalParams(moored_search=True, comb_min_neighbours=0, moored_pair_m=0.0)
    loose = detect_optical_vessels(comb, pixel_size_m=PX, params=off)
    assert len([v for v in loose if "moored_shape" in v.flags]) >= 4


def test_two_shore_ends_of_one_hull_are_one_vessel() -> None:
    land = _quay()
    bands = det_optical_scene(SHAPE, land=land, seed=14)
    # Bow and stern of a dark hull alongside flare out of the quay line: land by NDWI, too faint
    # against the water to seed an object of their own (only the shape search sees them).
    for r in (95, 102):
        bands["nir"][r : r + 3, 60:66] = 0.035
        bands["green"][r : r + 3, 60:66] = 0.03
    found = detect_optical_vessels(bands, pixel_size_m=PX, params=MOORED)
    found = [v for v in found if "moored_shape" in v.flags]
    assert len(found) == 1 and abs(found[0].row - 99) <= 1.5
    apart = OpticalParams(moored_search=True, moored_pair_m=0.0)
    split = detect_optical_vessels(bands, pixel_size_m=PX, params=apart)
    assert len([v for v in split if "moored_shape" in v.flags]) == 2
