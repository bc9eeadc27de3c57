"""Block-wise optical detection gives exactly the one-pass detections."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from detection import detect_optical_vessels, detect_optical_vessels_in_blocks
from detection.errors import InputArrayError
from detection.optical import _object_reach_px, halo_px
from detection.params import OpticalParams
from tests.factories import det_hull, det_optical_scene

# Smaller hulls and windows than the defaults (same rules): a halo of ~100 px instead of ~214,
# so a scene several halos wide stays fast.
_SMALL = OpticalParams(
    max_length_m=300.0,
    max_width_m=60.0,
    background_m=400.0,
    quay_line_m=240.0,
    quay_scale_m=50.0,
    min_sea_area_m2=60000.0,
    max_hole_m2=30000.0,
)


def _harbour(shape: tuple[int, int], seed: int) -> tuple[dict[str, Any], np.ndarray]:
    """Land along the top with a straight quay, a moored hull, a marina comb, a mole, an
    island with a lake, open-water hulls (some across block edges), and a cloud."""
    rng = np.random.default_rng(seed)
    m, n = shape
    land = np.zeros(shape, dtype=bool)
    quay_row = m // 5
    land[:quay_row] = True
    land[quay_row : quay_row + 30, : n // 8] = True  # a basin corner
    for c in range(n // 2, n // 2 + 60, 6):  # marina: finger piers 1 px wide, 50 m long
        land[quay_row : quay_row + 5, c] = True
    land[quay_row : quay_row + 40, 3 * n // 4 : 3 * n // 4 + 3] = True  # a mole
    rr, cc = np.ogrid[:m, :n]
    island = (rr - 0.6 * m) ** 2 + (cc - 0.2 * n) ** 2 < 20**2
    lake = (rr - 0.6 * m) ** 2 + (cc - 0.2 * n) ** 2 < 6**2
    land |= island & ~lake
    hulls = [  # alongside the quay: a bulge of the land, 200 m x 30 m
        det_hull(shape, row=quay_row + 1.5, col=n // 4, length_px=20, width_px=3, heading_deg=90)
    ]
    # Open water well off the quay hull (the list merging drops quay bulges near objects).
    for _ in range(18):
        hulls.append(
            det_hull(
                shape,
                row=rng.uniform(quay_row + 130, m - 8),
                col=rng.uniform(8, n - 8),
                length_px=rng.uniform(3, 22),
                width_px=rng.uniform(1.5, 4),
                heading_deg=rng.uniform(0, 180),
            )
        )
    for edge in range(64, n, 64):  # across block edges (blocks of 32, 48, 64, 128, ...)
        hulls.append(
            det_hull(shape, row=m - 40, col=edge - 0.5, length_px=9, width_px=3, heading_deg=80)
        )
        if edge < m - 40 and edge > quay_row + 130:
            hulls.append(det_hull(shape, row=edge, col=30, length_px=12, width_px=3, heading_deg=5))
    bands = det_optical_scene(shape, land=land, hulls=hulls, seed=seed, scaled=True)
    cloud = (rr - 0.8 * m) ** 2 + (cc - 0.7 * n) ** 2 < 25**2
    return bands, cloud


@pytest.mark.parametrize("block_px", [48, 160])
def test_blocks_equal_one_pass(block_px: int) -> None:
    bands, cloud = _harbour((620, 560), seed=3)
    one = detect_optical_vessels(bands, pixel_size_m=10.0, invalid_mask=cloud, params=_SMALL)
    blocked = detect_optical_vessels_in_blocks(
        bands, pixel_size_m=10.0, invalid_mask=cloud, params=_SMALL, block_px=block_px
    )
    flags = {f for v in one for f in v.flags}
    assert len(one) >= 15 and "quay_bulge" in flags
    assert blocked == one


def test_blocks_equal_one_pass_with_reference_and_water_mask() -> None:
    shape = (420, 380)
    bands, cloud = _harbour(shape, seed=5)
    earlier = [_harbour(shape, seed=s)[0] for s in (6, 7, 8)]
    reference = {k: np.median([e[k] for e in earlier], axis=0) for k in ("green", "nir")}
    water = bands["nir"] < 500  # dark in NIR: water and the dark side of nothing
    for kw in ({"reference": reference}, {"water_mask": water}):
        one = detect_optical_vessels(
            bands, pixel_size_m=10.0, invalid_mask=cloud, params=_SMALL, **kw
        )
        blocked = detect_optical_vessels_in_blocks(
            bands, pixel_size_m=10.0, invalid_mask=cloud, params=_SMALL, block_px=64, **kw
        )
        assert len(one) >= 5
        assert blocked == one


@pytest.mark.parametrize("times", [1.0, 10000.0])
def test_float_bands_from_memory_maps(tmp_path: object, times: float) -> None:
    """Float reflectance (0..1 or x 10000, decided once for the scene), NaN nodata, memmaps."""
    bands, _ = _harbour((400, 330), seed=9)
    maps = {}
    for name, arr in bands.items():
        x = arr.astype(np.float32) * np.float32(times / 10000.0)
        x[:30, 200:] = np.nan  # nodata corner
        mm = np.memmap(f"{tmp_path}/{name}.f32", dtype=np.float32, mode="w+", shape=x.shape)
        mm[:] = x
        mm.flush()
        maps[name] = np.memmap(f"{tmp_path}/{name}.f32", dtype=np.float32, mode="r", shape=x.shape)
    arrays = {k: np.asarray(v) for k, v in maps.items()}
    one = detect_optical_vessels(arrays, pixel_size_m=10.0, params=_SMALL)
    blocked = detect_optical_vessels_in_blocks(maps, pixel_size_m=10.0, params=_SMALL, block_px=96)
    assert len(one) >= 5
    assert blocked == one


def test_default_parameters_and_moored_search() -> None:
    bands, cloud = _harbour((520, 480), seed=3)
    for params in (OpticalParams(), OpticalParams(moored_search=True)):
        one = detect_optical_vessels(bands, pixel_size_m=10.0, invalid_mask=cloud, params=params)
        blocked = detect_optical_vessels_in_blocks(
            bands, pixel_size_m=10.0, invalid_mask=cloud, params=params, block_px=200
        )
        assert len(one) >= 10
        assert blocked == one


def test_no_water_and_empty_scenes() -> None:
    bands = det_optical_scene((120, 100), land=np.ones((120, 100), bool), seed=1)
    assert detect_optical_vessels_in_blocks(bands, pixel_size_m=10.0, block_px=32) == []
    zeros = {k: np.zeros((50, 40), np.uint16) for k in ("green", "nir")}
    assert detect_optical_vessels_in_blocks(zeros, pixel_size_m=10.0) == []


def test_bad_input_raises() -> None:
    bands = det_optical_scene((60, 50), seed=1)
    with pytest.raises(InputArrayError, match="missing nir"):
        detect_optical_vessels_in_blocks({"green": bands["green"]}, pixel_size_m=10.0)
    with pytest.raises(InputArrayError, match="invalid_mask must have shape"):
        detect_optical_vessels_in_blocks(
            bands, pixel_size_m=10.0, invalid_mask=np.zeros((5, 5), bool)
        )
    with pytest.raises(InputArrayError, match="block_px"):
        detect_optical_vessels_in_blocks(bands, pixel_size_m=10.0, block_px=0)
    with pytest.raises(InputArrayError, match="pixel_size_m"):
        detect_optical_vessels_in_blocks(bands, pixel_size_m=-1.0)


def test_object_reach_bounds_random_connected_sets() -> None:
    """No pixel of a connected set lies further from its centre than the bound allows."""
    from detection.objects import measure_shape

    rng = np.random.default_rng(4)
    steps = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])
    for _ in range(300):
        walk = np.cumsum(steps[rng.integers(0, 8, size=rng.integers(2, 400))], axis=0)
        if rng.random() < 0.5:  # a compact body with a tail
            body = np.argwhere(np.ones((rng.integers(2, 15), rng.integers(2, 15)), bool))
            walk = np.concatenate([body, walk + body[-1]])
        pix = np.unique(walk, axis=0)
        s = measure_shape(pix[:, 0], pix[:, 1], pixel_size_m=1.0)
        far = np.hypot(pix[:, 0] - s.row, pix[:, 1] - s.col).max()
        assert far <= _object_reach_px(s.length_m, s.width_m, 0.0) + 1e-9


def test_halo_grows_with_the_features() -> None:
    base = halo_px(10.0)
    assert halo_px(10.0, OpticalParams(max_length_m=1000.0)) > base
    assert halo_px(10.0, OpticalParams(quay_search=False)) < base
    assert halo_px(20.0) < base
    # Hull-shaped objects reach about half their length: the bound is no less.
    assert _object_reach_px(52.0, 9.0, 0.5) >= math.hypot(26.0, 4.5)
