"""Figures of the report, drawn with matplotlib's Agg canvas and returned as PNG ``data:`` URIs.

Every figure draws what was *not observed* as explicitly as what was: hidden observations get their
own marker and label, never a zero.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before any pyplot import anywhere: reports render headless

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

__all__ = [
    "BerthStay",
    "BerthTimeline",
    "VesselPoint",
    "YardPoint",
    "figure_to_data_uri",
    "plot_berth_timeline",
    "plot_vessel_counts",
    "plot_yard",
    "png_data_uri",
]

_DPI = 110
_HIDDEN = "#9a9a9a"
_COLOURS = {"berth": "#1f5fa8", "anchorage": "#d9822b", "water": "#3c9d5d", "other": "#7a4fa0"}


@dataclass(frozen=True)
class VesselPoint:
    """Vessel counts in one observation; ``observed`` False means the water was not visible."""

    acquired_utc: dt.datetime
    observed: bool
    counts: dict[str, int] = field(default_factory=dict)  # zone group -> count


@dataclass(frozen=True)
class BerthStay:
    """A port call drawn on the berth timeline; ``None`` bounds mean "unknown" (open-ended)."""

    berth_id: str
    first_seen_utc: dt.datetime
    last_seen_utc: dt.datetime
    arrival_after_utc: dt.datetime | None
    departure_before_utc: dt.datetime | None
    label: str = ""


@dataclass(frozen=True)
class BerthTimeline:
    """Berths (id, name), stays, and per-berth observation times (visible and hidden)."""

    berths: tuple[tuple[str, str], ...]
    stays: tuple[BerthStay, ...]
    visible_utc: dict[str, tuple[dt.datetime, ...]]
    hidden_utc: dict[str, tuple[dt.datetime, ...]]


@dataclass(frozen=True)
class YardPoint:
    """A yard in one observation: footprint and TEU interval, or ``observed`` False."""

    yard_id: str
    acquired_utc: dt.datetime
    observed: bool
    area_m2: float = 0.0
    teu_low: float = 0.0
    teu_central: float = 0.0
    teu_high: float = 0.0


def png_data_uri(png: bytes) -> str:
    """Return PNG bytes as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_to_data_uri(fig: Figure) -> str:
    """Render *fig* with the Agg canvas and return it as a PNG ``data:`` URI."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return png_data_uri(buf.getvalue())


def _num(times: Sequence[dt.datetime] | dt.datetime) -> Any:
    """Matplotlib date numbers (days) of *times*: every axis here is numeric, dates formatted."""
    return mdates.date2num(times)  # type: ignore[no-untyped-call]


def _time_axis(ax: Any, since: dt.date, until: dt.date) -> None:
    start = dt.datetime.combine(since, dt.time(), dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
    ax.set_xlim(_num(start), _num(end))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=False)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.grid(axis="x", color="#e4e4e4", linewidth=0.6)


def plot_vessel_counts(
    points: Sequence[VesselPoint], *, since: dt.date, until: dt.date, groups: Sequence[str]
) -> str:
    """Stacked vessel counts per observation over the period; hidden observations marked.

    Returns
    -------
    str
        A PNG ``data:`` URI.
    """
    fig = Figure(figsize=(9.0, 2.9))
    ax = fig.add_subplot()
    _time_axis(ax, since, until)
    seen = [p for p in points if p.observed]
    hidden = [p for p in points if not p.observed]
    width = max(0.25, (until - since).days / 160)
    bottom = np.zeros(len(seen))
    for group in groups:
        values = np.array([p.counts.get(group, 0) for p in seen], dtype=float)
        if values.any():
            ax.bar(
                _num([p.acquired_utc for p in seen]),
                values,
                width=width,
                bottom=bottom,
                color=_COLOURS.get(group, _COLOURS["other"]),
                label=f"at {group}" if group != "water" else "in open water",
            )
        bottom += values
    ax.plot(
        _num([p.acquired_utc for p in seen]),
        np.zeros(len(seen)),
        "|",
        color="#333333",
        markersize=8,
        label="observed",
    )
    if hidden:
        ax.plot(
            _num([p.acquired_utc for p in hidden]),
            np.zeros(len(hidden)),
            "x",
            color=_HIDDEN,
            markersize=7,
            label="not observed (cloud, swath or failure)",
        )
    top = float(bottom.max()) if len(bottom) else 0.0
    ax.set_ylim(-0.4, max(3.0, top + 1.0))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("vessels seen")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return figure_to_data_uri(fig)


def plot_berth_timeline(timeline: BerthTimeline, *, since: dt.date, until: dt.date) -> str:
    """One row per berth: stays as solid bars, uncertain ends hatched, observations as ticks.

    The solid part runs from first to last sighting; the hatched parts run back to the last
    observation that saw the berth empty and forward to the first that saw it empty again (or to
    the edge of the period when unknown).
    """
    n = max(1, len(timeline.berths))
    fig = Figure(figsize=(9.0, 0.9 + 0.42 * n))
    ax = fig.add_subplot()
    _time_axis(ax, since, until)
    row = {b: i for i, (b, _name) in enumerate(timeline.berths)}
    start = dt.datetime.combine(since, dt.time(), dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
    for berth, y in row.items():
        for t in timeline.visible_utc.get(berth, ()):
            ax.plot(_num([t, t]), [y - 0.38, y + 0.38], color="#555555", linewidth=0.6)
        for t in timeline.hidden_utc.get(berth, ()):
            ax.plot(_num(t), y, "x", color=_HIDDEN, markersize=4)
    stays = [s for s in timeline.stays if s.berth_id in row]
    for stay in stays:  # uncertain ends first: a later stay's window must not hide a sighting
        lo = stay.arrival_after_utc or start
        hi = stay.departure_before_utc or end
        _bar(ax, lo, stay.first_seen_utc, row[stay.berth_id], hatch=True)
        _bar(ax, stay.last_seen_utc, hi, row[stay.berth_id], hatch=True)
    for stay in stays:
        y = row[stay.berth_id]
        # A single sighting still gets a visible solid mark (0.6 % of the period).
        solid_end = max(stay.last_seen_utc, stay.first_seen_utc + (end - start) * 0.006)
        _bar(ax, stay.first_seen_utc, solid_end, y, hatch=False)
        if stay.label:
            ax.annotate(
                stay.label, (_num(stay.first_seen_utc), y - 0.3), fontsize=6, color="#0b2f57",
                va="bottom", annotation_clip=False,
            )  # fmt: skip
    ax.set_yticks(range(n), [name for _b, name in timeline.berths] or ["(no berths)"], fontsize=7)
    ax.set_ylim(n - 0.5, -0.5)
    handles = [
        Rectangle((0, 0), 1, 1, color=_COLOURS["berth"]),
        Rectangle((0, 0), 1, 1, facecolor="white", edgecolor=_COLOURS["berth"], hatch="////"),
    ]
    labels = ["seen at berth", "arrival/departure somewhere in here (not observed)"]
    ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncols=2,
        fontsize=7,
        frameon=False,
    )
    return figure_to_data_uri(fig)


def _bar(ax: Any, lo: dt.datetime, hi: dt.datetime, y: float, *, hatch: bool) -> None:
    if hi <= lo:
        return
    x0, x1 = _num(lo), _num(hi)
    style = (
        {"facecolor": "white", "edgecolor": _COLOURS["berth"], "hatch": "////", "linewidth": 0.5}
        if hatch
        else {"facecolor": _COLOURS["berth"], "edgecolor": "none"}
    )
    ax.add_patch(Rectangle((x0, y - 0.28), x1 - x0, 0.56, **style))


def plot_yard(
    points: Sequence[YardPoint], *, since: dt.date, until: dt.date, yard_names: dict[str, str]
) -> str:
    """Yard footprint (m²) and TEU interval over time, one line per yard; hidden yards marked."""
    fig = Figure(figsize=(9.0, 4.4))
    ax_area, ax_teu = fig.subplots(2, 1, sharex=True)
    for ax in (ax_area, ax_teu):
        _time_axis(ax, since, until)
    palette = ["#1f5fa8", "#a83a1f", "#3c9d5d", "#7a4fa0"]
    for i, (yard, name) in enumerate(yard_names.items()):
        colour = palette[i % len(palette)]
        mine = sorted((p for p in points if p.yard_id == yard), key=_t)
        hidden = [p for p in mine if not p.observed]
        # Hidden observations are NaN: lines and bands break there instead of joining across.
        t = _num([p.acquired_utc for p in mine]) if mine else np.zeros(0)
        area, low, mid, high = (
            np.array([getattr(p, f) if p.observed else np.nan for p in mine], dtype=float)
            for f in ("area_m2", "teu_low", "teu_central", "teu_high")
        )
        ax_area.plot(t, area, "o-", color=colour, markersize=3, label=name)
        if len(mine) > len(hidden):
            ax_teu.fill_between(t, low, high, color=colour, alpha=0.18, linewidth=0)
            ax_teu.errorbar(
                t, mid, yerr=[mid - low, high - mid], fmt="o", color=colour, markersize=3,
                capsize=2, linewidth=0.8, label=f"{name}: TEU low–high",
            )  # fmt: skip
        for ax in (ax_area, ax_teu):
            if hidden:
                ax.plot(
                    _num([p.acquired_utc for p in hidden]),
                    np.zeros(len(hidden)),
                    "x",
                    color=_HIDDEN,
                    markersize=6,
                )
    for ax in (ax_area, ax_teu):
        ax.plot([], [], "x", color=_HIDDEN, label="not observed (yard hidden)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        ax.set_ylim(bottom=-0.04 * max(1.0, ax.get_ylim()[1]))
    ax_area.set_ylabel("stack footprint (m²)")
    ax_teu.set_ylabel("containers (TEU)")
    return figure_to_data_uri(fig)


def _t(p: YardPoint) -> dt.datetime:
    return p.acquired_utc
