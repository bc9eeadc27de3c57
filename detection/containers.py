"""Container stacks: footprint, TEU interval and change at 10 m; box counts on VHR imagery.

At 10 m a 20-ft box (6.06 x 2.44 m) is smaller than a pixel, so Sentinel-1/2 cannot count boxes.
What they can measure is the **footprint** of the stacks in a yard. A TEU figure then needs two
assumptions, tiers (mean stack height) and packing (share of the footprint under boxes), and it is
always an interval (low, central, high) that carries their ranges and the pixel-edge error of the
footprint; see :class:`TeuAssumptions` for the values and their sources.

* :func:`measure_container_stacks`: one yard in one scene -> :class:`YardStacks` (outline mask,
  area, observed fraction, TEU interval for the observed part, and an extrapolation or None).
* :func:`estimate_teu`: the footprint -> TEU arithmetic on its own.
* :func:`compare_yards`: two observations of one yard -> :class:`YardChange` (stacks added and
  removed, area and TEU intervals): what loading or unloading looks like.
* :func:`count_containers_vhr`: pixel <= 1.5 m (an analyst's own commercial tiles) -> count the
  boxes themselves (:class:`ContainerCount`).

Hidden (cloud, shadow, nodata) parts of a yard are "not observed", never "no containers": every
result carries ``observed_fraction`` and its numbers cover only the observed part.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi
from skimage import measure

from detection._containers_stacks import (
    SENSORS,
    StackParams,
    classify_stacks,
    drop_small,
    normalise_bands,
)
from detection._containers_teu import (
    TEU_FOOTPRINT_M2,
    TeuAssumptions,
    TeuEstimate,
    estimate_teu,
    net_teu_change,
)
from detection._containers_vhr import ContainerBox, ContainerCount, VhrParams, count_boxes
from detection.errors import InputArrayError

__all__ = [
    "SENSORS",
    "TEU_FOOTPRINT_M2",
    "ContainerBox",
    "ContainerCount",
    "StackParams",
    "TeuAssumptions",
    "TeuEstimate",
    "VhrParams",
    "YardChange",
    "YardStacks",
    "compare_yards",
    "count_containers_vhr",
    "estimate_teu",
    "measure_container_stacks",
]

logger = logging.getLogger(__name__)

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class YardStacks:
    """Container stacks of one yard zone in one scene (a future ``container_stack`` detection).

    Attributes
    ----------
    zone : str
        Zone id given by the caller (e.g. ``"rajin-yard-1"``); ``""`` if none.
    sensor : str
        ``"sentinel-2"`` or ``"sentinel-1"``.
    pixel_size_m : float
        Grid pixel size.
    mask : ndarray of bool, shape (M, N)
        The stack outline in pixel space (observed part only): pixels at least half covered.
    cover : ndarray of float, shape (M, N)
        Covered fraction of each pixel (0-1), non-zero on the outline and the ring around it.
    observed_mask : ndarray of bool, shape (M, N)
        Yard pixels that were observed (not cloud, shadow, cirrus or nodata).
    yard_area_m2, observed_area_m2 : float
        Area of the whole yard zone and of its observed part.
    observed_fraction : float
        ``observed_area_m2 / yard_area_m2`` (0 when the yard was not observed at all).
    area_m2 : float
        Stack footprint (observed part): the sum of ``cover`` times the pixel area. Sub-pixel
        cover rather than the outline's pixel count, because a block 1-2 pixels wide is
        outlined 1 or 2 pixels wide depending on where it falls on the grid.
    perimeter_m : float
        Perimeter of the outline; ``perimeter_m x pixel_size_m / 2`` is the area's error bound.
    teu : TeuEstimate or None
        TEU interval for the **observed part**; None if nothing of the yard was observed.
    teu_extrapolated : TeuEstimate or None
        Whole-yard interval assuming the hidden part holds stacks at the observed density:
        ``low`` stays the observed ``low`` (the hidden part may be empty), ``central`` and
        ``high`` are divided by ``observed_fraction``. Equal to ``teu`` when fully observed;
        None when less than ``StackParams.min_extrapolate_fraction`` was observed.
    flags : tuple of str
        ``"not_observed"``, ``"partly_observed"``, ``"no_stacks_seen"``.
    """

    zone: str
    sensor: str
    pixel_size_m: float
    mask: BoolArray
    cover: NDArray[np.float64]
    observed_mask: BoolArray
    yard_area_m2: float
    observed_area_m2: float
    observed_fraction: float
    area_m2: float
    perimeter_m: float
    teu: TeuEstimate | None
    teu_extrapolated: TeuEstimate | None
    flags: tuple[str, ...] = field(default=())

    @property
    def observed(self) -> bool:
        """Whether any part of the yard was observed."""
        return self.observed_fraction > 0.0

    @property
    def teu_low(self) -> float | None:
        """Low TEU bound for the observed part (None if not observed)."""
        return None if self.teu is None else self.teu.low

    @property
    def teu_central(self) -> float | None:
        """Central TEU estimate for the observed part (None if not observed)."""
        return None if self.teu is None else self.teu.central

    @property
    def teu_high(self) -> float | None:
        """High TEU bound for the observed part (None if not observed)."""
        return None if self.teu is None else self.teu.high

    @property
    def assumptions(self) -> str:
        """The TEU formula and assumptions, one line ("" if not observed)."""
        return "" if self.teu is None else self.teu.assumptions

    def outline_rings(self) -> list[NDArray[np.float64]]:
        """The outline as closed (row, col) rings (``skimage.measure.find_contours`` at 0.5)."""
        if not self.mask.any():
            return []
        padded = np.pad(self.mask.astype(np.float64), 1)
        return [ring - 1.0 for ring in measure.find_contours(padded, 0.5)]  # type: ignore[no-untyped-call]


@dataclass(frozen=True, eq=False)
class YardChange:
    """Stacks added and removed between two observations of one yard.

    Only pixels observed in both scenes are compared; ``observed_fraction`` says how much of the
    yard that is. Changes narrower than ``StackParams.min_width_m`` or smaller than
    ``min_area_m2`` are edge jitter, not loading, and are dropped. A change in stack *height*
    does not change the footprint and is invisible here.

    Attributes
    ----------
    added_mask, removed_mask : ndarray of bool, shape (M, N)
        Stack pixels present only after / only before.
    added_area_m2, removed_area_m2 : float
        Their areas.
    added, removed : TeuEstimate
        TEU intervals of the added and removed footprints (non-negative).
    net : TeuEstimate
        Signed change after - before (negative: boxes left the yard). Its interval multiplies
        the net-area interval by the tiers x packing interval (conservative).
    observed_fraction : float
        Share of the yard observed in both scenes.
    flags : tuple of str
        ``"different_sensors"`` (footprints of S1 and S2 differ in bias), ``"partly_observed"``,
        ``"not_observed"``.
    """

    added_mask: BoolArray
    removed_mask: BoolArray
    added_area_m2: float
    removed_area_m2: float
    added: TeuEstimate
    removed: TeuEstimate
    net: TeuEstimate
    observed_fraction: float
    flags: tuple[str, ...] = ()


def measure_container_stacks(
    image: Mapping[str, ArrayLike] | ArrayLike,
    *,
    sensor: str,
    pixel_size_m: float,
    yard_mask: ArrayLike,
    invalid_mask: ArrayLike | None = None,
    zone: str = "",
    params: StackParams = StackParams(),  # noqa: B008 (frozen dataclass: immutable)
    assumptions: TeuAssumptions = TeuAssumptions(),  # noqa: B008
) -> YardStacks:
    """Measure the container-stack footprint of one yard in one scene and estimate its TEU.

    Parameters
    ----------
    image : mapping of str to ndarray (M, N), or ndarray (bands, M, N)
        Sentinel-2: ``blue, green, red, nir`` reflectance (floats 0-1, or L2A integer DNs =
        reflectance x 10 000; 0 = nodata). Sentinel-1: ``vv`` (and optionally ``vh``) linear
        sigma0 (0 or non-finite = nodata). A stacked array must use that band order.
    sensor : {"sentinel-2", "sentinel-1"}
        Which classifier to use.
    pixel_size_m : float
        Grid pixel size (m).
    yard_mask : ndarray of bool, shape (M, N)
        The yard zone on the same grid.
    invalid_mask : ndarray of bool, shape (M, N), optional
        Pixels not observed (S2 SCL 3, 8, 9, 10; outside the swath). Grown by
        ``params.invalid_buffer_px`` pixels. Nodata pixels are added automatically.
    zone : str, optional
        Zone id carried into the result.
    params : StackParams, optional
        Classifier thresholds.
    assumptions : TeuAssumptions, optional
        Tiers, packing and TEU footprint for the TEU interval.

    Returns
    -------
    YardStacks
        Outline, areas, observed fraction, TEU interval (observed part) and extrapolation.

    Raises
    ------
    InputArrayError
        Unknown sensor, missing bands, or arrays of mismatched shapes.

    Examples
    --------
    >>> import numpy as np
    >>> bands = {b: np.full((40, 40), 0.12) for b in ("blue", "green", "red", "nir")}
    >>> yard = np.zeros((40, 40), bool); yard[5:35, 5:35] = True
    >>> res = measure_container_stacks(bands, sensor="sentinel-2", pixel_size_m=10.0,
    ...                                yard_mask=yard)
    >>> res.area_m2, res.observed_fraction, res.teu.central
    (0.0, 1.0, 0.0)
    """
    bands = normalise_bands(image, sensor)
    yard, invalid = _masks(yard_mask, invalid_mask, next(iter(bands.values())).shape, params)
    if not (math.isfinite(pixel_size_m) and pixel_size_m > 0):
        raise InputArrayError(f"pixel_size_m must be > 0. Got {pixel_size_m}; pass metres.")
    has_data = _has_data(bands, sensor)
    found = classify_stacks(
        bands,
        sensor=sensor,
        pixel_size_m=pixel_size_m,
        valid=yard & ~invalid & has_data,
        yard=yard,
        unseen=invalid | ~has_data,
        params=params,
    )
    observed = yard & ~invalid & has_data & ~found.hidden
    px_area = pixel_size_m * pixel_size_m
    fraction = float(observed.sum() / yard.sum()) if yard.any() else 0.0
    area = float(found.cover.sum()) * px_area
    perimeter = _perimeter_m(found.mask, pixel_size_m)
    teu = None
    if observed.any():
        teu = estimate_teu(
            area, pixel_size_m=pixel_size_m, perimeter_m=perimeter, assumptions=assumptions
        )
    logger.info("%s %s: observed %.0f%%, stacks %.0f m2", zone, sensor, 100 * fraction, area)
    return YardStacks(
        zone=zone,
        sensor=sensor,
        pixel_size_m=pixel_size_m,
        mask=found.mask,
        cover=found.cover,
        observed_mask=observed,
        yard_area_m2=float(yard.sum()) * px_area,
        observed_area_m2=float(observed.sum()) * px_area,
        observed_fraction=fraction,
        area_m2=area,
        perimeter_m=perimeter,
        teu=teu,
        teu_extrapolated=_extrapolate(teu, fraction, params),
        flags=_flags(fraction, area),
    )


def compare_yards(
    before: YardStacks,
    after: YardStacks,
    *,
    params: StackParams = StackParams(),  # noqa: B008 (frozen dataclass: immutable)
) -> YardChange:
    """Stacks added and removed between two observations of the same yard.

    Parameters
    ----------
    before, after : YardStacks
        Two results of :func:`measure_container_stacks` on the same grid and yard.
    params : StackParams, optional
        Its ``min_width_m`` and ``min_area_m2`` decide which differences are real changes
        rather than edge jitter (use the values the two results were measured with).

    Returns
    -------
    YardChange
        Added / removed footprints with TEU intervals and the signed net change, over the part
        of the yard observed in both.

    Raises
    ------
    InputArrayError
        The two results are on different grids or pixel sizes.
    """
    if before.mask.shape != after.mask.shape or before.pixel_size_m != after.pixel_size_m:
        raise InputArrayError(
            f"before and after must share a grid: shapes {before.mask.shape} vs "
            f"{after.mask.shape}, pixels {before.pixel_size_m} vs {after.pixel_size_m} m; "
            "measure both on the port's fixed grid."
        )
    px = before.pixel_size_m
    both = before.observed_mask & after.observed_mask
    a = before.teu.basis if before.teu is not None else TeuAssumptions()
    added, add_est = _change(after, before, both, params, a)
    removed, rem_est = _change(before, after, both, params, a)
    edge_m2 = (add_est.area_high_m2 - add_est.area_m2) + (rem_est.area_high_m2 - rem_est.area_m2)
    net = net_teu_change(add_est.area_m2 - rem_est.area_m2, edge_m2=edge_m2, assumptions=a)
    fraction = float(both.sum()) * px * px / before.yard_area_m2 if before.yard_area_m2 else 0.0
    flags: tuple[str, ...] = ("different_sensors",) if before.sensor != after.sensor else ()
    if fraction < 0.999:
        flags += ("not_observed",) if fraction <= 0 else ("partly_observed",)
    logger.debug("yard change: +%.0f / -%.0f m2", add_est.area_m2, rem_est.area_m2)
    return YardChange(
        added, removed, add_est.area_m2, rem_est.area_m2, add_est, rem_est, net, fraction, flags
    )


def count_containers_vhr(
    image: ArrayLike,
    *,
    pixel_size_m: float,
    mask: ArrayLike | None = None,
    params: VhrParams = VhrParams(),  # noqa: B008 (frozen dataclass: immutable)
) -> ContainerCount:
    """Count individual containers on very-high-resolution imagery (pixel <= 1.5 m).

    Parameters
    ----------
    image : ndarray, shape (M, N) or (M, N, channels)
        Top view of a yard (any dtype; colour helps split touching boxes).
    pixel_size_m : float
        Pixel size, at most ``params.max_pixel_size_m`` (1.5 m).
    mask : ndarray of bool, shape (M, N), optional
        The yard, and only the observed part of it; ``observed_fraction`` = valid share of it.
    params : VhrParams, optional
        Counter settings.

    Returns
    -------
    ContainerCount
        Boxes counted (with an interval for touching same-coloured boxes of unknown 20/40-ft
        mix), TEU slots, and each piece's oriented size. Only the top tier is visible.

    Raises
    ------
    InputArrayError
        Pixel size above the limit, a wrongly shaped image or mask.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((60, 60), 0.4); img[20:25, 10:22] = 0.9   # one 6 x 2.5 m box at 0.5 m
    >>> count_containers_vhr(img, pixel_size_m=0.5).count
    1
    """
    return count_boxes(image, pixel_size_m=pixel_size_m, mask=mask, params=params)


def _masks(
    yard_mask: ArrayLike,
    invalid_mask: ArrayLike | None,
    shape: tuple[int, ...],
    params: StackParams,
) -> tuple[BoolArray, BoolArray]:
    yard = np.asarray(yard_mask, dtype=bool)
    invalid = np.zeros(shape, bool) if invalid_mask is None else np.asarray(invalid_mask, bool)
    for name, arr in (("yard_mask", yard), ("invalid_mask", invalid)):
        if arr.shape != shape:
            raise InputArrayError(f"{name} shape {arr.shape} must match the bands' {shape}.")
    if params.invalid_buffer_px > 0 and invalid.any():
        invalid = ndi.binary_dilation(invalid, iterations=params.invalid_buffer_px)
    return yard, invalid


def _has_data(bands: Mapping[str, NDArray[np.float64]], sensor: str) -> BoolArray:
    names = ("blue", "green", "red", "nir") if sensor == "sentinel-2" else ("vv",)
    cube = np.stack([bands[b] for b in names])
    ok: BoolArray = np.all(np.isfinite(cube) & (cube > 0), axis=0)
    return ok


def _extrapolate(
    teu: TeuEstimate | None, fraction: float, params: StackParams
) -> TeuEstimate | None:
    if teu is None or fraction < params.min_extrapolate_fraction:
        return None
    if fraction >= 1.0:
        return teu
    note = (
        f"extrapolated from {100 * fraction:.0f}% observed: low = observed part only, "
        "central/high assume the hidden part is like the observed part"
    )
    return teu.scaled(1.0, 1.0 / fraction, note)


def _flags(fraction: float, area_m2: float) -> tuple[str, ...]:
    if fraction <= 0.0:
        return ("not_observed",)
    flags = ("partly_observed",) if fraction < 0.999 else ()
    return flags + (("no_stacks_seen",) if area_m2 <= 0.0 else ())


def _perimeter_m(mask: BoolArray, pixel_size_m: float) -> float:
    if not mask.any():
        return 0.0
    return float(measure.perimeter(mask)) * pixel_size_m  # type: ignore[no-untyped-call]


def _change(
    now: YardStacks,
    then: YardStacks,
    both: BoolArray,
    p: StackParams,
    assumptions: TeuAssumptions,
) -> tuple[BoolArray, TeuEstimate]:
    """Stacks in *now* and not in *then* (over *both*), as an outline and a TEU estimate.

    Outline pixels within one pixel of the other outline are edge jitter, and so are differences
    narrower than a block (``min_width_m``) or smaller than a stack (``min_area_m2``). The area
    is the gain in cover over the new outline and the pixel ring around it.
    """
    px = now.pixel_size_m
    grow = np.ones((3, 3), bool)
    # One pixel of slack: outlines of the same stacks differ by a pixel between scenes (and
    # more between sensors); a stack added or removed is a whole block or bay beyond that.
    new = now.mask & ~ndi.binary_dilation(then.mask, structure=grow) & both
    width_px = max(1, round(p.min_width_m / px))
    if width_px > 1:
        new = ndi.binary_opening(new, structure=np.ones((width_px, width_px), bool))
    new = drop_small(new, int(math.ceil(p.min_area_m2 / px**2)) - 1)
    reach = ndi.binary_dilation(new, structure=grow) & both
    gain = float(np.clip(now.cover - then.cover, 0.0, 1.0)[reach].sum()) * px * px
    est = estimate_teu(
        gain, pixel_size_m=px, perimeter_m=_perimeter_m(new, px), assumptions=assumptions
    )
    return new, est
