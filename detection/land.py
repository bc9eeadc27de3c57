"""Estimating land in a SAR image that comes without a water mask.

Sea is dark and smooth at the scale of a few hundred metres; land is brighter (vegetation,
buildings, double bounce) over large areas. Working on the cell means of :mod:`detection.cfar`:

1. blocks of ``land_window_m / 2`` take the *median* of their cell means, so a ship (a few
   cells) never makes its block bright;
2. the local sea level is the darkest block median within ``sea_window_m``;
3. blocks brighter than the sea level by ``land_contrast_db`` form land when their connected
   area reaches ``min_land_area_m2`` (an island of bright sea clutter, a ship, an oil platform
   are smaller);
4. near such land, each cell (3x3-cell smoothed) is tested again, so quays are drawn at cell
   resolution and harbour basins stay water.

The estimate is deliberately conservative: a ship moored against the quay is usually taken
with the quay. A static water mask or a reference image is the cure (see
:func:`detection.detect_sar_vessels`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from detection.cfar import CellStats
from detection.objects import components_by_size
from detection.params import SarParams

__all__ = ["estimate_land_cells", "land_block_cells"]

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]


def land_block_cells(cell_m: float, params: SarParams) -> int:
    """Side of a land-test block, in cells.

    Examples
    --------
    >>> land_block_cells(40.0, SarParams())
    5
    """
    return max(1, int(round(params.land_window_m / 2.0 / cell_m)))


def estimate_land_cells(stats: CellStats, *, cell_m: float, params: SarParams) -> Bool:
    """Cells that are land (see the module docstring).

    Parameters
    ----------
    stats : CellStats
        Per-cell sums of linear intensity.
    cell_m : float
        Cell side in metres.
    params : SarParams
        ``land_*``, ``sea_window_m`` and ``min_land_area_m2`` are used.

    Returns
    -------
    ndarray of bool, shape of the cell grid
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_mean = np.where(stats.count > 0, stats.total / stats.count, np.nan)
    b = land_block_cells(cell_m, params)
    med = _block_median(cell_mean, b)
    finite = np.isfinite(med)
    if not finite.any():
        return np.zeros(cell_mean.shape, dtype=bool)
    sea_blocks = max(1, int(round(params.sea_window_m / (b * cell_m))))
    # Blocks of exact zeros (fill outside the swath, clipped displays) set no sea level.
    level = ndimage.minimum_filter(
        np.where(finite & (med > 0), med, np.inf), size=2 * (sea_blocks // 2) + 1, mode="nearest"
    )
    factor = 10.0 ** (params.land_contrast_db / 10.0)
    with np.errstate(invalid="ignore"):
        bright = finite & np.isfinite(level) & (med > level * factor)
    block_area = (b * cell_m) ** 2
    land_blocks = _large_components(bright, params.min_land_area_m2 / block_area)
    if not land_blocks.any():
        return np.zeros(cell_mean.shape, dtype=bool)
    return _refine(cell_mean, land_blocks, level, factor, b, block_area, cell_m)


def _block_median(cell_mean: F64, b: int) -> F64:
    m, n = cell_mean.shape
    mb, nb = -(-m // b), -(-n // b)
    pad = np.full((mb * b, nb * b), np.nan)
    pad[:m, :n] = cell_mean
    blocks = pad.reshape(mb, b, nb, b).transpose(0, 2, 1, 3).reshape(mb, nb, b * b)
    counts = np.isfinite(blocks).sum(axis=2)
    blocks = np.where(np.isfinite(blocks), blocks, np.inf)
    blocks.sort(axis=2)
    # Median of the finite values (NaN where a block has none).
    lo = np.maximum((counts - 1) // 2, 0)
    hi = np.maximum(counts // 2, 0)
    ii, jj = np.indices((mb, nb))
    med = 0.5 * (blocks[ii, jj, lo] + blocks[ii, jj, hi])
    out: F64 = np.where(counts > 0, med, np.nan)
    return out


def _large_components(mask: Bool, min_cells: float) -> Bool:
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    big = sizes >= min_cells
    big[0] = False
    out: Bool = big[labels]
    return out


def _refine(
    cell_mean: F64,
    land_blocks: Bool,
    level: F64,
    factor: float,
    b: int,
    block_area: float,
    cell_m: float,
) -> Bool:
    m, n = cell_mean.shape
    near = ndimage.binary_dilation(land_blocks, structure=np.ones((3, 3), bool))
    near_c = np.kron(near, np.ones((b, b), dtype=bool))[:m, :n]
    level_c = np.kron(level, np.ones((b, b)))[:m, :n]
    # Only the bounding box of the land's neighbourhood (plus a margin of two cells) is
    # worked on: open sea is skipped, and no hole or dilation reaches past the margin.
    rows, cols = np.nonzero(near_c.any(axis=1))[0], np.nonzero(near_c.any(axis=0))[0]
    r0, r1 = max(rows[0] - 2, 0), min(rows[-1] + 3, m)
    c0, c1 = max(cols[0] - 2, 0), min(cols[-1] + 3, n)
    box = (slice(r0, r1), slice(c0, c1))
    sub = cell_mean[box]
    filled = np.where(np.isfinite(sub), sub, 0.0)
    w = ndimage.uniform_filter(np.isfinite(sub).astype(np.float64), 3, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = ndimage.uniform_filter(filled, 3, mode="constant") / w
        land = near_c[box] & (smooth > level_c[box] * factor)
    # Dark speckle and roads inside land are not water; real basins are larger.
    holes = ndimage.binary_fill_holes(land) & ~land
    small = components_by_size(holes, max_px=2.0 * block_area / (cell_m * cell_m))
    out = np.zeros((m, n), dtype=bool)
    # The coast's bright edge straddles the boundary cells: one cell of margin.
    out[box] = ndimage.binary_dilation(land | small, structure=np.ones((3, 3), bool))
    return out
