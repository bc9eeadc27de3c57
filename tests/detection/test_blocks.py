"""Block-wise SAR detection gives exactly the one-pass detections."""

from __future__ import annotations

import numpy as np
import pytest

from detection import detect_sar_vessels
from detection.blocks import block_windows, detect_sar_vessels_in_blocks
from detection.params import SarParams
from tests.factories import det_hull, det_point_target, det_sea


def _scene(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sea with a strip of rough land and hulls scattered over it (some across block edges)."""
    rng = np.random.default_rng(seed)
    img = det_sea(shape, seed=seed)
    land = np.zeros(shape, dtype=bool)
    land[: shape[0] // 6] = True
    img[land] = rng.gamma(0.8, 0.25, size=land.sum())
    for _ in range(25):
        r = rng.uniform(shape[0] // 5, shape[0] - 10)
        c = rng.uniform(10, shape[1] - 10)
        hull = det_hull(
            shape,
            row=r,
            col=c,
            length_px=rng.uniform(3, 12),
            width_px=2,
            heading_deg=rng.uniform(0, 180),
        )
        img[hull] += 0.01 * 10 ** rng.uniform(1.2, 3.0)
    img += det_point_target(shape, row=shape[0] // 2, col=shape[1] // 3, peak=50.0)
    return img.astype(np.float32), land


@pytest.mark.parametrize(("pixel_size_m", "land_mask"), [(30.0, True), (10.0, False)])
def test_blocks_equal_one_pass(pixel_size_m: float, land_mask: bool) -> None:
    img, _ = _scene((1500, 1100), seed=1)
    params = SarParams(land_mask=land_mask)
    one = detect_sar_vessels(img, pixel_size_m=pixel_size_m, params=params)
    blocked = detect_sar_vessels_in_blocks(
        img, pixel_size_m=pixel_size_m, params=params, block_px=256
    )
    assert len(one) >= 15
    assert blocked == one


def test_blocks_read_a_memory_map(tmp_path: object) -> None:
    img, land = _scene((900, 700), seed=2)
    path = f"{tmp_path}/scene.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=img.shape)
    mm[:] = img
    mm.flush()
    ro = np.memmap(path, dtype=np.float32, mode="r", shape=img.shape)
    one = detect_sar_vessels(img, pixel_size_m=30.0, water_mask=~land)
    blocked = detect_sar_vessels_in_blocks(ro, pixel_size_m=30.0, water_mask=~land, block_px=200)
    assert blocked == one and len(one) >= 10


def test_block_windows_cover_the_image_once() -> None:
    seen = np.zeros((37, 23), dtype=int)
    for core, window in block_windows(seen.shape, 8, 3):
        seen[core] += 1
        assert window[0].start <= core[0].start and window[0].stop >= core[0].stop
    assert (seen == 1).all()
