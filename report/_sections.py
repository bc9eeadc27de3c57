"""Section contents of the report (figures, tables, latest observation, method), from PortData."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.events import DetectionRecord, ObservationRecord
from report._coverage import VISIBLE_FRACTION, usable, zone_visible
from report._data import PortData, observation_id
from report._headline import yard_totals
from report._plots import (
    BerthStay,
    BerthTimeline,
    VesselPoint,
    YardPoint,
    plot_berth_timeline,
    plot_vessel_counts,
    plot_yard,
)
from report._tile import TileMark, chip_data_uri, render_tile

__all__ = [
    "MAX_CHIPS",
    "REVIEW_FLAG",
    "flag_text",
    "review_reasons",
    "claim_rows",
    "latest_observation",
    "method_notes",
    "port_call_rows",
    "resolve_path",
    "trip_rows",
    "vessel_figures",
    "yard_figure",
]

logger = logging.getLogger(__name__)

#: Most chips shown (reviewed first, then flagged, newest first), to keep the file e-mailable.
MAX_CHIPS = 24
_GROUPS = ("berth", "anchorage", "water", "other")


def _when(t: dt.datetime | None) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC" if t else "unknown"


def _window(lo: dt.datetime | None, hi: dt.datetime | None) -> str:
    if lo is None and hi is None:
        return "unknown"
    a = f"{lo:%Y-%m-%d %H:%M}" if lo else "before the first observation"
    b = f"{hi:%Y-%m-%d %H:%M}" if hi else "after the last observation"
    return f"{a} – {b} UTC" if lo and hi else f"{a} – {b}"


def resolve_path(value: str, bases: list[Path]) -> Path | None:
    """Return the existing file *value* names, absolute or relative to one of *bases*."""
    if not value:
        return None
    p = Path(value)
    candidates = [p] if p.is_absolute() else [b / p for b in bases] + [p]
    for cand in candidates:
        if cand.is_file():
            return cand
    return None


# --- vessels ---------------------------------------------------------------------------------


def _zone_kinds(data: PortData) -> dict[str, str]:
    return {z.id: z.kind for z in data.port.zones}


def vessel_figures(data: PortData) -> dict[str, str]:
    """PNG data URIs: vessel counts per observation, and the berth occupancy timeline."""
    kinds = _zone_kinds(data)
    by_scene: dict[str, Counter[str]] = {}
    for d in data.kept_detections:
        if d.kind == "vessel":
            kind = "water" if d.zone == "open_water" else kinds.get(d.zone, "other")
            by_scene.setdefault(d.scene_id, Counter())[kind if kind in _GROUPS else "other"] += 1
    points = [
        VesselPoint(o.acquired_utc, usable(o), dict(by_scene.get(o.scene_id, {})))
        for o in data.observations
        if o.acquired_utc is not None
    ]
    p = data.period
    return {
        "vessels": plot_vessel_counts(points, since=p.since, until=p.until, groups=_GROUPS),
        "berths": plot_berth_timeline(_timeline(data), since=p.since, until=p.until),
    }


def _timeline(data: PortData) -> BerthTimeline:
    berths = data.port.zones_of("berth") + data.port.zones_of("anchorage")
    visible: dict[str, tuple[dt.datetime, ...]] = {}
    hidden: dict[str, tuple[dt.datetime, ...]] = {}
    timed = [o for o in data.observations if o.acquired_utc is not None]
    for z in berths:
        visible[z.id] = tuple(o.acquired_utc for o in timed if zone_visible(o, z.id))  # type: ignore[misc]
        hidden[z.id] = tuple(o.acquired_utc for o in timed if not zone_visible(o, z.id))  # type: ignore[misc]
    stays = tuple(
        BerthStay(
            berth_id=c.berth,
            first_seen_utc=c.first_seen_utc,
            last_seen_utc=c.last_seen_utc,
            arrival_after_utc=c.arrival_after_utc,
            departure_before_utc=c.departure_before_utc,
            label=f"{c.length_m:.0f} m",
        )
        for c in data.port_calls
    )
    return BerthTimeline(tuple((z.id, z.name) for z in berths), stays, visible, hidden)


def port_call_rows(data: PortData) -> list[dict[str, Any]]:
    """One row per port call, with its evidence ids."""
    names = {z.id: z.name for z in data.port.zones}
    return [
        {
            "id": c.call_id,
            "berth": names.get(c.berth, c.berth),
            "first_seen": _when(c.first_seen_utc),
            "last_seen": _when(c.last_seen_utc),
            "arrival": _window(c.arrival_after_utc, c.arrival_before_utc),
            "departure": _window(c.departure_after_utc, c.departure_before_utc),
            "length": f"{c.length_m:.0f} ± {c.length_err_m:.0f} m",
            "sightings": c.n_detections,
            "hidden": c.n_hidden,
            "detection_ids": c.detection_ids,
            "scene_ids": c.scene_ids,
            "simulated": c.simulated,
        }
        for c in data.port_calls
    ]


# --- containers --------------------------------------------------------------------------------


def yard_figure(data: PortData) -> str | None:
    """PNG data URI of yard footprint and TEU over time, or None when the port has no yard."""
    yards = data.port.zones_of("yard")
    if not yards:
        return None
    stacks: dict[tuple[str, str], list[DetectionRecord]] = {}
    for d in data.kept_detections:
        if d.kind == "container_stack":
            stacks.setdefault((d.scene_id, d.zone), []).append(d)
    points = []
    for o in data.observations:
        if o.acquired_utc is None:
            continue
        for y in yards:
            dets = stacks.get((o.scene_id, y.id), [])
            points.append(
                YardPoint(
                    yard_id=y.id,
                    acquired_utc=o.acquired_utc,
                    observed=zone_visible(o, y.id),
                    area_m2=sum(d.area_m2 or 0.0 for d in dets),
                    teu_low=sum(d.teu_low or 0.0 for d in dets),
                    teu_central=sum(d.teu_central or 0.0 for d in dets),
                    teu_high=sum(d.teu_high or 0.0 for d in dets),
                )
            )
    names = {y.id: y.name for y in yards}
    return plot_yard(points, since=data.period.since, until=data.period.until, yard_names=names)


def yard_rows(data: PortData) -> list[dict[str, Any]]:
    """One row per observation in which the yards were visible: footprint and TEU interval."""
    return [
        {
            "observation_id": observation_id(t.observation),
            "when": _when(t.observation.acquired_utc),
            "area_m2": f"{t.area_m2:,.0f}",
            "teu": f"{t.teu_central:,.0f} ({t.teu_low:,.0f}–{t.teu_high:,.0f})",
            "n_stacks": len(t.detection_ids),
            "detection_ids": t.detection_ids,
        }
        for t in yard_totals(data)
    ]


# --- trips and claims --------------------------------------------------------------------------


def trip_rows(data: PortData, port_names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per trip to or from the port, with its evidence chain."""
    return [
        {
            "id": t.trip_id,
            "from": port_names.get(t.from_port, t.from_port),
            "to": port_names.get(t.to_port, t.to_port),
            "depart": _window(t.depart_after_utc, t.depart_before_utc),
            "arrive": _window(t.arrive_after_utc, t.arrive_before_utc),
            "length": f"{t.length_m:.0f} ± {t.length_err_m:.0f} m",
            "distance": f"{t.distance_nm:.0f} nm",
            "confidence": f"{t.confidence:.2f}",
            "port_call_ids": t.port_call_ids,
            "detection_ids": t.detection_ids,
            "scene_ids": t.scene_ids,
            "simulated": t.simulated,
        }
        for t in data.trips
    ]


_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def claim_rows(data: PortData) -> list[dict[str, Any]]:
    """One row per claim check (latest check run), bounds and assumptions in words."""
    rows = []
    for c in data.claims:
        upper = "unbounded" if c.upper_bound is None else f"{c.upper_bound:,.0f}"
        rows.append(
            {
                "id": c.claim_id,
                "run_id": c.run_id,
                "checked": _when(c.checked_utc),
                "quote": c.quote,
                "source": c.source,
                "statement": f"{c.kind.replace('_', ' ')} {_SYMBOL.get(c.comparator, c.comparator)} "
                f"{c.number:,.0f} {c.unit}".strip(),
                "window": f"{c.since} – {c.until}",
                "verdict": c.verdict,
                "verdict_css": c.verdict.split()[0],
                "lower": f"{c.lower_bound:,.0f}",
                "upper": upper,
                "n_observations": c.n_observations,
                "assumptions": c.assumptions,
                "evidence": c.evidence,
                "evidence_ids": c.evidence_ids,
                "simulated": c.simulated,
            }
        )
    return rows


# --- flags -------------------------------------------------------------------------------------

#: Prefix of the review flags in a detection's ``flags`` column (the others are the detector's).
REVIEW_FLAG = "review:"


def review_reasons(flags: str) -> list[str]:
    """Why a detection was flagged for analyst review (``review:<reason>`` tokens)."""
    tokens = [t.strip() for t in flags.split(",")]
    return [t[len(REVIEW_FLAG) :] for t in tokens if t.startswith(REVIEW_FLAG)]


def flag_text(flags: str) -> str:
    """Flags in words: review reasons, then the detector's own notes."""
    tokens = [t.strip() for t in flags.split(",") if t.strip()]
    review = [t[len(REVIEW_FLAG) :].replace("_", " ") for t in tokens if t.startswith(REVIEW_FLAG)]
    detector = [t.replace("_", " ") for t in tokens if not t.startswith(REVIEW_FLAG)]
    parts = ([f"for review: {', '.join(review)}"] if review else []) + (
        [f"detector: {', '.join(detector)}"] if detector else []
    )
    return "; ".join(parts)


# --- latest observation ------------------------------------------------------------------------


@dataclass(frozen=True)
class LatestObservation:
    """The tile figure of the latest observation with a cached tile, and its detections."""

    observation_id: str
    when: str
    sensor: str
    simulated: bool
    image: str | None
    description: str
    note: str
    marks: tuple[dict[str, Any], ...]
    chips: tuple[dict[str, Any], ...]


def latest_observation(data: PortData, bases: list[Path]) -> LatestObservation | None:
    """Draw the latest usable observation that has a readable tile; None when none has one."""
    chips = tuple(_chips(data, bases))
    seen = [o for o in data.observations if usable(o)]
    if not seen:
        return None
    latest = seen[-1]
    for obs in reversed(seen):
        tile = resolve_path(obs.tile_path, bases)
        if tile is None:
            continue
        note = (
            ""
            if obs is latest
            else (
                f"The latest observation, {observation_id(latest)} ({_when(latest.acquired_utc)}), "
                "has no cached tile; this is the latest one that has."
            )
        )
        try:
            return _draw_latest(data, obs, tile, note, chips)
        except OSError as err:
            logger.warning("tile %s of %s unreadable: %s", tile, observation_id(obs), err)
    note = f"No cached tile found for any observation in the period (looked under {', '.join(map(str, bases))})."
    return LatestObservation(
        observation_id(latest), _when(latest.acquired_utc), f"{latest.sensor} {latest.platform}",
        latest.simulated, None, "", note, _mark_rows(data, _scene_dets(data, latest)), chips,
    )  # fmt: skip


def _scene_dets(data: PortData, obs: ObservationRecord) -> list[DetectionRecord]:
    return [d for d in data.kept_detections if d.scene_id == obs.scene_id]


def _draw_latest(
    data: PortData, obs: ObservationRecord, tile: Path, note: str, chips: tuple[dict[str, Any], ...]
) -> LatestObservation:
    dets = _scene_dets(data, obs)
    marks = [
        TileMark(i + 1, d.kind, d.geometry if d.geometry is not None else _point(d))
        for i, d in enumerate(dets)
    ]
    title = f"{data.port.name} · {observation_id(obs)} · {_when(obs.acquired_utc)}"
    image, description = render_tile(tile, port=data.port, marks=marks, title=title)
    return LatestObservation(
        observation_id(obs), _when(obs.acquired_utc), f"{obs.sensor} {obs.platform}".strip(),
        obs.simulated, image, description, note, _mark_rows(data, dets), chips,
    )  # fmt: skip


def _point(d: DetectionRecord) -> Any:
    from shapely.geometry import Point

    return Point(d.lon, d.lat)


def _mark_rows(data: PortData, dets: list[DetectionRecord]) -> tuple[dict[str, Any], ...]:
    reviews = data.latest_reviews()
    names = {z.id: z.name for z in data.port.zones}
    rows = []
    for i, d in enumerate(dets):
        r = reviews.get(d.detection_id)
        size = (
            f"{d.length_m:.0f} × {d.width_m:.0f} m"
            if d.length_m is not None and d.width_m is not None
            else (f"{d.area_m2:,.0f} m²" if d.area_m2 is not None else "")
        )
        teu = (
            f"{d.teu_central:,.0f} ({d.teu_low:,.0f}–{d.teu_high:,.0f})"
            if d.teu_central is not None and d.teu_low is not None and d.teu_high is not None
            else ""
        )
        rows.append(
            {
                "number": i + 1,
                "id": d.detection_id,
                "kind": d.kind.replace("_", " "),
                "zone": names.get(d.zone, d.zone.replace("_", " ")),
                "size": size,
                "teu": teu,
                "score": "" if d.score is None else f"{d.score:.1f}",
                "flags": flag_text(d.flags),
                "review": f"{r.decision} by {r.analyst}" if r else "",
            }
        )
    return tuple(rows)


def _chips(data: PortData, bases: list[Path]) -> list[dict[str, Any]]:
    reviews = data.latest_reviews()
    wanted = [d for d in data.detections if d.detection_id in reviews or review_reasons(d.flags)]
    wanted.sort(
        key=lambda d: (
            d.detection_id not in reviews,
            -(d.acquired_utc or dt.datetime.min.replace(tzinfo=dt.UTC)).timestamp(),
        )
    )
    out = []
    for d in wanted:
        path = resolve_path(d.chip_path, bases)
        if path is None:
            continue
        try:
            uri = chip_data_uri(path)
        except OSError as err:
            logger.warning("chip %s of %s unreadable: %s", path, d.detection_id, err)
            continue
        r = reviews.get(d.detection_id)
        out.append(
            {
                "id": d.detection_id,
                "uri": uri,
                "when": _when(d.acquired_utc),
                "flags": flag_text(d.flags),
                "review": f"{r.decision} by {r.analyst}" + (f": {r.note}" if r.note else "")
                if r
                else "not reviewed yet",
                "rejected": d.detection_id in data.rejected_ids,
            }
        )
        if len(out) >= MAX_CHIPS:
            break
    return out


# --- method ----------------------------------------------------------------------------------


def method_notes(data: PortData) -> dict[str, Any]:
    """Sources, sensors, statuses, detector settings, reviews and runs, for the method section."""
    obs = data.observations
    reviews = data.latest_reviews()
    flagged = [d for d in data.detections if review_reasons(d.flags)]
    assumptions = _assumption_clauses(
        d.assumptions for d in data.detections if d.assumptions and d.kind == "container_stack"
    )
    failed = [o for o in obs if o.status == "failed"]
    return {
        "sources": Counter(
            f"{o.source} / {o.collection}" if o.collection else o.source for o in obs
        ).most_common(),
        "sensors": Counter(
            f"{o.sensor} ({o.platform})" if o.platform else o.sensor or "unknown" for o in obs
        ).most_common(),
        "statuses": Counter(o.status for o in obs).most_common(),
        "failed": [(observation_id(o), o.error) for o in failed],
        "n_observations": len(obs),
        "n_simulated": sum(o.simulated for o in obs),
        "n_detections": len(data.detections),
        "n_vessels": sum(d.kind == "vessel" for d in data.detections),
        "n_stacks": sum(d.kind == "container_stack" for d in data.detections),
        "n_flagged": len(flagged),
        "n_reviewed": len(reviews),
        "n_rejected": len(data.rejected_ids),
        "decisions": Counter(r.decision for r in reviews.values()).most_common(),
        "analysts": sorted({r.analyst for r in data.reviews}),
        "container_assumptions": assumptions,
        "detector_settings": _detector_settings(obs),
        "n_unrecorded_settings": sum(not o.detector_settings for o in obs if o.status != "failed"),
        "n_with_reference": sum(bool(o.reference_scene_ids) for o in obs),
        "visible_pct": round(VISIBLE_FRACTION * 100),
        "runs": len(data.runs),
        "code_versions": sorted({r.code_version for r in data.runs if r.code_version}),
        "last_run": _when(max((r.started_utc for r in data.runs), default=None)),
        "store_path": str(data.store_path),
        "span": (
            _when(data.span.first_observation_utc),
            _when(data.span.last_observation_utc),
        ),
    }


_EXTRAPOLATED = re.compile(r"extrapolated from (\d+)% observed: (.*)")


def _assumption_clauses(texts: Iterable[str]) -> list[str]:
    """The distinct ``;``-separated clauses of the stack estimates' assumptions, in first-seen order.

    Every estimate states the same TEU model; the ones extrapolated from a partly observed yard
    differ only by the observed share, summarised as one clause with the range of shares.
    """
    clauses: list[str] = []
    shares: list[int] = []
    rest = ""
    for text in texts:
        for clause in (c.strip() for c in text.split(";")):
            m = _EXTRAPOLATED.fullmatch(clause)
            if m:
                shares.append(int(m.group(1)))
                rest = m.group(2)
            elif clause and clause not in clauses:
                clauses.append(clause)
    if shares:
        lo, hi = min(shares), max(shares)
        span = f"{lo}%" if lo == hi else f"{lo}-{hi}%"
        n = len(shares)
        clauses.append(
            f"{n} estimate{'s' if n != 1 else ''} extrapolated from a partly observed yard "
            f"({span} observed): {rest}"
        )
    return clauses


def _detector_settings(observations: list[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The detector settings the observations recorded, one entry per distinct setting.

    Returns ``[(title, [(parameter, value), ...]), ...]``; the title names the detector, its
    bands and how many observations ran with exactly these settings.
    """
    groups: dict[str, tuple[str, dict[str, Any], int]] = {}
    for o in observations:
        for part in ("vessels", "containers"):
            setting = o.detector_settings.get(part)
            if not setting:
                continue
            key = json.dumps(setting, sort_keys=True)
            title = str(setting.get("detector", part))
            if setting.get("bands"):
                title += f" (bands {', '.join(setting['bands'])})"
            _, params, n = groups.get(key, (title, dict(setting.get("params", {})), 0))
            groups[key] = (title, params, n + 1)
    return [
        (
            f"{title}: {n} observation{'s' if n != 1 else ''}",
            [(k, repr(v)) for k, v in params.items()],
        )
        for title, params, n in sorted(groups.values(), key=lambda g: (g[0], -g[2]))
    ]
