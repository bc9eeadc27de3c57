"""Claim checks: observed lower bound, coverage-limited upper bound, verdict, evidence in words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest

from geo.claims import VERDICTS, Claim, ClaimParams, check_claims, load_claims, verdict_for
from geo.errors import ClaimsFileError
from geo.events import DetectionRecord, EventStore, ObservationRecord
from geo.ports import load_ports
from geo.trips import TripParams, infer_port_calls, infer_trips
from tests.factories import events_detection, events_observation, events_time

PORTS = load_ports()
RAJIN_BERTH, DUNAI_BERTH, RAJIN_YARD = "rajin-pier2-e", "dunai-pier-n", "rajin-yard-1"


def _claim(
    kind: str, ports: tuple[str, ...], number: float, comparator: str = ">=", **kw: object
) -> Claim:
    fields: dict[str, object] = {
        "id": f"test-{kind}",
        "source": "test",
        "quote": "q",
        "kind": kind,
        "ports": ports,
        "since": dt.date(2023, 9, 1),
        "until": dt.date(2023, 9, 30),
        "comparator": comparator,
        "number": number,
    }
    fields.update(kw)
    return Claim(**fields)  # type: ignore[arg-type]


def _centre(zone: str) -> tuple[float, float]:
    c = PORTS[zone.split("-")[0]].zone(zone).geometry.centroid
    return c.x, c.y


class _Archive:
    """Observations every *step_h* hours of both ports, with ships and yard stacks placed in time."""

    def __init__(
        self, step_h: float = 12.0, days: int = 40, start: dt.datetime | None = None
    ) -> None:
        self.times = [
            (start or events_time(1, 2, month=9))
            - dt.timedelta(days=5)
            + dt.timedelta(hours=step_h * k)
            for k in range(int(days * 24 / step_h))
        ]
        self.ships: list[tuple[str, str, dt.datetime, dt.datetime, float]] = []
        self.yard: list[tuple[dt.datetime, float]] = []  # (time, stack area m2 from then on)
        self.hidden: set[tuple[str, int]] = set()

    def ship(
        self, zone: str, arrive: dt.datetime, depart: dt.datetime, length_m: float = 120.0
    ) -> None:
        self.ships.append((zone.split("-")[0], zone, arrive, depart, length_m))

    def build(self) -> tuple[list[ObservationRecord], list[DetectionRecord]]:
        obs, dets = [], []
        for port in ("rajin", "dunai"):
            for k, t in enumerate(self.times):
                sid = f"{port}-{k:03d}"
                frac = 0.0 if (port, k) in self.hidden else 1.0
                zones = {z.id: frac for z in PORTS[port].zones}
                obs.append(
                    events_observation(
                        sid, port, acquired_utc=t, zone_valid_fraction=zones, valid_fraction=frac
                    )
                )
                if frac == 0.0:
                    continue
                here = [s for s in self.ships if s[0] == port and s[2] <= t < s[3]]
                for i, (_, zone, _, _, length) in enumerate(here):
                    lon, lat = _centre(zone)
                    dets.append(
                        events_detection(
                            sid,
                            port,
                            i,
                            lon=lon,
                            lat=lat + 0.001 * i,
                            zone=zone,
                            length_m=length,
                            width_m=length / 6.5,
                        )
                    )
                area = self._area(t)
                if port == "rajin" and area is not None:
                    lon, lat = _centre(RAJIN_YARD)
                    dets.append(
                        events_detection(
                            sid, port, 0, kind="container_stack", zone=RAJIN_YARD, lon=lon, lat=lat,
                            area_m2=area, teu_low=area * 0.06, teu_central=area * 0.127, teu_high=area * 0.19,
                            length_m=None, width_m=None,
                        )
                    )  # fmt: skip
        return obs, dets

    def _area(self, t: dt.datetime) -> float | None:
        past = [a for when, a in self.yard if when <= t]
        return past[-1] if past else None


def _check(archive: _Archive, *claims: Claim, **params: object):
    obs, dets = archive.build()
    tp = TripParams()
    calls = infer_port_calls(obs, dets, PORTS, params=tp)
    trips = infer_trips(calls, PORTS, params=tp)
    return check_claims(
        list(claims), observations=obs, detections=dets, port_calls=calls, trips=trips,
        ports=PORTS, trip_params=tp, params=ClaimParams(**params), run_id="r1",
    )  # fmt: skip


def _voyage(archive: _Archive, day: int, length: float = 120.0) -> None:
    """Two days at Rajin, 11 h at sea, two days at Dunai."""
    arrive = events_time(day, 5)
    depart = arrive + dt.timedelta(hours=48)
    archive.ship(RAJIN_BERTH, arrive, depart, length)
    archive.ship(
        DUNAI_BERTH, depart + dt.timedelta(hours=11), depart + dt.timedelta(hours=59), length
    )


@pytest.mark.parametrize(
    ("comparator", "number", "lower", "upper", "verdict"),
    [
        (">=", 6, 6, 9, "consistent"),
        (">=", 6, 2, 5, "inconsistent"),
        (">=", 6, 2, None, "cannot be assessed"),
        (">", 1000, 1001, None, "consistent"),
        (">", 1000, 10, 1000, "inconsistent"),
        ("<=", 3, 0, 3, "consistent"),
        ("<=", 3, 4, 9, "inconsistent"),
        ("<", 3, 1, 3, "cannot be assessed"),
        ("==", 2, 2, 2, "consistent"),
        ("==", 2, 0, 5, "cannot be assessed"),
        ("==", 2, 3, 5, "inconsistent"),
    ],
)
def test_verdict_compares_the_claim_with_every_value_in_the_bounds(
    comparator: str, number: float, lower: float, upper: float | None, verdict: str
) -> None:
    claim = _claim("trip_count", ("rajin", "dunai"), number, comparator)
    assert verdict_for(claim, lower, upper) == verdict
    assert verdict in VERDICTS


def test_well_watched_trips_are_counted_and_bounded_tightly() -> None:
    archive = _Archive(step_h=12.0)
    for day in (3, 12, 21):
        _voyage(archive, day)
    six, three = (
        _claim("trip_count", ("rajin", "dunai"), 6),
        _claim("trip_count", ("rajin", "dunai"), 3),
    )
    got6, got3 = _check(archive, six, three)
    assert (got6.lower_bound, got6.upper_bound) == (3, 3)
    assert got6.verdict == "inconsistent" and got3.verdict == "consistent"
    assert got6.n_observations == 2 * sum(
        events_time(1) <= t < events_time(1, month=10) for t in archive.times
    )
    assert "3 trips rajin->dunai seen" in got6.evidence and "trip:call:" in got6.evidence
    assert "at least 24 h at a berth" in got6.assumptions and "12 knots" not in got6.assumptions
    assert len([i for i in got6.evidence_ids if i.startswith("trip:")]) == 3
    assert got6.simulated and got6.run_id == "r1"


def test_clouds_widen_the_upper_bound_and_the_verdict_follows() -> None:
    archive = _Archive(step_h=12.0)
    for day in (3, 12, 21):
        _voyage(archive, day)
    # Ten cloudy days over Rajin: departures could have hidden there...
    cloudy = [k for k, t in enumerate(archive.times) if events_time(14) <= t < events_time(24)]
    archive.hidden |= {("rajin", k) for k in cloudy}
    claim = _claim("trip_count", ("rajin", "dunai"), 4)
    [got] = _check(archive, claim)
    # Only the voyage of day 3 stays certain: the day-12 ship left Rajin under the clouds, so
    # it could be either of the two later arrivals at Dunai (two candidates: confidence <= 0.5).
    assert got.lower_bound == 1
    # The uncounted candidates are named in the evidence, for an analyst to review.
    weak = re.search(
        r"(\d+) more candidate trips? below confidence 0.6, not counted[^;]*", got.evidence
    )
    assert weak and weak.group(0).count("trip:") == int(weak.group(1)) >= 1
    # ... but Dunai, watched twice a day, saw only three arrivals: four trips are ruled out.
    assert (got.upper_bound, got.verdict) == (3, "inconsistent")
    # With the same clouds over Dunai, a fourth voyage could have gone unseen.
    archive.hidden |= {("dunai", k) for k in cloudy}
    [got] = _check(archive, claim)
    assert got.upper_bound is not None and got.upper_bound >= 4
    assert got.verdict == "cannot be assessed"
    assert "could hide in coverage gaps" in got.evidence


def test_a_window_without_observations_cannot_be_assessed() -> None:
    archive = _Archive(step_h=24.0, days=10)
    late = _claim(
        "trip_count", ("rajin", "dunai"), 1, since=dt.date(2024, 1, 1), until=dt.date(2024, 2, 1)
    )
    [got] = _check(archive, late)
    assert (got.lower_bound, got.upper_bound, got.verdict) == (0, None, "cannot be assessed")
    assert "no usable observation" in got.evidence and got.n_observations == 0


def test_round_trips_chain_through_the_far_port() -> None:
    archive = _Archive(step_h=12.0)
    _voyage(archive, 3)
    # Back to Rajin's berth 11 h after leaving Dunai (day 3 + 48 + 11 + 48 h + 11 h).
    back = events_time(3, 5) + dt.timedelta(hours=48 + 11 + 48 + 11)
    archive.ship(RAJIN_BERTH, back, back + dt.timedelta(hours=30))
    rt = _claim("round_trip_count", ("rajin", "dunai"), 1, vessels=("A",))
    [got] = _check(archive, rt)
    assert got.lower_bound == 1 and got.verdict == "consistent"
    assert "vessel identity (A) cannot be read" in got.assumptions
    assert got.upper_bound is not None and got.upper_bound >= 1


def test_vessel_presence_respects_the_minimum_length() -> None:
    archive = _Archive(step_h=12.0)
    archive.ship(RAJIN_BERTH, events_time(6, 5), events_time(8, 5), 120.0)
    big = _claim(
        "vessel_presence",
        ("rajin",),
        1,
        since=dt.date(2023, 9, 6),
        until=dt.date(2023, 9, 9),
        min_length_m=100,
    )
    huge = dataclasses.replace(big, id="huge", min_length_m=200)
    got_big, got_huge = _check(archive, big, huge)
    assert (got_big.lower_bound, got_big.verdict) == (1, "consistent")
    assert got_big.upper_bound == 1  # every berth watched twice a day, no room for an unseen call
    assert (got_huge.lower_bound, got_huge.upper_bound, got_huge.verdict) == (0, 0, "inconsistent")


def test_containers_loaded_are_bounded_by_yard_drops_and_ship_capacity() -> None:
    archive = _Archive(step_h=12.0)
    archive.ship(RAJIN_BERTH, events_time(7, 5), events_time(9, 5), 120.0)
    archive.yard = [
        (events_time(1), 10_000.0),
        (events_time(8), 6_000.0),
    ]  # drop while the ship is in
    claim = _claim(
        "container_count", ("rajin",), 300, since=dt.date(2023, 9, 6), until=dt.date(2023, 9, 9)
    )
    [got] = _check(archive, claim)
    # 4000 m2 removed x 0.06 TEU/m2 (low) = 240 TEU, at most 2 TEU per container.
    assert got.lower_bound == pytest.approx(120.0)
    capacity = 120.0 * (120.0 / 6.5) * 0.4  # the ship's hull x 0.4 TEU/m2 (length error added)
    assert got.upper_bound is not None and capacity < got.upper_bound < 2 * capacity
    assert got.verdict == "cannot be assessed"
    assert (
        "trucks and trains ignored" in got.assumptions
        and "one container is 1-2 TEU" in got.assumptions
    )
    # No ship at berth: the same drop is not counted as loading.
    archive.ships.clear()
    [none] = _check(archive, claim)
    assert none.lower_bound == 0.0


def test_update_inferences_stores_calls_trips_and_checks_and_drops_rejected(tmp_path: Path) -> None:
    archive = _Archive(step_h=12.0, days=30)
    for day in (3, 12):
        _voyage(archive, day)
    obs, dets = archive.build()
    claim = _claim("trip_count", ("rajin", "dunai"), 2)
    with EventStore.open(tmp_path / "events.gpkg") as store:
        for o in obs:
            store.write_scene(o, [d for d in dets if (d.scene_id, d.port) == (o.scene_id, o.port)])
        summary = store.update_inferences(PORTS, [claim], run_id="night-1")
        assert (summary.n_trips, summary.n_claims) == (2, 1)
        assert len(store.port_calls()) == summary.n_port_calls == 4
        [check] = store.claims()
        assert (check.claim_id, check.run_id, check.lower_bound, check.verdict) == (
            "test-trip_count",
            "night-1",
            2,
            "consistent",
        )
        # An analyst rejects every sighting of the second voyage at Dunai: one trip is left.
        second = [c for c in store.port_calls("dunai") if c.first_seen_utc > events_time(15)]
        for did in second[0].detection_ids:
            store.append_review(did, "ab", "rejected", "not_a_vessel")
        store.update_inferences(PORTS, [claim], run_id="night-2")
        assert len(store.trips()) == 1
        assert [c.lower_bound for c in store.claims()] == [1]  # the latest run only
        assert {c.run_id for c in store.claims(latest=False)} == {"night-1", "night-2"}
        # Re-running a night replaces its checks instead of adding rows.
        store.update_inferences(PORTS, [claim], run_id="night-2")
        assert store.count("claims") == 2


def test_seed_claims_are_all_checked_on_an_empty_store(tmp_path: Path) -> None:
    with EventStore.open(tmp_path / "events.gpkg") as store:
        store.update_inferences(PORTS, load_claims())
        checks = store.claims()
    assert [c.claim_id for c in checks] == [c.id for c in load_claims()]
    assert {c.verdict for c in checks} == {"cannot be assessed"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (('kind = "trip_count"', 'kind = "tonnage"'), "kind='tonnage'; valid kinds"),
        (('ports = ["rajin", "dunai"]', 'ports = ["rajin", "nampo"]'), "unknown port 'nampo'"),
        (("number = 6", "number = 6\nvessel_lengths_m = [115, -1]"), "vessel_lengths_m must be"),
    ],
)
def test_bad_claims_files_are_refused_before_the_store_is_touched(
    tmp_path: Path, change: tuple[str, str], match: str
) -> None:
    good = (Path(__file__).parents[2] / "seeds" / "claims.toml").read_text(encoding="utf-8")
    bad = tmp_path / "claims.toml"
    bad.write_text(good.replace(*change, 1), encoding="utf-8")
    store_path = tmp_path / "events.gpkg"
    with EventStore.open(store_path):
        pass
    before = hashlib.sha256(store_path.read_bytes()).hexdigest()
    with pytest.raises(ClaimsFileError, match=match):
        load_claims(bad)
    assert hashlib.sha256(store_path.read_bytes()).hexdigest() == before


def test_named_vessel_lengths_are_loaded(tmp_path: Path) -> None:
    rusi = {c.id: c for c in load_claims()}["rusi-five-round-trips"]
    assert rusi.vessel_lengths_m == (115.0, 128.0)
    text = (Path(__file__).parents[2] / "seeds" / "claims.toml").read_text(encoding="utf-8")
    path = tmp_path / "claims.toml"
    path.write_text(
        text.replace("vessel_lengths_m = [115, 128]", 'vessel_lengths_m = [115, "long"]')
    )
    with pytest.raises(ClaimsFileError, match="vessel_lengths_m must be a list of lengths"):
        load_claims(path)
