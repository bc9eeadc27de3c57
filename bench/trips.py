"""Port calls, trips and claim checks on simulated archives, against the simulator's truth.

"Perfect detector" mode: the truth's *visible* vessels (vessels.csv, ``visible == true``) and
the yards' true stack footprints become the detections, while the observations (and their
per-zone valid fractions) come from reading the simulated tiles exactly as the nightly flow
does. This checks the inference logic (port calls, trips, claim bounds) in isolation.

"Real detector" mode (``--detector real``): every scene goes through the same per-scene
analysis the nightly flow runs (``flows.analysis.analyse_scene``: cached tile on the port grid,
reference = median of up to 8 earlier tiles of the same sensor, the SAR/optical vessel
detectors and the container-stack estimator), without Prefect. This is the end-to-end figure.

For each acquisition plan (``daily-clear``: one cloud-free S1 and S2 scene per port per day;
``realistic``: S1 every 12 days, S2 every 5 days with clouds) and each length error (the
perfect detector's ~1 m, and 15 m, the default for 10 m imagery) it prints:

* scripted trips, those *observable* (both ends seen at a berth or anchorage at least once),
  inferred trips, and how many of them match a scripted trip (same ports, the departure and
  arrival windows containing the true times, same length);
* for every claim of seeds/claims.toml: the observed lower bound, the truth, the upper bound,
  the verdict, and whether ``lower <= truth <= upper``;
* the time to write the scenes and to run ``update_inferences``.

It asserts nothing. Usage::

    .venv/bin/python bench/trips.py [--work DIR] [--seed 0] [--plans daily-clear,realistic]
                                    [--detector perfect|real]

Simulating the daily-clear archive takes ~2 minutes the first time; it is reused from --work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection.containers import estimate_teu  # noqa: E402
from detection.types import Vessel  # noqa: E402
from geo.catalog import open_source  # noqa: E402
from geo.claims import load_claims  # noqa: E402
from geo.events import DetectionRecord, EventStore, ObservationRecord, vessel_records  # noqa: E402
from geo.ports import Port, load_ports  # noqa: E402
from geo.simulate import SimulationParams, Simulator, load_truth, simulate_archive  # noqa: E402
from geo.tiles import read_tile  # noqa: E402
from geo.trips import TripParams  # noqa: E402

PORT_IDS = ("rajin", "dunai")
ERRORS = {
    "perfect (1 m)": TripParams(length_error_m=1.0, width_error_m=1.0),
    "10 m imagery (15 m)": TripParams(),
}


@dataclass
class Archive:
    folder: Path
    params: SimulationParams
    observations: list[ObservationRecord]
    detections: dict[tuple[str, str], list[DetectionRecord]]
    truth: Any
    cargo: list[Any]  # the scenario's trips, with their cargo (TEU)


def _simulate(work: Path, plan: str, seed: int) -> tuple[Path, SimulationParams, float]:
    params = SimulationParams(seed=seed, plan=plan)
    folder = work / f"{plan}-seed{seed}"
    t0 = time.perf_counter()
    if not (folder / "truth" / "trips.csv").exists():
        simulate_archive(folder, params, overwrite=True)
    return folder, params, time.perf_counter() - t0


def _observations(
    folder: Path, ports: dict[str, Port], params: SimulationParams
) -> list[tuple[Any, Any]]:
    source = open_source(f"local:{folder}")
    out = []
    for pid in PORT_IDS:
        for scene in source.search(ports[pid], params.since, params.until):
            if scene.simulated:
                out.append((scene, read_tile(scene, ports[pid])))
    return out


def _perfect_detections(scene: Any, port: Port, truth: Any, tile: Any) -> list[DetectionRecord]:
    rows = truth.vessels_in(scene.id)
    rows = rows[rows["visible"]]
    vessels = [
        Vessel(
            float(r.row),
            float(r.col),
            float(r.length_m),
            float(r.width_m),
            float(r.heading_deg),
            10.0,
        )
        for r in rows.itertuples()
    ]
    recs = vessel_records(
        vessels, scene_id=scene.id, port=port, transform=tile.transform, crs=tile.crs
    )
    yards = truth.yards[truth.yards["scene_id"] == scene.id]
    for k, y in enumerate(yards.itertuples()):
        if tile.zone_valid_fraction.get(y.zone, 0.0) < 0.9:
            continue  # a yard mostly under cloud: the perfect detector does not guess
        est = estimate_teu(float(y.stack_area_m2), pixel_size_m=tile.pixel_size_m, perimeter_m=0.0)
        c = port.zone(y.zone).geometry
        recs.append(
            DetectionRecord(
                scene_id=scene.id, port=port.id, index=k, kind="container_stack", zone=y.zone,
                geometry=c, lon=c.centroid.x, lat=c.centroid.y, area_m2=float(y.stack_area_m2),
                teu_low=est.low, teu_central=est.central, teu_high=est.high, assumptions=est.assumptions,
            )
        )  # fmt: skip
    return recs


def _load_real(work: Path, plan: str, seed: int, ports: dict[str, Port]) -> tuple[Archive, float]:
    """Observations and detections from the real per-scene analysis of the nightly flow."""
    from flows.analysis import analyse_scene, reference_tiles
    from geo.tiles import fetch_tile_to_cache

    folder, params, t_sim = _simulate(work, plan, seed)
    truth = load_truth(folder)
    source = open_source(f"local:{folder}")
    obs, dets = [], {}
    for pid in PORT_IDS:
        history: list[tuple[str, Any, Path]] = []
        for scene in source.search(ports[pid], params.since, params.until):
            if not scene.simulated:
                continue
            tile = fetch_tile_to_cache(
                scene, ports[pid], cache_dir=work / f"tiles-{plan}-seed{seed}"
            )
            refs = reference_tiles(history, sensor=scene.sensor, before=scene.acquired_utc)
            o, d = analyse_scene(scene, ports[pid], tile_path=tile, reference_paths=refs)
            history.append((scene.sensor, scene.acquired_utc, tile))
            obs.append(o)
            dets[(scene.id, pid)] = d
    cargo = list(Simulator(params, ports).scenario.trips)
    return Archive(folder, params, obs, dets, truth, cargo), t_sim


def _load(work: Path, plan: str, seed: int, ports: dict[str, Port]) -> tuple[Archive, float]:
    folder, params, t_sim = _simulate(work, plan, seed)
    truth = load_truth(folder)
    obs, dets = [], {}
    for scene, tile in _observations(folder, ports, params):
        o = ObservationRecord(
            scene_id=scene.id, port=tile.port_id, source=scene.source, collection=scene.collection,
            sensor=scene.sensor, platform=scene.platform, acquired_utc=scene.acquired_utc,
            footprint=scene.footprint, valid_fraction=tile.valid_fraction,
            zone_valid_fraction=dict(tile.zone_valid_fraction), simulated=True,
        )  # fmt: skip
        obs.append(o)
        dets[(scene.id, tile.port_id)] = _perfect_detections(
            scene, ports[tile.port_id], truth, tile
        )
    cargo = list(Simulator(params, ports).scenario.trips)
    return Archive(folder, params, obs, dets, truth, cargo), t_sim


# -- truth ---------------------------------------------------------------------------------------


def _utc(d: dt.date, days: int = 0) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC) + dt.timedelta(days=days)


def _claim_truth(claim: Any, arc: Archive) -> float:
    s, u = _utc(claim.since), _utc(claim.until, 1)
    trips = arc.truth.trips
    a, b = claim.ports[0], claim.ports[-1]
    if claim.kind == "trip_count":
        sel = trips[(trips.from_port == a) & (trips.to_port == b)]
        return float(((sel.depart_utc >= s) & (sel.depart_utc < u)).sum())
    if claim.kind == "round_trip_count":
        n = 0
        for t in trips[(trips.from_port == a) & (trips.to_port == b)].itertuples():
            back = trips[
                (trips.vessel_id == t.vessel_id)
                & (trips.from_port == b)
                & (trips.depart_utc > t.arrive_utc)
            ]
            if t.depart_utc >= s and len(back) and back.arrive_utc.min() < u:
                n += 1
        return float(n)
    if claim.kind == "vessel_presence":
        calls = arc.truth.port_calls
        zones = {z.id for z in load_ports()[a].zones_of("berth")}
        sel = calls[
            (calls.port == a)
            & calls.berth.isin(zones)
            & (calls.length_m >= (claim.min_length_m or 0))
        ]
        return float(((sel.arrive_utc < u) & (sel.depart_utc > s)).sum())
    # container_count: the cargo (TEU) of the scenario's voyages leaving *a* (for *b*) in the
    # window; the simulator counts one container per TEU.
    voyages = [t for t in arc.cargo if t.from_port == a and (b == a or t.to_port == b)]
    return float(sum(t.cargo_teu for t in voyages if s <= t.depart_utc < u))


def _observable(arc: Archive) -> list[bool]:
    """Per scripted trip: were both ends seen (a visible sighting at a call zone)?"""
    v = arc.truth.vessels
    seen = v[v["visible"] & (v["zone"] != "open_water")]
    times = dict(zip(arc.truth.scenes.scene_id, arc.truth.scenes.acquired_utc, strict=True))
    sightings: dict[tuple[str, str], list[dt.datetime]] = {}
    for r in seen.itertuples():
        sightings.setdefault((r.vessel_id, r.port), []).append(times[r.scene_id])
    out = []
    for t in arc.truth.trips.itertuples():
        before = [
            x
            for x in sightings.get((t.vessel_id, t.from_port), [])
            if t.depart_utc - dt.timedelta(days=4) <= x <= t.depart_utc
        ]
        after = [
            x
            for x in sightings.get((t.vessel_id, t.to_port), [])
            if t.arrive_utc <= x <= t.arrive_utc + dt.timedelta(days=4)
        ]
        out.append(bool(before) and bool(after))
    return out


def _matches(trip: Any, truth_trips: Any) -> int | None:
    for k, t in enumerate(truth_trips.itertuples()):
        if (t.from_port, t.to_port) != (trip.from_port, trip.to_port) or abs(
            t.length_m - trip.length_m
        ) > 3 * trip.length_err_m + 1:
            continue
        dep_ok = (trip.depart_after_utc is None or trip.depart_after_utc <= t.depart_utc) and (
            trip.depart_before_utc is None or t.depart_utc <= trip.depart_before_utc
        )
        arr_ok = (trip.arrive_after_utc is None or trip.arrive_after_utc <= t.arrive_utc) and (
            trip.arrive_before_utc is None or t.arrive_utc <= trip.arrive_before_utc
        )
        if dep_ok and arr_ok:
            return k
    return None


# -- report ---------------------------------------------------------------------------------------


def _fmt(v: float | None) -> str:
    return "unbounded" if v is None else f"{v:,.0f}"


def _run(arc: Archive, label: str, tp: TripParams, store_dir: Path, ports: dict[str, Port]) -> bool:
    path = store_dir / "events.gpkg"
    path.unlink(missing_ok=True)
    claims = load_claims(ports=ports)
    with EventStore.open(path) as store:
        t0 = time.perf_counter()
        for o in arc.observations:
            store.write_scene(o, arc.detections[(o.scene_id, o.port)])
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = store.update_inferences(ports, claims, trip_params=tp)
        t_infer = time.perf_counter() - t0
        trips, checks = store.trips(), store.claims()
    truth_trips = arc.truth.trips
    observable = _observable(arc)
    matched = {_matches(t, truth_trips) for t in trips} - {None}
    false = [t for t in trips if _matches(t, truth_trips) is None]
    n_det = sum(len(v) for v in arc.detections.values())
    print(f"\n### {arc.params.plan}, seed {arc.params.seed}, length error {label}")
    print(
        f"{len(arc.observations)} observations, {n_det} detections written in {t_write:.2f} s; "
        f"update_inferences {t_infer:.2f} s ({summary.n_port_calls} port calls, {summary.n_trips} trips)"
    )
    print(
        f"trips: scripted {len(truth_trips)}, observable {sum(observable)}, inferred {len(trips)}, "
        f"matching a scripted trip {len(matched)}, not matching {len(false)}"
    )
    for k, t in enumerate(truth_trips.itertuples()):
        got = next((x for x in trips if _matches(x, truth_trips) == k), None)
        if got:
            status = (
                "found"
                if observable[k]
                else "matched by a link between other calls (ends not observable)"
            )
        else:
            status = "MISSED" if observable[k] else "not observable"
        extra = f" conf {got.confidence:.2f}" if got else ""
        print(
            f"  {t.name:14s} {t.from_port:>5s}->{t.to_port:<5s} dep {t.depart_utc:%m-%d %H:%M} arr {t.arrive_utc:%m-%d %H:%M}  {status}{extra}"
        )
    for t in false:
        print(
            f"  (no match) {t.from_port}->{t.to_port} {t.length_m:.0f} m dep after {t.depart_after_utc:%m-%d %H:%M} conf {t.confidence:.2f}"
        )
    ok_all = True
    print(f"  {'claim':28s} {'lower':>8s} {'truth':>8s} {'upper':>10s}  verdict")
    for c in checks:
        truth = _claim_truth(next(x for x in claims if x.id == c.claim_id), arc)
        ok = c.lower_bound <= truth and (c.upper_bound is None or truth <= c.upper_bound)
        ok_all &= ok
        print(
            f"  {c.claim_id:28s} {_fmt(c.lower_bound):>8s} {_fmt(truth):>8s} {_fmt(c.upper_bound):>10s}  {c.verdict}{'' if ok else '   <-- BOUNDS VIOLATED'}"
        )
    print(f"  lower <= truth <= upper for every claim: {'yes' if ok_all else 'NO'}")
    return ok_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--work", type=Path, default=None, help="Folder for the simulated archives (reused)."
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plans", default="daily-clear,realistic")
    ap.add_argument("--detector", choices=["perfect", "real"], default="perfect")
    args = ap.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / "berthwatch-bench-trips"
    work.mkdir(parents=True, exist_ok=True)
    ports = load_ports()
    print(
        f"# bench/trips.py  {time.strftime('%Y-%m-%d')}  {platform.machine()} {os.cpu_count()} cores  Python {platform.python_version()}"
    )
    if args.detector == "perfect":
        print(
            "# SIMULATED archives, perfect detector (truth's visible vessels, true stack footprints)"
        )
    else:
        print("# SIMULATED archives, real detectors (flows.analysis.analyse_scene, no Prefect)")
    for plan in args.plans.split(","):
        t0 = time.perf_counter()
        load = _load if args.detector == "perfect" else _load_real
        arc, t_sim = load(work, plan, args.seed, ports)
        print(
            f"\n## plan {plan}: archive {arc.folder} (simulated in {t_sim:.0f} s, loaded in {time.perf_counter() - t0 - t_sim:.1f} s)"
        )
        errors = ERRORS if args.detector == "perfect" else {"10 m imagery (15 m)": TripParams()}
        for label, tp in errors.items():
            _run(arc, label, tp, arc.folder, ports)


if __name__ == "__main__":
    main()
