"""Optical detector without a reference: hulls moored alongside a straight quay (quay_bulge)."""

from __future__ import annotations

import numpy as np
import pytest

from detection import detect_optical_vessels
from detection.params import OpticalParams
from tests.factories import det_hull, det_optical_scene

PX = 10.0
SHAPE = (200, 200)


def _quay(angle_deg: float = 0.0) -> np.ndarray:
    """Land left of a straight quay line through (100, 60), tilted by *angle_deg* from vertical."""
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]]
    t = np.radians(angle_deg)
    # Signed distance from the quay line (positive towards the water).
    d = (cc - 60) * np.cos(t) + (rr - 100) * np.sin(t)
    out: np.ndarray = d < 0
    return out


def _alongside(row: float, length_px: float, beam_px: float, angle_deg: float = 0.0) -> np.ndarray:
    """A hull lying against the quay of :func:`_quay`, its long side on the quay line."""
    t = np.radians(angle_deg)
    off = beam_px / 2.0  # centre one half-beam off the quay line, into the water
    r = row + off * np.sin(t) - (row - 100) * (1 - np.cos(t))
    c = 60 + off * np.cos(t) - (row - 100) * np.sin(t)
    return det_hull(
        SHAPE, row=r, col=c, length_px=length_px, width_px=beam_px, heading_deg=angle_deg
    )


@pytest.mark.parametrize("angle_deg", [0.0, 30.0])
def test_hull_alongside_a_straight_quay_is_found(angle_deg: float) -> None:
    # 200 m x 30 m, as bright as the quay: in the NDWI mask it is part of the land.
    hull = _alongside(100, 20, 3, angle_deg)
    bands = det_optical_scene(SHAPE, land=_quay(angle_deg), hulls=[hull], seed=21)
    found = detect_optical_vessels(bands, pixel_size_m=PX)
    assert len(found) == 1
    v = found[0]
    assert "quay_bulge" in v.flags
    rr, cc = np.nonzero(hull)
    assert abs(v.row - rr.mean()) <= 2 and abs(v.col - cc.mean()) <= 2
    assert 150 <= v.length_m <= 240 and 20 <= v.width_m <= 45
    assert abs((v.heading_deg - angle_deg + 90) % 180 - 90) <= 10
    off = OpticalParams(quay_search=False)
    assert detect_optical_vessels(bands, pixel_size_m=PX, params=off) == []


@pytest.mark.parametrize("angle_deg", [0.0, 30.0])
def test_straight_quay_alone_is_not_a_ship(angle_deg: float) -> None:
    bands = det_optical_scene(SHAPE, land=_quay(angle_deg), seed=22)
    assert detect_optical_vessels(bands, pixel_size_m=PX) == []


def test_two_hulls_end_to_end_are_two_ships() -> None:
    # Moored in line with a 20 m gap: the water in the gap ends each hull's bulge.
    hulls = [_alongside(80, 15, 3), _alongside(98, 15, 3)]
    bands = det_optical_scene(SHAPE, land=_quay(), hulls=hulls, seed=23)
    found = sorted(detect_optical_vessels(bands, pixel_size_m=PX), key=lambda v: v.row)
    assert [round(v.row) for v in found] == pytest.approx([80, 98], abs=2)
    assert all("quay_bulge" in v.flags for v in found)


def test_shallow_step_and_short_quay_are_not_ships() -> None:
    land = _quay()
    land[90:110, 60] = True  # a 1-pixel step (10 m): unresolved, like a shoreline's mixed pixels
    land[:, 150:] = True  # a 2 km quay across the basin, straight
    bands = det_optical_scene(SHAPE, land=land, seed=24)
    assert detect_optical_vessels(bands, pixel_size_m=PX) == []


def test_bad_quay_parameters_raise() -> None:
    with pytest.raises(ValueError, match="quay_line_m"):
        OpticalParams(quay_line_m=0.0)
