"""What a report needs from the event store, read once through the store's public API."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from geo.events import (
    ClaimCheckRecord,
    DetectionRecord,
    EventStore,
    ObservationRecord,
    PortCallRecord,
    ReviewRecord,
    RunRecord,
    TripRecord,
)
from geo.ports import Port
from report.errors import PeriodError, PeriodNotCoveredError
from report.types import DateLike

__all__ = [
    "Period",
    "PortData",
    "StoreSpan",
    "collect",
    "observation_id",
    "parse_period",
    "store_span",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Period:
    """The report period: whole UTC days ``since`` to ``until``, both included."""

    since: dt.date
    until: dt.date

    @property
    def start_utc(self) -> dt.datetime:
        """Midnight UTC at the start of ``since``."""
        return dt.datetime.combine(self.since, dt.time(), dt.UTC)

    @property
    def end_utc(self) -> dt.datetime:
        """Midnight UTC at the end of ``until`` (exclusive end)."""
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), dt.UTC)

    @property
    def n_days(self) -> int:
        """Number of days in the period (both ends included)."""
        return (self.until - self.since).days + 1

    def days(self) -> list[dt.date]:
        """Every day of the period, in order."""
        return [self.since + dt.timedelta(days=i) for i in range(self.n_days)]

    def overlaps(self, lo: dt.datetime | None, hi: dt.datetime | None) -> bool:
        """Whether ``[lo, hi]`` (``None`` = unbounded) meets the period."""
        return (hi is None or hi >= self.start_utc) and (lo is None or lo < self.end_utc)


def _as_date(value: DateLike, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise PeriodError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD.") from err


def parse_period(since: DateLike, until: DateLike) -> Period:
    """Normalise the report bounds; raise :class:`PeriodError` when *since* is after *until*."""
    lo, hi = _as_date(since, "since"), _as_date(until, "until")
    if lo > hi:
        raise PeriodError(
            f"since={lo} is after until={hi}; the report period runs from since to until (both included)."
        )
    return Period(lo, hi)


@dataclass(frozen=True)
class StoreSpan:
    """What time the store covers: first and last observation, last run start (all ports)."""

    first_observation_utc: dt.datetime | None
    last_observation_utc: dt.datetime | None
    last_run_utc: dt.datetime | None

    @property
    def end_utc(self) -> dt.datetime | None:
        """The later of the last observation and the last run start."""
        ends = [t for t in (self.last_observation_utc, self.last_run_utc) if t is not None]
        return max(ends) if ends else None

    def covers(self, period: Period) -> bool:
        """Whether *period* meets ``[first observation, max(last observation, last run)]``.

        A store covers a period when it holds an observation of any port acquired on or before
        the period's last day, and an observation acquired, or a run started, on or after its
        first day. A period with no observation inside but observations on both sides (or a
        later run that searched it) is covered: it is a gap, and the report says so.
        """
        first, end = self.first_observation_utc, self.end_utc
        if first is None or end is None:
            return False
        return first < period.end_utc and end >= period.start_utc


def store_span(store: EventStore) -> StoreSpan:
    """Return the time span the store covers (see :meth:`StoreSpan.covers`)."""
    times = [o.acquired_utc for o in store.observations() if o.acquired_utc is not None]
    runs = [r.started_utc for r in store.runs()]
    return StoreSpan(min(times, default=None), max(times, default=None), max(runs, default=None))


def observation_id(obs: ObservationRecord) -> str:
    """The observation's id from its natural key: ``"{scene_id}:{port}"``."""
    return f"{obs.scene_id}:{obs.port}"


@dataclass(frozen=True)
class PortData:
    """Everything one port's report shows, for one period."""

    port: Port
    period: Period
    store_path: Path
    span: StoreSpan
    observations: tuple[ObservationRecord, ...]
    detections: tuple[DetectionRecord, ...]
    rejected_ids: frozenset[str]
    port_calls: tuple[PortCallRecord, ...]
    trips: tuple[TripRecord, ...]
    claims: tuple[ClaimCheckRecord, ...]
    reviews: tuple[ReviewRecord, ...]
    runs: tuple[RunRecord, ...]
    other_observations: dict[str, tuple[ObservationRecord, ...]]
    other_ports: dict[str, Port]

    @property
    def kept_detections(self) -> tuple[DetectionRecord, ...]:
        """Detections no analyst rejected (latest review wins)."""
        return tuple(d for d in self.detections if d.detection_id not in self.rejected_ids)

    def latest_reviews(self) -> dict[str, ReviewRecord]:
        """The latest review of each reviewed detection, by detection id."""
        out: dict[str, ReviewRecord] = {}
        for r in self.reviews:
            out[r.detection_id] = r
        return out


def collect(store: EventStore, port: Port, period: Period, *, ports: dict[str, Port]) -> PortData:
    """Read what the report needs about *port* in *period*.

    Raises
    ------
    PeriodNotCoveredError
        The store holds nothing in or around *period* (see :meth:`StoreSpan.covers`).
    """
    span = store_span(store)
    if not span.covers(period):
        raise PeriodNotCoveredError(_not_covered_message(store.path, period, span))
    since, until = period.start_utc, period.end_utc - dt.timedelta(milliseconds=1)
    obs = tuple(store.observations(port.id, since, until))
    dets = tuple(store.detections(port.id, since, until))
    ids = {d.detection_id for d in dets}
    reviews = tuple(r for r in store.reviews() if r.detection_id in ids)
    calls = tuple(store.port_calls(port.id, since, until))
    trips = tuple(
        t
        for t in store.trips()
        if port.id in (t.from_port, t.to_port)
        and period.overlaps(t.depart_after_utc, t.arrive_before_utc)
    )
    claims = tuple(
        c
        for c in store.claims()
        if port.id in c.ports and c.since <= period.until and c.until >= period.since
    )
    others = _counterparts(port.id, trips, claims, ports)
    other_obs = {p: tuple(store.observations(p, since, until)) for p in others}
    return PortData(
        port=port,
        period=period,
        store_path=Path(store.path),
        span=span,
        observations=obs,
        detections=dets,
        rejected_ids=frozenset(store.rejected_detection_ids() & ids),
        port_calls=calls,
        trips=trips,
        claims=claims,
        reviews=reviews,
        runs=tuple(store.runs()),
        other_observations=other_obs,
        other_ports={p: ports[p] for p in others},
    )


def _counterparts(
    port_id: str,
    trips: Iterable[TripRecord],
    claims: Iterable[ClaimCheckRecord],
    ports: dict[str, Port],
) -> list[str]:
    names: list[str] = []
    for t in trips:
        names += [t.from_port, t.to_port]
    for c in claims:
        names += list(c.ports)
    return [p for p in dict.fromkeys(names) if p != port_id and p in ports]


def _not_covered_message(path: Path, period: Period, span: StoreSpan) -> str:
    if span.first_observation_utc is None or span.end_utc is None:
        return (
            f"The event store {path} holds no observations, so it cannot report on "
            f"{period.since}..{period.until}; run a backfill over that period first."
        )
    return (
        f"The event store {path} covers {span.first_observation_utc:%Y-%m-%d}..{span.end_utc:%Y-%m-%d}, "
        f"not {period.since}..{period.until}; choose dates in that span or run a backfill over them."
    )
