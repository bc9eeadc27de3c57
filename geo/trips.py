"""Port calls and trips, inferred from the event store's observations and vessel detections.

Port calls
    For each berth (and anchorage) of a port, walk its observations in time order and group the
    vessel detections in that zone into *stays*: the same zone, a compatible length and position
    in successive observations. A stay ends at the first observation that saw the zone (its
    per-zone valid fraction at least :attr:`TripParams.min_zone_valid_fraction`) without the
    vessel; an observation where the zone was hidden (cloud, outside the swath) neither confirms
    nor ends it. The arrival lies between the last observation that saw the zone before the
    first sighting and the first sighting; the departure between the last sighting and the
    first later observation that saw the zone empty of it.

Trips
    A departure from one port is linked to an arrival at another when the gap fits the sea
    distance at plausible speeds (:attr:`TripParams.min_speed_kn` to ``max_speed_kn``, plus
    :attr:`TripParams.slack_h` for waiting and manoeuvring) and the lengths agree within their
    errors. Each port call departs on at most one trip and arrives from at most one trip: the
    links are an assignment (:func:`scipy.optimize.linear_sum_assignment`), never a greedy
    double count.

Sea distances are great-circle distances between the ports' AOI centroids times a route factor
(:attr:`TripParams.route_factor`, default 1.2: Rajin–Dunai 98 nm great circle → 118 nm, close to
the ≈115 nm of the reporting; a factor of 1.3 would give 128 nm).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from geo.events import DetectionRecord, ObservationRecord, PortCallRecord, TripRecord
from geo.ports import Port

__all__ = [
    "TripParams",
    "feasible_transit",
    "infer_port_calls",
    "infer_trips",
    "sea_distance_nm",
    "size_mismatch_sigmas",
    "transit_bounds_h",
]

_EARTH_RADIUS_NM = 3440.065
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0
_BIG = 1e9


@dataclass(frozen=True)
class TripParams:
    """How port calls and trips are inferred.

    Parameters
    ----------
    call_zone_kinds : tuple of str
        Zone kinds where a vessel's stay is a port call: berths, and anchorages (a ship back
        from a voyage may wait at anchor before it berths or heads on).
    min_zone_valid_fraction : float
        A zone counts as *seen* by an observation when at least this fraction of it was valid
        (in the swath, not cloud). Only a seen zone can show that a vessel has gone.
    position_tol_m, anchorage_position_tol_m : float
        Largest distance between two sightings of one stay, at a berth and at anchor (a ship
        swings around its anchor).
    length_error_m : float
        One-sigma error of one length measurement (default for 10 m imagery); a stay's error
        shrinks with the number of sightings, down to half of it (errors of one sensor are
        correlated).
    width_error_m : float
        One-sigma error of one width (beam) measurement.
    length_sigmas : float
        Two lengths (or widths) match when they differ by at most this many combined sigmas.
    min_speed_kn, max_speed_kn : float
        Plausible speeds of a loaded cargo ship between the ports.
    slack_h : float
        Extra hours allowed on top of the slowest transit (waiting for a pilot or a berth,
        drifting, bunkering).
    route_factor : float
        Sea route length over the great-circle distance.
    """

    call_zone_kinds: tuple[str, ...] = ("berth", "anchorage")
    min_zone_valid_fraction: float = 0.9
    position_tol_m: float = 120.0
    anchorage_position_tol_m: float = 300.0
    length_error_m: float = 15.0
    width_error_m: float = 6.0
    length_sigmas: float = 2.5
    min_speed_kn: float = 6.0
    max_speed_kn: float = 16.0
    slack_h: float = 12.0
    route_factor: float = 1.2
    nominal_speed_kn: float = 11.0

    def length_sigma(self, n_sightings: int) -> float:
        """Length error (1 sigma, m) of a stay measured *n_sightings* times."""
        return max(self.length_error_m / math.sqrt(max(n_sightings, 1)), self.length_error_m / 2)


def sea_distance_nm(a: Port, b: Port, *, route_factor: float = 1.2) -> float:
    """Sea distance (nautical miles) between two ports: great circle between AOI centroids × factor.

    Examples
    --------
    >>> from geo.ports import load_ports
    >>> ports = load_ports()
    >>> round(sea_distance_nm(ports["rajin"], ports["dunai"]))
    118
    """
    pa, pb = a.aoi.centroid, b.aoi.centroid
    la1, la2 = math.radians(pa.y), math.radians(pb.y)
    dlat, dlon = la2 - la1, math.radians(pb.x - pa.x)
    h = math.sin(dlat / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_NM * math.asin(math.sqrt(h)) * route_factor


def transit_bounds_h(distance_nm: float, params: TripParams) -> tuple[float, float]:
    """Shortest and longest plausible transit (hours) over *distance_nm*."""
    return distance_nm / params.max_speed_kn, distance_nm / params.min_speed_kn + params.slack_h


# --------------------------------------------------------------------------------------------
# Port calls
# --------------------------------------------------------------------------------------------


@dataclass
class _Stay:
    zone: str
    kind: str
    arrival_after: dt.datetime | None
    dets: list[DetectionRecord] = field(default_factory=list)
    times: list[dt.datetime] = field(default_factory=list)
    hidden: int = 0  # observations with the zone hidden between first and last sighting
    pending_hidden: int = 0  # ... since the last sighting (counted once it is seen again)
    departure_before: dt.datetime | None = None

    @property
    def length_m(self) -> float:
        return float(np.median([d.length_m or 0.0 for d in self.dets]))

    @property
    def lonlat(self) -> tuple[float, float]:
        return float(np.mean([d.lon for d in self.dets])), float(
            np.mean([d.lat for d in self.dets])
        )


def infer_port_calls(
    observations: Sequence[ObservationRecord],
    detections: Sequence[DetectionRecord],
    ports: Mapping[str, Port],
    *,
    params: TripParams | None = None,
) -> list[PortCallRecord]:
    """Group vessel detections at berths and anchorages into port calls.

    Parameters
    ----------
    observations : sequence of ObservationRecord
        Observations of any ports; ``failed`` ones are ignored.
    detections : sequence of DetectionRecord
        Detections (rejected ones already removed); only vessels in a zone of a kind in
        :attr:`TripParams.call_zone_kinds` are used.
    ports : mapping of str to Port
        The ports and their zones.

    Returns
    -------
    list of PortCallRecord
        Sorted by port, first sighting and zone. ``call_id`` is ``"call:<first detection id>"``.
    """
    p = params or TripParams()
    by_scene: dict[tuple[str, str], list[DetectionRecord]] = defaultdict(list)
    for d in detections:
        if d.kind == "vessel" and d.length_m is not None:
            by_scene[(d.scene_id, d.port)].append(d)
    calls: list[PortCallRecord] = []
    for port in ports.values():
        obs = sorted(
            (
                o
                for o in observations
                if o.port == port.id and o.status != "failed" and o.acquired_utc
            ),
            key=lambda o: (o.acquired_utc, o.scene_id),
        )
        for zone in port.zones:
            if zone.kind in p.call_zone_kinds:
                stays = _zone_stays(zone.id, zone.kind, obs, by_scene, p)
                calls += [_call_record(port.id, s, p) for s in stays]
    calls.sort(key=lambda c: (c.port, c.first_seen_utc, c.berth, c.call_id))
    return calls


def _zone_stays(
    zone: str,
    kind: str,
    obs: Sequence[ObservationRecord],
    by_scene: Mapping[tuple[str, str], Sequence[DetectionRecord]],
    p: TripParams,
) -> list[_Stay]:
    done: list[_Stay] = []
    open_: list[_Stay] = []
    last_seen_zone: dt.datetime | None = None
    tol = p.anchorage_position_tol_m if kind == "anchorage" else p.position_tol_m
    for o in obs:
        t = o.acquired_utc
        if t is None:
            continue
        dets = [d for d in by_scene.get((o.scene_id, o.port), ()) if d.zone == zone]
        seen = o.zone_fraction(zone) >= p.min_zone_valid_fraction
        matched = _match(open_, dets, tol, p)
        for si, di in matched:
            stay = open_[si]
            stay.dets.append(dets[di])
            stay.times.append(t)
            stay.hidden += stay.pending_hidden
            stay.pending_hidden = 0
        used_s = {si for si, _ in matched}
        used_d = {di for _, di in matched}
        still: list[_Stay] = []
        for si, stay in enumerate(open_):
            if si in used_s:
                still.append(stay)
            elif seen:
                stay.departure_before = t
                done.append(stay)
            else:
                stay.pending_hidden += 1
                still.append(stay)
        for di, d in enumerate(dets):
            if di not in used_d:
                still.append(_Stay(zone, kind, last_seen_zone, [d], [t]))
        open_ = still
        if seen:
            last_seen_zone = t
    return done + open_


def _match(
    stays: Sequence[_Stay], dets: Sequence[DetectionRecord], tol_m: float, p: TripParams
) -> list[tuple[int, int]]:
    """One-to-one matching of open stays to this observation's detections, within the gates."""
    if not stays or not dets:
        return []
    cost = np.full((len(stays), len(dets)), _BIG)
    for i, s in enumerate(stays):
        lon, lat = s.lonlat
        sigma = math.hypot(p.length_sigma(len(s.dets)), p.length_error_m)
        for j, d in enumerate(dets):
            dist = _distance_m(lon, lat, d.lon, d.lat)
            dl = abs((d.length_m or 0.0) - s.length_m)
            if dist <= tol_m and dl <= p.length_sigmas * sigma:
                cost[i, j] = (dist / tol_m) ** 2 + (dl / sigma) ** 2
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < _BIG]


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = (lon2 - lon1) * _M_PER_DEG_LON_EQ * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, (lat2 - lat1) * _M_PER_DEG_LAT)


def _call_record(port: str, s: _Stay, p: TripParams) -> PortCallRecord:
    lon, lat = s.lonlat
    widths = [d.width_m for d in s.dets if d.width_m is not None]
    lengths = np.array([d.length_m or 0.0 for d in s.dets])
    spread = float(lengths.std(ddof=1) / math.sqrt(len(lengths))) if len(lengths) > 1 else 0.0
    return PortCallRecord(
        call_id=f"call:{s.dets[0].detection_id}",
        port=port,
        berth=s.zone,
        zone_kind=s.kind,
        first_seen_utc=s.times[0],
        last_seen_utc=s.times[-1],
        arrival_after_utc=s.arrival_after,
        arrival_before_utc=s.times[0],
        departure_after_utc=s.times[-1],
        departure_before_utc=s.departure_before,
        length_m=s.length_m,
        length_err_m=max(p.length_sigma(len(s.dets)), spread),
        width_m=float(np.median(widths)) if widths else None,
        lon=lon,
        lat=lat,
        n_detections=len(s.dets),
        n_hidden=s.hidden,
        detection_ids=tuple(d.detection_id for d in s.dets),
        scene_ids=tuple(dict.fromkeys(d.scene_id for d in s.dets)),
        simulated=all(d.simulated for d in s.dets),
    )


# --------------------------------------------------------------------------------------------
# Trips
# --------------------------------------------------------------------------------------------


def feasible_transit(
    dep: PortCallRecord, arr: PortCallRecord, distance_nm: float, params: TripParams
) -> bool:
    """Whether a vessel leaving *dep* could have arrived at *arr* (timing only)."""
    tmin, tmax = transit_bounds_h(distance_nm, params)
    latest_gap = (arr.arrival_before_utc - dep.departure_after_utc).total_seconds() / 3600
    if latest_gap < tmin:
        return False
    if arr.arrival_after_utc is None or dep.departure_before_utc is None:
        return True
    earliest_gap = (arr.arrival_after_utc - dep.departure_before_utc).total_seconds() / 3600
    return earliest_gap <= tmax


def infer_trips(
    calls: Sequence[PortCallRecord],
    ports: Mapping[str, Port],
    *,
    params: TripParams | None = None,
) -> list[TripRecord]:
    """Link departures to arrivals at other ports, one trip per call end at most.

    Parameters
    ----------
    calls : sequence of PortCallRecord
        Port calls of all ports (e.g. from :func:`infer_port_calls`).
    ports : mapping of str to Port
        The ports, for the sea distances.

    Returns
    -------
    list of TripRecord
        Sorted by earliest departure. Departure and arrival windows are the calls' windows
        narrowed by the transit bounds. ``confidence`` is the length agreement
        (``exp(-z**2 / 2)``) divided by the number of candidates competing for either end.
    """
    p = params or TripParams()
    calls = [c for c in calls if c.port in ports]
    if len(calls) < 2:
        return []
    n = len(calls)
    dist = {
        (a, b): sea_distance_nm(ports[a], ports[b], route_factor=p.route_factor)
        for a in {c.port for c in calls}
        for b in {c.port for c in calls}
        if a != b
    }
    cost = np.full((n, n), _BIG)
    for i, a in enumerate(calls):
        for j, b in enumerate(calls):
            if a.port != b.port:
                c = _link_cost(a, b, dist[(a.port, b.port)], p)
                if c is not None:
                    cost[i, j] = c
    feasible = cost < _BIG
    rows, cols = linear_sum_assignment(cost)
    trips = []
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if feasible[i, j]:
            competitors = max(int(feasible[i].sum()), int(feasible[:, j].sum()), 1)
            mu = _coincidences(calls, i, j, dist[(calls[i].port, calls[j].port)], p)
            trips.append(
                _trip(calls[i], calls[j], dist[(calls[i].port, calls[j].port)], p, competitors, mu)
            )
    trips.sort(
        key=lambda t: (
            t.depart_after_utc or t.arrive_after_utc or dt.datetime.min.replace(tzinfo=dt.UTC),
            t.trip_id,
        )
    )
    return trips


def _link_cost(
    a: PortCallRecord, b: PortCallRecord, distance_nm: float, p: TripParams
) -> float | None:
    if not feasible_transit(a, b, distance_nm, p):
        return None
    z = size_mismatch_sigmas(a, b, p)
    if z > p.length_sigmas:
        return None
    # Prefer the pairing whose observed gap best fits a transit at the nominal speed.
    lo, hi = _gap_bounds_h(a, b)
    nominal = distance_nm / p.nominal_speed_kn
    misfit = 0.0 if lo <= nominal <= hi else min(abs(lo - nominal), abs(hi - nominal)) / nominal
    return z * z / 2 + misfit


def size_mismatch_sigmas(a: PortCallRecord, b: PortCallRecord, p: TripParams) -> float:
    """Disagreement of two calls' sizes, in sigmas: the worse of length and width.

    Lengths use the calls' ``length_err_m``; widths :attr:`TripParams.width_error_m` shrunk
    with the number of sightings (down to half of it).
    """
    z = abs(a.length_m - b.length_m) / math.hypot(a.length_err_m, b.length_err_m)
    if a.width_m is not None and b.width_m is not None:
        sw = p.width_error_m * math.sqrt(1 / a.n_detections + 1 / b.n_detections)
        z = max(z, abs(a.width_m - b.width_m) / max(sw, p.width_error_m / 2))
    return z


def _gap_bounds_h(a: PortCallRecord, b: PortCallRecord) -> tuple[float, float]:
    hi = (b.arrival_before_utc - a.departure_after_utc).total_seconds() / 3600
    if b.arrival_after_utc is None or a.departure_before_utc is None:
        return -math.inf, hi
    return (b.arrival_after_utc - a.departure_before_utc).total_seconds() / 3600, hi


def _coincidences(
    calls: Sequence[PortCallRecord], i: int, j: int, distance_nm: float, p: TripParams
) -> float:
    """Expected number of look-alike calls that would fit either end of the link by chance.

    The rate of size-compatible calls at a port (over the span it was watched) times the width
    of the window in which the other end could fall: many look-alikes in a busy port make a
    match by size and timing weak evidence of one and the same vessel.
    """
    a, b = calls[i], calls[j]
    tmin, tmax = transit_bounds_h(distance_nm, p)
    mus = []
    for here, other, k in ((b, a, j), (a, b, i)):
        at_port = [c for n, c in enumerate(calls) if c.port == here.port and n != k]
        if not at_port:
            mus.append(0.0)
            continue
        t0 = min(c.first_seen_utc for c in at_port + [here])
        t1 = max(c.last_seen_utc for c in at_port + [here])
        span_h = max((t1 - t0).total_seconds() / 3600, 24.0)
        alike = sum(1 for c in at_port if size_mismatch_sigmas(other, c, p) <= p.length_sigmas)
        lo: dt.datetime | None
        hi: dt.datetime | None
        if other is a:
            lo, hi = a.departure_after_utc, a.departure_before_utc
        else:
            lo, hi = b.arrival_after_utc, b.arrival_before_utc
        window_h = span_h if lo is None or hi is None else (hi - lo).total_seconds() / 3600
        mus.append(alike / span_h * (window_h + tmax - tmin))
    return max(mus)


def _trip(
    a: PortCallRecord,
    b: PortCallRecord,
    distance_nm: float,
    p: TripParams,
    competitors: int,
    coincidences: float,
) -> TripRecord:
    tmin, tmax = (dt.timedelta(hours=h) for h in transit_bounds_h(distance_nm, p))
    dep_lo = _latest(a.departure_after_utc, _shift(b.arrival_after_utc, -tmax))
    dep_hi = _earliest(a.departure_before_utc, b.arrival_before_utc - tmin)
    arr_lo = _latest(b.arrival_after_utc, a.departure_after_utc + tmin)
    arr_hi = _earliest(b.arrival_before_utc, _shift(a.departure_before_utc, tmax))
    sigma = math.hypot(a.length_err_m, b.length_err_m)
    z = size_mismatch_sigmas(a, b, p)
    w_a, w_b = a.n_detections, b.n_detections
    return TripRecord(
        trip_id=f"trip:{a.call_id}>{b.call_id}",
        from_port=a.port,
        to_port=b.port,
        from_call_id=a.call_id,
        to_call_id=b.call_id,
        depart_after_utc=dep_lo,
        depart_before_utc=dep_hi,
        arrive_after_utc=arr_lo,
        arrive_before_utc=arr_hi,
        length_m=(a.length_m * w_a + b.length_m * w_b) / (w_a + w_b),
        length_err_m=sigma / 2,
        distance_nm=round(distance_nm, 1),
        confidence=round(math.exp(-z * z / 2 - coincidences) / competitors, 3),
        from_lonlat=(a.lon, a.lat),
        to_lonlat=(b.lon, b.lat),
        detection_ids=a.detection_ids + b.detection_ids,
        scene_ids=tuple(dict.fromkeys(a.scene_ids + b.scene_ids)),
        simulated=a.simulated and b.simulated,
    )


def _shift(t: dt.datetime | None, delta: dt.timedelta) -> dt.datetime | None:
    return None if t is None else t + delta


def _latest(*ts: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in ts if t is not None]
    return max(known) if known else None


def _earliest(*ts: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in ts if t is not None]
    return min(known) if known else None
