"""Sentinel-2 vessel detection: objects that differ from the water around them.

1. Reflectance is brought to 0..1 (L2A integers 0..10000 are divided by 10000).
2. Water: the given mask, else NDWI = (green - nir) / (green + nir) > ``ndwi_water`` of the
   reference when one exists (static per port), else of the scene. Non-water holes in the water
   smaller than ``max_hole_m2`` (ships at anchor) belong to the search domain.
3. The water background around each cell (mean and spread of NIR, and SWIR 1.6 um when given,
   over water pixels only) comes from box sums on a cell grid, as for SAR.
4. Seeds are pixels brighter than the water by ``contrast_sigma`` spreads and ``min_contrast``
   reflectance; objects grow through pixels above ``grow_sigma`` or not water (NDWI).
5. With a reference (median of earlier clear scenes on the same grid), a pixel must also have
   brightened against the reference, and the search reaches ``shore_reach_m`` into the
   reference's land: a ship moored at the quay counts, the quay and its cranes do not.
6. Cloud, shadow and nodata (*invalid_mask*) are never searched; objects mostly surrounded by
   them are dropped (a cloud's edge is not a ship; a masked area is "not observed", not empty).
7. Without a reference, hulls moored alongside a straight quay are searched as rectangular
   bulges of the land into the water, off a straight run of ``quay_line_m`` along the shore
   (``quay_search``, :mod:`detection._optical_quay`). The older search for hulls sticking out
   of the shore as narrow strips (``moored_search``: stern-to, pontoons; combs of finger piers
   dropped, a hull's two shore ends reported once) is off by default.
8. Objects more elongated than a hull (``max_elongation``, widths floored at ``min_width_m``)
   are lines: breakwaters, quay edges, shorelines mixed with water.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from detection._optical_quay import quay_hulls, quay_reach_px
from detection.cfar import box_sum, cell_reduce, cell_size_px
from detection.errors import InputArrayError
from detection.objects import components_by_size, disk_footprint, label_merged, measure_shape
from detection.params import DEFAULT_OPTICAL, OpticalParams
from detection.types import Vessel

__all__ = [
    "OPTICAL_BANDS",
    "detect_optical_vessels",
    "halo_px",
    "ndwi",
    "to_reflectance",
    "water_from_ndwi",
]

logger = logging.getLogger(__name__)

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]

#: Band names the optical detector understands (Sentinel-2 B02, B03, B04, B08, B11).
OPTICAL_BANDS = ("blue", "green", "red", "nir", "swir16")
_REQUIRED = ("green", "nir")
# Bands whose brightening over water marks a hull: water absorbs NIR and SWIR almost fully.
_CONTRAST_BANDS = ("nir", "swir16")


def to_reflectance(band: NDArray[np.generic]) -> F32:
    """Reflectance as a 0..1 fraction: integers (L2A x 10000) are divided by 10000.

    Floats whose 99.9th percentile exceeds 2 are taken as x 10000 too.

    Examples
    --------
    >>> to_reflectance(np.array([[0, 2500]], dtype=np.uint16)).tolist()
    [[0.0, 0.25]]
    """
    arr = np.asarray(band)
    out = arr.astype(np.float32)
    if arr.dtype.kind in "iu" or _sample_is_scaled(_finite_sample(out)):
        out *= np.float32(1e-4)
    return out


# Floats are tested on a sample of at most ~2 x this many finite values (every step-th one).
_SCALE_SAMPLE = 100_000


def _finite_sample(out: F32) -> F32:
    finite = out[np.isfinite(out)]
    sample: F32 = finite[:: _sample_step(finite.size)]
    return sample


def _sample_step(n_finite: int) -> int:
    return max(1, n_finite // _SCALE_SAMPLE)


def _sample_is_scaled(sample: F32) -> bool:
    """Whether float reflectances are x 10000: their 99.9th percentile exceeds 2."""
    return bool(sample.size and np.percentile(sample, 99.9) > 2.0)


def _as_reflectance(arr: NDArray[np.generic], scaled: bool) -> F32:
    """*arr* as float32, divided by 10000 when *scaled* (as :func:`to_reflectance` decides)."""
    out = np.asarray(arr).astype(np.float32)
    if scaled:
        out *= np.float32(1e-4)
    return out


def ndwi(green: F32, nir: F32) -> F32:
    """McFeeters' normalised difference water index, 0 where both bands are 0.

    Examples
    --------
    >>> ndwi(np.array([0.05, 0.05], np.float32), np.array([0.01, 0.3], np.float32)).round(3)
    array([ 0.667, -0.714], dtype=float32)
    """
    total = green + nir
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, (green - nir) / total, np.float32(0.0))
    return out.astype(np.float32)


def water_from_ndwi(
    green: F32,
    nir: F32,
    *,
    pixel_size_m: float,
    valid: Bool | None = None,
    params: OpticalParams = DEFAULT_OPTICAL,
) -> Bool:
    """Water mask: NDWI above ``params.ndwi_water``, without specks smaller than a few pixels."""
    water = _ndwi_water(green, nir, valid, params)
    min_px = _min_water_px(pixel_size_m, params)
    labels, n = ndimage.label(water)
    if n:
        sizes = np.bincount(labels.ravel())
        keep = sizes >= min_px
        keep[0] = False
        water = keep[labels]
    return np.asarray(water, dtype=bool)


def _ndwi_water(green: F32, nir: F32, valid: Bool | None, params: OpticalParams) -> Bool:
    """NDWI water before small specks are removed (pixel by pixel)."""
    water = ndwi(green, nir) > params.ndwi_water
    if valid is not None:
        water &= valid
    return np.asarray(water, dtype=bool)


def _min_water_px(pixel_size_m: float, params: OpticalParams) -> float:
    # Dark roofs and shadows on land make water-like specks; real water bodies are larger.
    return max(4.0, params.min_water_area_m2 / (pixel_size_m * pixel_size_m))


def _max_hole_px(pixel_size_m: float, params: OpticalParams) -> float:
    return params.max_hole_m2 / (pixel_size_m * pixel_size_m)


def _min_sea_px(pixel_size_m: float, params: OpticalParams) -> float:
    return params.min_sea_area_m2 / (pixel_size_m * pixel_size_m)


@dataclass(frozen=True)
class _Inputs:
    bands: dict[str, F32]
    valid: Bool
    water: Bool
    domain: Bool
    reference: dict[str, F32] | None
    pixel_size_m: float
    params: OpticalParams
    # Open water (large water bodies); computed here when None. Block-wise runs pass the
    # scene's, as the size of a water body is not known from one window.
    sea: Bool | None = None
    # Position of this array's pixel (0, 0) in the scene: results are in scene pixels.
    origin: tuple[int, int] = (0, 0)


# A moored-ship candidate: its pixels' rows and cols (scene pixels) and their contrast z.
_Candidate = tuple[F64, F64, F64]


@dataclass(frozen=True)
class _Parts:
    """What one array yields, before the scene-wide merging of lists (steps 7, 8)."""

    objects: list[Vessel] = field(default_factory=list)
    quay: list[Vessel] = field(default_factory=list)
    moored: list[_Candidate] = field(default_factory=list)
    protrusions: list[tuple[float, float]] = field(default_factory=list)


def detect_optical_vessels(
    bands: Mapping[str, NDArray[np.generic]],
    *,
    pixel_size_m: float,
    water_mask: NDArray[np.bool_] | None = None,
    invalid_mask: NDArray[np.bool_] | None = None,
    reference: Mapping[str, NDArray[np.generic]] | None = None,
    params: OpticalParams = DEFAULT_OPTICAL,
) -> list[Vessel]:
    """Find vessels in a Sentinel-2 L2A scene (see the module docstring for the method).

    Parameters
    ----------
    bands : mapping of str to ndarray, shape (M, N)
        Reflectance bands by name: ``green`` and ``nir`` required; ``blue``, ``red``, ``swir16``
        optional (``swir16`` resampled to the 10 m grid). 0..10000 integers or 0..1 floats.
    pixel_size_m : float
        Ground pixel size in metres.
    water_mask : ndarray of bool, optional
        Static water mask (True = water); else NDWI of the reference or of the scene.
    invalid_mask : ndarray of bool, optional
        True where the scene is not observed: SCL cloud (8, 9), cirrus (10), shadow (3), nodata.
    reference : mapping of str to ndarray, optional
        Same bands, a per-pixel median of earlier clear scenes on the same grid.
    params : OpticalParams

    Returns
    -------
    list of Vessel
        By decreasing score; ``score`` is the peak contrast in standard deviations of the water.

    Raises
    ------
    InputArrayError
        If ``green`` or ``nir`` is missing, a band has another shape, or the pixel size is bad.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> sea = {"green": rng.normal(0.05, 0.003, (150, 150)).astype(np.float32),
    ...        "nir": rng.normal(0.015, 0.003, (150, 150)).astype(np.float32)}
    >>> sea["nir"][70:73, 60:80] = 0.25; sea["green"][70:73, 60:80] = 0.12
    >>> [(round(v.row), round(v.col), round(v.length_m, -1)) for v in
    ...  detect_optical_vessels(sea, pixel_size_m=10.0)]
    [(71, 70, 200.0)]
    """
    inputs = _prepare(bands, pixel_size_m, water_mask, invalid_mask, reference, params)
    if not inputs.domain.any():
        return []
    return _combine(
        _find(inputs),
        with_reference=reference is not None,
        pixel_size_m=pixel_size_m,
        params=params,
    )


def halo_px(pixel_size_m: float, params: OpticalParams = DEFAULT_OPTICAL) -> int:
    """Pixels of context each side of a block for detections identical to a one-pass run.

    Block-wise runs get the water, the search domain and the open water from scene-wide
    passes, so the halo covers only the local steps: the largest distance from a kept object's
    centre to its farthest pixel (:func:`_object_reach_px`), plus one pixel of outline, plus
    how far the inputs of a pixel's tests reach (background cells, the reference's shore reach,
    the quay search's smoothing and straight runs, the moored search's opening).
    """
    p, px = params, pixel_size_m
    c = cell_size_px(p.cell_m, px)
    blur = p.blur_m / px
    pixel_reach = (_background_radius_cells(c, px, p) + 1) * c
    if p.shore_reach_m > 0:
        pixel_reach = max(pixel_reach, _shore_reach_px(px, p) + 1)
    reach = _object_reach_px(p.max_length_m / px, p.max_width_m / px, blur) + 1 + pixel_reach
    if p.quay_search:
        quay = _object_reach_px(p.max_length_m / px, p.max_length_m / px, 0.0)
        reach = max(reach, quay + 1 + max(pixel_reach, quay_reach_px(px, p)))
    if p.moored_search:
        moored = _object_reach_px(p.max_length_m / px, p.max_moored_beam_m / px, 0.0)
        opening = 2 * _moored_radius_px(px, p) + 2
        reach = max(reach, moored + 1 + max(pixel_reach, opening))
    return int(math.ceil(reach))


def _object_reach_px(length_px: float, width_px: float, blur_px: float) -> float:
    """Farthest a pixel of a connected object of at most this length and width can lie from
    its centre.

    The second moments bound it: length and width give the largest total variance
    ``T = l1 + l2`` (``l = (L**2 - 1) / 12 + blur**2``, as :func:`measure_shape` inverts); n
    distinct pixels have a variance of at least about ``n / (2 pi)`` (a disk), so
    ``n <= 2 pi (T + 1)``; and an 8-connected path from a pixel at distance D to the far side of
    the centre puts pixels at distances >= D, D - sqrt(2), ..., whose squares sum to
    ``D**3 / (3 sqrt(2)) <= n T``. Hull-shaped objects reach about L / 2; the bound is for any
    pixel set that passes the size tests, so that no such set is cut by a block's edge.
    """
    var = sum(max((s * s - 1.0) / 12.0, 0.0) + blur_px * blur_px for s in (length_px, width_px))
    n_max = 2.0 * math.pi * (var + 1.0)
    return float((3.0 * math.sqrt(2.0) * n_max * var) ** (1.0 / 3.0))


def _find(inputs: _Inputs) -> _Parts:
    """Objects, quay bulges and moored-ship candidates of one array (scene pixels)."""
    p = inputs.params
    mu, sigma = _water_background(inputs)
    seed, grow, z = _pixel_tests(inputs, mu, sigma)
    objects = _objects(inputs, seed, grow, z)
    quay: list[Vessel] = []
    moored: list[_Candidate] = []
    protrusions: list[tuple[float, float]] = []
    if inputs.reference is None and p.quay_search:
        quay = _quay_objects(inputs, z)
    if inputs.reference is None and p.moored_search:
        moored, protrusions = _moored_parts(inputs, z)
    return _Parts(objects, quay, moored, protrusions)


def _combine(
    parts: _Parts, *, with_reference: bool, pixel_size_m: float, params: OpticalParams
) -> list[Vessel]:
    """The scene's vessels from its parts: list rules that look across the whole scene."""
    p, px = params, pixel_size_m
    found = sorted(parts.objects, key=_rank)
    if not with_reference and p.quay_search:
        found = _merge_lists(found, parts.quay, px)
    if not with_reference and p.moored_search:
        found = _merge_lists(found, _moored_vessels(parts.moored, parts.protrusions, px, p), px)
    return found


def _rank(v: Vessel) -> tuple[float, float, float]:
    return (-v.score, v.row, v.col)


def _quay_objects(inputs: _Inputs, z: F64) -> list[Vessel]:
    """Without a reference: hulls alongside a straight quay, as bulges of the land."""
    p, px = inputs.params, inputs.pixel_size_m
    land = inputs.valid & ~inputs.domain
    return quay_hulls(land, _sea(inputs), z, pixel_size_m=px, params=p, origin=inputs.origin)


def _sea(inputs: _Inputs) -> Bool:
    if inputs.sea is not None:
        return inputs.sea
    return components_by_size(inputs.water, min_px=_min_sea_px(inputs.pixel_size_m, inputs.params))


def _prepare(
    bands: Mapping[str, NDArray[np.generic]],
    pixel_size_m: float,
    water_mask: NDArray[np.bool_] | None,
    invalid_mask: NDArray[np.bool_] | None,
    reference: Mapping[str, NDArray[np.generic]] | None,
    params: OpticalParams,
) -> _Inputs:
    refl = _check_bands(bands, "bands", pixel_size_m)
    shape = refl["nir"].shape
    ref = None if reference is None else _check_bands(reference, "reference", pixel_size_m)
    if ref is not None and ref["nir"].shape != shape:
        raise InputArrayError(
            f"reference bands must have the scene's shape {shape}. Got {ref['nir'].shape}."
        )
    if invalid_mask is not None:
        _check_shape(invalid_mask, shape, "invalid_mask")
    valid = _valid(refl, invalid_mask)
    if water_mask is not None:
        _check_shape(water_mask, shape, "water_mask")
        water = np.asarray(water_mask, dtype=bool) & valid
    else:
        src = ref if ref is not None else refl
        water = water_from_ndwi(
            src["green"], src["nir"], pixel_size_m=pixel_size_m, valid=valid, params=params
        )
    domain = _search_domain(water, valid, ref is not None, pixel_size_m, params)
    return _Inputs(refl, valid, water, domain, ref, pixel_size_m, params)


def _valid(refl: Mapping[str, F32], invalid_mask: NDArray[np.bool_] | None) -> Bool:
    """Observed pixels: finite in every band, not L2A nodata, not in *invalid_mask*."""
    valid = np.ones(refl["nir"].shape, dtype=bool)
    for arr in refl.values():
        valid &= np.isfinite(arr)
    valid &= (refl["green"] > 0) | (refl["nir"] > 0)  # L2A nodata is 0 in every band
    if invalid_mask is not None:
        valid &= ~np.asarray(invalid_mask, dtype=bool)
    return valid


def _check_pixel_size(pixel_size_m: float) -> None:
    if not (
        isinstance(pixel_size_m, int | float) and math.isfinite(pixel_size_m) and pixel_size_m > 0
    ):
        raise InputArrayError(f"pixel_size_m must be a number > 0. Got {pixel_size_m!r}.")


def _check_band_names(bands: Mapping[str, object], what: str) -> None:
    missing = [b for b in _REQUIRED if b not in bands]
    if missing:
        raise InputArrayError(
            f"{what} must include {', '.join(_REQUIRED)}; missing {', '.join(missing)}. "
            f"Known bands: {', '.join(OPTICAL_BANDS)}."
        )
    unknown = sorted(set(bands) - set(OPTICAL_BANDS))
    if unknown:
        logger.debug("ignoring band(s) %s of %s", ", ".join(unknown), what)


def _check_bands(
    bands: Mapping[str, NDArray[np.generic]], what: str, pixel_size_m: float
) -> dict[str, F32]:
    _check_pixel_size(pixel_size_m)
    _check_band_names(bands, what)
    shape = np.shape(bands["nir"])
    if len(shape) != 2:
        raise InputArrayError(f"{what}['nir'] must be 2-D (rows, cols). Got shape {shape}.")
    out = {}
    for name, arr in bands.items():
        if name not in OPTICAL_BANDS:
            continue
        _check_shape(arr, shape, f"{what}[{name!r}]")
        out[name] = to_reflectance(np.asarray(arr))
    return out


def _check_shape(arr: NDArray[np.generic], shape: tuple[int, ...], name: str) -> None:
    if np.shape(arr) != shape:
        raise InputArrayError(
            f"{name} must have shape {shape} like the nir band. Got {np.shape(arr)}; "
            "resample it onto the same grid first."
        )


def _search_domain(
    water: Bool, valid: Bool, with_reference: bool, pixel_size_m: float, params: OpticalParams
) -> Bool:
    """Water, plus non-water holes that fit a ship, plus a ship's beam of shore with a reference."""
    holes = ndimage.binary_fill_holes(water) & ~water
    max_px = _max_hole_px(pixel_size_m, params)
    labels, n = ndimage.label(holes)
    if n:
        sizes = np.bincount(labels.ravel())
        small = sizes <= max_px
        small[0] = False
        holes = small[labels]
    return _reach_shore(water | holes, valid, with_reference, pixel_size_m, params)


def _reach_shore(
    domain: Bool, valid: Bool, with_reference: bool, pixel_size_m: float, params: OpticalParams
) -> Bool:
    """The domain, reaching ``shore_reach_m`` into the land with a reference; observed only."""
    if with_reference:
        reach = _shore_reach_px(pixel_size_m, params)
        domain = ndimage.binary_dilation(domain, structure=disk_footprint(reach))
    return np.asarray(domain & valid, dtype=bool)


def _shore_reach_px(pixel_size_m: float, params: OpticalParams) -> int:
    return max(1, int(round(params.shore_reach_m / pixel_size_m)))


def _background_radius_cells(c: int, pixel_size_m: float, params: OpticalParams) -> int:
    return max(1, math.ceil((params.background_m / (c * pixel_size_m) - 1.0) / 2.0))


def _water_background(inputs: _Inputs) -> tuple[dict[str, F64], dict[str, F64]]:
    """Per-cell mean and spread of each contrast band over the water around the cell."""
    p = inputs.params
    c = cell_size_px(p.cell_m, inputs.pixel_size_m)
    r = _background_radius_cells(c, inputs.pixel_size_m, p)
    w = inputs.water
    n = box_sum(cell_reduce(w, c, "sum").astype(np.float64), r)
    mu: dict[str, F64] = {}
    sigma: dict[str, F64] = {}
    for name in _contrast_bands(inputs.bands):
        xv = np.where(w, inputs.bands[name], np.float32(0.0))
        s1 = box_sum(cell_reduce(xv, c, "sum").astype(np.float64), r)
        s2 = box_sum(cell_reduce(np.square(xv), c, "sum").astype(np.float64), r)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(n > 0, s1 / n, np.nan)
            v = np.where(n > 1, s2 / n - m * m, np.nan)
        mu[name] = _expand(m, c, w.shape)
        sigma[name] = _expand(np.sqrt(np.maximum(np.nan_to_num(v, nan=0.0), 0.0)), c, w.shape)
        np.maximum(sigma[name], p.noise_floor, out=sigma[name])
    return mu, sigma


def _contrast_bands(bands: Mapping[str, F32]) -> list[str]:
    return [b for b in _CONTRAST_BANDS if b in bands]


def _expand(cells: F64, c: int, shape: tuple[int, ...]) -> F64:
    out: F64 = np.repeat(np.repeat(cells, c, axis=0), c, axis=1)[: shape[0], : shape[1]]
    return out


def _pixel_tests(
    inputs: _Inputs, mu: dict[str, F64], sigma: dict[str, F64]
) -> tuple[Bool, Bool, F64]:
    """Seed and growth masks, and the contrast z (standard deviations of the water)."""
    p = inputs.params
    z = np.full(inputs.water.shape, -np.inf)
    seed = np.zeros(inputs.water.shape, dtype=bool)
    for name in mu:
        diff = inputs.bands[name] - mu[name]
        zb = np.nan_to_num(diff / sigma[name], nan=-np.inf)
        z = np.maximum(z, zb)
        seed |= (zb > p.contrast_sigma) & (diff > p.min_contrast)
    grow = (z > p.grow_sigma) | ~inputs.water
    if inputs.reference is not None:
        changed_hi, changed_lo = _changed(inputs.bands, inputs.reference, sigma, p)
        seed &= changed_hi
        grow &= changed_lo
    grow &= inputs.domain
    seed &= grow
    if inputs.reference is None:
        # Pixels on the shore line mix land and water: bright against the water, never a ship.
        shore = ndimage.binary_dilation(
            ~inputs.domain & inputs.valid, structure=np.ones((3, 3), bool)
        )
        seed &= ~shore
    return seed, grow, z


def _changed(
    bands: dict[str, F32], reference: dict[str, F32], sigma: dict[str, F64], p: OpticalParams
) -> tuple[Bool, Bool]:
    """Pixels brighter now than in the reference (what is there now and was not before)."""
    shape = bands["nir"].shape
    hi = np.zeros(shape, dtype=bool)
    lo = np.zeros(shape, dtype=bool)
    for name in sigma:
        if name not in reference:
            continue
        ref = np.nan_to_num(reference[name])
        diff = bands[name] - ref
        # Scene noise plus the reference's (a median of several scenes: smaller); floored. Bright
        # ground changes by a fraction of itself from date to date (sun, moisture, traffic).
        noise = np.maximum(sigma[name], p.noise_floor) * math.sqrt(2.0)
        rel = p.change_fraction * ref
        hi |= (diff > p.change_sigma * noise) & (diff > p.min_contrast) & (diff > rel)
        lo |= (diff > p.grow_sigma * noise) & (diff > 0.5 * rel)
    return hi, lo


def _objects(inputs: _Inputs, seed: Bool, grow: Bool, z: F64) -> list[Vessel]:
    p, px = inputs.params, inputs.pixel_size_m
    r0, c0 = inputs.origin
    labels, n = label_merged(grow, 0.0)
    if n == 0:
        return []
    seeded = set(np.unique(labels[seed]).tolist()) - {0}
    out = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or idx not in seeded:
            continue
        sub = labels[sl] == idx
        if sub.sum() < p.min_area_px or not _observed(inputs.valid, sl, sub, p):
            continue
        if inputs.reference is not None and inputs.water[sl][sub].mean() < p.min_water_fraction:
            continue  # a change on the quay (traffic, containers) is not a ship
        rr, cc = np.nonzero(sub)
        shape = measure_shape(
            rr + (sl[0].start + r0), cc + (sl[1].start + c0), pixel_size_m=px, blur_px=p.blur_m / px
        )
        if not (
            p.min_length_m <= shape.length_m <= p.max_length_m
            and shape.width_m <= p.max_width_m
            and shape.length_m <= p.max_elongation * max(shape.width_m, p.min_width_m)
        ):
            continue
        flags: tuple[str, ...] = ()
        if inputs.reference is not None:
            flags = ("changed_vs_reference",)
        if not inputs.water[sl][sub].any():
            flags += ("near_land",)
        out.append(
            Vessel(
                row=round(shape.row, 3),
                col=round(shape.col, 3),
                length_m=round(shape.length_m, 1),
                width_m=round(shape.width_m, 1),
                heading_deg=round(shape.heading_deg, 1),
                score=round(float(np.max(z[sl][sub])), 3),
                corners=shape.corners,
                flags=flags,
            )
        )
    out.sort(key=_rank)
    return out


def _observed(valid: Bool, sl: tuple[slice, slice], sub: Bool, p: OpticalParams) -> bool:
    """Whether enough of the object's surroundings is observed (not cloud/shadow/nodata)."""
    r0 = max(sl[0].start - 1, 0)
    c0 = max(sl[1].start - 1, 0)
    r1 = min(sl[0].stop + 1, valid.shape[0])
    c1 = min(sl[1].stop + 1, valid.shape[1])
    obj = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    obj[sl[0].start - r0 : sl[0].stop - r0, sl[1].start - c0 : sl[1].stop - c0] = sub
    ring = ndimage.binary_dilation(obj) & ~obj
    if not ring.any():
        return True
    return float(valid[r0:r1, c0:c1][ring].mean()) >= p.valid_fraction_min


def _moored_parts(inputs: _Inputs, z: F64) -> tuple[list[_Candidate], list[tuple[float, float]]]:
    """Without a reference: hulls moored against the shore, as narrow bulges of the land.

    A hull moored bow- or stern-to, or at a pontoon, sticks out of the land as a narrow strip
    with water on both long sides. Opening the land with a disk wider than the widest beam
    removes such strips (and finger piers and pontoons, which the shape tests below reject only
    in part); what the opening removed, touching the open water, elongated and ship-sized, is a
    moored-ship candidate (flag ``moored_shape``). A hull lying along a straight quay is part of
    the quay's outline and is *not* found this way: that needs a reference.

    Returns the candidates and the centres of all shore protrusions; :func:`_moored_vessels`
    applies the comb and pair rules, which look at neighbours, to the scene's lists.
    """
    p, px = inputs.params, inputs.pixel_size_m
    land = inputs.valid & ~inputs.domain
    r = _moored_radius_px(px, p)
    # Land continues beyond the image edge: pad with the edge so the opening does not eat it.
    padded = np.pad(land, r + 1, mode="edge")
    opened = ndimage.binary_opening(padded, structure=disk_footprint(r))[
        r + 1 : -r - 1, r + 1 : -r - 1
    ]
    bulges = land & ~opened
    near_sea = ndimage.binary_dilation(_sea(inputs), structure=np.ones((3, 3), bool))
    labels, n = ndimage.label(bulges, structure=np.ones((3, 3), bool))
    r0, c0 = inputs.origin
    candidates: list[_Candidate] = []
    protrusions: list[tuple[float, float]] = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        sub = labels[sl] == idx
        if sub.sum() < p.min_area_px:
            continue
        touching = float((near_sea[sl] & sub).sum()) / float(sub.sum())
        if touching < p.min_sea_contact:
            continue
        rr, cc = np.nonzero(sub)
        rows = (rr + (sl[0].start + r0)).astype(np.float64)
        cols = (cc + (sl[1].start + c0)).astype(np.float64)
        shape = measure_shape(rows, cols, pixel_size_m=px)
        protrusions.append((shape.row, shape.col))  # finger piers count in a comb too
        if (
            p.min_length_m <= shape.length_m <= p.max_length_m
            and shape.width_m <= p.max_moored_beam_m
            and p.min_elongation * shape.width_m <= shape.length_m
            and shape.length_m <= p.max_elongation * max(shape.width_m, p.min_width_m)
        ):
            zi = z[rr + sl[0].start, cc + sl[1].start].astype(np.float64)
            candidates.append((rows, cols, zi))
    return candidates, protrusions


def _moored_radius_px(pixel_size_m: float, params: OpticalParams) -> int:
    return max(1, int(round(params.max_moored_beam_m / 2.0 / pixel_size_m)))


def _moored_vessels(
    candidates: list[_Candidate],
    protrusions: list[tuple[float, float]],
    px: float,
    p: OpticalParams,
) -> list[Vessel]:
    """Moored vessels from the scene's candidates: combs dropped, a hull's two ends joined."""
    # Raster order of each candidate's first pixel (the labelling order of a one-pass run):
    # the pairing of equally distant ends must not depend on how the scene was cut.
    ordered = sorted(candidates, key=lambda c: (c[0][0], c[1][0]))
    kept = _drop_combs(ordered, protrusions, px, p)
    return [_moored_vessel(cand, px) for cand in _pair_ends(kept, px, p)]


def _moored_vessel(cand: _Candidate, px: float) -> Vessel:
    rows, cols, zi = cand
    shape = measure_shape(rows, cols, pixel_size_m=px)
    return Vessel(
        row=round(shape.row, 3),
        col=round(shape.col, 3),
        length_m=round(shape.length_m, 1),
        width_m=round(shape.width_m, 1),
        heading_deg=round(shape.heading_deg, 1),
        score=round(float(np.max(np.nan_to_num(zi, neginf=0.0))), 3),
        corners=shape.corners,
        flags=("near_land", "moored_shape"),
    )


def _centre(pixels: _Candidate) -> tuple[float, float]:
    return float(pixels[0].mean()), float(pixels[1].mean())


def _drop_combs(
    candidates: list[_Candidate],
    protrusions: list[tuple[float, float]],
    px: float,
    p: OpticalParams,
) -> list[_Candidate]:
    """Drop candidates in a comb of shore protrusions (finger piers, pontoons of a marina)."""
    if p.comb_min_neighbours <= 0 or not candidates:
        return candidates
    pts = np.asarray(protrusions, dtype=np.float64)
    radius_px = p.comb_radius_m / px
    out = []
    for cand in candidates:
        r, c = _centre(cand)
        d = np.hypot(pts[:, 0] - r, pts[:, 1] - c)
        # The candidate itself is one of the protrusions (distance 0).
        if int((d <= radius_px).sum()) - 1 < p.comb_min_neighbours:
            out.append(cand)
    return out


def _pair_ends(candidates: list[_Candidate], px: float, p: OpticalParams) -> list[_Candidate]:
    """Join candidates closer than ``moored_pair_m``, nearest pairs first: one hull's two ends."""
    if p.moored_pair_m <= 0 or len(candidates) < 2:
        return candidates
    pts = np.asarray([_centre(c) for c in candidates], dtype=np.float64)
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    d[np.tril_indices(len(pts))] = np.inf
    used: set[int] = set()
    out = []
    for flat in np.argsort(d, axis=None):
        i, j = divmod(int(flat), len(pts))
        if d[i, j] > p.moored_pair_m / px:
            break
        if i in used or j in used:
            continue
        used |= {i, j}
        out.append(
            (
                np.concatenate([candidates[i][0], candidates[j][0]]),
                np.concatenate([candidates[i][1], candidates[j][1]]),
                np.concatenate([candidates[i][2], candidates[j][2]]),
            )
        )
    out += [c for k, c in enumerate(candidates) if k not in used]
    return out


def _merge_lists(primary: list[Vessel], extra: list[Vessel], pixel_size_m: float) -> list[Vessel]:
    """Add *extra* vessels whose centre is not within half a length of a *primary* one's centre."""
    out = list(primary)
    for v in extra:
        if not any(
            math.hypot(v.row - u.row, v.col - u.col) <= 0.5 * u.length_m / pixel_size_m
            for u in primary
        ):
            out.append(v)
    out.sort(key=_rank)
    return out
