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
   resolution and harbour basins stay water;
5. with the pixels at hand, a cell whose 3x3-cell neighbourhood holds more than
   ``land_max_dark_share`` of *sea-dark* sub-cells (``land_dark_cell_m`` squares whose mean is
   below the local sea level + ``land_dark_db``) is water however bright its mean: open water
   crowded with moored hulls keeps much of its area at sea-clutter level, land rarely does
   (measured on the DEV chips: bench/README.md).

The estimate is deliberately conservative: a ship moored against the quay is usually taken
with the quay. A static water mask or a reference image is the cure (see
:func:`detection.detect_sar_vessels`).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from detection.cfar import CellStats
from detection.objects import dilate_3x3
from detection.params import SarParams

__all__ = ["estimate_land_cells", "land_block_cells"]

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
_V = TypeVar("_V", bound=np.generic)


def land_block_cells(cell_m: float, params: SarParams) -> int:
    """Side of a land-test block, in cells.

    Examples
    --------
    >>> land_block_cells(40.0, SarParams())
    5
    """
    return max(1, int(round(params.land_window_m / 2.0 / cell_m)))


def estimate_land_cells(
    stats: CellStats,
    *,
    cell_m: float,
    params: SarParams,
    image: NDArray[np.floating] | None = None,
    valid: Bool | None = None,
    cell_px: int = 0,
) -> Bool:
    """Cells that are land (see the module docstring).

    Parameters
    ----------
    stats : CellStats
        Per-cell sums of linear intensity.
    cell_m : float
        Cell side in metres.
    params : SarParams
        ``land_*``, ``sea_window_m`` and ``min_land_area_m2`` are used.
    image : ndarray of float, shape (M, N), optional
        The linear intensity *stats* were taken from (cell ``(i, j)`` = pixels
        ``i*c:(i+1)*c, j*c:(j+1)*c``). Without it, the sea-dark test (step 5) is skipped.
    valid : ndarray of bool, shape (M, N), optional
        Pixels of *image* that count in the sea-dark test. None: all.
    cell_px : int
        Cell side in pixels; needed with *image* (0: the sea-dark test is skipped).

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
    dark = None
    if image is not None and cell_px > 0 and params.land_max_dark_share < 1.0:
        dark = _DarkTest(image, valid, cell_px, cell_m, params)
    return _refine(cell_mean, land_blocks, level, factor, b, block_area, cell_m, dark)


def _block_median(cell_mean: F64, b: int) -> F64:
    """Median of the finite cell means of each ``b x b`` block (NaN where a block has none)."""
    m, n = cell_mean.shape
    mb, nb = -(-m // b), -(-n // b)
    if m % b or n % b:
        pad = np.full((mb * b, nb * b), np.nan)
        pad[:m, :n] = cell_mean
        cell_mean = pad
    # One copy, then an in-place sort: cell means are finite or NaN, and NaN sorts last.
    blocks = cell_mean.reshape(mb, b, nb, b).transpose(0, 2, 1, 3).copy().reshape(mb, nb, b * b)
    counts = b * b - np.isnan(blocks).sum(axis=2)
    blocks.sort(axis=2)
    lo = np.maximum((counts - 1) // 2, 0)
    hi = np.maximum(counts // 2, 0)
    if (counts == b * b).all():  # no fancy indexing in the usual, all-observed case
        med = 0.5 * (blocks[:, :, (b * b - 1) // 2] + blocks[:, :, b * b // 2])
    else:
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
    dark: _DarkTest | None = None,
) -> Bool:
    m, n = cell_mean.shape
    near = dilate_3x3(land_blocks)
    # Only the bounding box of the land's neighbourhood (plus a margin of two cells) is
    # worked on: open sea is skipped, and no hole or dilation reaches past the margin.
    rows, cols = np.nonzero(near.any(axis=1))[0], np.nonzero(near.any(axis=0))[0]
    r0, r1 = max(rows[0] * b - 2, 0), min(min((rows[-1] + 1) * b, m) + 2, m)
    c0, c1 = max(cols[0] * b - 2, 0), min(min((cols[-1] + 1) * b, n) + 2, n)
    box = (slice(r0, r1), slice(c0, c1))
    ii, jj = np.nonzero(_cells_of_blocks(near, b, box))
    bi, bj = (ii + r0) // b, (jj + c0) // b
    land = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    with np.errstate(invalid="ignore"):
        land[ii, jj] = _smoothed_at(cell_mean[box], ii, jj) > level[bi, bj] * factor
    if dark is not None:
        cell_level = _cells_of_blocks(level, b, box)
        land &= dark.share(box, cell_level, land) <= dark.max_share
    # Dark speckle and roads inside land are not water; real basins are larger.
    small = _small_holes(land, max_px=2.0 * block_area / (cell_m * cell_m))
    out = np.zeros((m, n), dtype=bool)
    # The coast's bright edge straddles the boundary cells: one cell of margin.
    out[box] = dilate_3x3(land | small)
    return out


def _cells_of_blocks(blocks: NDArray[_V], b: int, box: tuple[slice, slice]) -> NDArray[_V]:
    """The value of each cell of *box* (a window of the cell grid) taken from its block."""
    r0, r1, c0, c1 = box[0].start, box[0].stop, box[1].start, box[1].stop
    sub = blocks[r0 // b : (r1 - 1) // b + 1, c0 // b : (c1 - 1) // b + 1]
    full = np.repeat(np.repeat(sub, b, axis=0), b, axis=1)
    out: NDArray[_V] = full[r0 % b : r0 % b + r1 - r0, c0 % b : c0 % b + c1 - c0]
    return out


def _smoothed_at(values: F64, ii: NDArray[np.intp], jj: NDArray[np.intp]) -> F64:
    """Mean of the finite values of the 3 x 3 cells around each ``(ii, jj)`` (NaN if none).

    Only the cells near land are needed, so the neighbours are gathered there instead of
    filtering the whole box.
    """
    h, w = values.shape
    finite = np.isfinite(values)
    filled = np.zeros((h + 2, w + 2))
    filled[1:-1, 1:-1] = np.where(finite, values, 0.0)
    weight = np.zeros((h + 2, w + 2))
    weight[1:-1, 1:-1] = finite
    flat = (ii + 1) * (w + 2) + (jj + 1)
    total = np.zeros(flat.size)
    count = np.zeros(flat.size)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            idx = flat + (dr * (w + 2) + dc)
            total += np.take(filled, idx)
            count += np.take(weight, idx)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: F64 = total / count
    return out


def _small_holes(land: Bool, *, max_px: float) -> Bool:
    """Regions of non-land (4-connected) enclosed by land, of fewer than *max_px* cells.

    ``binary_fill_holes`` then a size filter, in one labelling: a hole is a component of the
    complement that does not touch the border.
    """
    labels, n = ndimage.label(~land)
    if n == 0:
        return np.zeros(land.shape, dtype=bool)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes < max_px
    keep[0] = False
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        keep[edge] = False
    out: Bool = keep[labels]
    return out


class _DarkTest:
    """Share of sea-dark sub-cells around each cell (step 5 of the module docstring).

    Sub-cells (``land_dark_cell_m``, ``k x k`` per cell, uneven when ``k`` does not divide the
    cell) average a few pixels so that speckle and the dark gaps between the bright points
    of a town do not count as sea; a sea of hulls keeps whole sub-cells at clutter level.
    Only the window of cells near land is read.
    """

    def __init__(
        self,
        image: NDArray[np.floating],
        valid: Bool | None,
        cell_px: int,
        cell_m: float,
        params: SarParams,
    ) -> None:
        self.image, self.valid = image, valid
        self.c = cell_px
        self.k = max(1, min(self.c, int(round(cell_m / params.land_dark_cell_m))))
        self.factor = 10.0 ** (params.land_dark_db / 10.0)
        self.max_share = params.land_max_dark_share

    def share(self, box: tuple[slice, slice], cell_level: F64, cells: Bool) -> F64:
        """Share of sea-dark sub-cells in the 3 x 3 cells around each of *cells* (in *box*).

        Only the pixels of *cells* and their neighbours are read (the land candidates: a
        textured open sea gives scattered ones over a whole scene).
        """
        h, w = cells.shape
        need = np.nonzero(dilate_3x3(cells))
        dark = np.zeros((h, w))
        seen = np.zeros((h, w))
        dark[need], seen[need] = self._counts(
            need[0] + box[0].start, need[1] + box[1].start, cell_level[need]
        )
        ii, jj = np.nonzero(cells)
        n_dark, n_seen = _sum_3x3_at(dark, ii, jj), _sum_3x3_at(seen, ii, jj)
        out = np.zeros((h, w))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[ii, jj] = np.where(n_seen > 0, n_dark / n_seen, 0.0)
        return out

    def _counts(self, ci: NDArray[np.intp], cj: NDArray[np.intp], level: F64) -> tuple[F64, F64]:
        """Sea-dark and observed sub-cells of cells ``(ci, cj)`` (whole-grid indices)."""
        c, k = self.c, self.k
        m, n = self.image.shape
        off = np.arange(c)
        rows, cols = ci[:, None] * c + off, cj[:, None] * c + off
        inside = (rows < m)[:, :, None] & (cols < n)[:, None, :]
        r = np.minimum(rows, m - 1)[:, :, None]
        q = np.minimum(cols, n - 1)[:, None, :]
        x = np.where(inside, self.image[r, q], 0.0).astype(np.float64)
        wt = inside if self.valid is None else inside & self.valid[r, q]
        x *= wt
        starts = (np.arange(k) * c) // k
        tot = np.add.reduceat(np.add.reduceat(x, starts, axis=1), starts, axis=2)
        cnt = np.add.reduceat(
            np.add.reduceat(wt.astype(np.float64), starts, axis=1), starts, axis=2
        )
        with np.errstate(invalid="ignore"):
            dark = (cnt > 0) & (tot < (level * self.factor)[:, None, None] * cnt)
        return dark.sum(axis=(1, 2)).astype(np.float64), (cnt > 0).sum(axis=(1, 2)).astype(
            np.float64
        )


def _sum_3x3_at(values: F64, ii: NDArray[np.intp], jj: NDArray[np.intp]) -> F64:
    """Sum of the 3 x 3 cells of *values* around each ``(ii, jj)`` (outside counts 0)."""
    padded = np.pad(values, 1)
    total = np.zeros(ii.size)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            total += padded[ii + dr, jj + dc]
    return total
