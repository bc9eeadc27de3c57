"""Container-stack footprints at 10 m: pixel classification for Sentinel-2 and Sentinel-1.

Private: :func:`detection.containers.measure_container_stacks` is the public entry point.

Both sensors rest on one fact: a pixel's signal is, to first order, a linear mix of the stack's
and the ground's (optical reflectance mixes linearly with the covered fraction, and so does radar
power, sigma0 in linear units).

1. **Signal.** Sentinel-2: the spectral distance (4 bands) of a pixel from the yard's bare ground,
   relative to the ground's brightness. Yards hold boxes of every colour (see the real Valencia
   and Genoa scenes: rows of red/blue/yellow/grey boxes, *darker* than bright concrete there,
   brighter than asphalt elsewhere), so distance, not brightness, is the cue. Bare ground is the
   smoothest part of the yard; shadows (darker, same spectral shape as ground), vegetation (NDVI)
   and water (NDWI) are excluded. Sentinel-1: VV sigma0 minus the yard's ground level; stacks are
   strong dihedral (double-bounce) scatterers, 0 to +10 dB against -15 to -25 dB for paving.
2. **Outline.** Regions start where the signal is clearly above ground (S2: distance > 0.15;
   S1: boxcar VV > -3 dB); each region's outline is where the signal passes half-way to the
   region's own level (upper decile): pixels at least half covered. In radar the half-way test
   uses VV averaged *along* the block, so speckle is tamed without widening a block 1-2 pixels
   wide. Faint blocks left beside bright ones get a second pass at their own level.
3. **Clean-up.** Small holes filled; regions under ``min_area_m2`` (vehicles, masts) and those
   lying only on the zone's edge pixels dropped; an opening at ``min_width_m`` when that is over a
   pixel (cranes, rails).
4. **Not observed.** Regions touching cloud, shadow or nodata (anywhere in the tile), and optical
   regions that are smooth inside *and* have soft edges or ragged outlines (haze and thin cloud
   the scene classification missed) are called not observed, with a pixel of margin.
5. **Footprint.** The sum of sub-pixel cover fractions (signal / region level) over the outline
   and its ring: unbiased for blocks narrower than two pixels, whose outline is 1 or 2 pixels
   wide depending on where they fall. The outline's perimeter x pixel / 2 bounds its error.

Known limits (measured in ``bench/containers.py``): the blur of the sensor widens blocks under
~2 pixels, more in radar (Sentinel-1 GRD resolves ~20 m); dense real terminals with lanes under a
pixel are partly missed or called doubtful; white boxes and thin cloud look alike spectrally.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi
from skimage import measure

from detection.errors import InputArrayError
from detection.objects import components_by_size

__all__ = [
    "S1_BANDS",
    "S2_BANDS",
    "SENSORS",
    "StackMap",
    "StackParams",
    "classify_stacks",
    "drop_small",
    "normalise_bands",
]

logger = logging.getLogger(__name__)

SENSORS = ("sentinel-2", "sentinel-1")
#: Band order of a stacked Sentinel-2 array (L2A: blue B02, green B03, red B04, nir B08).
S2_BANDS = ("blue", "green", "red", "nir")
#: Band order of a stacked Sentinel-1 array (linear sigma0).
S1_BANDS = ("vv", "vh")

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class StackParams:
    """Thresholds of the stack classifier, with physical defaults (not tuned per image).

    Attributes
    ----------
    s2_min_contrast : float
        A region starts where a pixel's spectral distance from bare ground, relative to the
        ground's brightness, exceeds this (0.15: well above L2A noise and the few % of paving's
        own variation); its outline is then at half its own level.
    s2_max_edge : float
        A region is a stack only if the pixels touching it are back near bare ground: their
        median signal below this fraction of the region's own level (edge pixels of a sharp block
        are less than half covered: typically 0-0.25). Haze and thin cloud missed by the scene
        classification fade out slowly; such regions are called not observed.
    s2_max_beyond : float
        The same two pixels out, where a sharp block leaves only blur spill (a few %).
    s2_min_solidity, s2_min_rectangularity : float
        Regions of 8 pixels or more and over ~2.5 pixels wide must be this convex (area / convex
        hull area) and fill this much of their oriented bounding rectangle: stacks are laid out
        in rectangular blocks and rows, haze has fractal outlines. Failing regions are called not
        observed. (Thinner regions are pixel staircases when turned, so they are not tested.)
    s2_haze_max_texture : float
        Only regions smoother than this inside (median 3x3 heterogeneity: band standard
        deviations over brightness) can be haze; rougher ones are dense stacks whatever their
        edges and outline.
    s2_shadow_angle_deg : float
        Pixels darker than ground within this spectral angle of it are shadow, not stacks.
    s2_ground_quantile : float
        The smoothest fraction of the yard taken as bare ground for the reference spectrum.
    ndvi_max, ndwi_max : float
        Pixels above are vegetation / water, never stacks.
    s1_min_db : float
        Floor (dB, VV sigma0) for a stack pixel: a half-covered pixel of a 0 dB stack is -3 dB.
    s1_confident_db : float
        VV (dB) above which a pixel is surely a strong scatterer; their median is the full level.
    s1_window_px : int
        Boxcar window for finding bright regions against speckle (3: ~40 looks from ~4.4).
    s1_along_px : int
        Length of the along-block average that measures each region's width (5 pixels: ~22
        looks, no widening across the block).
    min_width_m : float
        Narrowest stack block kept (opening; none while it is at most one pixel: at 10 m a
        5-row block is 1.4 pixels wide and must survive).
    min_area_m2 : float
        Smallest stack region kept (vehicles and masts are smaller).
    fill_holes_max_m2 : float
        Holes up to this size inside a stack region are filled (a uniform patch of same-coloured
        boxes inside a block, too small to be a lane).
    invalid_buffer_px : int
        Grow the not-observed mask by this many pixels (cloud edges are fuzzier than SCL says;
        hazy cloud margins are also caught by ``s2_max_surround``).
    min_extrapolate_fraction : float
        Below this observed fraction the whole-yard extrapolation is not given (None).
    """

    s2_min_contrast: float = 0.15
    s2_max_edge: float = 0.45
    s2_max_beyond: float = 0.15
    s2_min_solidity: float = 0.8
    s2_min_rectangularity: float = 0.6
    s2_haze_max_texture: float = 0.25
    s2_shadow_angle_deg: float = 6.0
    s2_ground_quantile: float = 0.30
    ndvi_max: float = 0.35
    ndwi_max: float = 0.20
    s1_min_db: float = -6.0
    s1_confident_db: float = -3.0
    s1_window_px: int = 3
    s1_along_px: int = 5
    min_width_m: float = 10.0
    min_area_m2: float = 300.0
    fill_holes_max_m2: float = 400.0
    invalid_buffer_px: int = 2
    min_extrapolate_fraction: float = 0.5


def normalise_bands(
    image: Mapping[str, ArrayLike] | ArrayLike, sensor: str
) -> dict[str, FloatArray]:
    """Return the sensor's bands as float64 arrays; S2 integer DNs are divided by 10 000."""
    if sensor not in SENSORS:
        raise InputArrayError(f"sensor must be one of {SENSORS}. Got {sensor!r}.")
    names = S2_BANDS if sensor == "sentinel-2" else S1_BANDS
    required = names if sensor == "sentinel-2" else names[:1]
    if isinstance(image, Mapping):
        raw = {k: np.asarray(v) for k, v in image.items() if k in names}
    else:
        arr = np.asarray(image)
        arr = arr[None] if arr.ndim == 2 else arr
        if arr.ndim != 3 or arr.shape[0] not in range(len(required), len(names) + 1):
            raise InputArrayError(
                f"{sensor} image must be shape (bands, M, N) in order {names} or a mapping of "
                f"band name to (M, N) array. Got shape {arr.shape}."
            )
        raw = dict(zip(names, arr, strict=False))
    missing = [b for b in required if b not in raw]
    if missing:
        raise InputArrayError(f"{sensor} image lacks bands {missing}; pass {list(required)}.")
    return {k: _as_float(v, sensor) for k, v in raw.items()}


def _as_float(band: NDArray[np.generic], sensor: str) -> FloatArray:
    if band.ndim != 2:
        raise InputArrayError(f"every band must be 2-D (M, N). Got shape {band.shape}.")
    out = band.astype(np.float64)
    # L2A DNs are reflectance x 10 000 (no offset once the product's offset is applied).
    if sensor == "sentinel-2" and np.issubdtype(band.dtype, np.integer):
        out /= 10_000.0
    return out


@dataclass(frozen=True)
class StackMap:
    """What the classifier found in one yard and scene (pixel space).

    ``mask``: the stack outline (pixels at least half covered); ``cover``: each pixel's covered
    fraction (0-1; non-zero on the outline and the pixel ring around it), whose sum is the
    footprint; ``hidden``: candidate regions touching unobserved pixels, to be called unseen.
    """

    mask: BoolArray
    cover: FloatArray
    hidden: BoolArray


def classify_stacks(
    bands: Mapping[str, FloatArray],
    *,
    sensor: str,
    pixel_size_m: float,
    valid: BoolArray,
    yard: BoolArray,
    unseen: BoolArray,
    params: StackParams,
) -> StackMap:
    """Stack outline, cover fractions and to-be-unseen regions for one yard in one scene.

    Candidate regions touching *unseen* pixels (cloud, shadow, nodata: anywhere in the tile) are
    not stacks but "not observed": a bright patch continuous with a cloud is most likely its
    thin margin, which the scene classification leaves unflagged, and if it is a stack its
    extent is hidden anyway. So are optical regions with soft edges or ragged outlines (haze
    and thin cloud the classification missed): the yard under them is not seen clearly.
    """
    empty = np.zeros_like(valid)
    hidden = empty
    for _ in range(2):
        # A second pass once haze is set aside: it inflates the yard's full-stack level.
        if (valid & ~hidden).sum() < 4:
            return StackMap(empty, np.zeros(valid.shape), hidden)
        sig, mask, doubtful = _find(bands, sensor, pixel_size_m, valid & ~hidden, yard, params)
        grow = np.ones((3, 3), bool)
        blocked = ndi.binary_dilation(unseen | hidden, structure=grow)
        doubtful |= _touching(mask, blocked)
        hidden = hidden | (ndi.binary_dilation(doubtful, structure=grow) & valid)
        mask &= ~hidden
    return StackMap(mask, _cover(sig.signal, mask, sig.countable & ~hidden), hidden)


def _find(
    bands: Mapping[str, FloatArray],
    sensor: str,
    pixel_size_m: float,
    valid: BoolArray,
    yard: BoolArray,
    params: StackParams,
) -> tuple[_Signal, BoolArray, BoolArray]:
    """One classification pass: the signal, the stack outline and regions unlike stacks."""
    if sensor == "sentinel-2":
        sig = _s2_signal(bands, valid, params)
    else:
        sig = _s1_signal(bands, valid, params)
    mask = _drop_zone_edge(_clean(sig.candidate, valid, pixel_size_m, params), yard)
    if sensor != "sentinel-2":
        return sig, mask, np.zeros_like(mask)
    doubtful = _unlike_stacks(mask, sig, valid, params)
    mask &= ~doubtful
    faint = _faint_neighbours(sig, mask, doubtful, valid, pixel_size_m, yard, params)
    return sig, mask | faint, doubtful


def _faint_neighbours(
    sig: _Signal,
    accepted: BoolArray,
    doubtful: BoolArray,
    valid: BoolArray,
    pixel_size_m: float,
    yard: BoolArray,
    p: StackParams,
) -> BoolArray:
    """Faint blocks left beside accepted bright ones, outlined at half their own level.

    A faint block (dark paint on dark paving) touching a bright one shares its seed region and
    falls under half the bright one's level. Its seed pixels are left over; if they touch an
    accepted stack and form a plateau of at least twice the floor, they are outlined on their
    own. (Leftovers around doubtful regions are haze fringes and stay out.)
    """
    if sig.seeds is None or not accepted.any():
        return np.zeros_like(accepted)
    grow = np.ones((3, 3), bool)
    left = sig.seeds & ~ndi.binary_dilation(accepted | doubtful, structure=grow)
    left = _touching(left, ndi.binary_dilation(accepted, structure=np.ones((5, 5), bool)))
    outline = _local_half_max(
        sig.signal,
        left,
        sig.countable & ~accepted,
        0.0,
        p.s2_min_contrast,
        quantile=0.9,
        min_level=2.0 * p.s2_min_contrast,
    )
    found = _drop_zone_edge(_clean(outline, valid, pixel_size_m, p), yard)
    return found & ~_unlike_stacks(found, sig, valid, p)


@dataclass(frozen=True)
class _Signal:
    """Per-pixel stack signal (0 on bare ground, linear in the covered fraction) and candidates."""

    signal: FloatArray
    candidate: BoolArray
    countable: BoolArray
    texture: FloatArray | None = None
    seeds: BoolArray | None = None


def _cover(signal: FloatArray, mask: BoolArray, countable: BoolArray) -> FloatArray:
    """Covered fraction per pixel: signal / its region's full signal, on the outline and its ring.

    Mixing is linear, so summing fractions measures a block narrower than two pixels without the
    +-half-pixel luck of the outline (a 1.4-pixel block is outlined as 1 or 2 pixels depending on
    where it falls). Each region's full signal is the upper decile over its outline (blocks differ
    in paint and in radar brightness).
    """
    cover = np.zeros(signal.shape)
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return cover
    levels = _levels(signal, labels, n, 0.9)
    reach = ndi.grey_dilation(labels, size=(3, 3)) * countable
    full = np.maximum(levels[reach], 1e-12)
    cover[reach > 0] = np.clip(signal / full, 0.0, 1.0)[reach > 0]
    return cover


def _levels(signal: FloatArray, labels: NDArray[np.int32], n: int, quantile: float) -> FloatArray:
    """Per-region quantile of *signal* (index 0 = background = 0)."""
    levels = np.zeros(n + 1)
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is not None:
            levels[k] = np.quantile(signal[sl][labels[sl] == k], quantile)
    return levels


def _s2_signal(bands: Mapping[str, FloatArray], valid: BoolArray, p: StackParams) -> _Signal:
    """Pixels at least half covered by something unlike the yard's bare ground (not its shadow)."""
    cube = np.stack([bands[b] for b in S2_BANDS])
    red, green, nir = bands["red"], bands["green"], bands["nir"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
        ndwi = (green - nir) / (green + nir)
    land = valid & (ndvi < p.ndvi_max) & (ndwi < p.ndwi_max)
    if land.sum() < 4:
        return _Signal(np.zeros(valid.shape), np.zeros_like(valid), np.zeros_like(valid))
    texture = _local_heterogeneity(cube, valid)
    smooth = land & (texture <= np.quantile(texture[land], p.s2_ground_quantile))
    ground = np.median(cube[:, smooth], axis=1)
    dist = np.linalg.norm(cube - ground[:, None, None], axis=0) / np.linalg.norm(ground)
    # Noise and paving texture give bare ground a small positive distance: take it off.
    dist = np.maximum(dist - float(np.median(dist[smooth])), 0.0)
    logger.debug("S2 ground %s", np.round(ground, 4))
    allowed = land & ~_shadow_like(cube, ground, p)
    seeds = allowed & (dist > p.s2_min_contrast)
    out = _local_half_max(dist, seeds, allowed, 0.0, p.s2_min_contrast, quantile=0.9)
    return _Signal(dist, out, allowed, texture, seeds)


def _shadow_like(cube: FloatArray, ground: FloatArray, p: StackParams) -> BoolArray:
    """Darker than bare ground with the ground's spectral shape: a shadow (of stacks or cranes)."""
    norm = np.linalg.norm(cube, axis=0) * np.linalg.norm(ground)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.einsum("bij,b->ij", cube, ground) / norm
    angle = np.degrees(np.arccos(np.clip(np.nan_to_num(cos), -1.0, 1.0)))
    darker = cube.sum(axis=0) < ground.sum()
    out: BoolArray = darker & (angle < p.s2_shadow_angle_deg)
    return out


def _s1_signal(bands: Mapping[str, FloatArray], valid: BoolArray, p: StackParams) -> _Signal:
    """Pixels past the midpoint between ground and their own bright region's level.

    Regions are found on boxcar-averaged VV (stable against speckle), but the boxcar widens a
    block 1-2 pixels wide to 3-4, so each region's pixels are then thresholded on VV averaged
    along the region only, half-way between the ground and the region's own level: a stack's
    edge pixel is bright in proportion to the share of it that is covered.
    """
    vv = np.where(valid & np.isfinite(bands["vv"]), bands["vv"], 0.0)
    valid = valid & (vv > 0)
    smooth = _masked_mean(vv, valid, p.s1_window_px)
    confident = 10.0 ** (p.s1_confident_db / 10.0)
    floor = 10.0 ** (p.s1_min_db / 10.0)
    quiet = valid & (smooth < confident)
    ground = float(np.median(vv[quiet])) if quiet.any() else 0.0
    seeds, n = ndi.label(valid & (smooth > confident), structure=np.ones((3, 3), bool))
    along = _along_block_mean(vv, valid, seeds, p.s1_along_px)
    out = _local_half_max(along, seeds > 0, valid, ground, floor, quantile=0.9)
    logger.debug("S1 ground %.4f, %d bright regions", ground, n)
    return _Signal(np.where(valid, along - ground, 0.0), out, valid)


def _along_block_mean(
    vv: FloatArray, valid: BoolArray, seeds: NDArray[np.int32], length_px: int
) -> FloatArray:
    """Average VV along each bright region's long axis (a line of *length_px* pixels).

    Speckle must be averaged, but across a block 1-2 pixels wide any averaging widens it. Blocks
    are long, so average along them only: the across-block profile keeps its width while the
    speckle variance drops by ~*length_px*.
    """
    out = vv.copy()
    for region in measure.regionprops(seeds):  # type: ignore[no-untyped-call]
        theta = region.orientation  # angle of the major axis from the row axis, radians
        kernel = _line_kernel(theta, length_px)
        pad = length_px // 2 + 1
        r0, c0, r1, c1 = region.bbox
        sl = (slice(max(r0 - pad, 0), r1 + pad), slice(max(c0 - pad, 0), c1 + pad))
        local = _masked_convolve(vv[sl], valid[sl], kernel)
        near = ndi.binary_dilation(seeds[sl] == region.label, iterations=2)
        out[sl] = np.where(near, local, out[sl])
    return out


def _line_kernel(theta: float, length_px: int) -> FloatArray:
    """Normalised line kernel of *length_px* pixels at angle *theta* from the row axis."""
    half = length_px // 2
    kernel = np.zeros((2 * half + 1, 2 * half + 1))
    for t in np.linspace(-half, half, 4 * length_px + 1):
        r, c = half + t * math.cos(theta), half + t * math.sin(theta)
        kernel[int(round(r)), int(round(c))] = 1.0
    out: FloatArray = kernel / kernel.sum()
    return out


def _masked_convolve(values: FloatArray, valid: BoolArray, kernel: FloatArray) -> FloatArray:
    weight = ndi.convolve(valid.astype(np.float64), kernel, mode="constant")
    total = ndi.convolve(np.where(valid, values, 0.0), kernel, mode="constant")
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(weight > 0, total / weight, 0.0)
    return out


def _local_half_max(
    signal: FloatArray,
    seeds: BoolArray,
    allowed: BoolArray,
    ground: float,
    floor: float,
    *,
    quantile: float,
    min_level: float = -np.inf,
) -> BoolArray:
    """Grow each seed region by a pixel and keep what is past half-way from ground to its level.

    The level of a region is a high quantile of the signal over its seed pixels. Using each
    region's own level rather than one level for the yard keeps narrow blocks (1-2 pixels wide,
    never fully covering a pixel once blurred) at their true width instead of widening them.
    Regions whose level is under *min_level* are left out.
    """
    labels, n = ndi.label(seeds, structure=np.ones((3, 3), bool))
    if n == 0:
        return np.zeros_like(seeds)
    levels = _levels(signal, labels, n, quantile)
    levels[levels < min_level] = np.inf
    reach = ndi.grey_dilation(labels, size=(3, 3)) * allowed
    threshold = np.maximum(floor, (ground + levels[reach]) / 2.0)
    out: BoolArray = (reach > 0) & (signal > threshold)
    return out


def _masked_mean(values: FloatArray, valid: BoolArray, size: int) -> FloatArray:
    """Mean over the valid pixels of each size x size window (normalised convolution)."""
    weight = ndi.uniform_filter(valid.astype(np.float64), size, mode="constant")
    total = ndi.uniform_filter(np.where(valid, values, 0.0), size, mode="constant")
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(weight > 0, total / weight, 0.0)
    return out


def _local_heterogeneity(cube: FloatArray, valid: BoolArray) -> FloatArray:
    """sqrt(sum of 3x3 band variances) / 3x3 mean brightness: colour + brightness texture."""
    var = np.zeros(cube.shape[1:])
    for band in cube:
        mean = _masked_mean(band, valid, 3)
        var += np.maximum(_masked_mean(band * band, valid, 3) - mean * mean, 0.0)
    bright = _masked_mean(cube.mean(axis=0), valid, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(bright > 0, np.sqrt(var) / bright, 0.0)
    return out


def _clean(
    candidate: BoolArray, valid: BoolArray, pixel_size_m: float, p: StackParams
) -> BoolArray:
    """Fill small holes, open at the minimum block width, drop small regions."""
    px_area = pixel_size_m * pixel_size_m
    holes = ndi.binary_fill_holes(candidate) & ~candidate
    small_holes = holes & ~drop_small(holes, int(p.fill_holes_max_m2 / px_area))
    mask = candidate | (small_holes & valid)
    width_px = max(1, round(p.min_width_m / pixel_size_m))
    if width_px > 1:
        mask = ndi.binary_opening(mask, structure=np.ones((width_px, width_px), bool))
    return drop_small(mask, int(np.ceil(p.min_area_m2 / px_area)) - 1)


def drop_small(mask: BoolArray, max_px: int) -> BoolArray:
    """Remove 8-connected regions of *max_px* pixels or fewer."""
    return components_by_size(mask, min_px=max_px + 1, connectivity=2)


def _rectangularity(coords: NDArray[np.int64], orientation: float) -> float:
    """Share of the region's oriented bounding rectangle (on its moment axes) that it fills."""
    rr, cc = coords[:, 0].astype(np.float64), coords[:, 1].astype(np.float64)
    u = rr * math.cos(orientation) + cc * math.sin(orientation)
    v = -rr * math.sin(orientation) + cc * math.cos(orientation)
    return float(len(rr) / ((np.ptp(u) + 1.0) * (np.ptp(v) + 1.0)))


def _touching(mask: BoolArray, other: BoolArray) -> BoolArray:
    """The 8-connected regions of *mask* that overlap *other*."""
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0 or not other.any():
        return np.zeros_like(mask)
    hit = np.bincount(labels[other & mask], minlength=n + 1) > 0
    hit[0] = False
    out: BoolArray = hit[labels]
    return out


def _drop_zone_edge(mask: BoolArray, yard: BoolArray) -> BoolArray:
    """Drop regions lying only on the zone's outermost pixels (mixed with what lies outside)."""
    edge = yard & ~ndi.binary_erosion(yard, structure=np.ones((3, 3), bool))
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask
    inner = np.bincount(labels[mask & ~edge], minlength=n + 1) > 0
    inner[0] = False
    out: BoolArray = inner[labels]
    return out


def _unlike_stacks(mask: BoolArray, sig: _Signal, valid: BoolArray, p: StackParams) -> BoolArray:
    """Smooth regions with soft edges or ragged outlines: haze and thin cloud, not stacks.

    Stacks stand in rectilinear blocks with sharp edges: just outside the half-cover outline a
    pixel is at most half covered, so the ring of pixels touching a block carries well under half
    the block's own signal, and the block's outline is nearly convex. Thin cloud and haze that
    the scene classification missed fade out over several pixels, have fractal outlines and are
    smooth inside. Dense real yards also have "soft" edges (the pixels between rows are partly
    covered) and merge into irregular regions, but they are rough inside (rows, lanes, paint at
    pixel scale), so only smooth regions are doubted.
    """
    dist = sig.signal
    texture = sig.texture if sig.texture is not None else np.zeros(dist.shape)
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return np.zeros_like(mask)
    near = ndi.grey_dilation(labels, size=(3, 3))
    far = ndi.grey_dilation(labels, size=(5, 5))
    # Judge a region's edge only where no other region reaches: in a dense yard the pixels
    # between two rows of stacks are partly covered by both.
    shared_near = ndi.grey_erosion(np.where(labels > 0, labels, n + 1), size=(3, 3)) != near
    shared_far = ndi.grey_erosion(np.where(labels > 0, labels, n + 1), size=(5, 5)) != far
    ring = (near > 0) & valid & ~mask & ~shared_near
    ring2 = (far > 0) & (near == 0) & valid & ~shared_far
    levels = _levels(dist, labels, n, 0.9)
    bad = np.zeros(n + 1, bool)
    for region in measure.regionprops(labels):  # type: ignore[no-untyped-call]
        k, level = region.label, levels[region.label]
        around, beyond = dist[ring & (near == k)], dist[ring2 & (far == k)]
        soft = (around.size >= 3 and np.median(around) > p.s2_max_edge * level) or (
            beyond.size >= 3 and np.median(beyond) > p.s2_max_beyond * level
        )
        # Thin regions (a block or row 1-2 pixels wide) are staircases when turned: no shape test.
        ragged = (
            region.area >= 8
            and region.axis_minor_length >= 3.0
            and (
                region.solidity < p.s2_min_solidity
                or _rectangularity(region.coords, region.orientation) < p.s2_min_rectangularity
            )
        )
        smooth = float(np.median(texture[labels == k])) < p.s2_haze_max_texture
        bad[region.label] = smooth and (soft or ragged)
    out: BoolArray = bad[labels]
    return out
