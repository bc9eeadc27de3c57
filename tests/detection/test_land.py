"""The SAR land estimate: water crowded with moored hulls is not land (sea-dark test)."""

from __future__ import annotations

import numpy as np
import pytest

from detection.cfar import cell_size_px, cell_stats
from detection.land import estimate_land_cells
from detection.params import SarParams

PX = 10.0
SEA = 0.01


def _port(seed: int) -> tuple[np.ndarray, slice, slice]:
    """Sea, land (rows 100-249, 17 dB above the sea), a channel packed with hulls, sea.

    Hulls: 30 m x 150 m, 30 dB above the sea, in rows 80 m apart (50 m of water between
    them), so that most 40 m cells of the channel hold hull pixels and the 200 m land-test
    blocks of the channel have a bright median.
    """
    rng = np.random.default_rng(seed)
    img = rng.gamma(4.4, SEA / 4.4, size=(600, 600)).astype(np.float32)
    img[100:250] = rng.gamma(4.4, 50 * SEA / 4.4, size=(150, 600))
    for r in range(252, 400, 8):
        for c in range(10, 590, 20):
            img[r : r + 3, c : c + 15] = 1000 * SEA
    return img, slice(110, 240), slice(260, 390)


def _land(img: np.ndarray, params: SarParams) -> np.ndarray:
    c = cell_size_px(params.cell_m, PX)
    stats = cell_stats(img, None, None, c)
    cells = estimate_land_cells(stats, cell_m=c * PX, params=params, image=img, cell_px=c)
    return np.kron(cells, np.ones((c, c), bool))[: img.shape[0], : img.shape[1]]


@pytest.mark.parametrize("seed", [0, 1])
def test_channel_of_hulls_is_water_and_land_stays_land(seed: int) -> None:
    img, land_rows, channel_rows = _port(seed)
    without = _land(img, SarParams(land_max_dark_share=1.0))
    # Without the test the channel is land: what the test is there to prevent.
    assert without[channel_rows].mean() > 0.5
    land = _land(img, SarParams())
    assert land[channel_rows].mean() < 0.1
    assert land[land_rows].mean() > 0.97
    assert not land[450:].any()
    assert not land[:80].any()


def test_sea_dark_test_needs_the_pixels() -> None:
    img, _, channel_rows = _port(0)
    p = SarParams()
    c = cell_size_px(p.cell_m, PX)
    cells = estimate_land_cells(cell_stats(img, None, None, c), cell_m=c * PX, params=p)
    # Without the image (only cell sums) the estimate is the one without the test.
    full = np.kron(cells, np.ones((c, c), bool))[:600, :600]
    assert np.array_equal(full, _land(img, SarParams(land_max_dark_share=1.0)))
    assert full[channel_rows].mean() > 0.5
