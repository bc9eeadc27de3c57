"""The scenario behind a simulated archive: vessels, port calls, trips, yard stock, acquisitions.

A scenario is drawn once from a seed and is then the *truth*: the renderer only draws what the
scenario says is there. Dates of the Rajin -> Dunai shuttle follow the public reporting (six
trips between 2023-08-20 and 2023-10-16 by two vessels of ~115 m and ~128 m; ~300 containers
loaded at Rajin on 2023-09-07/08); everything else (hours, dwell times, background traffic,
clouds) is drawn from the seed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from geo._sim_draw import rng_for
from geo._sim_layout import PortLayout, YardLayout, ship_polygon
from geo.ports import Port

#: Acquisition plans: ``realistic`` (2023 revisit, clouds) and ``daily-clear`` (benchmarks).
PLANS = ("realistic", "daily-clear")
DEFAULT_PORTS = ("rajin", "dunai")
DEFAULT_SINCE = date(2023, 8, 10)
DEFAULT_UNTIL = date(2023, 10, 20)

_EPOCH = date(2023, 1, 1)  # revisit cycles are counted from here, so `since` never shifts them
_S1_REVISIT_D = 12
_S2_REVISIT_D = 5
# (phase in days, orbit, time UTC) of the Sentinel-1 pass over a port; other ports: from a hash.
_S1_PASSES = {
    "rajin": (6, "ascending", time(9, 37, 12)),
    "dunai": (1, "descending", time(20, 51, 40)),
}
# (phase in days, time UTC) of the Sentinel-2 pass (~11:00 local solar time in the Far East).
_S2_PASSES = {"rajin": (1, time(2, 7, 31)), "dunai": (3, time(1, 57, 19))}

SHUTTLE_FROM, SHUTTLE_TO = "rajin", "dunai"
#: The two shuttle vessels and their Rajin arrivals (hours UTC before jitter). The 2023-09-06
#: call is the loading of ~300 containers on 2023-09-07/08.
_SHUTTLE = (
    (
        "angara-sim",
        "Angara (sim)",
        115.0,
        17.4,
        ("2023-08-21T06", "2023-09-06T20", "2023-09-27T04"),
    ),
    ("maria-sim", "Maria (sim)", 128.0, 19.6, ("2023-08-29T15", "2023-09-16T09", "2023-10-08T02")),
)
_LOADING_CALL = ("angara-sim", 1)  # (vessel, call index) of the 2023-09-07/08 loading
_LOADING_TEU = 300.0


@dataclass(frozen=True)
class SimulationParams:
    """What to simulate.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed gives byte-identical outputs.
    plan : {"realistic", "daily-clear"}
        ``realistic``: Sentinel-1 every 12 days per port, Sentinel-2 every 5 days with clouds drawn
        per scene. ``daily-clear``: one cloud-free Sentinel-2 and one Sentinel-1 scene per port per day.
    ports : tuple of str
        Port ids from ``ports.geojson``.
    since, until : datetime.date
        First and last day (UTC, inclusive).
    """

    seed: int = 0
    plan: str = "realistic"
    ports: tuple[str, ...] = DEFAULT_PORTS
    since: date = DEFAULT_SINCE
    until: date = DEFAULT_UNTIL


@dataclass(frozen=True)
class SimVessel:
    """A simulated vessel and how it looks to each sensor."""

    id: str
    name: str
    length_m: float
    width_m: float
    kind: str
    sar_excess_db: float  # mean hull backscatter above the sea clutter (VV)
    deck_reflectance: tuple[float, float, float, float]  # blue, green, red, nir
    superstructure_at: float  # -0.5 stern ... +0.5 bow


@dataclass(frozen=True)
class Stay:
    """A vessel at a berth or an anchorage from ``arrive_utc`` to ``depart_utc``."""

    vessel: SimVessel
    port: str
    zone: str
    kind: str  # "berth" or "anchorage"
    arrive_utc: datetime
    depart_utc: datetime
    x_m: float
    y_m: float
    heading_deg: float | None  # None: swings at anchor with the wind


@dataclass(frozen=True)
class Trip:
    """A voyage between two ports."""

    vessel: SimVessel
    from_port: str
    to_port: str
    depart_utc: datetime
    arrive_utc: datetime
    cargo_teu: float


@dataclass(frozen=True)
class YardTimeline:
    """Stock of one yard: ``initial_teu`` plus changes spread linearly over ``(start, end)``."""

    port: str
    zone: str
    initial_teu: float
    changes: tuple[tuple[datetime, datetime, float], ...]
    layout: YardLayout

    def teu_at(self, t: datetime) -> float:
        """Target stock (TEU) at time ``t``."""
        total = self.initial_teu
        for start, end, delta in self.changes:
            span = (end - start).total_seconds()
            frac = 1.0 if span <= 0 else (t - start).total_seconds() / span
            total += delta * min(max(frac, 0.0), 1.0)
        return max(total, 0.0)


@dataclass(frozen=True)
class Acquisition:
    """One planned scene of one port."""

    scene_id: str
    port: str
    sensor: str  # "sar" or "optical"
    acquired_utc: datetime
    platform: str
    orbit: str
    cloud_target: float  # fraction of the AOI to cover with cloud (optical)
    nodata_fraction: float  # part of the grid outside the swath / tile
    nodata_angle_deg: float  # direction the nodata edge comes from


@dataclass(frozen=True)
class Scenario:
    """Everything true about a simulated period."""

    params: SimulationParams
    stays: tuple[Stay, ...]
    trips: tuple[Trip, ...]
    yards: tuple[YardTimeline, ...]
    acquisitions: tuple[Acquisition, ...]
    layouts: Mapping[str, PortLayout] = field(repr=False)

    def stays_at(self, port: str, t: datetime) -> tuple[Stay, ...]:
        """Stays in progress at ``port`` at time ``t``."""
        return tuple(s for s in self.stays if s.port == port and s.arrive_utc <= t < s.depart_utc)


def utc(d: date, t: time = time(0)) -> datetime:
    """Combine a date and a time into an aware UTC datetime."""
    return datetime.combine(d, t, tzinfo=UTC)


def build_scenario(params: SimulationParams, ports: Mapping[str, Port]) -> Scenario:
    """Draw the full scenario (truth and acquisition plan) for ``params``."""
    layouts = {pid: PortLayout(ports[pid]) for pid in params.ports}
    t0, t1 = utc(params.since), utc(params.until) + timedelta(days=1)
    stays: list[Stay] = []
    trips: list[Trip] = []
    shuttle_calls: dict[str, list[tuple[Stay, float]]] = {}
    if SHUTTLE_FROM in ports and SHUTTLE_TO in ports:
        all_layouts = {
            pid: layouts.get(pid) or PortLayout(ports[pid]) for pid in (SHUTTLE_FROM, SHUTTLE_TO)
        }
        s_stays, s_trips, shuttle_calls = _shuttle(params.seed, all_layouts)
        stays += s_stays
        trips += s_trips
    for pid in params.ports:
        stays += _background(params.seed, layouts[pid], t0, t1, [s for s in stays if s.port == pid])
    yards = [
        y for pid in params.ports for y in _yards(params.seed, layouts[pid], t0, t1, shuttle_calls)
    ]
    acqs = [a for pid in params.ports for a in _plan(params, pid)]
    acqs.sort(key=lambda a: (a.acquired_utc, a.port, a.sensor))
    keep_stays = tuple(
        s for s in stays if s.port in params.ports and s.depart_utc > t0 and s.arrive_utc < t1
    )
    keep_trips = tuple(
        t
        for t in trips
        if (t.from_port in params.ports or t.to_port in params.ports)
        and t.arrive_utc > t0
        and t.depart_utc < t1
    )
    return Scenario(params, keep_stays, keep_trips, tuple(yards), tuple(acqs), layouts)


# -- vessels -------------------------------------------------------------------------------


def draw_vessel(
    rng: np.random.Generator, vid: str, name: str, length_m: float | None = None
) -> SimVessel:
    """Draw a vessel: class, size (20-200 m), radar brightness and deck colour."""
    if length_m is None:
        u = rng.random()
        lo, hi = (20.0, 45.0) if u < 0.35 else (50.0, 100.0) if u < 0.75 else (100.0, 200.0)
        length_m = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    small = length_m < 50
    kind = "fishing" if small else ("cargo" if rng.random() < 0.75 else "tanker")
    width = length_m / (rng.uniform(3.6, 4.8) if small else rng.uniform(5.8, 7.4))
    excess = float(np.clip(_excess_db(length_m) + rng.normal(0, 1.5), 5.0, 25.0))
    base = rng.uniform(0.12, 0.28)
    tint = rng.dirichlet([4, 4, 4])
    deck = (
        float(base * (0.7 + 0.9 * tint[0])),
        float(base * (0.7 + 0.9 * tint[1])),
        float(base * (0.7 + 0.9 * tint[2])),
        float(base * rng.uniform(0.9, 1.25)),
    )
    sup = -0.38 if kind != "fishing" else float(rng.uniform(-0.1, 0.2))
    return SimVessel(
        vid, name, round(length_m, 1), round(width, 1), kind, round(excess, 2), deck, sup
    )


def _excess_db(length_m: float) -> float:
    """Mean hull backscatter over the sea: ~8 dB for a 20 m boat, ~21 dB at 115 m, 25 dB at 200 m."""
    return 8.0 + 17.0 * math.log10(length_m / 20.0)


def _with_length(v: SimVessel, length_m: float, width_m: float) -> SimVessel:
    from dataclasses import replace

    excess = float(np.clip(_excess_db(length_m), 5.0, 25.0))
    return replace(v, length_m=length_m, width_m=width_m, kind="cargo", sar_excess_db=excess)


# -- the Rajin -> Dunai shuttle --------------------------------------------------------------


def _voyage_h(rng: np.random.Generator, a: PortLayout, b: PortLayout) -> float:
    pa, pb = a.port.aoi.centroid, b.port.aoi.centroid
    lat = math.radians((pa.y + pb.y) / 2)
    km = math.hypot((pb.x - pa.x) * 111.32 * math.cos(lat), (pb.y - pa.y) * 110.57)
    speed_kmh = rng.uniform(10.0, 12.0) * 1.852
    return km * 1.2 / speed_kmh  # coastal route ~20 % longer than the great circle


def _nearest_berth(layout: PortLayout) -> str:
    berths = layout.berths
    yards = layout.port.zones_of("yard")
    if not yards:
        return sorted(berths)[0]
    y = layout.zone_utm(yards[0].id)
    return min(sorted(berths), key=lambda b: layout.zone_utm(b).distance(y))


def _shuttle(
    seed: int, layouts: Mapping[str, PortLayout]
) -> tuple[list[Stay], list[Trip], dict[str, list[tuple[Stay, float]]]]:
    rng = rng_for(seed, "shuttle")
    src, dst = layouts[SHUTTLE_FROM], layouts[SHUTTLE_TO]
    stays: list[Stay] = []
    trips: list[Trip] = []
    calls: dict[str, list[tuple[Stay, float]]] = {SHUTTLE_FROM: [], SHUTTLE_TO: []}
    src_berth = _nearest_berth(src)
    for vid, name, length, width, arrivals in _SHUTTLE:
        vessel = _with_length(draw_vessel(rng, vid, name, length), length, width)
        for k, text in enumerate(arrivals):
            t_arr = datetime.fromisoformat(text + ":00:00").replace(tzinfo=UTC)
            loading = (vid, k) == _LOADING_CALL
            t_arr += timedelta(hours=float(rng.uniform(0, 3) if loading else rng.uniform(-5, 5)))
            dwell = rng.uniform(40, 45) if loading else rng.uniform(24, 48)
            t_dep = t_arr + timedelta(hours=float(dwell))
            cargo = (
                float(round(rng.normal(_LOADING_TEU, 8)))
                if loading
                else float(rng.integers(120, 221))
            )
            x, y = src.berths[src_berth].mooring(length, width, float(rng.uniform(0.2, 0.8)))
            berth = Stay(
                vessel,
                SHUTTLE_FROM,
                src_berth,
                "berth",
                t_arr,
                t_dep,
                x,
                y,
                src.berths[src_berth].heading_deg,
            )
            stays.append(berth)
            calls[SHUTTLE_FROM].append((berth, cargo))
            t_in = t_dep + timedelta(hours=_voyage_h(rng, src, dst))
            trips.append(Trip(vessel, SHUTTLE_FROM, SHUTTLE_TO, t_dep, t_in, cargo))
            d_berth = sorted(dst.berths)[int(rng.integers(len(dst.berths)))]
            t_out = t_in + timedelta(hours=float(rng.uniform(24, 48)))
            x, y = dst.berths[d_berth].mooring(length, width, float(rng.uniform(0.2, 0.8)))
            arrival = Stay(
                vessel,
                SHUTTLE_TO,
                d_berth,
                "berth",
                t_in,
                t_out,
                x,
                y,
                dst.berths[d_berth].heading_deg,
            )
            stays.append(arrival)
            calls[SHUTTLE_TO].append((arrival, cargo))
            t_back = t_out + timedelta(hours=_voyage_h(rng, dst, src))
            trips.append(Trip(vessel, SHUTTLE_TO, SHUTTLE_FROM, t_out, t_back, 0.0))
            # Back off Rajin, the ship waits at the outer anchorage (for a berth, papers, orders)
            # before heading out to sea, for 18-36 h.
            wait = _anchor_spot(
                rng,
                src,
                vessel,
                t_back,
                t_back + timedelta(hours=float(rng.uniform(18, 36))),
                stays,
            )
            if wait is not None:
                stays.append(wait)
    return stays, trips, calls


# -- background traffic ------------------------------------------------------------------------


def _free(stays: list[Stay], zone: str, t0: datetime, t1: datetime) -> bool:
    margin = timedelta(hours=2)
    return all(
        s.zone != zone or s.depart_utc + margin <= t0 or t1 + margin <= s.arrive_utc for s in stays
    )


def _anchor_spot(
    rng: np.random.Generator,
    layout: PortLayout,
    vessel: SimVessel,
    t0: datetime,
    t1: datetime,
    stays: list[Stay],
) -> Stay | None:
    anchorages = layout.port.zones_of("anchorage")
    if not anchorages:
        return None
    zone = anchorages[int(rng.integers(len(anchorages)))].id
    area = (
        layout.zone_utm(zone)
        .buffer(-vessel.length_m / 2)
        .intersection(layout.water.buffer(-vessel.length_m))
    )
    others = [
        s
        for s in stays
        if s.port == layout.port.id
        and s.kind == "anchorage"
        and s.arrive_utc < t1
        and t0 < s.depart_utc
    ]
    for _ in range(50):
        p = layout.random_point(rng, area, tries=20)
        if p is None:
            return None
        if all(
            math.hypot(p.x - o.x_m, p.y - o.y_m) > (vessel.length_m + o.vessel.length_m) / 2 + 60
            for o in others
        ):
            return Stay(vessel, layout.port.id, zone, "anchorage", t0, t1, p.x, p.y, None)
    return None


def _background(
    seed: int, layout: PortLayout, t0: datetime, t1: datetime, existing: list[Stay]
) -> list[Stay]:
    """Other ships: berth calls (~one per 3 days), anchorage stays, sometimes a laid-up vessel."""
    pid = layout.port.id
    rng = rng_for(seed, "background", pid)
    stays = list(existing)
    out: list[Stay] = []
    berth_ids = sorted(layout.berths)
    n = 0

    def new_vessel(length: float | None = None) -> SimVessel:
        nonlocal n
        n += 1
        return draw_vessel(rng, f"{pid}-bg-{n:03d}", f"Vessel {pid.title()} {n:03d} (sim)", length)

    if berth_ids and rng.random() < 0.6:  # a laid-up ship that never leaves
        berth = berth_ids[int(rng.integers(len(berth_ids)))]
        v = new_vessel(float(rng.uniform(60, 110)))
        s0, s1 = t0 - timedelta(days=30), t1 + timedelta(days=30)
        if _free(stays, berth, s0, s1):
            x, y = layout.berths[berth].mooring(v.length_m, v.width_m, float(rng.uniform(0, 1)))
            stays.append(
                Stay(v, pid, berth, "berth", s0, s1, x, y, layout.berths[berth].heading_deg)
            )
            out.append(stays[-1])
    t = t0 - timedelta(days=4)
    while t < t1:
        t += timedelta(hours=float(rng.exponential(72.0)))
        v = new_vessel()
        dwell = timedelta(hours=float(rng.uniform(10, 96)))
        free = [b for b in berth_ids if _free(stays, b, t, t + dwell)]
        if free and rng.random() < 0.8:
            b = free[int(rng.integers(len(free)))]
            x, y = layout.berths[b].mooring(v.length_m, v.width_m, float(rng.uniform(0, 1)))
            stay: Stay | None = Stay(
                v, pid, b, "berth", t, t + dwell, x, y, layout.berths[b].heading_deg
            )
        else:
            stay = _anchor_spot(rng, layout, v, t, t + dwell / 2, stays)
        if stay is not None:
            stays.append(stay)
            out.append(stay)
    return out


def draw_transits(
    rng: np.random.Generator, layout: PortLayout, present: tuple[Stay, ...], scene_id: str
) -> list[tuple[SimVessel, float, float, float]]:
    """Vessels passing through the port's open water at one instant: ``(vessel, x, y, heading)``."""
    out: list[tuple[SimVessel, float, float, float]] = []
    keep_out = layout.dry.buffer(40.0)
    for z in layout.port.zones:
        if z.kind in ("berth", "anchorage"):
            keep_out = keep_out.union(layout.zone_utm(z.id))
    taken = [
        ship_polygon(
            s.x_m, s.y_m, s.vessel.length_m, s.vessel.width_m, s.heading_deg or 0.0
        ).buffer(60)
        for s in present
    ]
    inner = layout.frame.buffer(-30.0)
    for k in range(int(rng.poisson(0.9))):
        v = draw_vessel(rng, f"{scene_id}-transit-{k + 1}", f"Transit {k + 1} (sim)")
        for _ in range(40):
            p = layout.random_point(rng, layout.water.difference(keep_out), tries=20)
            if p is None:
                break
            heading = float(rng.uniform(0, 360))
            fp = ship_polygon(p.x, p.y, v.length_m, v.width_m, heading)
            if (
                inner.contains(fp)
                and not fp.intersects(keep_out)
                and not any(fp.intersects(o) for o in taken)
            ):
                out.append((v, p.x, p.y, heading))
                taken.append(fp.buffer(60))
                break
    return out


# -- container yards -----------------------------------------------------------------------------


def _yards(
    seed: int,
    layout: PortLayout,
    t0: datetime,
    t1: datetime,
    calls: Mapping[str, list[tuple[Stay, float]]],
) -> list[YardTimeline]:
    pid = layout.port.id
    out: list[YardTimeline] = []
    for i, zone in enumerate(layout.port.zones_of("yard")):
        rng = rng_for(seed, "yard", zone.id)
        share20 = 0.85 if pid in (SHUTTLE_FROM, SHUTTLE_TO) else 0.5
        yl = layout.yard_layout(zone.id, rng, feet20_share=share20)
        changes: list[tuple[datetime, datetime, float]] = []
        if i == 0 and pid == SHUTTLE_FROM and calls.get(pid):
            # Stock is kept at ~800 TEU: each ship loads its cargo, and trains restock the yard
            # two to four days after it leaves (so the yard is low only briefly after a call).
            initial = level = float(rng.uniform(780, 860))
            for stay, cargo in sorted(calls[pid], key=lambda c: c[0].arrive_utc):
                changes.append(
                    (
                        stay.arrive_utc + timedelta(hours=3),
                        stay.depart_utc - timedelta(hours=2),
                        -cargo,
                    )
                )
                t_train = stay.depart_utc + timedelta(hours=float(rng.uniform(48, 96)))
                target = float(rng.uniform(780, 860))
                changes.append((t_train, t_train + timedelta(hours=8), target - (level - cargo)))
                level = target
            changes += _jitter(rng, t0, t1, sd_teu=6.0)
        elif i == 0 and pid == SHUTTLE_TO and calls.get(pid):
            initial = float(rng.uniform(120, 200))
            for stay, cargo in calls[pid]:
                changes.append(
                    (
                        stay.arrive_utc + timedelta(hours=2),
                        stay.depart_utc - timedelta(hours=2),
                        cargo,
                    )
                )
                out_days = float(rng.uniform(6, 10))
                changes.append(
                    (stay.depart_utc, stay.depart_utc + timedelta(days=out_days), -cargo)
                )
            changes += _jitter(rng, t0, t1, sd_teu=6.0)
        else:
            initial = float(rng.uniform(0.2, 0.45)) * yl.capacity_teu
            changes += _jitter(rng, t0, t1, sd_teu=0.02 * yl.capacity_teu)
        out.append(YardTimeline(pid, zone.id, initial, tuple(changes), yl))
    return out


def _jitter(
    rng: np.random.Generator, t0: datetime, t1: datetime, *, sd_teu: float
) -> list[tuple[datetime, datetime, float]]:
    """Small day-to-day moves (trucks, local trade)."""
    out = []
    t = t0
    while t < t1:
        out.append((t, t + timedelta(hours=10), float(rng.normal(0, sd_teu))))
        t += timedelta(days=1)
    return out


# -- acquisition plans -------------------------------------------------------------------------


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _s1_pass(port: str) -> tuple[int, str, time]:
    if port in _S1_PASSES:
        return _S1_PASSES[port]
    h = _crc(port)
    orbit = "ascending" if h % 2 else "descending"
    hour = 9 if orbit == "ascending" else 21
    return h % _S1_REVISIT_D, orbit, time(hour, (h >> 8) % 50, (h >> 16) % 60)


def _s2_pass(port: str) -> tuple[int, time]:
    if port in _S2_PASSES:
        return _S2_PASSES[port]
    h = _crc(port + "s2")
    return h % _S2_REVISIT_D, time(1, 45 + (h >> 8) % 14, (h >> 16) % 60)


def _days(params: SimulationParams) -> list[date]:
    n = (params.until - params.since).days + 1
    return [params.since + timedelta(days=i) for i in range(max(n, 0))]


def _cloud(rng: np.random.Generator) -> float:
    u = rng.random()
    if u < 0.35:
        return float(rng.uniform(0.0, 0.05))
    if u < 0.7:
        return float(rng.uniform(0.1, 0.6))
    return float(rng.uniform(0.7, 1.0))


def _plan(params: SimulationParams, port: str) -> list[Acquisition]:
    daily = params.plan == "daily-clear"
    s1_phase, orbit, s1_time = _s1_pass(port)
    s2_phase, s2_time = _s2_pass(port)
    out = []
    for d in _days(params):
        k = (d - _EPOCH).days
        if daily or k % _S1_REVISIT_D == s1_phase:
            t = utc(d, s1_time)
            rng = rng_for(params.seed, "plan", port, "sar", t.isoformat())
            edge = 0.0 if daily or rng.random() > 0.12 else float(rng.uniform(0.1, 0.45))
            out.append(
                Acquisition(
                    _scene_id("s1", port, t),
                    port,
                    "sar",
                    t,
                    "sentinel-1a",
                    orbit,
                    0.0,
                    edge,
                    float(rng.uniform(0, 360)),
                )
            )
        if daily or k % _S2_REVISIT_D == s2_phase:
            t = utc(d, s2_time)
            rng = rng_for(params.seed, "plan", port, "optical", t.isoformat())
            cloud = 0.0 if daily else _cloud(rng)
            edge = 0.0 if daily or rng.random() > 0.08 else float(rng.uniform(0.1, 0.4))
            platform = "sentinel-2a" if (k // _S2_REVISIT_D) % 2 == 0 else "sentinel-2b"
            out.append(
                Acquisition(
                    _scene_id("s2", port, t),
                    port,
                    "optical",
                    t,
                    platform,
                    "descending",
                    cloud,
                    edge,
                    float(rng.uniform(0, 360)),
                )
            )
    return out


def _scene_id(sensor: str, port: str, t: datetime) -> str:
    return f"sim-{sensor}-{port}-{t.strftime('%Y%m%dT%H%M%S')}"
