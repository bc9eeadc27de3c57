"""Coverage: which days were observed, by which sensor, and how much of each zone was visible.

A zone counts as *visible* in an observation when at least :data:`VISIBLE_FRACTION` (90 %) of its
pixels were valid (in the swath, not cloud, not nodata). Anything less is "not observed", which is never
read as "empty".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from geo.events import ObservationRecord
from geo.ports import Port
from geo.trips import TripParams
from report._data import Period, observation_id

__all__ = [
    "VISIBLE_FRACTION",
    "CalendarDay",
    "CalendarObs",
    "CalendarWeek",
    "build_calendar",
    "observed_days",
    "sensor_label",
    "usable",
    "visible_zones",
    "zone_visible",
]

#: Share of a zone's pixels that must be valid for the zone to count as observed: the same
#: threshold the store's port-call inference uses (:class:`geo.trips.TripParams`), so that the
#: report's coverage and its port calls, trips and claim checks agree.
VISIBLE_FRACTION = TripParams().min_zone_valid_fraction


def usable(obs: ObservationRecord) -> bool:
    """Whether the observation saw anything: not failed, some valid pixels, a time."""
    return obs.status != "failed" and obs.valid_fraction > 0 and obs.acquired_utc is not None


def zone_visible(obs: ObservationRecord, zone_id: str) -> bool:
    """Whether *zone_id* was visible (valid fraction ≥ :data:`VISIBLE_FRACTION`) in *obs*."""
    return usable(obs) and obs.zone_fraction(zone_id) >= VISIBLE_FRACTION


def visible_zones(obs: ObservationRecord, port: Port, kind: str) -> list[str]:
    """Ids of the port's zones of *kind* visible in *obs*."""
    return [z.id for z in port.zones_of(kind) if zone_visible(obs, z.id)]


def observed_days(observations: Iterable[ObservationRecord]) -> set[dt.date]:
    """UTC days with at least one usable observation."""
    return {o.acquired_utc.date() for o in observations if usable(o) and o.acquired_utc}


def sensor_label(obs: ObservationRecord) -> str:
    """Short sensor label: ``S1A``/``S2B`` from the platform, else the sensor name."""
    platform = obs.platform.lower().replace("_", "-")
    if platform.startswith("sentinel-") and len(platform) >= 11:
        return "S" + platform[9:].replace("-", "").upper()
    return (obs.sensor or obs.platform or obs.source or "?")[:8]


@dataclass(frozen=True)
class CalendarObs:
    """One observation in a calendar cell."""

    observation_id: str
    label: str
    time_utc: str
    status: str
    valid_pct: int
    berths_visible: int
    berths_total: int
    yards_visible: int
    yards_total: int
    simulated: bool
    css: str
    title: str


@dataclass(frozen=True)
class CalendarDay:
    """One day cell: ``in_period`` False for the padding days of the first and last week."""

    date: dt.date
    in_period: bool
    observations: tuple[CalendarObs, ...]

    @property
    def css(self) -> str:
        """Cell class: out of the period, unobserved, or observed."""
        if not self.in_period:
            return "out"
        return "observed" if any(o.status != "failed" for o in self.observations) else "unobserved"


@dataclass(frozen=True)
class CalendarWeek:
    """A Monday-to-Sunday row; ``month`` labels the row where a month starts."""

    month: str
    days: tuple[CalendarDay, ...]


def _calendar_obs(obs: ObservationRecord, port: Port) -> CalendarObs:
    berths = port.zones_of("berth")
    yards = port.zones_of("yard")
    nb = len(visible_zones(obs, port, "berth"))
    ny = len(visible_zones(obs, port, "yard"))
    pct = round(100 * obs.valid_fraction) if obs.status != "failed" else 0
    if obs.status == "failed":
        css = "cov-failed"
    elif obs.valid_fraction >= VISIBLE_FRACTION:
        css = "cov-high"
    elif obs.valid_fraction >= 0.5:
        css = "cov-mid"
    else:
        css = "cov-low"
    when = f"{obs.acquired_utc:%H:%M} UTC" if obs.acquired_utc else "time unknown"
    title = (
        f"{observation_id(obs)} · {obs.source}/{obs.collection} · {obs.sensor} {obs.platform} · "
        f"{when} · status {obs.status} · {pct}% of port valid · berths visible {nb}/{len(berths)} · "
        f"yards visible {ny}/{len(yards)}"
        + (f" · error: {obs.error}" if obs.error else "")
        + (" · SIMULATED" if obs.simulated else "")
    )
    return CalendarObs(
        observation_id=observation_id(obs),
        label=sensor_label(obs),
        time_utc=when,
        status=obs.status,
        valid_pct=pct,
        berths_visible=nb,
        berths_total=len(berths),
        yards_visible=ny,
        yards_total=len(yards),
        simulated=obs.simulated,
        css=css,
        title=title,
    )


def build_calendar(
    observations: Sequence[ObservationRecord], port: Port, period: Period
) -> list[CalendarWeek]:
    """Weeks (Monday first) covering the period, each day with its observations."""
    by_day: dict[dt.date, list[CalendarObs]] = {}
    for obs in observations:
        if obs.acquired_utc is not None:
            by_day.setdefault(obs.acquired_utc.date(), []).append(_calendar_obs(obs, port))
    start = period.since - dt.timedelta(days=period.since.weekday())
    weeks: list[CalendarWeek] = []
    monday = start
    while monday <= period.until:
        days = []
        month = ""
        for i in range(7):
            day = monday + dt.timedelta(days=i)
            inside = period.since <= day <= period.until
            if inside and (day.day == 1 or day == period.since):
                month = month or f"{day:%b %Y}"
            days.append(CalendarDay(day, inside, tuple(by_day.get(day, ()) if inside else ())))
        weeks.append(CalendarWeek(month, tuple(days)))
        monday += dt.timedelta(days=7)
    return weeks
