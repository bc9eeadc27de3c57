"""Block-wise Sentinel-2 detection: bounded memory, the same detections as one pass.

A full Sentinel-2 tile is 10,980 x 10,980 pixels; the one-pass detector needs ~140 bytes per
pixel (~16 GB). Here the scene is processed in three kinds of pass, none of which holds more
than a strip or a block of float pixels:

1. Scene-wide decisions, exact: whether float bands are reflectance x 10000 (the same sample
   of finite values as :func:`detection.optical.to_reflectance`, gathered strip by strip).
2. Scene-wide masks, exact: the water (NDWI without specks smaller than
   ``min_water_area_m2``), the search domain (water plus holes up to ``max_hole_m2``) and the
   open water (water bodies of ``min_sea_area_m2`` and more) depend on the size of connected
   regions, which no halo bounds (a river is one region). They are labelled strip by strip;
   regions cut by strip edges are joined as a graph (:func:`_strip_components`), and the masks
   are kept as bits (1/8 byte per pixel).
3. Detection block by block with a halo of :func:`detection.optical.halo_px` pixels: the
   background cells, pixel tests, objects and the quay and moored searches of one window. An
   object is kept by the block whose core holds its centre; the list rules (quay bulges not
   inside an object, combs of piers, a hull's two ends) then run on the scene's lists. Block
   origins and halos are whole background cells, so each block sees the one-pass cell grid.

The one place where the result can differ: with ``moored_search`` (off by default), a shore
protrusion that is counted in a comb is not size-limited, and one reaching further than the
halo from its centre can be measured from a cut copy (its centre then differs).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from detection import optical as _opt
from detection.blocks import ArraySource, block_windows
from detection.cfar import cell_size_px
from detection.errors import InputArrayError
from detection.params import DEFAULT_OPTICAL, OpticalParams
from detection.types import Vessel

__all__ = ["detect_optical_vessels_in_blocks"]

logger = logging.getLogger(__name__)

Bool = NDArray[np.bool_]
F32 = NDArray[np.float32]
Window = tuple[slice, slice]

# Pixels per strip in the scene-wide passes (a few float32 bands and int32 labels of a strip).
_STRIP_PX = 8_000_000


def detect_optical_vessels_in_blocks(
    bands: Mapping[str, ArraySource],
    *,
    pixel_size_m: float,
    water_mask: ArraySource | None = None,
    invalid_mask: ArraySource | None = None,
    reference: Mapping[str, ArraySource] | None = None,
    params: OpticalParams = DEFAULT_OPTICAL,
    block_px: int = 2048,
) -> list[Vessel]:
    """:func:`detection.detect_optical_vessels` block by block (see the module docstring).

    Parameters
    ----------
    bands, reference : mapping of str to array-like, shape (M, N)
        As for :func:`detection.detect_optical_vessels`, each read one window at a time
        (numpy arrays, memory maps, or windowed readers over files).
    pixel_size_m : float
    water_mask, invalid_mask : array-like of bool, shape (M, N), optional
    params : OpticalParams
    block_px : int
        Side of a core block (rounded up to whole background cells); memory grows with
        ``(block_px + 2 * halo)**2`` (halo ~220 pixels at 10 m with the defaults).

    Returns
    -------
    list of Vessel
        The one-pass detections (see the module docstring for the one exception).

    Raises
    ------
    InputArrayError
        As :func:`detection.detect_optical_vessels`, or if *block_px* is not a positive integer.
    """
    shape = _check(bands, reference, water_mask, invalid_mask, pixel_size_m, block_px)
    c = cell_size_px(params.cell_m, pixel_size_m)
    block = max(c, math.ceil(block_px / c) * c)
    scene = _Scene(bands, reference, water_mask, invalid_mask, pixel_size_m, params, shape, block)
    halo = math.ceil(_opt.halo_px(pixel_size_m, params) / c) * c
    parts = _opt._Parts()
    n_blocks = 0
    for core, window in block_windows(shape, block, halo):
        found = scene.find(window)
        if found is not None:
            _keep_core(found, core, parts)
            n_blocks += 1
    logger.debug("%d of the blocks of %d px (halo %d px) hold water", n_blocks, block, halo)
    return _opt._combine(
        parts, with_reference=reference is not None, pixel_size_m=pixel_size_m, params=params
    )


def _check(
    bands: Mapping[str, ArraySource],
    reference: Mapping[str, ArraySource] | None,
    water_mask: ArraySource | None,
    invalid_mask: ArraySource | None,
    pixel_size_m: float,
    block_px: int,
) -> tuple[int, int]:
    _opt._check_pixel_size(pixel_size_m)
    if isinstance(block_px, bool) or not isinstance(block_px, int) or block_px < 1:
        raise InputArrayError(f"block_px must be an integer >= 1. Got {block_px!r}.")
    _opt._check_band_names(bands, "bands")
    shape = tuple(int(s) for s in bands["nir"].shape)
    if len(shape) != 2:
        raise InputArrayError(f"bands['nir'] must be 2-D (rows, cols). Got shape {shape}.")
    named: list[tuple[str, ArraySource | None]] = [
        (f"bands[{k!r}]", v) for k, v in bands.items() if k in _opt.OPTICAL_BANDS
    ]
    if reference is not None:
        _opt._check_band_names(reference, "reference")
        named += [(f"reference[{k!r}]", v) for k, v in reference.items() if k in _opt.OPTICAL_BANDS]
    named += [("water_mask", water_mask), ("invalid_mask", invalid_mask)]
    for name, arr in named:
        if arr is not None and tuple(arr.shape) != shape:
            raise InputArrayError(
                f"{name} must have shape {shape} like the nir band. Got {tuple(arr.shape)}; "
                "resample it onto the same grid first."
            )
    return shape[0], shape[1]


class _Scene:
    """The scene's sources, its scene-wide decisions and masks, and per-window detection."""

    def __init__(
        self,
        bands: Mapping[str, ArraySource],
        reference: Mapping[str, ArraySource] | None,
        water_mask: ArraySource | None,
        invalid_mask: ArraySource | None,
        pixel_size_m: float,
        params: OpticalParams,
        shape: tuple[int, int],
        block_px: int,
    ) -> None:
        self.bands = {k: v for k, v in bands.items() if k in _opt.OPTICAL_BANDS}
        self.reference = (
            None
            if reference is None
            else {k: v for k, v in reference.items() if k in _opt.OPTICAL_BANDS}
        )
        self.water_mask, self.invalid_mask = water_mask, invalid_mask
        self.px, self.params, self.shape = pixel_size_m, params, shape
        # Strips of at most a block's rows: memory like a block's, and small scenes cut in
        # blocks are cut in strips too (the joining of regions across strips gets exercised).
        self.strip = max(1, min(block_px, _STRIP_PX // max(shape[1], 1)))
        self.scaled = {k: _is_scaled(v, self.strip) for k, v in self.bands.items()}
        self.ref_scaled = (
            {}
            if self.reference is None
            else {k: _is_scaled(v, self.strip) for k, v in self.reference.items()}
        )
        self.water, self.domain, self.sea = self._masks()

    # ------------------------------------------------------------------ reading windows

    def read(self, window: Window) -> tuple[dict[str, F32], dict[str, F32] | None, Bool]:
        """Reflectance of the scene (and reference) and the observed pixels in *window*."""
        refl = {
            k: _opt._as_reflectance(src[window], self.scaled[k]) for k, src in self.bands.items()
        }
        ref = None
        if self.reference is not None:
            ref = {
                k: _opt._as_reflectance(src[window], self.ref_scaled[k])
                for k, src in self.reference.items()
            }
        invalid = None if self.invalid_mask is None else _bool(self.invalid_mask[window])
        return refl, ref, _opt._valid(refl, invalid)

    # ------------------------------------------------------------------ scene-wide masks

    def _masks(self) -> tuple[_Bits, _Bits, _Bits | None]:
        p, px, shape = self.params, self.px, self.shape
        raw = _Bits(shape)
        for rows in self._strips():
            raw.put(rows, self._raw_water((rows, slice(0, shape[1]))))
        if self.water_mask is None:
            min_px = _opt._min_water_px(px, p)
            water = _strip_components(raw, self.strip, lambda n, edge: n >= min_px)
        else:
            water = raw
        max_hole = _opt._max_hole_px(px, p)
        holes = _strip_components(_Not(water), self.strip, lambda n, edge: (n <= max_hole) & ~edge)
        domain = _Bits(shape)
        for rows in self._strips():
            full = (rows, slice(0, shape[1]))
            domain.put(rows, water[full] | holes[full])
        sea = None
        if self.reference is None and (p.quay_search or p.moored_search):
            min_sea = _opt._min_sea_px(px, p)
            sea = _strip_components(water, self.strip, lambda n, edge: n >= min_sea)
        return water, domain, sea

    def _raw_water(self, window: Window) -> Bool:
        """Water before specks are removed: the given mask or NDWI, observed pixels only."""
        refl, ref, valid = self.read(window)
        if self.water_mask is not None:
            return _bool(self.water_mask[window]) & valid
        src = ref if ref is not None else refl
        return _opt._ndwi_water(src["green"], src["nir"], valid, self.params)

    def _strips(self) -> Iterator[slice]:
        for r0 in range(0, self.shape[0], self.strip):
            yield slice(r0, min(r0 + self.strip, self.shape[0]))

    # ------------------------------------------------------------------ detection

    def find(self, window: Window) -> _opt._Parts | None:
        """Parts found in *window* (scene pixels), or None when it holds no search domain."""
        domain0 = self.domain[window]
        if not domain0.any():
            return None
        refl, ref, valid = self.read(window)
        domain = _opt._reach_shore(domain0, valid, ref is not None, self.px, self.params)
        if not domain.any():
            return None
        inputs = _opt._Inputs(
            refl,
            valid,
            self.water[window] & valid,
            domain,
            ref,
            self.px,
            self.params,
            sea=None if self.sea is None else self.sea[window],
            origin=(window[0].start, window[1].start),
        )
        return _opt._find(inputs)


def _bool(a: Any) -> Bool:
    return np.asarray(a, dtype=bool)


def _is_scaled(src: ArraySource, strip: int) -> bool:
    """:func:`detection.optical.to_reflectance`'s decision for a whole band, strip by strip.

    Integers are always x 10000. Floats: the same every-step-th finite value the one-pass
    function takes from the flattened band, gathered in two passes (count, then sample).
    """
    if np.dtype(src.dtype).kind in "iu":
        return True
    m, n = int(src.shape[0]), int(src.shape[1])
    strips = [slice(r0, min(r0 + strip, m)) for r0 in range(0, m, strip)]
    count = sum(int(np.isfinite(_f32(src[rows, 0:n])).sum()) for rows in strips)
    step = _opt._sample_step(count)
    parts, seen = [], 0
    for rows in strips:
        x = _f32(src[rows, 0:n])
        finite = x[np.isfinite(x)]
        parts.append(finite[(-seen) % step :: step])
        seen += finite.size
    sample = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return _opt._sample_is_scaled(sample)


def _f32(a: Any) -> F32:
    return np.asarray(a).astype(np.float32)


def _keep_core(found: _opt._Parts, core: Window, parts: _opt._Parts) -> None:
    """Add to *parts* what of *found* has its centre in the core block."""
    parts.objects.extend(v for v in found.objects if _in_core(v.row, v.col, core))
    parts.quay.extend(v for v in found.quay if _in_core(v.row, v.col, core))
    parts.moored.extend(c for c in found.moored if _in_core(*_opt._centre(c), core))
    parts.protrusions.extend(rc for rc in found.protrusions if _in_core(*rc, core))


def _in_core(row: float, col: float, core: Window) -> bool:
    """Whether a centre lies in the core block (pixel edges at +-0.5)."""
    return bool(
        core[0].start - 0.5 <= row < core[0].stop - 0.5
        and core[1].start - 0.5 <= col < core[1].stop - 0.5
    )


# ---------------------------------------------------------------------- bit masks


class _Bits:
    """A scene-sized boolean mask stored as bits, read and written by windows."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.dtype = np.dtype(bool)
        self.bits = np.zeros((shape[0], -(-shape[1] // 8)), dtype=np.uint8)

    def put(self, rows: slice, mask: Bool) -> None:
        self.bits[rows] = np.packbits(mask, axis=1)

    def __getitem__(self, key: Window) -> Bool:
        rows, cols = key
        c0, c1, _ = cols.indices(self.shape[1])
        packed = self.bits[rows, c0 // 8 : -(-c1 // 8)]
        skip = c0 % 8
        out: Bool = np.unpackbits(packed, axis=1)[:, skip : skip + (c1 - c0)].view(bool)
        return out


class _Not:
    """The complement of a mask, read by windows."""

    def __init__(self, mask: _Bits) -> None:
        self.mask = mask
        self.shape = mask.shape

    def __getitem__(self, key: Window) -> Bool:
        return ~self.mask[key]


def _strip_components(
    mask: _Bits | _Not,
    strip: int,
    keep: Callable[[NDArray[np.float64], Bool], Bool],
) -> _Bits:
    """The 4-connected regions of *mask* that *keep(size_px, touches_edge)* accepts, as bits.

    Each strip of rows is labelled on its own; a region cut by strip edges is several labels,
    joined through the pixels that touch across the edges (connected components of a graph of
    labels), so sizes and edge contacts are those of the whole scene. Labelling is
    deterministic, so the second pass labels each strip again instead of storing labels.
    """
    m, n = mask.shape
    strips = [slice(r0, min(r0 + strip, m)) for r0 in range(0, m, strip)]
    sizes: list[NDArray[np.float64]] = []
    edges: list[Bool] = []
    links: list[tuple[NDArray[np.intp], NDArray[np.intp]]] = []
    offsets = []
    offset = 0
    last: NDArray[np.intp] | None = None
    for rows in strips:
        labels, count = ndimage.label(mask[rows, 0:n])
        offsets.append(offset)
        sizes.append(np.bincount(labels.ravel(), minlength=count + 1)[1:].astype(np.float64))
        edges.append(_edge_labels(labels, count, first=rows.start == 0, final=rows.stop == m))
        first = labels[0].astype(np.intp)
        if last is not None:
            both = (last > 0) & (first > 0)
            links.append((last[both] - 1, first[both] + offset - 1))
        last = np.where(labels[-1] > 0, labels[-1] + offset, 0).astype(np.intp)
        offset += count
    keep_label = _keep_labels(offset, sizes, edges, links, keep)
    out = _Bits((m, n))
    for rows, off in zip(strips, offsets, strict=True):
        labels, count = ndimage.label(mask[rows, 0:n])
        lookup = np.concatenate([[False], keep_label[off : off + count]])
        out.put(rows, lookup[labels])
    return out


def _edge_labels(labels: NDArray[np.int32], count: int, *, first: bool, final: bool) -> Bool:
    """Which labels of a strip touch the scene's edge (its sides; top and bottom if at them)."""
    touching = [labels[:, 0], labels[:, -1]]
    if first:
        touching.append(labels[0])
    if final:
        touching.append(labels[-1])
    edge = np.zeros(count + 1, dtype=bool)
    edge[np.concatenate(touching)] = True
    out: Bool = edge[1:]
    return out


def _keep_labels(
    total: int,
    sizes: list[NDArray[np.float64]],
    edges: list[Bool],
    links: list[tuple[NDArray[np.intp], NDArray[np.intp]]],
    keep: Callable[[NDArray[np.float64], Bool], Bool],
) -> Bool:
    """Per strip label (0-based over all strips): whether its scene-wide region is kept."""
    if total == 0:
        return np.zeros(0, dtype=bool)
    a = np.concatenate([lk[0] for lk in links]) if links else np.zeros(0, np.intp)
    b = np.concatenate([lk[1] for lk in links]) if links else np.zeros(0, np.intp)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(total, total))
    _, region = connected_components(graph, directed=False)
    size = np.bincount(region, weights=np.concatenate(sizes)).astype(np.float64)
    edge = np.bincount(region, weights=np.concatenate(edges).astype(np.float64)) > 0
    kept: Bool = np.asarray(keep(size, edge), dtype=np.bool_)[region]
    return kept
