"""Counting individual containers on very-high-resolution imagery (pixel <= 1.5 m).

Private: :func:`detection.containers.count_containers_vhr` is the public entry point.

At 0.3-1.5 m a box (6.06 x 2.44 m for 20 ft, 12.19 x 2.44 m for 40 ft) is several pixels across,
so it can be counted. Boxes in a block touch (gaps of 0.1-0.5 m), so the work is splitting touching
boxes:

1. Ground: the most common colour of the yard (paving and lanes), found as the fullest cell of a
   colour histogram. Foreground = pixels whose colour differs from it by more than the noise allows.
2. Seams: adjacent boxes differ in colour (colour edge) or are parted by a dark gap (a thin valley,
   found by a black top-hat). Both cut the foreground into box-sized pieces; a watershed on the
   colour gradient gives the cut pixels back to their boxes, so areas are kept.
3. Each piece holds ``round(area / 14.79 m^2)`` 20-ft ground slots (TEU). A two-slot piece shaped
   like a 40-ft box (length/width > 3) is one 40-ft box, a two-slot piece as wide as two rows is
   two 20-ft boxes; for larger pieces (same-coloured boxes with no visible seam) the box count uses
   the share of 40-ft boxes among the clean single pieces of the same image, and the count interval
   spans "all 40 ft" to "all 20 ft".
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi
from skimage import filters, measure, morphology, segmentation

from detection._containers_stacks import drop_small
from detection.errors import InputArrayError

__all__ = ["ContainerBox", "ContainerCount", "VhrParams", "count_boxes"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Light Gaussian smoothing (px) before segmentation: tames noise, keeps 2-px seams.
_SMOOTH_PX = 0.5


@dataclass(frozen=True)
class VhrParams:
    """Settings of the VHR container counter (defaults from ISO box sizes and the noise).

    Attributes
    ----------
    max_pixel_size_m : float
        Coarsest pixel accepted: at 1.5 m a box is still ~1.6 x 4 pixels.
    box_width_m, box_length_m : float
        20-ft box footprint (ISO 668).
    foreground_sigma : float
        Colour distance from ground, in noise standard deviations, for a pixel to be a box.
    min_contrast : float
        And at least this distance (fraction of the image's value range): a 3 % step is texture.
    seam_sigma : float
        Depth of a seam (colour edge or dark gap) around a box, in units of the relief's noise
        level on bare ground, for the box to be seeded on its own.
    colour_tolerance : float
        Touching pieces whose mean colours differ by less (fraction of the value range) and with
        no dark gap between them are one piece: one box split by noise, or same-coloured boxes
        that no seam separates (counted by area).
    row_gap_m, bay_gap_m : float
        Typical gaps between rows and between bays in a block: a piece of touching boxes covers
        ``(box_width + row_gap) x (box_length + bay_gap)`` = 17.97 m^2 per 20-ft slot.
    """

    max_pixel_size_m: float = 1.5
    box_width_m: float = 2.44
    box_length_m: float = 6.06
    foreground_sigma: float = 3.0
    min_contrast: float = 0.05
    seam_sigma: float = 4.0
    row_gap_m: float = 0.3
    bay_gap_m: float = 0.5
    colour_tolerance: float = 0.05


@dataclass(frozen=True)
class ContainerBox:
    """One piece of the yard found to be one box (or a few same-coloured touching boxes).

    Attributes
    ----------
    row, col : float
        Centre (pixel coordinates).
    length_m, width_m : float
        Oriented size of the piece.
    heading_deg : float
        Long axis, degrees clockwise from image "up", in [0, 180).
    teu : int
        20-ft ground slots the piece covers (a 40-ft box is 2).
    boxes : float
        Boxes in the piece (1 for a clean box; may be fractional for a merged piece).
    merged : bool
        True when the piece holds several boxes that no seam separated.
    """

    row: float
    col: float
    length_m: float
    width_m: float
    heading_deg: float
    teu: int
    boxes: float
    merged: bool


@dataclass(frozen=True, eq=False)
class ContainerCount:
    """Containers counted on a VHR image.

    Attributes
    ----------
    count : int
        Boxes counted (20 ft and 40 ft each count 1).
    count_low, count_high : int
        Interval from merged pieces of unknown 20/40-ft mix (equal to ``count`` if none).
    teu : int
        20-ft ground slots occupied (single tier: the top view cannot see boxes below).
    boxes : tuple of ContainerBox
        The pieces, in label order.
    observed_fraction : float
        Share of the mask (or image) with valid pixels; the count covers only that part.
    pixel_size_m : float
        Pixel size used.
    labels : ndarray of int, shape (M, N)
        Piece label per pixel (0 = not a box), ``boxes[i]`` is label ``i + 1``.
    """

    count: int
    count_low: int
    count_high: int
    teu: int
    boxes: tuple[ContainerBox, ...]
    observed_fraction: float
    pixel_size_m: float
    labels: NDArray[np.int32]


def count_boxes(
    image: ArrayLike, *, pixel_size_m: float, mask: ArrayLike | None, params: VhrParams
) -> ContainerCount:
    """Implementation of :func:`detection.containers.count_containers_vhr`."""
    img, valid = _prepare(image, pixel_size_m, mask, params)
    observed = float(valid.mean()) if mask is None else _observed(valid, mask)
    empty = np.zeros(valid.shape, np.int32)
    if valid.sum() < 4:
        return ContainerCount(0, 0, 0, 0, (), observed, pixel_size_m, empty)
    sigma = _noise_sigma(img)
    smooth = ndi.gaussian_filter(img, sigma=(_SMOOTH_PX, _SMOOTH_PX, 0))
    fg, dist = _foreground(smooth, valid, sigma, pixel_size_m, params)
    labels = _split(smooth, fg, valid, params)
    slot_px = (params.box_width_m + params.row_gap_m) * (params.box_length_m + params.bay_gap_m)
    labels = _merge_slivers(labels, smooth, 0.4 * slot_px / pixel_size_m**2)
    # A dark gap only tells a seam when a box is wider than the 3-px top-hat that finds it.
    use_gaps = params.box_width_m / pixel_size_m >= 4.0
    labels = _merge_alike(labels, smooth, params.colour_tolerance, use_gaps=use_gaps)
    labels = _trim_to_half_cover(labels, dist, pixel_size_m)
    boxes, count, low, high = _tally(
        _measure_pieces(labels, pixel_size_m, params), seams_visible=use_gaps
    )
    teu = sum(b.teu for b in boxes)
    logger.debug("VHR: noise %.4f, %d pieces, %d boxes, %d TEU", sigma, len(boxes), count, teu)
    return ContainerCount(count, low, high, teu, boxes, observed, pixel_size_m, labels)


def _prepare(
    image: ArrayLike, pixel_size_m: float, mask: ArrayLike | None, p: VhrParams
) -> tuple[FloatArray, BoolArray]:
    if not (math.isfinite(pixel_size_m) and 0 < pixel_size_m <= p.max_pixel_size_m):
        raise InputArrayError(
            f"pixel_size_m must be in (0, {p.max_pixel_size_m}] m to count single boxes. Got "
            f"{pixel_size_m}; use measure_container_stacks for coarser imagery."
        )
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] > 16:
        raise InputArrayError(
            f"image must be (M, N) or (M, N, channels). Got shape {arr.shape}; put channels last."
        )
    img = arr.astype(np.float64)
    valid = np.all(np.isfinite(img), axis=2)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != valid.shape:
            raise InputArrayError(f"mask shape {m.shape} must match image shape {valid.shape}.")
        valid &= m
    img = np.where(valid[:, :, None], img, 0.0)
    lo, hi = (float(img[valid].min()), float(img[valid].max())) if valid.any() else (0.0, 1.0)
    return (img - lo) / (hi - lo if hi > lo else 1.0), valid


def _observed(valid: BoolArray, mask: ArrayLike) -> float:
    m = np.asarray(mask, dtype=bool)
    return float(valid.sum() / m.sum()) if m.any() else 0.0


def _noise_sigma(img: FloatArray) -> float:
    """Noise sd per channel: robust (median) version of Immerkaer's Laplacian-difference estimate.

    References: J. Immerkaer, "Fast noise variance estimation", CVIU 64(2), 1996.
    """
    kernel = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
    resid = [ndi.convolve(img[:, :, c], kernel)[1:-1, 1:-1] for c in range(img.shape[2])]
    # The kernel's L2 norm is 6; the median of |N(0, s)| is 0.6745 s.
    sds = [float(np.median(np.abs(r))) / 0.6745 / 6.0 for r in resid]
    return max(float(np.mean(sds)), 1e-3)


def _ground_colour(smooth: FloatArray, valid: BoolArray, sigma: float) -> FloatArray:
    """Mean colour of the fullest cell of a colour histogram (cells a few sigma wide)."""
    step = max(4.0 * sigma, 1.0 / 32.0)
    cells = np.floor(smooth[valid] / step).astype(np.int64)
    keys, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    members = inverse.ravel() == int(np.argmax(counts))
    ground: FloatArray = smooth[valid][members].mean(axis=0)
    logger.debug("VHR ground colour %s from %d of %d cells", ground, counts.max(), len(keys))
    return ground


def _foreground(
    smooth: FloatArray, valid: BoolArray, sigma: float, px: float, p: VhrParams
) -> tuple[BoolArray, FloatArray]:
    """Pixels unlike the ground colour, cleaned; and every pixel's colour distance from ground."""
    ground = _ground_colour(smooth, valid, sigma)
    dist = np.linalg.norm(smooth - ground, axis=2)
    # A Gaussian of sd s px divides white noise's sd by 2 s sqrt(pi).
    noise = sigma / max(1.0, 2.0 * _SMOOTH_PX * math.sqrt(math.pi))
    threshold = max(p.foreground_sigma * noise * math.sqrt(smooth.shape[2]), p.min_contrast)
    fg = valid & (dist > threshold)
    radius = max(1, int(p.box_width_m / px / 4))
    fg = ndi.binary_opening(fg, structure=morphology.disk(radius).astype(bool))  # type: ignore[no-untyped-call]
    box_px = p.box_width_m * p.box_length_m / px**2
    fg = drop_small(fg, int(0.3 * box_px))
    holes = ndi.binary_fill_holes(fg) & ~fg
    out: BoolArray = fg | (holes & ~drop_small(holes, int(0.3 * box_px)))
    return out, dist


def _trim_to_half_cover(
    labels: NDArray[np.int32], dist: FloatArray, px: float
) -> NDArray[np.int32]:
    """Drop a piece's outer-rim pixels that are less than half as far from ground as its median.

    A blurred rim pixel's colour is a mix of box and ground, linear in the covered fraction, so
    this keeps the rim pixels at least half covered: the piece's area is then unbiased instead of
    carrying a halo of faintly tinted ground (which matters at 1-1.5 m pixels). Only the rim next
    to ground (within ~1 m) is trimmed; seams between touching boxes stay inside the piece.
    """
    n = int(labels.max()) + 1
    if n <= 1:
        return labels
    medians = np.zeros(n)
    medians[1:] = ndi.median(dist, labels, index=np.arange(1, n))
    rim = ndi.binary_dilation(labels == 0, iterations=max(1, round(1.0 / px)))
    faint = rim & (dist < 0.5 * medians[labels])
    return np.where(faint, 0, labels).astype(np.int32)


def _split(smooth: FloatArray, fg: BoolArray, valid: BoolArray, p: VhrParams) -> NDArray[np.int32]:
    """Cut the foreground into boxes: watershed of the colour-edge + dark-gap relief.

    Each box is a basin of the relief (flat colour inside, an edge or a dark gap around it). Basins
    are seeded at the relief's minima deeper than ``seam_sigma`` x the relief's noise level,
    measured on bare ground, so noise does not split a box.
    """
    grad = np.sqrt(sum(filters.sobel(smooth[:, :, c]) ** 2 for c in range(smooth.shape[2])))  # type: ignore[no-untyped-call]
    gap = morphology.black_tophat(smooth.mean(axis=2), morphology.disk(1))  # type: ignore[no-untyped-call]
    relief = grad + gap
    ground = valid & ~fg
    noise = float(np.median(relief[ground])) if ground.any() else float(np.median(relief))
    seeds = morphology.h_minima(relief, max(p.seam_sigma * noise, 1e-6)).astype(bool) & fg  # type: ignore[no-untyped-call]
    markers, _ = ndi.label(seeds)
    labels = segmentation.watershed(relief, markers, mask=fg)  # type: ignore[no-untyped-call]
    return np.asarray(labels, dtype=np.int32)


def _merge_slivers(
    labels: NDArray[np.int32], smooth: FloatArray, min_px: float
) -> NDArray[np.int32]:
    """Give each piece smaller than *min_px* to the touching piece of the closest mean colour."""
    out = labels.copy()
    sizes = np.bincount(out.ravel())
    means = _label_means(out, smooth)
    for lab in np.argsort(sizes):
        if lab == 0 or sizes[lab] == 0 or sizes[lab] >= min_px:
            continue
        piece = out == lab
        ring = ndi.binary_dilation(piece, structure=np.ones((3, 3), bool)) & ~piece
        neighbours = np.unique(out[ring])
        neighbours = neighbours[(neighbours != 0) & (neighbours != lab)]
        if neighbours.size == 0:
            continue
        dist = np.linalg.norm(means[neighbours] - means[lab], axis=1)
        target = int(neighbours[int(np.argmin(dist))])
        out[piece] = target
        means[target] = (means[target] * sizes[target] + means[lab] * sizes[lab]) / (
            sizes[target] + sizes[lab]
        )
        sizes[target], sizes[lab] = sizes[target] + sizes[lab], 0
    return out


def _merge_alike(
    labels: NDArray[np.int32], smooth: FloatArray, tolerance: float, *, use_gaps: bool
) -> NDArray[np.int32]:
    """Union touching pieces of the same colour that no dark gap separates."""
    n = int(labels.max()) + 1
    if n <= 2:
        return labels
    means = _label_means(labels, smooth)
    bright = smooth.mean(axis=2)
    gap = morphology.black_tophat(bright, morphology.disk(1))  # type: ignore[no-untyped-call]
    a, b, g = _touching_pairs(labels, gap)
    if a.size == 0:
        return labels
    key = a * n + b
    uniq, inv = np.unique(key, return_inverse=True)
    mean_gap = np.bincount(inv, g) / np.bincount(inv)
    pa, pb = uniq // n, uniq % n
    # A seam between two boxes is a dark line; inside one box the "gap" is noise only.
    gap_noise = float(np.median(gap[labels > 0]))
    alike = np.linalg.norm(means[pa] - means[pb], axis=1) < tolerance
    if use_gaps:
        alike &= mean_gap < 3.0 * gap_noise + 1e-6
    parent = np.arange(n)
    for x, y in zip(pa[alike], pb[alike], strict=True):
        rx, ry = _root(parent, int(x)), _root(parent, int(y))
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    roots = np.array([_root(parent, i) for i in range(n)])
    return np.asarray(roots[labels], dtype=np.int32)


def _touching_pairs(
    labels: NDArray[np.int32], gap: FloatArray
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    """Label pairs (low, high) of 4-neighbouring pixels in different pieces, with the gap there."""
    out_a, out_b, out_g = [], [], []
    for l1, l2, g1, g2 in (
        (labels[:, :-1], labels[:, 1:], gap[:, :-1], gap[:, 1:]),
        (labels[:-1, :], labels[1:, :], gap[:-1, :], gap[1:, :]),
    ):
        edge = (l1 != l2) & (l1 > 0) & (l2 > 0)
        out_a.append(np.minimum(l1, l2)[edge])
        out_b.append(np.maximum(l1, l2)[edge])
        out_g.append(np.maximum(g1, g2)[edge])
    return (
        np.concatenate(out_a).astype(np.int64),
        np.concatenate(out_b).astype(np.int64),
        np.concatenate(out_g),
    )


def _root(parent: NDArray[np.int64], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def _label_means(labels: NDArray[np.int32], smooth: FloatArray) -> FloatArray:
    n = int(labels.max()) + 1
    counts = np.maximum(np.bincount(labels.ravel(), minlength=n), 1)
    sums = [np.bincount(labels.ravel(), smooth[:, :, c].ravel(), n) for c in range(smooth.shape[2])]
    return np.stack(sums, axis=1) / counts[:, None]


def _measure_pieces(labels: NDArray[np.int32], px: float, p: VhrParams) -> tuple[ContainerBox, ...]:
    # A piece holds its boxes and the gaps between them: count in ground slots (box + gaps).
    slot_m2 = (p.box_width_m + p.row_gap_m) * (p.box_length_m + p.bay_gap_m)
    boxes: list[ContainerBox] = []
    for region in measure.regionprops(labels):  # type: ignore[no-untyped-call]
        teu = int(round(region.area * px * px / slot_m2))
        if teu < 1:
            continue
        # For a rectangle, the moments' axis length is 2/sqrt(3) x its side.
        length = region.axis_major_length * px * math.sqrt(3) / 2
        width = max(region.axis_minor_length * px * math.sqrt(3) / 2, 1e-6)
        heading = math.degrees(-region.orientation) % 180.0
        merged = teu > 2 or (teu == 2 and length / width <= 3.0)
        r, c = region.centroid
        boxes.append(ContainerBox(float(r), float(c), length, width, heading, teu, 1.0, merged))
    return tuple(boxes)


def _tally(
    boxes: tuple[ContainerBox, ...], *, seams_visible: bool
) -> tuple[tuple[ContainerBox, ...], int, int, int]:
    """Box count and its interval; merged pieces use the clean pieces' share of 40-ft boxes.

    A row of TEU slots with a share f of 40-ft boxes holds TEU / (1 + f) boxes; the interval
    spans all-40-ft to all-20-ft for merged pieces. When seams are not visible (a box narrower than
    4 pixels) any piece may hide a 20/40-ft split, so the interval spans that for every piece.
    """
    clean = [b for b in boxes if not b.merged]
    forty = sum(1 for b in clean if b.teu == 2) / len(clean) if clean else 0.0
    out = tuple(replace(b, boxes=b.teu / (1.0 + forty)) if b.merged else b for b in boxes)
    merged_teu = sum(b.teu for b in boxes if b.merged)
    count = len(clean) + round(merged_teu / (1.0 + forty))
    if seams_visible:
        low, high = len(clean) + math.ceil(merged_teu / 2), len(clean) + merged_teu
    else:
        teu = sum(b.teu for b in boxes)
        low, high = math.ceil(teu / 2), teu
    return out, min(max(count, low), high), low, high
