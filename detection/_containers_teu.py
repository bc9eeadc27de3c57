"""TEU from stack footprint: the assumptions, the interval arithmetic and its result type.

Private: the public names are re-exported by :mod:`detection.containers`.

Why these numbers (physics of real yards, not fitted to any simulator):

* **TEU ground slot** 6.06 m x 2.44 m = 14.79 m^2 (ISO 668 20-ft box); a 40-ft box is 2 TEU.
* **Tiers** (mean stack height over the stacked footprint). Terminal planners size yards as
  "nominal stacking height x utilisation", the utilisation being ~0.6-0.8 because stacks are kept
  below their maximum to limit re-handling. Loaded boxes: straddle carriers stack 1-over-2/3
  (mean ~2), reach stackers 3-4 high in the first row (mean ~2-2.5), RTGs 1-over-4/5 (mean ~3-3.5);
  empties in depots go 5-8 high. For loaded boxes in a yard of unknown equipment we take
  1.5 / 2.5 / 3.5 (low / central / high). Sources: Böse (ed.), *Handbook of Terminal Planning*
  (Springer 2011), ch. 2 (Brinkmann); PIANC WG 135 (2014) *Design principles for small and medium
  marine container terminals*; Rodrigue & Notteboom, *Port Economics, Management and Policy*,
  "stacking density" (RTG / straddle yards hold ~500-800 TEU per gross hectare).
* **Packing** (fraction of the footprint seen at 10 m that is really under a box). Inside a block
  boxes stand with gaps: ~0.3-0.5 m between rows, ~0.3-1 m between 20-ft bays, i.e. one TEU
  occupies ~2.8 x 6.6 m (net 0.80) in RTG blocks and up to ~3.4 x 7.1 m (net 0.61) in
  reach-stacker / forklift yards; some ground slots of a block are empty (ground-slot occupancy
  ~0.85-1.0), and lanes narrower than a pixel are merged into the footprint. Hence
  0.55 / 0.75 / 0.90.
* **Area** from pixels: each boundary pixel may be wrongly in or out, so the footprint is known to
  +- perimeter x pixel / 2 (the brief's "edge pixels" rule).

The factors are independent; each range is a plausible-bounds (~95 %) range, so the interval of
the product combines them in quadrature of log-ratios (``combine="quadrature"``, the default), or
multiplies the extremes (``combine="worst_case"``, wider).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from detection.errors import InputArrayError

__all__ = ["TEU_FOOTPRINT_M2", "TeuAssumptions", "TeuEstimate", "estimate_teu", "net_teu_change"]

#: Ground footprint of one 20-ft container (ISO 668: 6.058 m x 2.438 m), m^2.
TEU_FOOTPRINT_M2 = 6.06 * 2.44

_COMBINE = ("quadrature", "worst_case")


@dataclass(frozen=True)
class TeuAssumptions:
    """Named assumptions behind ``TEU = area x tiers x packing / teu_footprint_m2``.

    Attributes
    ----------
    tiers_low, tiers_central, tiers_high : float
        Mean stack height (boxes) over the stacked footprint. Default 1.5 / 2.5 / 3.5: loaded
        boxes in a yard of unknown equipment (see module notes for the sources).
    packing_low, packing_central, packing_high : float
        Fraction of the measured footprint really under a box (gaps between rows and bays,
        empty ground slots, sub-pixel lanes). Default 0.55 / 0.75 / 0.90.
    teu_footprint_m2 : float
        Ground footprint of one TEU, 6.06 x 2.44 m = 14.79 m^2.
    combine : {"quadrature", "worst_case"}
        How the factor ranges make the interval: root-sum-square of log-ratios (independent
        factors, each range ~95 %) or product of the extremes.
    """

    tiers_low: float = 1.5
    tiers_central: float = 2.5
    tiers_high: float = 3.5
    packing_low: float = 0.55
    packing_central: float = 0.75
    packing_high: float = 0.90
    teu_footprint_m2: float = TEU_FOOTPRINT_M2
    combine: Literal["quadrature", "worst_case"] = "quadrature"

    def __post_init__(self) -> None:
        tiers = (self.tiers_low, self.tiers_central, self.tiers_high)
        packing = (self.packing_low, self.packing_central, self.packing_high)
        if not 0 < tiers[0] <= tiers[1] <= tiers[2]:
            raise InputArrayError(
                f"tiers must satisfy 0 < low <= central <= high. Got {tiers}; reorder them."
            )
        if not 0 < packing[0] <= packing[1] <= packing[2] <= 1:
            raise InputArrayError(
                f"packing must satisfy 0 < low <= central <= high <= 1. Got {packing}."
            )
        if not self.teu_footprint_m2 > 0:
            raise InputArrayError(
                f"teu_footprint_m2 must be > 0. Got {self.teu_footprint_m2}; use 14.79."
            )
        if self.combine not in _COMBINE:
            raise InputArrayError(f"combine must be one of {_COMBINE}. Got {self.combine!r}.")

    def describe(self) -> str:
        """One line stating the formula and every assumption, for reports and the event store."""
        return (
            f"TEU = area x tiers x packing / {self.teu_footprint_m2:.2f} m2 (20-ft box 6.06 x "
            f"2.44 m); tiers {self.tiers_low:g}/{self.tiers_central:g}/{self.tiers_high:g} "
            f"(low/central/high mean stack height), packing {self.packing_low:g}/"
            f"{self.packing_central:g}/{self.packing_high:g} (share of footprint under boxes); "
            f"area +- perimeter x pixel/2; ranges combined by {self.combine.replace('_', ' ')}"
        )

    def multiplier_range(self) -> tuple[float, float, float]:
        """TEU per m^2 of footprint: (low, central, high), combining tiers and packing only."""
        central = self.tiers_central * self.packing_central / self.teu_footprint_m2
        lows = (self.tiers_low / self.tiers_central, self.packing_low / self.packing_central)
        highs = (self.tiers_high / self.tiers_central, self.packing_high / self.packing_central)
        return (
            central * _combine(lows, self.combine),
            central,
            central * _combine(highs, self.combine),
        )


@dataclass(frozen=True)
class TeuEstimate:
    """An interval of TEU (20-ft equivalent units) with the assumptions behind it.

    Attributes
    ----------
    low, central, high : float
        The interval, ``low <= central <= high``. Signed for a net change (negative = fewer).
    area_m2, area_low_m2, area_high_m2 : float
        The footprint it rests on and its pixel-edge bounds (signed for a net change).
    assumptions : str
        The formula and every assumption in one line (:meth:`TeuAssumptions.describe`), plus the
        extrapolation rule when one was applied.
    basis : TeuAssumptions
        The same assumptions, structured.
    """

    low: float
    central: float
    high: float
    area_m2: float
    area_low_m2: float
    area_high_m2: float
    assumptions: str
    basis: TeuAssumptions

    def contains(self, value: float) -> bool:
        """Whether *value* lies inside ``[low, high]``."""
        return self.low <= value <= self.high

    def scaled(self, low_factor: float, high_factor: float, note: str) -> TeuEstimate:
        """A copy with ``low`` x *low_factor*, ``central`` and ``high`` x *high_factor*."""
        return TeuEstimate(
            low=self.low * low_factor,
            central=self.central * high_factor,
            high=self.high * high_factor,
            area_m2=self.area_m2 * high_factor,
            area_low_m2=self.area_low_m2 * low_factor,
            area_high_m2=self.area_high_m2 * high_factor,
            assumptions=f"{self.assumptions}; {note}",
            basis=self.basis,
        )


def estimate_teu(
    area_m2: float,
    *,
    pixel_size_m: float,
    perimeter_m: float,
    assumptions: TeuAssumptions = TeuAssumptions(),  # noqa: B008 (frozen, immutable default)
) -> TeuEstimate:
    """Estimate TEU (low, central, high) from a stack footprint measured on a pixel grid.

    Parameters
    ----------
    area_m2 : float
        Footprint of the stacks, m^2 (>= 0).
    pixel_size_m : float
        Pixel size of the grid the footprint was measured on, m.
    perimeter_m : float
        Perimeter of that footprint, m: the boundary pixels make the area error
        ``perimeter_m * pixel_size_m / 2``.
    assumptions : TeuAssumptions, optional
        Tiers, packing, TEU footprint and how their ranges combine.

    Returns
    -------
    TeuEstimate
        ``central = area x tiers_central x packing_central / 14.79``; ``low``/``high`` carry the
        tiers, packing and area ranges (see :class:`TeuAssumptions`).

    Raises
    ------
    InputArrayError
        A negative or non-finite area or perimeter, or a pixel size <= 0.

    Examples
    --------
    >>> est = estimate_teu(10_000.0, pixel_size_m=10.0, perimeter_m=400.0)
    >>> round(est.central)
    1268
    >>> est.low < est.central < est.high
    True
    """
    _check_nonneg(area_m2=area_m2, perimeter_m=perimeter_m)
    _check_pixel(pixel_size_m)
    edge_m2 = perimeter_m * pixel_size_m / 2.0
    area_low, area_high = max(area_m2 - edge_m2, 0.0), area_m2 + edge_m2
    a = assumptions
    per_m2 = a.tiers_central * a.packing_central / a.teu_footprint_m2
    central = area_m2 * per_m2
    # The product of the extremes bounds any combination (and keeps tiny areas finite).
    worst_low = area_low * a.tiers_low * a.packing_low / a.teu_footprint_m2
    worst_high = area_high * a.tiers_high * a.packing_high / a.teu_footprint_m2
    if central <= 0.0:
        low, high = 0.0, worst_high
    else:
        lows = (
            area_low / area_m2,
            a.tiers_low / a.tiers_central,
            a.packing_low / a.packing_central,
        )
        highs = (
            area_high / area_m2,
            a.tiers_high / a.tiers_central,
            a.packing_high / a.packing_central,
        )
        low = max(central * _combine(lows, a.combine), worst_low)
        high = min(central * _combine(highs, a.combine), worst_high)
    return TeuEstimate(low, central, high, area_m2, area_low, area_high, a.describe(), a)


def net_teu_change(
    net_area_m2: float,
    *,
    edge_m2: float,
    assumptions: TeuAssumptions,
) -> TeuEstimate:
    """Signed TEU change from a signed footprint change known to +- *edge_m2*.

    The area interval may straddle zero, so the log-space combination cannot be used: the
    interval is the product of the area interval with the (tiers x packing) multiplier interval,
    taking the extremes (conservative).
    """
    m_low, m_central, m_high = assumptions.multiplier_range()
    a_low, a_high = net_area_m2 - edge_m2, net_area_m2 + edge_m2
    corners = [a * m for a in (a_low, a_high) for m in (m_low, m_high)]
    text = f"{assumptions.describe()}; net change: area interval x multiplier interval"
    return TeuEstimate(
        min(corners),
        net_area_m2 * m_central,
        max(corners),
        net_area_m2,
        a_low,
        a_high,
        text,
        assumptions,
    )


def _combine(ratios: tuple[float, ...], how: str) -> float:
    """Combine factor ratios (each the bound over the central value) into one ratio."""
    if any(r <= 0.0 for r in ratios):
        return 0.0
    logs = [math.log(r) for r in ratios]
    total = (
        sum(logs)
        if how == "worst_case"
        else math.copysign(math.sqrt(sum(v * v for v in logs)), sum(logs))
    )
    return math.exp(min(total, 700.0))


def _check_nonneg(**values: float) -> None:
    for name, v in values.items():
        if not (math.isfinite(v) and v >= 0):
            raise InputArrayError(f"{name} must be a finite number >= 0. Got {v}.")


def _check_pixel(pixel_size_m: float) -> None:
    if not (math.isfinite(pixel_size_m) and pixel_size_m > 0):
        raise InputArrayError(
            f"pixel_size_m must be a finite number > 0. Got {pixel_size_m}; pass the grid's "
            "pixel size in metres."
        )
