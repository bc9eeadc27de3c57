"""Published claims: loaded from ``seeds/claims.toml``, then checked against the event store.

A check gives, for the claim's window, an observed lower bound (what the imagery shows: linked
trips, vessels seen at berth, yard footprint drops), an upper bound given coverage (how many
could have happened unseen, from the gaps between observations that could see each berth, the
shortest plausible berth stay and ship capacities), and a verdict with the evidence and the
assumptions in words. See :func:`check_claims`.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from geo import settings
from geo.errors import ClaimsFileError
from geo.events import (
    ClaimCheckRecord,
    DetectionRecord,
    ObservationRecord,
    PortCallRecord,
    TripRecord,
)
from geo.ports import Port, load_ports
from geo.trips import (
    TripParams,
    feasible_transit,
    sea_distance_nm,
    size_mismatch_sigmas,
    transit_bounds_h,
)
from geo.types import PathLikeStr

__all__ = [
    "CLAIM_KINDS",
    "COMPARATORS",
    "VERDICTS",
    "Claim",
    "ClaimParams",
    "check_claims",
    "load_claims",
    "verdict_for",
]

#: Claim kinds berthwatch can check.
CLAIM_KINDS = ("trip_count", "round_trip_count", "container_count", "vessel_presence")
#: Comparators, applied as ``true_value <comparator> number``.
COMPARATORS = (">=", ">", "<=", "<", "==")
_REQUIRED = ("id", "source", "quote", "kind", "ports", "since", "until", "comparator", "number")


@dataclass(frozen=True)
class Claim:
    """One published claim: ``<true value> <comparator> <number>`` over ``since..until`` (UTC, inclusive)."""

    id: str
    source: str
    quote: str
    kind: str
    ports: tuple[str, ...]
    since: dt.date
    until: dt.date
    comparator: str
    number: float
    unit: str = ""
    paraphrase: bool = False
    notes: str = ""
    vessels: tuple[str, ...] = ()
    min_length_m: float | None = None
    vessel_lengths_m: tuple[float, ...] = ()

    def holds_for(self, value: float) -> bool:
        """Return whether a true value *value* would make the claim true."""
        ops = {
            ">=": value >= self.number,
            ">": value > self.number,
            "<=": value <= self.number,
            "<": value < self.number,
            "==": value == self.number,
        }
        return ops[self.comparator]


def load_claims(
    path: PathLikeStr | None = None, *, ports: Mapping[str, Port] | None = None
) -> list[Claim]:
    """Load and validate the claims file.

    Parameters
    ----------
    path : str or path-like, optional
        A TOML file with ``[[claim]]`` tables. Default: ``seeds/claims.toml``.
    ports : mapping of str to Port, optional
        Known ports, to check each claim's ``ports``. Default: :func:`geo.ports.load_ports`.

    Raises
    ------
    ClaimsFileError
        Unreadable TOML, a missing field, an unknown kind, comparator or port, an inverted window,
        or a duplicate id. The message names the file, the claim and the fix.
    """
    p = Path(path) if path is not None else settings.seeds_dir() / "claims.toml"
    known = load_ports() if ports is None else ports
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ClaimsFileError(f"{p}: file not found; pass an existing claims TOML.") from err
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ClaimsFileError(f"{p}: not readable as TOML ({err}); fix the syntax.") from err
    tables = doc.get("claim", [])
    if not isinstance(tables, list):
        raise ClaimsFileError(f"{p}: claims must be [[claim]] tables.")
    claims = [_claim(p, i, t, known) for i, t in enumerate(tables)]
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsFileError(
            f"{p}: claim ids {', '.join(dupes)} repeat; give every claim a unique id."
        )
    return claims


def _claim(p: Path, i: int, t: dict[str, Any], ports: Mapping[str, Port]) -> Claim:
    cid = t.get("id", f"#{i + 1}")
    missing = [k for k in _REQUIRED if k not in t]
    if missing:
        raise ClaimsFileError(f"{p}: claim {cid!r} lacks {', '.join(missing)}; add the field(s).")
    if t["kind"] not in CLAIM_KINDS:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} has kind={t['kind']!r}; valid kinds: {', '.join(CLAIM_KINDS)}."
        )
    if t["comparator"] not in COMPARATORS:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} has comparator={t['comparator']!r}; valid: {', '.join(COMPARATORS)}."
        )
    claim_ports = t["ports"]
    if not isinstance(claim_ports, list) or not claim_ports:
        raise ClaimsFileError(
            f'{p}: claim {cid!r} needs ports = ["from", "to"] (a non-empty list).'
        )
    for port in claim_ports:
        if port not in ports:
            raise ClaimsFileError(
                f"{p}: claim {cid!r} names unknown port {port!r}; valid ports: {', '.join(ports)}."
            )
    since, until = _date(p, cid, "since", t["since"]), _date(p, cid, "until", t["until"])
    if since > until:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} has since={since} after until={until}; swap or fix the dates."
        )
    number = t["number"]
    if not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} number must be a non-negative number. Got {number!r}."
        )
    return Claim(
        id=str(cid),
        source=str(t["source"]),
        quote=str(t["quote"]),
        kind=t["kind"],
        ports=tuple(claim_ports),
        since=since,
        until=until,
        comparator=t["comparator"],
        number=float(number),
        unit=str(t.get("unit", "")),
        paraphrase=bool(t.get("paraphrase", False)),
        notes=str(t.get("notes", "")),
        vessels=tuple(t.get("vessels", ())),
        min_length_m=t.get("min_length_m"),
        vessel_lengths_m=_lengths(p, str(cid), t.get("vessel_lengths_m", [])),
    )


def _lengths(p: Path, cid: str, value: Any) -> tuple[float, ...]:
    ok = isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 500 for v in value
    )
    if not ok:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} vessel_lengths_m must be a list of lengths in metres, e.g. [115, 128]. Got {value!r}."
        )
    return tuple(float(v) for v in value)


def _date(p: Path, cid: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} {key}={value!r} is not a date; write it as YYYY-MM-DD."
        ) from err


# ============================================================================================
# Claim checks: what the imagery shows (lower bound), what it could have missed (upper bound)
# ============================================================================================

#: Verdicts of a claim check.
VERDICTS = ("consistent", "inconsistent", "cannot be assessed")


@dataclass(frozen=True)
class ClaimParams:
    """Assumptions of the claim checks (each is printed beside the verdict).

    Parameters
    ----------
    min_dwell_h : float
        Shortest stay at a berth of a ship that loads or unloads cargo. Unseen calls can only
        hide in gaps between observations of a berth longer than this. Default 24 h ("ships
        stayed at Rajin's piers 1-2 days").
    ships_per_berth : int
        Cargo ships one berth zone holds at a time.
    min_vessel_length_m : float
        Vessels shorter than this (fishing boats, tugs) are not counted as cargo voyages.
    min_trip_confidence : float
        Inferred trips below this confidence are left out of the observed lower bound (they
        still count in the upper bound, as possible trips).
    min_yard_valid_fraction : float
        A yard counts as observed when at least this fraction of it was valid.
    ship_teu_per_m2 : float
        Most TEU a ship carries per m^2 of hull footprint (length x beam): ~0.8 of the hull
        is cargo space, up to ~7 tiers in holds and on deck, 14.79 m^2 per TEU → 0.4.
    beam_to_length : float
        Beam assumed when a call has no width.
    max_vessel_length_m : float
        Length assumed for a ship that was never seen (an unseen call), to bound its cargo.
    teu_per_container : tuple of float
        A container is 1 TEU (20 ft) or 2 TEU (40 ft): container counts from TEU use the range.
    size_sigmas_possible : float
        For the upper bounds, a departure and an arrival *could* be one voyage when their sizes
        differ by at most this many sigmas (looser than the trip links).
    """

    min_dwell_h: float = 24.0
    ships_per_berth: int = 1
    min_vessel_length_m: float = 50.0
    min_trip_confidence: float = 0.6
    min_yard_valid_fraction: float = 0.9
    ship_teu_per_m2: float = 0.4
    beam_to_length: float = 1 / 6.5
    max_vessel_length_m: float = 200.0
    teu_per_container: tuple[float, float] = (1.0, 2.0)
    size_sigmas_possible: float = 4.0


@dataclass(frozen=True)
class _Evidence:
    observations: Sequence[ObservationRecord]
    detections: Sequence[DetectionRecord]
    port_calls: Sequence[PortCallRecord]
    trips: Sequence[TripRecord]
    ports: Mapping[str, Port]
    trip_params: TripParams
    params: ClaimParams


@dataclass(frozen=True)
class _Bounds:
    lower: float
    upper: float | None
    evidence: list[str]
    ids: list[str]
    assumptions: list[str]


def check_claims(
    claims: Sequence[Claim],
    *,
    observations: Sequence[ObservationRecord],
    detections: Sequence[DetectionRecord],
    port_calls: Sequence[PortCallRecord],
    trips: Sequence[TripRecord],
    ports: Mapping[str, Port],
    trip_params: TripParams | None = None,
    params: ClaimParams | None = None,
    run_id: str = "",
    checked_utc: dt.datetime | None = None,
) -> list[ClaimCheckRecord]:
    """Check claims against the evidence: an observed lower bound, an upper bound, a verdict.

    Parameters
    ----------
    claims : sequence of Claim
        The claims (e.g. :func:`load_claims`).
    observations, detections, port_calls, trips
        The evidence, as stored (rejected detections already left out, see
        :meth:`geo.events.EventStore.update_inferences`).
    ports : mapping of str to Port
        The ports (zones, sea distances).
    trip_params, params : TripParams, ClaimParams, optional
        How trips were inferred, and the assumptions of the checks.
    run_id : str
        The run the checks belong to.
    checked_utc : datetime, optional
        When they were made (default: now).

    Returns
    -------
    list of ClaimCheckRecord
        One per claim, in claim order. ``lower_bound`` is what the imagery shows,
        ``upper_bound`` how many could have happened given coverage (``None``: unbounded),
        ``verdict`` one of :data:`VERDICTS`; ``evidence`` and ``assumptions`` say why in words.

    Notes
    -----
    The verdict compares the claim with every value in ``[lower_bound, upper_bound]``: if the
    claim holds for all of them it is *consistent*, if for none *inconsistent*, else it
    *cannot be assessed*. "Not observed" is never read as "did not happen".
    """
    ev = _Evidence(
        observations=[o for o in observations if o.status != "failed" and o.acquired_utc],
        detections=detections,
        port_calls=port_calls,
        trips=trips,
        ports=ports,
        trip_params=trip_params or TripParams(),
        params=params or ClaimParams(),
    )
    now = checked_utc or dt.datetime.now(dt.UTC)
    return [_check(c, ev, run_id, now) for c in claims]


def verdict_for(claim: Claim, lower: float, upper: float | None) -> str:
    """The verdict for a claim whose true value lies in ``[lower, upper]`` (``None``: unbounded).

    Examples
    --------
    >>> import datetime as dt
    >>> c = Claim("x", "s", "q", "trip_count", ("rajin", "dunai"), dt.date(2023, 1, 1),
    ...           dt.date(2023, 2, 1), ">=", 6)
    >>> verdict_for(c, 6, 9), verdict_for(c, 2, 5), verdict_for(c, 2, None)
    ('consistent', 'inconsistent', 'cannot be assessed')
    """
    hi = math.inf if upper is None else upper
    if claim.comparator in (">=", ">"):
        if claim.holds_for(lower):
            return VERDICTS[0]
        return VERDICTS[2] if claim.holds_for(hi) else VERDICTS[1]
    if claim.comparator in ("<=", "<"):
        if claim.holds_for(hi):
            return VERDICTS[0]
        return VERDICTS[2] if claim.holds_for(lower) else VERDICTS[1]
    if lower == hi == claim.number:
        return VERDICTS[0]
    return VERDICTS[2] if lower <= claim.number <= hi else VERDICTS[1]


def _check(claim: Claim, ev: _Evidence, run_id: str, now: dt.datetime) -> ClaimCheckRecord:
    s, u = _window(claim)
    obs = [o for o in ev.observations if o.port in claim.ports and s <= _t(o) < u]
    if not obs:
        b = _Bounds(
            0.0,
            None,
            [
                f"no usable observation of {', '.join(claim.ports)} between {claim.since} and {claim.until}"
            ],
            [],
            ["nothing was observed, so nothing can be bounded"],
        )
    else:
        b = _CHECKS[claim.kind](claim, ev, s, u)
    upper = None if b.upper is None else float(b.upper)
    return ClaimCheckRecord(
        claim_id=claim.id,
        run_id=run_id,
        checked_utc=now,
        kind=claim.kind,
        ports=claim.ports,
        since=claim.since,
        until=claim.until,
        comparator=claim.comparator,
        number=claim.number,
        unit=claim.unit,
        lower_bound=float(b.lower),
        upper_bound=upper,
        verdict=verdict_for(claim, b.lower, upper),
        evidence="; ".join(b.evidence),
        evidence_ids=tuple(dict.fromkeys(b.ids)),
        assumptions="; ".join(b.assumptions),
        n_observations=len(obs),
        simulated=bool(obs) and any(o.simulated for o in obs),
        source=claim.source,
        quote=claim.quote,
    )


def _window(claim: Claim) -> tuple[dt.datetime, dt.datetime]:
    s = dt.datetime(claim.since.year, claim.since.month, claim.since.day, tzinfo=dt.UTC)
    u = dt.datetime(claim.until.year, claim.until.month, claim.until.day, tzinfo=dt.UTC)
    return s, u + dt.timedelta(days=1)


def _t(o: ObservationRecord) -> dt.datetime:
    return o.acquired_utc or dt.datetime.min.replace(tzinfo=dt.UTC)


def _h(td: dt.timedelta) -> float:
    return td.total_seconds() / 3600


# -- coverage: how many berth calls could have hidden in the gaps -------------------------------


def _unseen_calls(
    port: Port, ev: _Evidence, s: dt.datetime, u: dt.datetime
) -> tuple[int, list[str]]:
    """Most berth calls (of at least ``min_dwell_h``) overlapping ``[s, u)`` that no observation saw."""
    p = ev.params
    d = p.min_dwell_h
    total, notes = 0, []
    port_obs = sorted((o for o in ev.observations if o.port == port.id), key=_t)
    thr = ev.trip_params.min_zone_valid_fraction
    for berth in port.zones_of("berth"):
        seen = [_t(o) for o in port_obs if o.zone_fraction(berth.id) >= thr]
        k = sum(_fits(a, b, s, u, d) for a, b in zip([None, *seen], [*seen, None], strict=True))
        total += k * p.ships_per_berth
        in_window = sum(s <= t < u for t in seen)
        notes.append(f"{berth.id} seen {in_window}x")
    return total, notes


def _fits(
    a: dt.datetime | None, b: dt.datetime | None, s: dt.datetime, u: dt.datetime, d_h: float
) -> int:
    """Most disjoint stays of at least *d_h* hours inside the gap ``(a, b)`` that overlap ``[s, u)``."""
    lo = s if a is None else max(a, s)
    hi = u if b is None else min(b, u)
    if hi <= lo:
        return 0
    k = math.floor(_h(hi - lo) / d_h) + (a is None or a < s) + (b is None or b > u)
    if a is not None and b is not None:
        k = min(k, max(math.ceil(_h(b - a) / d_h) - 1, 0))
    return int(k)


def _coverage_note(port: Port, ev: _Evidence, s: dt.datetime, u: dt.datetime) -> str:
    obs = [o for o in ev.observations if o.port == port.id and s <= _t(o) < u]
    days = len({_t(o).date() for o in obs})
    return f"{port.id}: {len(obs)} observations on {days} of {(u - s).days} days"


def _length_ok(length_m: float, err_m: float, claim: Claim, p: ClaimParams, *, sure: bool) -> bool:
    """Whether a vessel counts for the claim: length at least the minimum (and a named length)."""
    minimum = max(p.min_vessel_length_m, claim.min_length_m or 0.0)
    ok = (length_m - err_m >= minimum) if sure else (length_m + err_m >= minimum)
    if claim.vessel_lengths_m:
        k = 2.5 if not sure else 2.0
        ok = ok and any(abs(length_m - v) <= k * max(err_m, 1.0) for v in claim.vessel_lengths_m)
    return ok


def _common_assumptions(claim: Claim, p: ClaimParams) -> list[str]:
    minimum = max(p.min_vessel_length_m, claim.min_length_m or 0.0)
    out = [
        f"cargo ships are at least {minimum:g} m long",
        f"a cargo call lasts at least {p.min_dwell_h:g} h at a berth",
        f"{p.ships_per_berth} ship per berth zone at a time",
        "a berth hidden by cloud or outside the swath is unobserved, not empty",
    ]
    if claim.vessels:
        names = ", ".join(claim.vessels)
        if claim.vessel_lengths_m:
            out.append(
                f"{names} are told apart from other ships only by length ({', '.join(f'{v:g} m' for v in claim.vessel_lengths_m)})"
            )
        else:
            out.append(
                f"vessel identity ({names}) cannot be read from 10 m imagery: any vessel counts"
            )
    return out


# -- trips ----------------------------------------------------------------------------------------


def _trips_between(ev: _Evidence, claim: Claim, a: str, b: str) -> list[TripRecord]:
    p = ev.params
    return [
        t
        for t in ev.trips
        if t.from_port == a
        and t.to_port == b
        and t.confidence >= p.min_trip_confidence
        and _length_ok(t.length_m, t.length_err_m, claim, p, sure=True)
    ]


def _inside(lo: dt.datetime | None, hi: dt.datetime | None, s: dt.datetime, u: dt.datetime) -> bool:
    return lo is not None and hi is not None and s <= lo and hi < u


@dataclass(frozen=True)
class _Ends:
    """Berth calls at one port whose departure (or arrival) could fall in a window."""

    seen: list[PortCallRecord]
    unseen: int

    @property
    def total(self) -> int:
        return len(self.seen) + self.unseen


def _departures(ev: _Evidence, claim: Claim, port: Port, s: dt.datetime, u: dt.datetime) -> _Ends:
    seen = [
        c
        for c in ev.port_calls
        if c.port == port.id
        and c.zone_kind == "berth"
        and c.departure_after_utc < u
        and (c.departure_before_utc is None or c.departure_before_utc >= s)
        and _length_ok(c.length_m, c.length_err_m, claim, ev.params, sure=False)
    ]
    return _Ends(seen, _unseen_calls(port, ev, s, u)[0])


def _arrivals(ev: _Evidence, claim: Claim, port: Port, s: dt.datetime, u: dt.datetime) -> _Ends:
    seen = [
        c
        for c in ev.port_calls
        if c.port == port.id
        and c.zone_kind == "berth"
        and c.arrival_before_utc >= s
        and (c.arrival_after_utc is None or c.arrival_after_utc < u)
        and _length_ok(c.length_m, c.length_err_m, claim, ev.params, sure=False)
    ]
    return _Ends(seen, _unseen_calls(port, ev, s, u)[0])


def _transit(ev: _Evidence, a: str, b: str) -> tuple[dt.timedelta, dt.timedelta]:
    d = sea_distance_nm(ev.ports[a], ev.ports[b], route_factor=ev.trip_params.route_factor)
    tmin, tmax = transit_bounds_h(d, ev.trip_params)
    return dt.timedelta(hours=tmin), dt.timedelta(hours=tmax)


def _links(ev: _Evidence, deps: _Ends, arrs: _Ends) -> NDArray[np.bool_]:
    """Which seen departures could be the same voyage as which seen arrivals (timing and size)."""
    links = np.zeros((len(deps.seen), len(arrs.seen)), dtype=bool)
    tp = ev.trip_params
    for i, a in enumerate(deps.seen):
        for j, b in enumerate(arrs.seen):
            d = sea_distance_nm(ev.ports[a.port], ev.ports[b.port], route_factor=tp.route_factor)
            links[i, j] = feasible_transit(a, b, d, tp) and (
                size_mismatch_sigmas(a, b, tp) <= ev.params.size_sigmas_possible
            )
    return links


def _max_matching(links: NDArray[np.bool_]) -> int:
    if links.size == 0:
        return 0
    rows, cols = linear_sum_assignment(~links)
    return int(links[rows, cols].sum())


def _check_trip_count(claim: Claim, ev: _Evidence, s: dt.datetime, u: dt.datetime) -> _Bounds:
    a, b = claim.ports[0], claim.ports[-1]
    seen = [
        t
        for t in _trips_between(ev, claim, a, b)
        if _inside(t.depart_after_utc, t.depart_before_utc, s, u)
    ]
    tmin, tmax = _transit(ev, a, b)
    deps = _departures(ev, claim, ev.ports[a], s, u)
    arrs = _arrivals(ev, claim, ev.ports[b], s + tmin, u + tmax)
    matched = _max_matching(_links(ev, deps, arrs))
    # A voyage either links a seen departure to a seen arrival (at most `matched` of those,
    # one per call) or has an end that no observation saw.
    upper = min(deps.total, arrs.total, matched + deps.unseen + arrs.unseen)
    upper = max(upper, len(seen))
    weak = [
        t
        for t in ev.trips
        if t.from_port == a
        and t.to_port == b
        and t.confidence < ev.params.min_trip_confidence
        and _inside(t.depart_after_utc, t.depart_before_utc, s, u)
    ]
    evidence = [
        f"{len(seen)} trips {a}->{b} seen with departure inside the window: {', '.join(t.trip_id for t in seen) or 'none'}",
        *(
            [
                f"{len(weak)} more candidate trip{'s' if len(weak) != 1 else ''} below confidence {ev.params.min_trip_confidence:g}, not counted (review their detections): "
                + ", ".join(f"{t.trip_id} ({t.confidence:.2f})" for t in weak)
            ]
            if weak
            else []
        ),
        f"{len(deps.seen)} seen {a} berth calls could depart in the window and {len(arrs.seen)} seen {b} calls could be their arrivals; at most {matched} such pairs fit in time and size",
        f"up to {deps.unseen} departures from {a} and {arrs.unseen} arrivals at {b} could hide in coverage gaps",
        _coverage_note(ev.ports[a], ev, s, u),
        _coverage_note(ev.ports[b], ev, s + tmin, u + tmax),
    ]
    assumptions = [
        *_common_assumptions(claim, ev.params),
        f"a trip is seen when its departure and arrival calls are linked with confidence >= {ev.params.min_trip_confidence:g}",
        "cargo is loaded and unloaded at berths",
        f"transit {_h(tmin):.0f}-{_h(tmax):.0f} h ({ev.trip_params.min_speed_kn:g}-{ev.trip_params.max_speed_kn:g} kn plus {ev.trip_params.slack_h:g} h slack)",
    ]
    ids = [t.trip_id for t in seen] + [c for t in seen for c in t.port_call_ids]
    return _Bounds(len(seen), upper, evidence, ids, assumptions)


def _check_round_trip_count(claim: Claim, ev: _Evidence, s: dt.datetime, u: dt.datetime) -> _Bounds:
    a, b = claim.ports[0], claim.ports[-1]
    out = {
        t.to_call_id: t
        for t in _trips_between(ev, claim, a, b)
        if t.depart_after_utc and t.depart_after_utc >= s
    }
    back = {
        t.from_call_id: t
        for t in _trips_between(ev, claim, b, a)
        if t.arrive_before_utc and t.arrive_before_utc < u
    }
    chains = [(out[k], back[k]) for k in out if k in back]
    n_to = _arrivals(ev, claim, ev.ports[b], s, u).total
    n_from = _departures(ev, claim, ev.ports[a], s, u).total
    upper = min(n_to, n_from)
    tmin, _ = _transit(ev, a, b)
    if claim.vessels:
        cycle_h = 2 * _h(tmin) + 2 * ev.params.min_dwell_h
        per_vessel = math.floor((_h(u - s) + ev.params.min_dwell_h) / cycle_h)
        upper = min(upper, per_vessel * len(claim.vessels))
    upper = max(upper, len(chains))
    evidence = [
        f"{len(chains)} round trips {a}->{b}->{a} seen (outbound and return linked through the same {b} call): "
        + (", ".join(f"{x.trip_id} + {y.trip_id}" for x, y in chains) or "none"),
        f"each needs a berth call at {b} and one at {a} inside the window: at most {n_to} and {n_from}",
        _coverage_note(ev.ports[a], ev, s, u),
        _coverage_note(ev.ports[b], ev, s, u),
    ]
    assumptions = [
        *_common_assumptions(claim, ev.params),
        "a round trip is seen when both legs are linked trips sharing the call at the far port",
    ]
    if claim.vessels:
        assumptions.append(
            f"{len(claim.vessels)} vessels, each round trip taking at least {cycle_h:.0f} h (two transits, two calls)"
        )
    ids = [t.trip_id for pair in chains for t in pair]
    return _Bounds(len(chains), upper, evidence, ids, assumptions)


# -- vessel presence -------------------------------------------------------------------------------


def _check_vessel_presence(claim: Claim, ev: _Evidence, s: dt.datetime, u: dt.datetime) -> _Bounds:
    port = ev.ports[claim.ports[0]]
    p = ev.params
    berth_calls = [c for c in ev.port_calls if c.port == port.id and c.zone_kind == "berth"]
    seen = [
        c
        for c in berth_calls
        if _length_ok(c.length_m, c.length_err_m, claim, p, sure=True)
        and any(s <= _detection_time(ev, d) < u for d in c.detection_ids)
    ]
    possible = [
        c
        for c in berth_calls
        if _length_ok(c.length_m, c.length_err_m, claim, p, sure=False)
        and (c.arrival_after_utc is None or c.arrival_after_utc < u)
        and (c.departure_before_utc is None or c.departure_before_utc > s)
    ]
    unseen, berth_notes = _unseen_calls(port, ev, s, u)
    evidence = [
        f"{len(seen)} vessels seen at {port.id} berths inside the window: "
        + (", ".join(f"{c.call_id} ({c.length_m:.0f} m at {c.berth})" for c in seen) or "none"),
        f"{len(possible)} seen calls could overlap the window; up to {unseen} more could hide in coverage gaps",
        _coverage_note(port, ev, s, u) + " (" + ", ".join(berth_notes) + ")",
    ]
    return _Bounds(
        len(seen),
        max(len(possible) + unseen, len(seen)),
        evidence,
        [c.call_id for c in seen] + [d for c in seen for d in c.detection_ids],
        _common_assumptions(claim, p),
    )


def _detection_time(ev: _Evidence, detection_id: str) -> dt.datetime:
    scene, port = detection_id.split(":")[0], detection_id.split(":")[1]
    for o in ev.observations:
        if o.scene_id == scene and o.port == port:
            return _t(o)
    return dt.datetime.min.replace(tzinfo=dt.UTC)


# -- containers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _YardState:
    t: dt.datetime
    area_m2: float
    teu_per_m2_low: float | None
    detection_ids: tuple[str, ...]


def _yard_series(port: Port, ev: _Evidence) -> dict[str, list[_YardState]]:
    """Stack footprint of each yard at each observation that saw (almost) all of it."""
    stacks: dict[tuple[str, str], list[DetectionRecord]] = {}
    for d in ev.detections:
        if d.kind == "container_stack" and d.port == port.id:
            stacks.setdefault((d.scene_id, d.zone), []).append(d)
    out: dict[str, list[_YardState]] = {}
    for yard in port.zones_of("yard"):
        series = []
        for o in sorted((o for o in ev.observations if o.port == port.id), key=_t):
            if o.zone_fraction(yard.id) < ev.params.min_yard_valid_fraction:
                continue
            recs = stacks.get((o.scene_id, yard.id), [])
            area = sum(r.area_m2 or 0.0 for r in recs)
            ratios = [r.teu_low / r.area_m2 for r in recs if r.teu_low is not None and r.area_m2]
            series.append(
                _YardState(
                    _t(o),
                    area,
                    min(ratios) if ratios else None,
                    tuple(r.detection_id for r in recs),
                )
            )
        out[yard.id] = series
    return out


def _loaded_teu_low(
    port: Port, ev: _Evidence, windows: Sequence[tuple[dt.datetime, dt.datetime]]
) -> tuple[float, list[str], list[str]]:
    """Lower bound of TEU leaving the port's yards inside *windows* (ships at berth)."""
    total, notes, ids = 0.0, [], []
    for yard, series in _yard_series(port, ev).items():
        got = 0.0
        for x, y in zip(series, series[1:], strict=False):
            if not any(lo <= x.t and y.t <= hi for lo, hi in windows):
                continue
            ratios = [r for r in (x.teu_per_m2_low, y.teu_per_m2_low) if r is not None]
            if x.area_m2 > y.area_m2 and ratios:
                got += (x.area_m2 - y.area_m2) * min(ratios)
                ids += [*x.detection_ids, *y.detection_ids]
        total += got
        notes.append(
            f"{yard}: {len(series)} clear observations, footprint drops worth >= {got:.0f} TEU"
        )
    return total, notes, ids


def _ship_capacity_teu(length_m: float, width_m: float | None, p: ClaimParams) -> float:
    return length_m * (width_m or length_m * p.beam_to_length) * p.ship_teu_per_m2


def _loading_calls(
    claim: Claim, ev: _Evidence, s: dt.datetime, u: dt.datetime
) -> tuple[list[PortCallRecord], str]:
    """The berth calls during which yard drops count as loading, and how they were chosen."""
    a, b = claim.ports[0], claim.ports[-1]
    if b != a:
        trips = [
            t
            for t in _trips_between(ev, claim, a, b)
            if _inside(t.depart_after_utc, t.depart_before_utc, s, u)
        ]
        calls = {c.call_id: c for c in ev.port_calls}
        loading = [calls[t.from_call_id] for t in trips if t.from_call_id in calls]
        return (
            loading,
            f"loading calls of the {len(trips)} trips {a}->{b} seen departing in the window",
        )
    loading = [
        c
        for c in ev.port_calls
        if c.port == a and c.zone_kind == "berth" and c.first_seen_utc < u and c.last_seen_utc >= s
    ]
    return loading, f"{len(loading)} ship calls seen at {a} berths in the window"


def _capacity_upper(
    claim: Claim, ev: _Evidence, s: dt.datetime, u: dt.datetime
) -> tuple[float, str]:
    """Most TEU the ships that could have left (for the other port) in the window could carry."""
    p = ev.params
    a, b = claim.ports[0], claim.ports[-1]
    deps = _departures(ev, claim, ev.ports[a], s, u)
    seen = deps.seen
    if b != a:
        # Only ships that could have reached the other port count: a seen arrival that fits,
        # unless the coverage there could have missed an arrival.
        tmin, tmax = _transit(ev, a, b)
        arrs = _arrivals(ev, claim, ev.ports[b], s + tmin, u + tmax)
        if arrs.unseen == 0:
            links = _links(ev, deps, arrs)
            reach = [bool(links[i].any()) for i in range(len(deps.seen))]
            seen = [c for c, ok in zip(deps.seen, reach, strict=True) if ok]
    cap_seen = sum(_ship_capacity_teu(c.length_m + c.length_err_m, c.width_m, p) for c in seen)
    cap_unseen = deps.unseen * _ship_capacity_teu(p.max_vessel_length_m, None, p)
    note = (
        f"at most {len(seen) + deps.unseen} ships could have carried them from {a}: {len(seen)} seen "
        f"(capacity <= {cap_seen:.0f} TEU), {deps.unseen} possibly unseen (<= {cap_unseen:.0f} TEU)"
    )
    return cap_seen + cap_unseen, note


def _check_container_count(claim: Claim, ev: _Evidence, s: dt.datetime, u: dt.datetime) -> _Bounds:
    p = ev.params
    a = claim.ports[0]
    port = ev.ports[a]
    loading, how = _loading_calls(claim, ev, s, u)
    windows = [(c.arrival_after_utc or s, c.departure_before_utc or u) for c in loading]
    windows = [(max(lo, s), min(hi, u)) for lo, hi in windows]
    teu_low, yard_notes, ids = _loaded_teu_low(port, ev, windows)
    teu_high, capacity_note = _capacity_upper(claim, ev, s, u)
    lo_box, hi_box = p.teu_per_container
    evidence = [
        f"yard footprint drops at {a} during the {how}: >= {teu_low:.0f} TEU",
        *yard_notes,
        capacity_note,
        _coverage_note(port, ev, s, u),
    ]
    assumptions = [
        *_common_assumptions(claim, p),
        "containers that leave the yard while a ship is at berth are loaded onto it (trucks and trains ignored)",
        "removed footprint held at least the low tiers x packing of the stack estimate",
        f"a ship carries at most {p.ship_teu_per_m2:g} TEU per m2 of length x beam; an unseen ship is at most {p.max_vessel_length_m:g} m",
        f"one container is {lo_box:g}-{hi_box:g} TEU (20 or 40 ft)",
    ]
    ids += [c.call_id for c in loading]
    return _Bounds(teu_low / hi_box, teu_high / lo_box, evidence, ids, assumptions)


_CHECKS = {
    "trip_count": _check_trip_count,
    "round_trip_count": _check_round_trip_count,
    "vessel_presence": _check_vessel_presence,
    "container_count": _check_container_count,
}
