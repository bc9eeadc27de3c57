"""Container-stack footprints at 10 m: pixel classification for Sentinel-2 and Sentinel-1.

Private: :func:`detection.containers.measure_container_stacks` is the public entry point.

Both sensors use the same rule for where a stack edge is. A pixel's signal is (to first order) a
linear mix of the stack's and the ground's: optical reflectance mixes linearly with the covered
fraction, and so does radar power (sigma0, linear). A pixel is called "stack" when its signal is
past the midpoint between the ground level and the full-stack level of the same yard and scene,
i.e. when at least about half of it is covered. Straight edges are then unbiased on average, and
what is left is the +- half-pixel edge error that the TEU interval carries.

* Sentinel-2 signal: the spectral distance of a pixel from the yard's bare ground (relative to
  the ground's brightness). Container yards hold boxes in every colour (see the real Valencia and
  Genoa scenes: blocks of red/blue/yellow/grey rows that are *darker* than bright concrete there,
  brighter than asphalt elsewhere), so the distance, not brightness, is the cue. Bare ground is
  the smoothest part of the yard. Roofs also differ from ground but are uniform: a candidate
  region whose interior texture is as smooth as ground is dropped. Vegetation (NDVI) and water
  (NDWI) are excluded.
* Sentinel-1 signal: VV sigma0, boxcar-averaged against speckle. Stacks are strong dihedral
  (double-bounce) scatterers, typically 0 to +10 dB against -15 to -25 dB for paving.

Cranes (thin lines), light masts and vehicles (a pixel or two) are removed by a morphological
opening at the minimum block width and a minimum region area.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi
from skimage import measure

from detection.errors import InputArrayError

__all__ = [
    "S1_BANDS",
    "S2_BANDS",
    "SENSORS",
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
        Floor on a stack pixel's spectral distance from bare ground, relative to the ground's
        brightness (0.15: well above L2A noise and paving's own variation, a few %).
    s2_confident_contrast : float
        Distance above which a pixel is surely stack or roof; their median is the full-stack level.
    s2_min_texture : float
        Median local heterogeneity (3x3, relative) below which a candidate region is a uniform
        surface (roof, painted slab), not a yard of many-coloured boxes.
    s2_ground_quantile : float
        The smoothest fraction of the yard taken as bare ground for the reference spectrum.
    ndvi_max, ndwi_max : float
        Pixels above are vegetation / water, never stacks.
    s1_min_db : float
        Floor (dB, VV sigma0) for a stack pixel: a half-covered pixel of a 0 dB stack is -3 dB.
    s1_confident_db : float
        VV (dB) above which a pixel is surely a strong scatterer; their median is the full level.
    s1_window_px : int
        Boxcar window against speckle (3: ~40 looks from IW GRD's ~4.4).
    min_width_m : float
        Narrowest stack block kept (opening). Cranes, rails and roof rims are thinner.
    min_area_m2 : float
        Smallest stack region kept (vehicles and masts are smaller).
    fill_holes_max_m2 : float
        Holes up to this size inside a stack region are filled (a uniform patch of same-coloured
        boxes inside a block, too small to be a lane).
    invalid_buffer_px : int
        Grow the not-observed mask by this many pixels (cloud edges are fuzzier than SCL says).
    min_extrapolate_fraction : float
        Below this observed fraction the whole-yard extrapolation is not given (None).
    """

    s2_min_contrast: float = 0.15
    s2_confident_contrast: float = 0.30
    s2_min_texture: float = 0.04
    s2_ground_quantile: float = 0.30
    ndvi_max: float = 0.35
    ndwi_max: float = 0.20
    s1_min_db: float = -6.0
    s1_confident_db: float = -3.0
    s1_window_px: int = 3
    min_width_m: float = 15.0
    min_area_m2: float = 300.0
    fill_holes_max_m2: float = 400.0
    invalid_buffer_px: int = 1
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


def classify_stacks(
    bands: Mapping[str, FloatArray],
    *,
    sensor: str,
    pixel_size_m: float,
    valid: BoolArray,
    params: StackParams,
) -> BoolArray:
    """Boolean stack mask (inside *valid* only) for one yard in one scene."""
    if not valid.any():
        return np.zeros_like(valid)
    if sensor == "sentinel-2":
        candidate, texture = _s2_candidates(bands, valid, params)
    else:
        candidate, texture = _s1_candidates(bands, valid, params), None
    mask = _clean(candidate, valid, pixel_size_m, params)
    if texture is not None:
        mask = _drop_uniform_regions(mask, texture, params.s2_min_texture)
    return mask


def _s2_candidates(
    bands: Mapping[str, FloatArray], valid: BoolArray, p: StackParams
) -> tuple[BoolArray, FloatArray]:
    cube = np.stack([bands[b] for b in S2_BANDS])
    valid = valid & np.all(np.isfinite(cube) & (cube > 0), axis=0)
    red, green, nir = bands["red"], bands["green"], bands["nir"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
        ndwi = (green - nir) / (green + nir)
    land = valid & (ndvi < p.ndvi_max) & (ndwi < p.ndwi_max)
    texture = _local_heterogeneity(cube, valid)
    if land.sum() < 4:
        return np.zeros_like(valid), texture
    smooth = land & (texture <= np.quantile(texture[land], p.s2_ground_quantile))
    ground = np.median(cube[:, smooth], axis=1)
    dist = np.linalg.norm(cube - ground[:, None, None], axis=0) / np.linalg.norm(ground)
    threshold = _midpoint(dist[land], 0.0, p.s2_confident_contrast, p.s2_min_contrast)
    logger.debug("S2 ground %s, contrast threshold %.3f", np.round(ground, 4), threshold)
    return land & (dist > threshold), texture


def _s1_candidates(bands: Mapping[str, FloatArray], valid: BoolArray, p: StackParams) -> BoolArray:
    vv = bands["vv"]
    valid = valid & np.isfinite(vv) & (vv > 0)
    if not valid.any():
        return np.zeros_like(valid)
    smooth = _masked_mean(np.where(valid, vv, 0.0), valid, p.s1_window_px)
    confident = 10.0 ** (p.s1_confident_db / 10.0)
    ground = float(np.median(smooth[valid & (smooth < confident)])) if valid.any() else 0.0
    threshold = _midpoint(smooth[valid], ground, confident, 10.0 ** (p.s1_min_db / 10.0))
    logger.debug("S1 ground %.4f, VV threshold %.4f (linear)", ground, threshold)
    return valid & (smooth > threshold)


def _midpoint(values: FloatArray, ground: float, confident: float, floor: float) -> float:
    """Half-cover threshold: midway between ground and the median confident (full) level."""
    strong = values[values > confident]
    full = float(np.median(strong)) if strong.size >= 3 else confident
    return max(floor, (ground + full) / 2.0)


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
    """Remove 8-connected regions of *max_px* pixels or fewer (skimage's API moved in 0.26)."""
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0 or max_px < 1:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    keep = sizes > max_px
    keep[0] = False
    out: BoolArray = keep[labels]
    return out


def _drop_uniform_regions(mask: BoolArray, texture: FloatArray, min_texture: float) -> BoolArray:
    """Drop regions whose median texture is as smooth as bare ground (roofs, painted slabs)."""
    labels = measure.label(mask, connectivity=2)  # type: ignore[no-untyped-call]
    if labels.max() == 0:
        return mask
    medians = ndi.median(texture, labels, index=np.arange(1, labels.max() + 1))
    keep = np.concatenate([[False], np.asarray(medians) >= min_texture])
    out: BoolArray = keep[labels]
    return out
