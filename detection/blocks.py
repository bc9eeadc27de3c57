"""Block-wise SAR detection with a halo: bounded memory, same detections as one pass.

A full Sentinel-1 IW scene is ~25,000 x 17,000 pixels (1.7 GB as float32, several times that
in temporaries). The image is cut into core blocks of ``block_px``; each is processed with a halo
of :func:`detection.sar.halo_px` pixels of context on every side, which covers everything a
candidate depends on (background ring, bright-cell exclusion, land estimate, object extent).
A candidate is kept by the block whose core holds its centre, so each object is found exactly
once; cross-object suppression (sidelobes, ghosts) then runs on the whole list. Block origins
and halos are multiples of the cell and land-block sizes, so every block sees the same cell grid
as a one-pass run.

*image* may be any 2-D array-like that supports ``shape``, ``dtype`` and slicing by
``(slice, slice)``: a numpy array, a ``numpy.memmap``, or a windowed reader over a file.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from detection.cfar import cell_size_px
from detection.errors import InputArrayError
from detection.intensity import Scale, detect_scale, to_intensity
from detection.land import land_block_cells
from detection.params import DEFAULT_SAR, SarParams
from detection.sar import (
    SarCandidate,
    background_factor,
    detect_sar_candidates,
    finalize_sar,
    halo_px,
)
from detection.types import Vessel

__all__ = ["ArraySource", "block_windows", "detect_sar_vessels_in_blocks"]

logger = logging.getLogger(__name__)


class ArraySource(Protocol):
    """A 2-D raster that can be read a window at a time."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    def __getitem__(self, key: tuple[slice, slice]) -> NDArray[Any]: ...


def block_windows(
    shape: tuple[int, int], block_px: int, halo: int
) -> Iterator[tuple[tuple[slice, slice], tuple[slice, slice]]]:
    """Yield ``(core, window)`` slice pairs tiling *shape*; windows add *halo* on every side.

    Examples
    --------
    >>> [(c[0].start, c[0].stop, w[0].start, w[0].stop) for c, w in block_windows((10, 4), 4, 2)
    ...  if c[1].start == 0]
    [(0, 4, 0, 6), (4, 8, 2, 10), (8, 10, 6, 10)]
    """
    m, n = shape
    for r0 in range(0, m, block_px):
        for c0 in range(0, n, block_px):
            r1, c1 = min(r0 + block_px, m), min(c0 + block_px, n)
            core = (slice(r0, r1), slice(c0, c1))
            window = (
                slice(max(r0 - halo, 0), min(r1 + halo, m)),
                slice(max(c0 - halo, 0), min(c1 + halo, n)),
            )
            yield core, window


def detect_sar_vessels_in_blocks(
    image: ArraySource,
    *,
    pixel_size_m: float,
    water_mask: ArraySource | None = None,
    valid_mask: ArraySource | None = None,
    reference: ArraySource | None = None,
    scale: Scale = "auto",
    params: SarParams = DEFAULT_SAR,
    block_px: int = 4096,
) -> list[Vessel]:
    """:func:`detection.detect_sar_vessels` block by block (see the module docstring).

    Parameters
    ----------
    image, water_mask, valid_mask, reference : array-like, shape (M, N)
        As for :func:`detection.detect_sar_vessels`, read one window at a time.
    pixel_size_m : float
    scale : {"auto", "linear", "db", "amplitude"}
        "auto" decides once for the whole image, from a sample of blocks.
    params : SarParams
    block_px : int
        Side of a core block (rounded up to whole cells); memory grows with
        ``(block_px + 2 * halo)**2``.

    Returns
    -------
    list of Vessel
        Identical to a one-pass run on the whole image.
    """
    shape = _shape2(image)
    for name, other in (
        ("water_mask", water_mask),
        ("valid_mask", valid_mask),
        ("reference", reference),
    ):
        if other is not None and tuple(other.shape) != shape:
            raise InputArrayError(
                f"{name} must have the image's shape {shape}. Got {tuple(other.shape)}."
            )
    if scale == "auto":
        scale = _global_scale(image, valid_mask, block_px)
    unit = _alignment(pixel_size_m, params)
    block = max(unit, math.ceil(block_px / unit) * unit)
    halo = math.ceil(halo_px(pixel_size_m, params) / unit) * unit
    cands: list[SarCandidate] = []
    for core, window in block_windows(shape, block, halo):
        cands.extend(
            _block_candidates(
                image, water_mask, valid_mask, reference, core, window, scale, pixel_size_m, params
            )
        )
    logger.debug("%d candidates from blocks of %d px (halo %d px)", len(cands), block, halo)
    return finalize_sar(cands, pixel_size_m=pixel_size_m, params=params)


def _shape2(image: ArraySource) -> tuple[int, int]:
    shape = tuple(image.shape)
    if len(shape) != 2:
        raise InputArrayError(
            f"image must be 2-D (rows, cols). Got shape {shape}; pass one band at a time."
        )
    return int(shape[0]), int(shape[1])


def _alignment(pixel_size_m: float, params: SarParams) -> int:
    """Pixels to which block origins are aligned: whole land blocks and background cells."""
    c = cell_size_px(params.cell_m, pixel_size_m)
    k = background_factor(c, pixel_size_m, params)
    return c * math.lcm(k, land_block_cells(c * pixel_size_m, params))


def _global_scale(image: ArraySource, valid: ArraySource | None, block_px: int) -> Scale:
    """The scale of the whole image, from up to nine blocks spread over it."""
    if np.dtype(image.dtype).kind in "iu":
        return "amplitude"
    m, n = _shape2(image)
    size = min(block_px, 1024)
    samples, masks = [], []
    for fr in (0.2, 0.5, 0.8):
        for fc in (0.2, 0.5, 0.8):
            r0 = max(0, min(int(fr * m) - size // 2, m - size))
            c0 = max(0, min(int(fc * n) - size // 2, n - size))
            win = (slice(r0, r0 + size), slice(c0, c0 + size))
            samples.append(np.asarray(image[win], dtype=np.float32).ravel())
            if valid is not None:
                masks.append(np.asarray(valid[win], dtype=bool).ravel())
    joined = np.concatenate(samples)[None, :]
    ok = None if valid is None else np.concatenate(masks)[None, :]
    return detect_scale(joined, ok)


def _block_candidates(
    image: ArraySource,
    water_mask: ArraySource | None,
    valid_mask: ArraySource | None,
    reference: ArraySource | None,
    core: tuple[slice, slice],
    window: tuple[slice, slice],
    scale: Scale,
    pixel_size_m: float,
    params: SarParams,
) -> list[SarCandidate]:
    valid = None if valid_mask is None else np.asarray(valid_mask[window], dtype=bool)
    x, ok, _ = to_intensity(np.asarray(image[window]), scale=scale, valid=valid)
    water = None if water_mask is None else np.asarray(water_mask[window], dtype=bool)
    ref = None
    if reference is not None:
        ref = to_intensity(np.asarray(reference[window]), scale=scale)[0]
    found = detect_sar_candidates(
        x,
        pixel_size_m=pixel_size_m,
        valid=ok,
        water=water,
        reference=ref,
        params=params,
        origin=(window[0].start, window[1].start),
        zero_is_nodata=np.dtype(image.dtype).kind == "f",
        zero_is_clipped=np.dtype(image.dtype).kind in "iu",
    )
    return [c for c in found if _in_core(c, core)]


def _in_core(cand: SarCandidate, core: tuple[slice, slice]) -> bool:
    """Whether the candidate's centre lies in the core block (pixel edges at +-0.5)."""
    row, col = cand.shape.row, cand.shape.col
    return bool(
        core[0].start - 0.5 <= row < core[0].stop - 0.5
        and core[1].start - 0.5 <= col < core[1].stop - 0.5
    )
