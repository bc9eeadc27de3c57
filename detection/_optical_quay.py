"""Hulls moored alongside a straight quay, found without a reference from the water mask's shape.

At 10 m a hull alongside a quay merges with the quay in the NDWI water mask: it shows as a
rectangular bulge of the land into the water, as long as the hull (50-300 m) and as deep as its
beam (10-45 m), with its long side parallel to the quay. A quay is straight over hundreds of
metres; a hull's bulge ends where the hull ends (or at the gap to the next hull).

For each land pixel within a beam of the open water, the local shoreline direction comes from
the structure tensor of the water mask (smoothed over ``quay_scale_m``). The pixel lies on the
quay when a straight run of land at least ``quay_line_m`` long passes through it along that
direction (a directional opening of the land by a line segment, evaluated pixel by pixel); a
pixel on a hull's bulge meets water at the hull's ends within a shorter run. Connected groups of
such pixels are kept when they are as deep as a resolved beam, hull-sized, parallel to the
shore and on a straight shoreline (tensor coherence): flag ``quay_bulge``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from detection.objects import measure_shape
from detection.params import OpticalParams
from detection.types import Vessel

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Int = NDArray[np.intp]

# Pixels sampled at once (pixels x line samples): bounds memory on full 10980 x 10980 tiles.
_CHUNK_SAMPLES = 4_000_000
# Gaussian filters reach this many standard deviations (scipy's default ``truncate``).
_TRUNCATE = 4.0


def quay_reach_px(pixel_size_m: float, params: OpticalParams) -> int:
    """How far (pixels) the quay tests of one pixel look, for block-wise runs.

    The distance to the open water is needed up to a beam (``quay_max_beam_m``) plus 2 pixels;
    the shore direction smooths the water mask by 1 pixel, takes a Sobel gradient and smooths
    the tensor over ``quay_scale_m``; a straight run looks ``quay_line_m`` each way.
    """
    p, px = params, pixel_size_m
    dist = math.ceil(p.quay_max_beam_m / px + 2.0) + 1
    orient = int(_TRUNCATE * 1.0 + 0.5) + 1 + int(_TRUNCATE * p.quay_scale_m / px + 0.5)
    run = max(2, math.ceil(p.quay_line_m / px))
    return max(dist, orient, run)


def quay_hulls(
    land: Bool,
    sea: Bool,
    z: F64,
    *,
    pixel_size_m: float,
    params: OpticalParams,
    origin: tuple[int, int] = (0, 0),
) -> list[Vessel]:
    """Bulges of *land* into *sea* that a hull moored alongside a straight quay makes.

    Parameters
    ----------
    land : ndarray of bool, shape (M, N)
        Observed land (not water, not in the search domain of floating objects).
    sea : ndarray of bool, shape (M, N)
        Open water (large water bodies).
    z : ndarray of float64, shape (M, N)
        Contrast against the water (standard deviations), reported as the score.
    pixel_size_m : float
    params : OpticalParams
        ``quay_*`` fields.
    origin : tuple of int
        Scene position of the arrays' pixel (0, 0) (a block's window): results are in scene
        pixels.

    Returns
    -------
    list of Vessel
        Flags ``near_land`` and ``quay_bulge``; width is the bulge's depth (the visible beam).
    """
    p, px = params, pixel_size_m
    if not (land.any() and sea.any()):
        return []
    dist = ndimage.distance_transform_edt(~sea)
    max_depth_px = p.quay_max_beam_m / px
    band = land & (dist <= max_depth_px + 2.0)
    normal, coherence = _shore_orientation(sea, px, p.quay_scale_m)
    rr, cc = np.nonzero(band)
    if rr.size == 0:
        return []
    on_quay = _on_straight_run(land, rr, cc, normal, max(2, math.ceil(p.quay_line_m / px)))
    bulge = np.zeros(land.shape, dtype=bool)
    bulge[rr[~on_quay], cc[~on_quay]] = True
    labels, _ = ndimage.label(bulge, structure=np.ones((3, 3), bool))
    out = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        pr, pc = np.nonzero(labels[sl] == idx)
        vessel = _bulge_vessel(
            pr + sl[0].start, pc + sl[1].start, dist, normal, coherence, z, px, p, origin
        )
        if vessel is not None:
            out.append(vessel)
    return out


def _shore_orientation(sea: Bool, px: float, scale_m: float) -> tuple[F64, F64]:
    """Angle of the shoreline's normal (radians, (row, col) = (cos, sin)) and its coherence.

    Structure tensor of the water mask: gradients at the pixel scale, averaged over a Gaussian
    of ``scale_m``. Coherence is 1 for a straight shore and falls towards 0 at corners and on
    ragged natural coast.
    """
    g = ndimage.gaussian_filter(sea.astype(np.float32), 1.0, truncate=_TRUNCATE)
    gr = ndimage.sobel(g, 0)
    gc = ndimage.sobel(g, 1)
    s = scale_m / px
    jrr = ndimage.gaussian_filter(gr * gr, s, truncate=_TRUNCATE).astype(np.float64)
    jcc = ndimage.gaussian_filter(gc * gc, s, truncate=_TRUNCATE).astype(np.float64)
    jrc = ndimage.gaussian_filter(gr * gc, s, truncate=_TRUNCATE).astype(np.float64)
    normal: F64 = 0.5 * np.arctan2(2.0 * jrc, jrr - jcc)
    coherence: F64 = np.hypot(jrr - jcc, 2.0 * jrc) / np.maximum(jrr + jcc, 1e-12)
    return normal, coherence


def _on_straight_run(land: Bool, rr: Int, cc: Int, normal: F64, run_px: int) -> Bool:
    """Whether a straight run of land of *run_px* along the shore passes through each pixel."""
    out = np.empty(rr.size, dtype=bool)
    step = max(1, _CHUNK_SAMPLES // (2 * run_px))
    for k in range(0, rr.size, step):
        r, c = rr[k : k + step], cc[k : k + step]
        phi = normal[r, c]
        tr, tc = -np.sin(phi), np.cos(phi)
        ahead = _run_length(land, r, c, tr, tc, run_px)
        behind = _run_length(land, r, c, -tr, -tc, run_px)
        out[k : k + step] = ahead + behind + 1 >= run_px
    return out


def _run_length(land: Bool, r: Int, c: Int, tr: F64, tc: F64, n: int) -> Int:
    """Land samples before the first non-land one, stepping (tr, tc) from (r, c); at most n."""
    s = np.arange(1, n + 1, dtype=np.float64)
    rs = np.rint(r[:, None] + s[None, :] * tr[:, None]).astype(np.intp)
    cs = np.rint(c[:, None] + s[None, :] * tc[:, None]).astype(np.intp)
    inside = (rs >= 0) & (rs < land.shape[0]) & (cs >= 0) & (cs < land.shape[1])
    # Land goes on beyond the image edge as far as we know: an edge never ends a quay.
    ok = ~inside | land[np.clip(rs, 0, land.shape[0] - 1), np.clip(cs, 0, land.shape[1] - 1)]
    stop = ~ok
    first: Int = np.where(stop.any(axis=1), stop.argmax(axis=1), n)
    return first


def _bulge_vessel(
    rows: Int,
    cols: Int,
    dist: F64,
    normal: F64,
    coherence: F64,
    z: F64,
    px: float,
    p: OpticalParams,
    origin: tuple[int, int],
) -> Vessel | None:
    """The vessel a bulge is, or None when it is not hull-shaped or not on a straight quay."""
    if rows.size < p.min_area_px:
        return None
    depth_m = float(dist[rows, cols].max()) * px
    # Deeper than the widest beam: the land itself is short here (a pier head, a mole), no hull.
    if not p.quay_min_beam_m <= depth_m <= p.quay_max_beam_m + 0.5 * px:
        return None
    if float(np.median(coherence[rows, cols])) < p.quay_min_coherence:
        return None
    shape = measure_shape(rows + origin[0], cols + origin[1], pixel_size_m=px)
    length_m = shape.length_m
    if not (
        p.quay_min_length_m <= length_m <= p.max_length_m
        and p.quay_min_elongation * depth_m <= length_m
        and length_m <= p.max_elongation * max(depth_m, p.min_width_m)
    ):
        return None
    phi = float(np.median(normal[rows, cols]))
    shore_deg = math.degrees(math.atan2(math.cos(phi), math.sin(phi))) % 180.0
    off_deg = abs((shape.heading_deg - shore_deg + 90.0) % 180.0 - 90.0)
    if off_deg > p.quay_max_angle_deg:
        return None  # a hull alongside lies parallel to the quay
    zi = np.nan_to_num(z[rows, cols], nan=0.0, neginf=0.0, posinf=0.0)
    return Vessel(
        row=round(shape.row, 3),
        col=round(shape.col, 3),
        length_m=round(length_m, 1),
        width_m=round(depth_m, 1),
        heading_deg=round(shape.heading_deg, 1),
        score=round(float(np.max(zi)), 3),
        corners=shape.corners,
        flags=("near_land", "quay_bulge"),
    )
