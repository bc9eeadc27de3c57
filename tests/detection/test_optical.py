"""Optical vessel detector: synthetic Sentinel-2 scenes with known hulls, land, piers, clouds."""

from __future__ import annotations

import numpy as np
import pytest

from detection import InputArrayError, build_reference, detect_optical_vessels
from detection.optical import ndwi, to_reflectance
from detection.params import OpticalParams
from tests.factories import det_hull, det_optical_scene

PX = 10.0
SHAPE = (200, 200)


def _hull(row: float, col: float, length_px: float = 15, width_px: float = 3, heading: float = 60):
    return det_hull(
        SHAPE, row=row, col=col, length_px=length_px, width_px=width_px, heading_deg=heading
    )


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("heading", [0.0, 60.0, 120.0])
def test_ship_in_open_water(scaled: bool, heading: float) -> None:
    bands = det_optical_scene(SHAPE, hulls=[_hull(100, 90, heading=heading)], scaled=scaled)
    vessels = detect_optical_vessels(bands, pixel_size_m=PX)
    assert len(vessels) == 1
    v = vessels[0]
    assert abs(v.row - 100) <= 1.0 and abs(v.col - 90) <= 1.0
    assert 110.0 <= v.length_m <= 190.0
    assert abs((v.heading_deg - heading + 90) % 180 - 90) <= 10.0
    assert v.score > OpticalParams().contrast_sigma


def test_empty_sea_gives_nothing() -> None:
    assert detect_optical_vessels(det_optical_scene((300, 300), seed=3), pixel_size_m=PX) == []


def test_swir_band_is_used_when_present() -> None:
    bands = det_optical_scene(SHAPE, hulls=[_hull(60, 60)], seed=4)
    rng = np.random.default_rng(4)
    swir = rng.normal(0.005, 0.002, SHAPE).astype(np.float32)
    swir[_hull(60, 60)] = 0.2
    bands["swir16"] = swir
    assert len(detect_optical_vessels(bands, pixel_size_m=PX)) == 1


def test_cloud_is_not_observed_and_never_a_ship() -> None:
    hull = _hull(100, 60)
    cloud = np.zeros(SHAPE, dtype=bool)
    cloud[70:130, 120:170] = True
    bands = det_optical_scene(SHAPE, hulls=[hull, cloud], seed=5)  # cloud: bright as a hull
    found = detect_optical_vessels(bands, pixel_size_m=PX, invalid_mask=cloud)
    assert [(round(v.row), round(v.col)) for v in found] == [(100, 60)]
    # A ship under the cloud is not reported: masked is "not observed", not "no ship".
    covered = detect_optical_vessels(bands, pixel_size_m=PX, invalid_mask=hull | cloud)
    assert covered == []


def test_land_and_its_shore_are_not_ships() -> None:
    land = np.zeros(SHAPE, dtype=bool)
    land[:, :80] = True
    bands = det_optical_scene(SHAPE, land=land, hulls=[_hull(100, 140)], seed=6)
    found = detect_optical_vessels(bands, pixel_size_m=PX)
    assert [(round(v.row), round(v.col)) for v in found] == [(100, 140)]


def _port(seed: int, ship: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    land = np.zeros(SHAPE, dtype=bool)
    land[:, :60] = True
    land[95:105, 60:150] = True  # a pier 90 px long, 10 px wide
    crane = np.zeros(SHAPE, dtype=bool)
    crane[60:64, 60:63] = True  # a crane over the water edge, in every scene
    hulls = [crane]
    if ship:
        hulls.append(_hull(108, 110, length_px=20, width_px=3, heading=90))  # touching the pier
    return det_optical_scene(SHAPE, land=land, hulls=hulls, seed=seed), land


def test_ship_touching_a_pier_is_found_with_a_reference() -> None:
    earlier = [_port(s, ship=False)[0] for s in range(10, 17)]
    reference = {b: build_reference([e[b] for e in earlier]) for b in earlier[0]}
    now, land = _port(30, ship=True)
    found = detect_optical_vessels(now, pixel_size_m=PX, reference=reference)
    assert len(found) == 1
    v = found[0]
    assert abs(v.row - 108) <= 1.5 and abs(v.col - 110) <= 2.0
    assert "changed_vs_reference" in v.flags
    quiet, _ = _port(31, ship=False)
    assert detect_optical_vessels(quiet, pixel_size_m=PX, reference=reference) == []


def test_ship_moored_stern_to_without_reference_is_flagged_moored() -> None:
    land = np.zeros(SHAPE, dtype=bool)
    land[:, :60] = True
    # Moored stern-to: the hull sticks out of the quay (a hull lying along a straight quay is
    # the quay's shape: only a reference separates it).
    hull = det_hull(SHAPE, row=100, col=69.5, length_px=20, width_px=4, heading_deg=90)
    bands = det_optical_scene(SHAPE, land=land, hulls=[hull], seed=8)
    # The stern-to search is off by default (on real ports it added only false objects once the
    # quay search was on); the quay search does not take a hull across the shore.
    on = OpticalParams(moored_search=True)
    found = detect_optical_vessels(bands, pixel_size_m=PX, params=on)
    assert len(found) == 1
    assert "moored_shape" in found[0].flags
    assert abs(found[0].row - 100) <= 1.5 and abs(found[0].col - 69.5) <= 3
    off = detect_optical_vessels(bands, pixel_size_m=PX, params=OpticalParams(moored_search=False))
    assert off == []
    bare = det_optical_scene(SHAPE, land=land, seed=8)
    assert detect_optical_vessels(bare, pixel_size_m=PX, params=on) == []


def test_missing_required_band_and_bad_shapes_raise() -> None:
    bands = det_optical_scene((20, 20))
    with pytest.raises(InputArrayError, match="nir"):
        detect_optical_vessels({"green": bands["green"]}, pixel_size_m=PX)
    with pytest.raises(InputArrayError, match="shape"):
        detect_optical_vessels({**bands, "red": bands["red"][:10]}, pixel_size_m=PX)
    with pytest.raises(InputArrayError, match="pixel_size_m"):
        detect_optical_vessels(bands, pixel_size_m=-1.0)


def test_all_nodata_is_empty() -> None:
    zeros = {b: np.zeros((30, 30), np.uint16) for b in ("green", "nir")}
    assert detect_optical_vessels(zeros, pixel_size_m=PX) == []


def test_reflectance_and_ndwi_helpers() -> None:
    assert to_reflectance(np.array([[10000]], np.uint16))[0, 0] == pytest.approx(1.0)
    assert to_reflectance(np.array([[0.3]], np.float32))[0, 0] == pytest.approx(0.3)
    assert to_reflectance(np.array([[3000.0]], np.float32))[0, 0] == pytest.approx(0.3)
    w = ndwi(np.array([0.05], np.float32), np.array([0.01], np.float32))
    assert w[0] > 0


def test_build_reference_median_ignores_invalid() -> None:
    a = np.ones((2, 2), np.float32)
    stack = [a, a * 3, a * 100]
    valid = [np.ones((2, 2), bool), np.ones((2, 2), bool), np.zeros((2, 2), bool)]
    assert np.allclose(build_reference(stack, valid=valid), 2.0)
    with pytest.raises(InputArrayError, match="at least one"):
        build_reference([])
    with pytest.raises(InputArrayError, match="one shape"):
        build_reference([a, np.ones((3, 3))])
