"""Container stacks: TEU interval, 10 m footprints (S2, S1), not-observed handling, change, VHR."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection import DetectionError
from detection.containers import (
    TEU_FOOTPRINT_M2,
    StackParams,
    TeuAssumptions,
    YardStacks,
    compare_yards,
    count_containers_vhr,
    estimate_teu,
    measure_container_stacks,
)
from detection.errors import InputArrayError
from tests.factories import (
    CONTAINERS_BLOCKS,
    containers_s1_yard,
    containers_s2_yard,
    containers_vhr_yard,
)

#: The footprint's true TEU under the assumption set's own central tiers and packing.
_A = TeuAssumptions()


def _teu(area_m2: float, tiers: float, packing: float) -> float:
    return area_m2 * tiers * packing / TEU_FOOTPRINT_M2


def _s2(bands: Any, yard: Any, **kw: Any) -> YardStacks:
    return measure_container_stacks(
        bands, sensor="sentinel-2", pixel_size_m=10.0, yard_mask=yard, **kw
    )


# --- TEU arithmetic -------------------------------------------------------------------------


def test_teu_central_is_the_formula_and_the_interval_brackets_it() -> None:
    est = estimate_teu(10_000.0, pixel_size_m=10.0, perimeter_m=400.0)
    assert est.central == pytest.approx(10_000 * 2.5 * 0.75 / (6.06 * 2.44))
    assert est.low < est.central < est.high
    # The area bounds are the edge-pixel rule: perimeter x pixel / 2.
    assert est.area_low_m2 == pytest.approx(8_000.0)
    assert est.area_high_m2 == pytest.approx(12_000.0)
    assert "tiers 1.5/2.5/3.5" in est.assumptions and "packing 0.55/0.75/0.9" in est.assumptions


def test_teu_worst_case_is_wider_than_quadrature() -> None:
    quad = estimate_teu(5_000.0, pixel_size_m=10.0, perimeter_m=300.0)
    worst = estimate_teu(
        5_000.0,
        pixel_size_m=10.0,
        perimeter_m=300.0,
        assumptions=TeuAssumptions(combine="worst_case"),
    )
    assert worst.central == pytest.approx(quad.central)
    assert worst.low < quad.low and worst.high > quad.high
    assert worst.low == pytest.approx(3_500 * 1.5 * 0.55 / TEU_FOOTPRINT_M2)


def test_teu_of_nothing_is_zero_and_a_sliver_cannot_go_negative() -> None:
    zero = estimate_teu(0.0, pixel_size_m=10.0, perimeter_m=0.0)
    assert (zero.low, zero.central, zero.high) == (0.0, 0.0, 0.0)
    sliver = estimate_teu(100.0, pixel_size_m=10.0, perimeter_m=40.0)
    assert sliver.low == 0.0 < sliver.central < sliver.high


@settings(max_examples=60, deadline=None)
@given(
    area=st.floats(0.0, 1e6),
    perimeter=st.floats(0.0, 1e4),
    px=st.floats(0.3, 30.0),
)
def test_teu_interval_is_ordered(area: float, perimeter: float, px: float) -> None:
    est = estimate_teu(area, pixel_size_m=px, perimeter_m=perimeter)
    assert 0.0 <= est.low <= est.central <= est.high


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tiers_low": 3.0}, "tiers must satisfy"),
        ({"packing_high": 1.2}, "packing must satisfy"),
        ({"combine": "average"}, "combine must be one of"),
    ],
)
def test_bad_assumptions_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputArrayError, match=match):
        TeuAssumptions(**kwargs)  # type: ignore[arg-type]


def test_bad_teu_inputs_are_refused_with_both_error_roots() -> None:
    with pytest.raises(DetectionError, match="area_m2 must be"):
        estimate_teu(-1.0, pixel_size_m=10.0, perimeter_m=0.0)
    with pytest.raises(ValueError, match="pixel_size_m must be"):
        estimate_teu(1.0, pixel_size_m=0.0, perimeter_m=0.0)


# --- Sentinel-2 footprints --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_s2_footprint_of_a_yard_is_found_within_a_fifth(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bands, yard, true_m2 = containers_s2_yard(rng, CONTAINERS_BLOCKS)
    res = _s2(bands, yard)
    # A faint block may be set aside as doubtful (not observed), never as empty.
    assert res.observed_fraction > 0.97
    assert res.area_m2 == pytest.approx(true_m2, rel=0.2)
    # The outline sits on the blocks, not beside them (shadows, blur).
    cover = res.cover
    assert cover.max() <= 1.0 and cover[~yard].sum() == 0
    assert res.teu is not None and res.teu_extrapolated is res.teu
    for tiers, packing in ((2.0, 0.8), (3.0, 0.7)):
        assert res.teu.contains(_teu(true_m2, tiers, packing))


def test_s2_integer_dns_and_reflectance_give_the_same_answer() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(3), CONTAINERS_BLOCKS[:4])
    as_float = {k: v.astype(np.float64) / 10_000 for k, v in bands.items()}
    stacked = np.stack([bands[b] for b in ("blue", "green", "red", "nir")])
    a, b, c = _s2(bands, yard), _s2(as_float, yard), _s2(stacked, yard)
    assert a.area_m2 == pytest.approx(b.area_m2) == pytest.approx(c.area_m2)
    assert np.array_equal(a.mask, c.mask)


def test_s2_empty_yard_has_no_stacks_and_says_so() -> None:
    bands, yard, true_m2 = containers_s2_yard(np.random.default_rng(4), [])
    res = _s2(bands, yard)
    assert true_m2 == 0.0
    assert res.area_m2 == 0.0 and not res.mask.any()
    assert res.teu is not None and res.teu.high == 0.0
    assert res.flags == ("no_stacks_seen",)


def test_s2_shadows_are_not_stacks() -> None:
    rng = np.random.default_rng(5)
    blocks = [(25.0, 35.0, 120.0, 21.9, 0.0)]
    bands, yard, true_m2 = containers_s2_yard(rng, blocks, shadow_m=12.0)
    res = _s2(bands, yard)
    assert res.area_m2 == pytest.approx(true_m2, rel=0.2)
    rows = np.nonzero(res.mask.any(axis=1))[0]
    assert rows.max() <= 27  # the 22 m block spans rows 24-26; its shadow falls on 27-28


def test_s2_unflagged_haze_is_not_observed_rather_than_stacks() -> None:
    rng = np.random.default_rng(6)
    blocks = [(10.0, 15.0, 80.0, 13.6, 0.0)]
    bands, yard, true_m2 = containers_s2_yard(rng, blocks, haze=(32.0, 45.0, 6.0, 0.5))
    res = _s2(bands, yard)
    assert res.area_m2 == pytest.approx(true_m2, rel=0.25)
    assert 0.5 < res.observed_fraction < 0.99
    assert not res.observed_mask[32, 45]


def test_s2_cloud_over_part_of_the_yard_is_not_observed_not_zero() -> None:
    rng = np.random.default_rng(7)
    bands, yard, _ = containers_s2_yard(rng, CONTAINERS_BLOCKS)
    clear = _s2(bands, yard)
    cloud = np.zeros(yard.shape, bool)
    cloud[:, 35:] = True  # the eastern half, stacks and all, under cloud (SCL 8/9)
    res = _s2(bands, yard, invalid_mask=cloud)
    assert 0.35 < res.observed_fraction < 0.5
    assert "partly_observed" in res.flags
    assert not (res.mask & cloud).any() and not (res.observed_mask & cloud).any()
    # The estimate covers the observed (western) part only ...
    west = clear.cover[:, :30].sum() * 100.0
    assert res.area_m2 == pytest.approx(west, rel=0.25)
    assert res.teu is not None and clear.teu is not None and res.teu.central < clear.teu.central
    # ... and the extrapolation is explicit: low stays the observed low, central scales up.
    ext = res.teu_extrapolated
    assert ext is None  # under half observed: no extrapolation
    res_more = _s2(bands, yard, invalid_mask=np.pad(cloud[:, 45:], ((0, 0), (45, 0))))
    ext = res_more.teu_extrapolated
    assert ext is not None and res_more.teu is not None
    assert ext.low == res_more.teu.low
    assert ext.central == pytest.approx(res_more.teu.central / res_more.observed_fraction)
    assert "extrapolated from" in ext.assumptions


def test_s2_fully_clouded_yard_is_not_observed() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(8), CONTAINERS_BLOCKS)
    res = _s2(bands, yard, invalid_mask=np.ones(yard.shape, bool))
    assert res.observed_fraction == 0.0 and not res.observed
    assert res.teu is None and res.teu_extrapolated is None
    assert res.teu_low is None and res.assumptions == ""
    assert res.flags == ("not_observed",)


def test_s2_nodata_counts_as_not_observed() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(9), CONTAINERS_BLOCKS)
    cut = {k: v.copy() for k, v in bands.items()}
    for v in cut.values():
        v[:25] = 0  # outside the swath
    res = _s2(cut, yard)
    assert res.observed_fraction < 0.55
    assert not res.mask[:25].any()


def test_outline_rings_follow_the_mask() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(10), CONTAINERS_BLOCKS[:2])
    res = _s2(bands, yard)
    rings = res.outline_rings()
    assert rings and all(r.shape[1] == 2 for r in rings)
    rows, cols = np.nonzero(res.mask)
    for ring in rings:
        assert rows.min() - 1 <= ring[:, 0].min() and ring[:, 0].max() <= rows.max() + 1
        assert cols.min() - 1 <= ring[:, 1].min() and ring[:, 1].max() <= cols.max() + 1


# --- Sentinel-1 footprints --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_s1_footprint_of_a_yard_is_found_within_a_third(seed: int) -> None:
    vv, yard, true_m2 = containers_s1_yard(np.random.default_rng(seed), CONTAINERS_BLOCKS)
    res = measure_container_stacks(
        {"vv": vv}, sensor="sentinel-1", pixel_size_m=10.0, yard_mask=yard
    )
    assert res.area_m2 == pytest.approx(true_m2, rel=0.35)
    assert res.teu is not None and res.teu.contains(_teu(true_m2, 2.5, 0.8))


def test_s1_speckle_alone_is_not_stacks_and_nan_is_not_observed() -> None:
    vv, yard, _ = containers_s1_yard(np.random.default_rng(11), [])
    vv[:, :20] = np.nan
    res = measure_container_stacks(vv, sensor="sentinel-1", pixel_size_m=10.0, yard_mask=yard)
    assert res.area_m2 < 300.0
    assert res.observed_fraction == pytest.approx((yard[:, 20:].sum()) / yard.sum(), abs=0.01)


# --- change between observations -------------------------------------------------------------


def test_removed_blocks_show_as_a_drop_with_an_interval() -> None:
    rng = np.random.default_rng(12)
    before_bands, yard, before_m2 = containers_s2_yard(rng, CONTAINERS_BLOCKS)
    kept = CONTAINERS_BLOCKS[:5] + CONTAINERS_BLOCKS[7:]
    after_bands, _, after_m2 = containers_s2_yard(rng, kept)
    before, after = _s2(before_bands, yard), _s2(after_bands, yard)
    change = compare_yards(before, after)
    removed_m2 = before_m2 - after_m2
    assert change.removed_area_m2 == pytest.approx(removed_m2, rel=0.3)
    assert change.added_area_m2 < 0.1 * removed_m2
    assert change.removed.contains(_teu(removed_m2, 2.5, 0.8))
    assert change.net.central < 0 and change.net.contains(-_teu(removed_m2, 2.5, 0.8))
    assert change.observed_fraction == pytest.approx(1.0)
    # The removed outline is where the two blocks stood.
    assert change.removed_mask[31, 34] and change.removed_mask[31, 14]


def test_no_change_gives_nothing_added_or_removed() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(13), CONTAINERS_BLOCKS)
    res = _s2(bands, yard)
    change = compare_yards(res, res)
    assert change.added_area_m2 == change.removed_area_m2 == 0.0
    assert change.net.low == change.net.high == 0.0


def test_change_only_over_the_part_seen_twice() -> None:
    rng = np.random.default_rng(14)
    bands, yard, _ = containers_s2_yard(rng, CONTAINERS_BLOCKS)
    empty, _, _ = containers_s2_yard(rng, [])
    cloud = np.zeros(yard.shape, bool)
    cloud[:, :35] = True
    change = compare_yards(_s2(bands, yard), _s2(empty, yard, invalid_mask=cloud))
    assert 0.4 < change.observed_fraction < 0.6 and "partly_observed" in change.flags
    assert not (change.removed_mask[:, :35]).any()


def test_change_needs_the_same_grid() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(15), [])
    small = {k: v[:40, :60] for k, v in bands.items()}
    with pytest.raises(InputArrayError, match="share a grid"):
        compare_yards(_s2(bands, yard), _s2(small, yard[:40, :60]))


# --- input validation -------------------------------------------------------------------------


def test_bad_stack_inputs_are_refused() -> None:
    bands, yard, _ = containers_s2_yard(np.random.default_rng(16), [])
    with pytest.raises(InputArrayError, match="sensor must be one of"):
        measure_container_stacks(bands, sensor="landsat", pixel_size_m=10.0, yard_mask=yard)
    with pytest.raises(InputArrayError, match="lacks bands"):
        _s2({"red": bands["red"]}, yard)
    with pytest.raises(InputArrayError, match="yard_mask shape"):
        _s2(bands, yard[:10])
    with pytest.raises(InputArrayError, match="pixel_size_m must be"):
        measure_container_stacks(bands, sensor="sentinel-2", pixel_size_m=-1.0, yard_mask=yard)


def test_stack_params_are_frozen() -> None:
    with pytest.raises(AttributeError):
        StackParams().min_area_m2 = 1.0  # type: ignore[misc]


# --- very high resolution: counting boxes ------------------------------------------------------


@pytest.mark.parametrize(("seed", "angle"), [(1, 0.0), (2, 17.0), (3, 33.0), (4, 71.0)])
def test_vhr_counts_boxes_within_five_percent(seed: int, angle: float) -> None:
    rng = np.random.default_rng(seed)
    image, n_boxes, n_teu = containers_vhr_yard(rng, angle_deg=angle, noise=0.02)
    res = count_containers_vhr(image, pixel_size_m=0.5)
    assert abs(res.count - n_boxes) <= 0.05 * n_boxes
    assert res.count_low <= n_boxes <= res.count_high
    assert res.teu == pytest.approx(n_teu, rel=0.05)
    assert res.observed_fraction == 1.0
    assert set(np.unique(res.labels)) >= {0}
    widths = [b.width_m for b in res.boxes if not b.merged]
    assert np.median(widths) == pytest.approx(2.44, rel=0.2)


def test_vhr_forty_foot_boxes_count_once_and_two_teu() -> None:
    image = np.full((80, 80, 3), 0.45)
    image[20:25, 10:34] = (0.8, 0.2, 0.1)  # 12 x 2.5 m: one 40-ft box
    image[40:45, 10:22] = (0.1, 0.3, 0.7)  # 6 x 2.5 m: one 20-ft box
    image += np.random.default_rng(17).normal(0, 0.01, image.shape)
    res = count_containers_vhr(image, pixel_size_m=0.5)
    assert (res.count, res.teu) == (2, 3)
    headings = sorted(round(b.heading_deg) % 180 for b in res.boxes)
    assert all(abs(h - 90) <= 5 for h in headings)


def test_vhr_mask_limits_the_count_and_reports_what_was_seen() -> None:
    rng = np.random.default_rng(18)
    image, n_boxes, _ = containers_vhr_yard(rng, noise=0.02)
    half = np.zeros(image.shape[:2], bool)
    half[:, : image.shape[1] // 2] = True
    res = count_containers_vhr(image, pixel_size_m=0.5, mask=half)
    full = count_containers_vhr(image, pixel_size_m=0.5)
    assert res.observed_fraction == 1.0
    assert 0.3 * full.count < res.count < 0.7 * full.count
    assert not res.labels[:, image.shape[1] // 2 + 1 :].any()
    nan_image = image.copy()
    nan_image[: image.shape[0] // 2] = np.nan
    cut = count_containers_vhr(nan_image, pixel_size_m=0.5, mask=np.ones(half.shape, bool))
    assert cut.observed_fraction == pytest.approx(0.5, abs=0.01)


def test_vhr_empty_ground_has_no_boxes() -> None:
    image = 0.45 + np.random.default_rng(19).normal(0, 0.02, (100, 100, 3))
    res = count_containers_vhr(image, pixel_size_m=0.5)
    assert (res.count, res.teu, res.boxes) == (0, 0, ())


def test_vhr_refuses_coarse_pixels() -> None:
    with pytest.raises(InputArrayError, match=r"pixel_size_m must be in \(0, 1.5\]"):
        count_containers_vhr(np.zeros((10, 10)), pixel_size_m=3.0)


def test_vhr_single_band_still_counts_roughly() -> None:
    rng = np.random.default_rng(20)
    image, n_boxes, _ = containers_vhr_yard(rng, angle_deg=25.0, noise=0.02)
    res = count_containers_vhr(image.mean(axis=2), pixel_size_m=0.5)
    # Without colour, same-grey neighbours merge: looser, but the interval still holds it.
    assert abs(res.count - n_boxes) <= 0.15 * n_boxes
    assert math.isfinite(res.count_high)
