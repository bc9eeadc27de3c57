"""Sentinel-1 vessel detection: CFAR on a clutter model fit to real sea, then discrimination.

Pipeline (see :mod:`detection.cfar` for the statistics):

1. the image is brought to linear intensity (:mod:`detection.intensity`);
2. land is left out: the given water mask, else an estimate (:mod:`detection.land`);
3. a two-pass ring CFAR gives, per cell, the clutter mean and effective looks, and two
   thresholds (seed and growth PFA);
4. seeds grow by hysteresis into objects (8-connected);
5. sidelobe arms are trimmed from bright objects, objects are measured (second moments) and
   discriminated by size; fainter objects on the sidelobe arms or at the azimuth-ambiguity
   offset of a much brighter one are dropped (one ship = one detection).

With a *reference* (per-pixel median of earlier scenes of the same place on the same grid) a
pixel must also stand above the reference, so fixed structures (quays, cranes, moored pontoons)
stop being ships while a ship touching the quay still counts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from detection.cfar import (
    BackgroundModel,
    CellStats,
    RingFit,
    above,
    cell_reduce,
    cell_size_px,
    cell_stats,
    coarsen,
    gamma_log10_sf,
    refine,
    threshold_factor,
    threshold_factors,
    window_radius_cells,
)
from detection.errors import InputArrayError
from detection.intensity import Scale, to_intensity
from detection.land import estimate_land_cells
from detection.objects import Shape, dilate_3x3, label_merged, measure_shape
from detection.params import DEFAULT_SAR, SarParams
from detection.types import Vessel

__all__ = [
    "SarCandidate",
    "detect_sar_candidates",
    "detect_sar_vessels",
    "finalize_sar",
    "halo_px",
]

logger = logging.getLogger(__name__)

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]

# Larger images go block by block (detection.blocks): same result, bounded memory.
_ONE_PASS_MAX_PX = 6144 * 6144


@dataclass(frozen=True)
class SarCandidate:
    """An object found by the CFAR, before cross-object suppression (global pixel coordinates)."""

    shape: Shape
    peak: float
    peak_row: int
    peak_col: int
    clutter_mean: float
    looks: float
    score: float
    arm_deg: float | None
    flags: tuple[str, ...] = ()


def detect_sar_vessels(
    image: NDArray[np.generic],
    *,
    pixel_size_m: float,
    water_mask: NDArray[np.bool_] | None = None,
    reference: NDArray[np.floating] | None = None,
    valid_mask: NDArray[np.bool_] | None = None,
    scale: Scale = "auto",
    params: SarParams = DEFAULT_SAR,
) -> list[Vessel]:
    """Find vessels in a Sentinel-1 (or any single-channel SAR) image.

    Parameters
    ----------
    image : ndarray, shape (M, N)
        Backscatter: linear intensity, dB, or integer amplitude (see *scale*). VV, VH or HH; for
        dual-pol scenes run once per band or pass their linear sum. Images larger than
        6144 x 6144 pixels (and any ``numpy.memmap``-like array) are processed block by block
        (:func:`detection.blocks.detect_sar_vessels_in_blocks`), with the same result.
    pixel_size_m : float
        Ground pixel size in metres; every window and size is set in metres from it.
    water_mask : ndarray of bool, shape (M, N), optional
        True on water. Land is never searched nor used as background. Without it, land is
        estimated (``params.land_mask``).
    reference : ndarray of float, shape (M, N), optional
        Same scale as *image* (or linear): a per-pixel median of earlier scenes on the same grid.
        A pixel is a detection only where it also stands above the reference.
    valid_mask : ndarray of bool, shape (M, N), optional
        False where there is no data (outside the swath, nodata).
    scale : {"auto", "linear", "db", "amplitude"}
        Units of *image* (and *reference*); "auto" detects them.
    params : SarParams
        Thresholds.

    Returns
    -------
    list of Vessel
        Sorted by decreasing score. ``score`` is -log10 of the peak pixel's probability of false
        alarm under the local clutter model.

    Raises
    ------
    InputArrayError
        If an array is not 2-D, shapes differ, or the pixel size is not a positive number.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sea = rng.gamma(4.4, 0.01 / 4.4, size=(200, 200)).astype(np.float32)
    >>> sea[98:101, 90:110] = 5.0  # a 200 m x 30 m bright hull
    >>> [(round(v.row), round(v.col), round(v.length_m, -1)) for v in
    ...  detect_sar_vessels(sea, pixel_size_m=10.0)]
    [(99, 100, 200.0)]
    """
    if np.size(image) > _ONE_PASS_MAX_PX:
        from detection.blocks import detect_sar_vessels_in_blocks

        return detect_sar_vessels_in_blocks(
            image,
            pixel_size_m=pixel_size_m,
            water_mask=water_mask,
            valid_mask=valid_mask,
            reference=reference,
            scale=scale,
            params=params,
        )
    x, valid, used = _prepare(image, pixel_size_m, water_mask, valid_mask, reference, scale)
    ref = None if reference is None else to_intensity(np.asarray(reference), scale=used)[0]
    water = None if water_mask is None else np.asarray(water_mask, dtype=bool)
    cands = detect_sar_candidates(
        x,
        pixel_size_m=pixel_size_m,
        valid=valid,
        water=water,
        reference=ref,
        params=params,
        zero_is_nodata=np.asarray(image).dtype.kind == "f",
        zero_is_clipped=np.asarray(image).dtype.kind in "iu",
    )
    return finalize_sar(cands, pixel_size_m=pixel_size_m, params=params)


def _prepare(
    image: NDArray[np.generic],
    pixel_size_m: float,
    water_mask: NDArray[np.bool_] | None,
    valid_mask: NDArray[np.bool_] | None,
    reference: NDArray[np.floating] | None,
    scale: Scale,
) -> tuple[F32, Bool | None, Scale]:
    """Validate the inputs; the image as linear float32 intensity and its validity mask."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InputArrayError(
            f"image must be 2-D (rows, cols). Got shape {arr.shape}; pass one band at a time."
        )
    if not (
        isinstance(pixel_size_m, int | float) and math.isfinite(pixel_size_m) and pixel_size_m > 0
    ):
        raise InputArrayError(f"pixel_size_m must be a number > 0. Got {pixel_size_m!r}.")
    for name, other in (
        ("water_mask", water_mask),
        ("valid_mask", valid_mask),
        ("reference", reference),
    ):
        if other is not None and np.shape(other) != arr.shape:
            raise InputArrayError(
                f"{name} must have the image's shape {arr.shape}. Got {np.shape(other)}; "
                "resample it onto the image grid first."
            )
    if valid_mask is None and scale in ("auto", "linear") and _is_plain_intensity(arr):
        # What to_intensity would return, without its copy and its passes: the image is
        # read, never written, from here on.
        return arr, None, "linear"
    return to_intensity(arr, scale=scale, valid=valid_mask)


def _is_plain_intensity(arr: NDArray[np.generic]) -> bool:
    """Whether *arr* is float32, finite and >= 0: linear intensity as it is.

    "auto" then means linear too: a sample of non-negative values has a median and a 1st
    percentile >= 0 (:func:`detection.intensity.detect_scale`). NaN fails ``min() >= 0``.
    """
    if arr.dtype != np.float32 or arr.size == 0:
        return False
    return bool(arr.min() >= 0.0 and arr.max() < np.inf)


def detect_sar_candidates(
    x: F32,
    *,
    pixel_size_m: float,
    valid: Bool | None = None,
    water: Bool | None = None,
    reference: F32 | None = None,
    params: SarParams = DEFAULT_SAR,
    origin: tuple[int, int] = (0, 0),
    zero_is_nodata: bool = False,
    zero_is_clipped: bool = False,
) -> list[SarCandidate]:
    """CFAR candidates of a linear-intensity image (no cross-object suppression yet).

    The building block of :func:`detect_sar_vessels` and of the block-wise driver: every
    candidate depends only on pixels within :func:`halo_px` of it. *origin* is the position of
    ``x[0, 0]`` in the whole image; candidates are in whole-image coordinates. With
    *zero_is_nodata*, cells whose pixels are all exactly 0 are no data (the zero fill around a
    calibrated float scene's swath). With *zero_is_clipped* (integer images) and
    ``params.clipped_zero_background`` pixels exactly 0 stay searchable but are left out of the
    clutter statistics (:func:`_without_clipped_zeros`).
    """
    c = cell_size_px(params.cell_m, pixel_size_m)
    if water is not None and reference is None:
        water = _shrink(water, params.shore_margin_m / pixel_size_m)
    background = valid if water is None else (water if valid is None else valid & water)
    domain = _domain(background, water, reference, valid, pixel_size_m, params)
    stats = cell_stats(x, background, domain, c)
    if zero_is_nodata:
        stats = _zero_cells_as_nodata(stats)
    land = None
    if water is None and params.land_mask:
        clipped = zero_is_clipped and params.clipped_zero_background
        land = estimate_land_cells(
            reference_cells(reference, c) if reference is not None else stats,
            cell_m=c * pixel_size_m,
            params=params,
            image=reference if reference is not None else x,
            valid=None if reference is not None else _seen(x, background, clipped=clipped),
            cell_px=c,
        )
    if zero_is_clipped and params.clipped_zero_background:
        # After the land estimate: a clipped 0 is dark sea for the land test (a cell mean).
        stats = _without_clipped_zeros(stats, x, background, c)
    if land is not None and land.any():
        stats = _drop_cells(stats, land, keep_peak=reference is not None)
    bg = _background(stats, c, pixel_size_m, params)
    return _grow_objects(x, domain, reference, stats, bg, c, pixel_size_m, params, origin)


def reference_cells(reference: F32, c: int) -> CellStats:
    """Cell statistics of a reference image (for the land estimate when a reference exists)."""
    return cell_stats(reference, None, None, c)


def _domain(
    background: Bool | None,
    water: Bool | None,
    reference: F32 | None,
    valid: Bool | None,
    pixel_size_m: float,
    params: SarParams,
) -> Bool | None:
    """Pixels that may be part of a vessel."""
    if water is None or reference is None:
        return background
    # With a reference, a ship touching the quay may overlap the (approximate) land mask: search
    # a ship's beam into it; the reference removes the quay itself.
    reach = max(1, int(round(params.reference_reach_m / pixel_size_m)))
    grown: Bool = ndimage.binary_dilation(water, iterations=reach)
    return grown if valid is None else grown & valid


def _shrink(water: Bool, margin_px: float) -> Bool:
    """Water without its outer *margin_px* pixels (the bright edges of quays the mask misses)."""
    n = int(round(margin_px))
    if margin_px > 0:
        n = max(n, 1)
    if n == 0:
        return water
    # Outside the image is not land: pad with water so the image edge is not eroded.
    padded = np.pad(water, n, mode="edge")
    out: Bool = ndimage.binary_erosion(padded, iterations=n)[n:-n, n:-n]
    return out


def _seen(x: F32, background: Bool | None, *, clipped: bool) -> Bool | None:
    """Pixels that measure a level for the land estimate's sea-dark test.

    A clipped 0 (an 8-bit display's floor) says "below the floor", which the gaps between the
    bright points of a town also are: counted as sea-dark they cut water into built-up land
    (SAR-Ship-Dataset chip with 70 % of zeros: 4 more false objects, bench/README.md).
    """
    if not clipped:
        return background
    above: Bool = x > 0
    return above if background is None else above & background


def _zero_cells_as_nodata(stats: CellStats) -> CellStats:
    """Cells whose valid pixels are all exactly 0 hold no clutter level: no data."""
    empty = (stats.total <= 0) & (stats.count > 0)
    if not empty.any():
        return stats
    return CellStats(np.where(empty, 0.0, stats.count), stats.total, stats.total_sq, stats.peak)


def _without_clipped_zeros(stats: CellStats, x: F32, background: Bool | None, c: int) -> CellStats:
    """Cell statistics of the pixels above 0 only (integer images: 0 is a clipped value).

    An 8-bit display of SAR clips the dark sea to 0 (SAR-Ship-Dataset chips with 70-84 % of
    zeros) and a GRD product fills outside its swath with 0. Such a 0 says the sea is below the
    display floor, not how far below: counted as a measurement it pulls the clutter mean towards
    0 and inflates the variance, the fitted looks hit their floor, and every speckle spike of
    the visible upper tail becomes a 20-40 dB "target". Left out, the background describes the
    visible part of the sea (its mean is an upper bound of the true mean: conservative). Zeros
    contribute nothing to the sums, so only the counts change.
    """
    above_zero = x > 0
    if background is not None:
        above_zero &= background
    count = cell_reduce(above_zero, c, "sum")
    return CellStats(count, stats.total, stats.total_sq, stats.peak)


def _drop_cells(stats: CellStats, cells: Bool, *, keep_peak: bool) -> CellStats:
    """*stats* without *cells* (zeroed in place: the arrays are this run's own)."""
    where = np.nonzero(cells)
    arrays = [stats.count, stats.total, stats.total_sq]
    for a in arrays if keep_peak else [*arrays, stats.peak]:
        a[where] = 0
    return stats


def background_factor(c: int, pixel_size_m: float, params: SarParams) -> int:
    """Cells per side of a background-statistics cell (``background_cell_m``), at least 1."""
    return max(1, int(round(params.background_cell_m / (c * pixel_size_m))))


@dataclass(frozen=True)
class _Background:
    """Seed and growth thresholds and the clutter fit, on background cells of ``k x k`` cells."""

    k: int
    hi: F64
    lo: F64
    fit: RingFit


def _thresholds(
    stats: CellStats, c: int, pixel_size_m: float, params: SarParams
) -> tuple[F64, F64, RingFit]:
    """Seed and growth thresholds and the clutter fit per cell (see :func:`_background`)."""
    bg = _background(stats, c, pixel_size_m, params)
    shape = (stats.count.shape[0], stats.count.shape[1])
    return refine(bg.hi, bg.k, shape), refine(bg.lo, bg.k, shape), _refine_fit(bg.fit, bg.k, shape)


def _background(stats: CellStats, c: int, pixel_size_m: float, params: SarParams) -> _Background:
    """Seed and growth thresholds per background cell, after leaving bright cells out.

    Bright cells are found and left out at the resolution of the cells; the ring statistics
    are computed on coarser background cells (``background_cell_m``) and never spread back
    to the cell grid (cells are compared with their background cell's value in place).
    """
    k = background_factor(c, pixel_size_m, params)
    rg = window_radius_cells(params.guard_m, c * k, pixel_size_m)
    rb = max(rg + 1, window_radius_cells(params.background_m, c * k, pixel_size_m))
    looks = {"min_looks": params.min_looks, "max_looks": params.max_looks}
    coarse = coarsen(stats, k)
    first = BackgroundModel(coarse, rb)
    # Pass 1 flags bright cells against the mean of the whole background window with the
    # sensor's own speckle looks: bright targets inflate the variance far more than the mean.
    rough = first.window(rb, **looks)
    f_flag = threshold_factor(
        np.array([params.sensor_looks]), pfa_exponent=params.pfa_exponent, model="gamma"
    )[0]
    bright = above(stats.peak, np.where(np.isfinite(rough.mean), rough.mean * f_flag, np.inf), k)
    if bright.any():
        # Pass 2 without the bright cells and their neighbours (the blur of the target); where
        # too little background remains (a small chip, a ship filling the window) the rough,
        # contaminated hence conservative, estimate stands.
        model = BackgroundModel(coarsen(stats, k, dilate_3x3(bright), base=coarse), rb)
    else:
        model = first
    clean = model.ring(rg, rb, min_count=float(params.min_background_px), **looks)
    enough = clean.count >= params.min_clean_background_px
    fit = RingFit(
        np.where(enough, clean.mean, rough.mean),
        np.where(enough, clean.looks, rough.looks),
        np.where(enough, clean.count, rough.count),
    )
    hi, lo = _levels(fit, (params.pfa_exponent, params.grow_pfa_exponent), params)
    return _Background(k, hi, lo, fit)


def _refine_fit(fit: RingFit, k: int, shape: tuple[int, int]) -> RingFit:
    return RingFit(
        refine(fit.mean, k, shape), refine(fit.looks, k, shape), refine(fit.count, k, shape)
    )


def _level(fit: RingFit, pfa_exponent: float, params: SarParams) -> F64:
    return _levels(fit, (pfa_exponent,), params)[0]


def _levels(fit: RingFit, pfa_exponents: tuple[float, ...], params: SarParams) -> list[F64]:
    factors = threshold_factors(
        fit.looks,
        pfa_exponents=pfa_exponents,
        model=params.clutter_model,
        sensor_looks=params.sensor_looks,
    )
    finite = np.isfinite(fit.mean)
    out = []
    for f in factors:
        level: F64 = np.where(finite, fit.mean * f, np.inf)
        out.append(level)
    return out


@dataclass(frozen=True)
class _Scene:
    """What the hysteresis step needs, bundled (pixels, and thresholds on background cells)."""

    x: F32
    domain: Bool | None
    reference: F32 | None
    bg: _Background
    c: int
    pixel_size_m: float
    params: SarParams
    origin: tuple[int, int]


def _grow_objects(
    x: F32,
    domain: Bool | None,
    reference: F32 | None,
    stats: CellStats,
    bg: _Background,
    c: int,
    pixel_size_m: float,
    params: SarParams,
    origin: tuple[int, int],
) -> list[SarCandidate]:
    """Hysteresis inside the windows of cells that may hold an object."""
    seed_cells = above(stats.peak, bg.hi, bg.k)
    if not seed_cells.any():
        return []
    grow_cells = above(stats.peak, bg.lo, bg.k)
    # Cells one apart are joined so that fragments merged at pixel level share a window.
    labels, _ = ndimage.label(dilate_3x3(grow_cells), structure=np.ones((3, 3), bool))
    labels[~grow_cells] = 0
    keep = set(np.unique(labels[seed_cells]).tolist()) - {0}
    scene = _Scene(x, domain, reference, bg, c, pixel_size_m, params, origin)
    out: list[SarCandidate] = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or idx not in keep:
            continue
        member = labels[sl] == idx
        out.extend(_objects_in_window(scene, sl, member))
    return out


def _expand(cells: NDArray[Any], c: int, shape: tuple[int, int]) -> NDArray[Any]:
    full: NDArray[Any] = np.repeat(np.repeat(cells, c, axis=0), c, axis=1)[: shape[0], : shape[1]]
    return full


def _expand_coarse(
    coarse: F64, k: int, c: int, cells: tuple[slice, slice], shape: tuple[int, int]
) -> F64:
    """Pixels of the window over *cells* with the value of their background cell."""
    r0, r1, c0, c1 = cells[0].start, cells[0].stop, cells[1].start, cells[1].stop
    sub = coarse[r0 // k : (r1 - 1) // k + 1, c0 // k : (c1 - 1) // k + 1]
    full = _expand(sub, k * c, (sub.shape[0] * k * c, sub.shape[1] * k * c))
    dr, dc = (r0 % k) * c, (c0 % k) * c
    out: F64 = full[dr : dr + shape[0], dc : dc + shape[1]]
    return out


def _objects_in_window(
    scene: _Scene, cells: tuple[slice, slice], member: Bool
) -> list[SarCandidate]:
    c, x, bg = scene.c, scene.x, scene.bg
    win = (
        slice(cells[0].start * c, min(cells[0].stop * c, x.shape[0])),
        slice(cells[1].start * c, min(cells[1].stop * c, x.shape[1])),
    )
    xw = x[win]
    shape = (xw.shape[0], xw.shape[1])
    grow = (xw > _expand_coarse(bg.lo, bg.k, c, cells, shape)) & _expand(member, c, shape)
    seed = xw > _expand_coarse(bg.hi, bg.k, c, cells, shape)
    if scene.reference is not None:
        above_hi, above_lo = _above_reference(xw, scene.reference[win], scene.params)
        grow &= above_lo
        seed &= above_hi
    if scene.domain is not None:
        grow &= scene.domain[win]
    seed &= grow
    labels, n = label_merged(grow, scene.params.merge_gap_m / scene.pixel_size_m)
    if n == 0:
        return []
    seeded = set(np.unique(labels[seed]).tolist()) - {0}
    out = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or idx not in seeded:
            continue
        cand = _candidate(xw, labels, idx, sl, win, scene)
        if cand is not None:
            out.append(cand)
    return out


def _above_reference(xw: F32, ref_w: F32, params: SarParams) -> tuple[Bool, Bool]:
    """Pixels standing above the reference at the seed and growth PFAs.

    The reference (a median of several scenes) estimates the usual level of
    each pixel. The scene's own texture at a quay or a crane is unknown, so the ratio is tested
    with ``reference_looks`` (1: the heavy exponential tail of single-look speckle).
    """
    ref0 = np.nan_to_num(ref_w.astype(np.float64))
    # The 3x3 mean steadies the level of a median of few scenes; the max with the pixel's own
    # value keeps a structure's edge pixel from being compared with the water next to it, while
    # a hull lying one pixel from the quay is still compared with the water it floats on.
    ref = np.maximum(ref0, ndimage.uniform_filter(ref0, size=3, mode="nearest"))
    looks = np.array([params.reference_looks])
    f_hi = threshold_factor(looks, pfa_exponent=params.pfa_exponent, model="gamma")[0]
    f_lo = threshold_factor(looks, pfa_exponent=params.grow_pfa_exponent, model="gamma")[0]
    return xw > ref * f_hi, xw > ref * f_lo


def _candidate(
    xw: F32,
    labels: NDArray[np.int32],
    idx: int,
    sl: tuple[slice, slice],
    win: tuple[slice, slice],
    scene: _Scene,
) -> SarCandidate | None:
    params, pixel_size_m = scene.params, scene.pixel_size_m
    origin = (win[0].start + scene.origin[0], win[1].start + scene.origin[1])
    sub = labels[sl] == idx
    rr, cc = np.nonzero(sub)
    rr = rr + sl[0].start
    cc = cc + sl[1].start
    vals = xw[rr, cc]
    k = int(np.argmax(vals))
    pr, pc = int(rr[k]), int(cc[k])
    peak = float(vals[k])
    # The clutter fit of the peak's background cell.
    kc = scene.bg.k * scene.c
    cell = ((win[0].start + pr) // kc, (win[1].start + pc) // kc)
    mu, looks = float(scene.bg.fit.mean[cell]), float(scene.bg.fit.looks[cell])
    score = float(-gamma_log10_sf(np.array([peak]), np.array([mu]), np.array([looks]))[0])
    if rr.size < params.min_area_px and score < params.single_pixel_pfa_exponent:
        return None
    arm = None
    if 10.0 * math.log10(max(peak / mu, 1e-30)) >= params.arm_measure_db + params.sidelobe_db:
        arm = _arm_angle(xw, pr, pc, mu, pixel_size_m, params)
        if arm is not None:
            keep = _trim_arms(rr, cc, vals, pr, pc, peak, arm, params)
            rr, cc, vals = rr[keep], cc[keep], vals[keep]
    shape = _measure(rr + origin[0], cc + origin[1], vals, peak, mu, pixel_size_m, params)
    return SarCandidate(
        shape=shape,
        peak=peak,
        peak_row=pr + origin[0],
        peak_col=pc + origin[1],
        clutter_mean=mu,
        looks=looks,
        score=round(score, 3),
        arm_deg=arm,
        flags=("changed_vs_reference",) if scene.reference is not None else (),
    )


def _measure(
    rr: NDArray[np.intp],
    cc: NDArray[np.intp],
    vals: F32,
    peak: float,
    mu: float,
    pixel_size_m: float,
    params: SarParams,
) -> Shape:
    """Measure the hull: the object's pixels within ``hull_rel_db`` of its peak and at least
    ``hull_snr_db`` above the clutter (the rest is the PSF's skirt and sidelobes)."""
    level = max(
        mu * 10.0 ** (params.hull_snr_db / 10.0), peak * 10.0 ** (-params.hull_rel_db / 10.0)
    )
    core = vals >= min(level, peak)
    return measure_shape(rr[core], cc[core], pixel_size_m=pixel_size_m)


def _arm_angle(
    xw: F32, pr: int, pc: int, mu: float, pixel_size_m: float, params: SarParams
) -> float | None:
    """Angle (degrees, [0, 90)) of the cross of sidelobes through a bright peak.

    In radar geometry the arms follow the image lines (0); projected products rotate them by
    the track angle. The cross has four arms while a hull has two, so the weakest of the four
    rays decides: the hull cannot fake a cross.
    """
    reach = int(min(params.sidelobe_reach_m / pixel_size_m, 40))
    if reach < 4:
        return None
    d = np.arange(3, reach + 1, dtype=np.float64)
    best, best_deg = -np.inf, 0.0
    logx = None
    m, n = xw.shape
    for deg in range(0, 90, 2):
        t = math.radians(deg)
        ray_means = []
        for k in range(4):
            a = t + k * math.pi / 2
            r = np.rint(pr - d * math.cos(a)).astype(np.intp)
            col = np.rint(pc + d * math.sin(a)).astype(np.intp)
            ok = (r >= 0) & (r < m) & (col >= 0) & (col < n)
            if ok.sum() < 2:
                ray_means.append(-np.inf)
                continue
            if logx is None:
                logx = xw
            v = np.log(np.maximum(logx[r[ok], col[ok]], mu * 1e-3) / mu)
            ray_means.append(float(v.mean()))
        worst = min(ray_means)
        if worst > best:
            best, best_deg = worst, float(deg)
    # No cross stands out of the clutter: no arm angle (the scene's is used instead).
    if best < math.log(10.0 ** (params.arm_visible_db / 10.0)):
        return None
    return best_deg


def _arm_distance(dr: NDArray[np.floating], dc: NDArray[np.floating], arm_deg: float) -> F64:
    """Distance (pixels) of offsets ``(dr, dc)`` from the nearest arm of a cross at *arm_deg*."""
    t = math.radians(arm_deg)
    # Axis 1 points "up" rotated clockwise by t: (-cos t, sin t); axis 2 is perpendicular.
    a1 = np.abs(-dr * math.sin(t) - dc * math.cos(t))  # distance from axis 1
    a2 = np.abs(-dr * math.cos(t) + dc * math.sin(t))  # distance from axis 2
    out: F64 = np.minimum(a1, a2)
    return out


def _trim_arms(
    rr: NDArray[np.intp],
    cc: NDArray[np.intp],
    vals: F32,
    pr: int,
    pc: int,
    peak: float,
    arm_deg: float,
    params: SarParams,
) -> Bool:
    """Keep the pixels of an object that are not faint sidelobe-arm pixels (connected to peak)."""
    faint = vals < peak * 10.0 ** (-params.sidelobe_db / 10.0)
    on_arm = (
        _arm_distance((rr - pr).astype(np.float64), (cc - pc).astype(np.float64), arm_deg)
        <= params.sidelobe_arm_width_px
    )
    keep: Bool = ~(faint & on_arm)
    if keep.all():
        return keep
    r0, c0 = rr.min(), cc.min()
    grid = np.zeros((rr.max() - r0 + 1, cc.max() - c0 + 1), dtype=bool)
    grid[rr[keep] - r0, cc[keep] - c0] = True
    lab, _ = ndimage.label(grid, structure=np.ones((3, 3), bool))
    main = lab[pr - r0, pc - c0]
    out: Bool = keep & (lab[rr - r0, cc - c0] == main)
    return out


def finalize_sar(
    candidates: Sequence[SarCandidate], *, pixel_size_m: float, params: SarParams = DEFAULT_SAR
) -> list[Vessel]:
    """Discriminate by size, drop sidelobe and ghost objects, and return vessels by score."""
    sized = [c for c in candidates if _size_ok(c.shape, params)]
    kept = _suppress(sized, pixel_size_m, params)
    kept.sort(key=lambda c: (-c.score, c.shape.row, c.shape.col))
    return [
        Vessel(
            row=round(c.shape.row, 3),
            col=round(c.shape.col, 3),
            length_m=round(c.shape.length_m, 1),
            width_m=round(c.shape.width_m, 1),
            heading_deg=round(c.shape.heading_deg, 1),
            score=c.score,
            corners=c.shape.corners,
            flags=c.flags,
        )
        for c in kept
    ]


def _size_ok(shape: Shape, params: SarParams) -> bool:
    return (
        params.min_length_m <= shape.length_m <= params.max_length_m
        and shape.width_m <= params.max_width_m
    )


def _suppress(
    cands: list[SarCandidate], pixel_size_m: float, params: SarParams
) -> list[SarCandidate]:
    """Drop objects that are sidelobes or azimuth ghosts of a much brighter object."""
    if len(cands) < 2:
        return list(cands)
    order = sorted(cands, key=lambda c: -c.peak)
    pk = np.array([c.peak for c in order])
    rows = np.array([c.peak_row for c in order], dtype=np.float64)
    cols = np.array([c.peak_col for c in order], dtype=np.float64)
    scene_arm = _scene_arm(order)
    reach = params.sidelobe_reach_m / pixel_size_m
    g0, g1 = (g / pixel_size_m for g in params.ghost_offset_m)
    slack = math.tan(math.radians(params.arm_tolerance_deg))
    dropped = np.zeros(len(order), dtype=bool)
    for i, bright in enumerate(order):
        if dropped[i]:
            continue
        arm = bright.arm_deg if bright.arm_deg is not None else scene_arm
        dr, dc = rows[i + 1 :] - rows[i], cols[i + 1 :] - cols[i]
        dist = np.hypot(dr, dc)
        ratio_db = 10.0 * np.log10(pk[i] / np.maximum(pk[i + 1 :], 1e-30))
        # The arm angle is known to about arm_tolerance_deg: the tolerance grows with distance.
        tol = params.sidelobe_arm_width_px + 1.0 + dist * slack
        on_arm = _arm_distance(dr, dc, arm) <= tol
        lobe = on_arm & (dist <= reach) & (ratio_db >= params.sidelobe_db)
        ghost = (
            _on_azimuth(dr, dc, scene_arm, tol + 1.0)
            & (dist >= g0)
            & (dist <= g1)
            & (ratio_db >= params.ghost_db)
        )
        dropped[i + 1 :] |= lobe | ghost
    return [c for c, d in zip(order, dropped, strict=True) if not d]


def _on_azimuth(dr: F64, dc: F64, arm_deg: float, tol_px: F64) -> Bool:
    """Offsets lying along the azimuth arm (the arm nearer the image's row axis)."""
    t = math.radians(arm_deg if arm_deg < 45.0 else arm_deg - 90.0)
    out: Bool = np.abs(-dr * math.sin(t) - dc * math.cos(t)) <= tol_px
    return out


def _scene_arm(cands: Sequence[SarCandidate]) -> float:
    """Arm angle of the scene: the median (mod 90) over the targets bright enough to show it."""
    arms = [c.arm_deg for c in cands if c.arm_deg is not None]
    if not arms:
        return 0.0
    ang = np.radians(np.asarray(arms) * 4.0)  # period 90 deg -> full circle
    mean = math.degrees(math.atan2(np.sin(ang).mean(), np.cos(ang).mean())) / 4.0
    return mean % 90.0


def halo_px(pixel_size_m: float, params: SarParams = DEFAULT_SAR) -> int:
    """Pixels of context each side of a block for candidates identical to a one-pass run."""
    c = cell_size_px(params.cell_m, pixel_size_m)
    k = background_factor(c, pixel_size_m, params)
    rb = window_radius_cells(params.background_m, c * k, pixel_size_m)
    # Two CFAR passes (bright-cell exclusion reaches one background radius + 1 cell further),
    # the land estimate's windows, and the longest object.
    cells = (2 * rb + 2) * k
    land_m = params.sea_window_m + params.land_window_m if params.land_mask else 0.0
    extent_m = params.max_length_m + params.sidelobe_reach_m
    return int(cells * c + math.ceil((land_m + extent_m) / pixel_size_m)) + c
