"""Port calls from successive observations, and trips linking them by assignment."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.events import DetectionRecord, ObservationRecord
from geo.ports import load_ports
from geo.trips import (
    TripParams,
    feasible_transit,
    infer_port_calls,
    infer_trips,
    sea_distance_nm,
    transit_bounds_h,
)
from tests.factories import events_detection, events_observation, events_time

PORTS = load_ports()
RAJIN_BERTH, DUNAI_BERTH = "rajin-pier1-w", "dunai-pier-n"


def _berth_xy(zone: str) -> tuple[float, float]:
    port = zone.split("-")[0]
    c = PORTS[port].zone(zone).geometry.centroid
    return c.x, c.y


def _timeline(
    port: str,
    times: list[dt.datetime],
    present: dict[int, list[tuple[str, float, float]]],
    *,
    hidden: frozenset[int] = frozenset(),
) -> tuple[list[ObservationRecord], list[DetectionRecord]]:
    """Observations of *port* at *times*; ``present[k]`` = (zone, length, width) seen at time k."""
    obs, dets = [], []
    for k, t in enumerate(times):
        sid = f"{port}-{k}"
        frac = 0.2 if k in hidden else 1.0
        zones = {z.id: frac for z in PORTS[port].zones}
        obs.append(events_observation(sid, port, acquired_utc=t, zone_valid_fraction=zones))
        for i, (zone, length, width) in enumerate(present.get(k, [])):
            lon, lat = _berth_xy(zone)
            lat += i * 0.0015  # a second ship at the same berth lies further along it
            dets.append(
                events_detection(
                    sid, port, i, lon=lon, lat=lat, zone=zone, length_m=length, width_m=width
                )
            )
    return obs, dets


def _days(first: int, n: int, hour: float = 2.0) -> list[dt.datetime]:
    return [events_time(first + k, hour) for k in range(n)]


def test_sea_distance_rajin_dunai_is_about_115_nm() -> None:
    d = sea_distance_nm(PORTS["rajin"], PORTS["dunai"])
    assert 112 <= d <= 122
    assert sea_distance_nm(PORTS["dunai"], PORTS["rajin"]) == pytest.approx(d)
    tmin, tmax = transit_bounds_h(d, TripParams())
    assert tmin == pytest.approx(d / 16) and tmax == pytest.approx(d / 6 + 12)


def test_a_stay_is_bounded_by_the_neighbouring_observations_that_saw_the_berth() -> None:
    times = _days(1, 6)
    obs, dets = _timeline("rajin", times, {k: [(RAJIN_BERTH, 120.0, 18.0)] for k in (2, 3, 4)})
    [call] = infer_port_calls(obs, dets, PORTS)
    assert (call.port, call.berth, call.zone_kind) == ("rajin", RAJIN_BERTH, "berth")
    assert call.arrival_after_utc == times[1] and call.arrival_before_utc == times[2]
    assert call.departure_after_utc == times[4] and call.departure_before_utc == times[5]
    assert (call.first_seen_utc, call.last_seen_utc) == (times[2], times[4])
    assert call.n_detections == 3 and call.n_hidden == 0
    assert call.detection_ids == (
        "rajin-2:rajin:vessel:0",
        "rajin-3:rajin:vessel:0",
        "rajin-4:rajin:vessel:0",
    )
    assert call.scene_ids == ("rajin-2", "rajin-3", "rajin-4")
    assert call.length_m == 120.0 and call.call_id == "call:rajin-2:rajin:vessel:0"


def test_a_berth_hidden_by_cloud_is_not_empty() -> None:
    times = _days(1, 7)
    present = {k: [(RAJIN_BERTH, 120.0, 18.0)] for k in (2, 4)}
    # Cloud over the berth before, inside and after the stay.
    obs, dets = _timeline("rajin", times, present, hidden=frozenset({1, 3, 5}))
    [call] = infer_port_calls(obs, dets, PORTS)
    assert call.arrival_after_utc == times[0]  # the last observation that could see the berth
    assert call.departure_before_utc == times[6]
    assert call.n_hidden == 1 and call.n_detections == 2


def test_unbounded_ends_at_the_edges_of_the_record() -> None:
    times = _days(1, 3)
    obs, dets = _timeline("rajin", times, {k: [(RAJIN_BERTH, 120.0, 18.0)] for k in range(3)})
    [call] = infer_port_calls(obs, dets, PORTS)
    assert call.arrival_after_utc is None and call.departure_before_utc is None


def test_a_different_ship_at_the_same_berth_is_a_different_call() -> None:
    times = _days(1, 5)
    present = {
        1: [(RAJIN_BERTH, 120.0, 18.0)],
        2: [(RAJIN_BERTH, 120.0, 18.0), (RAJIN_BERTH, 60.0, 10.0)],  # a small one moors beside
        3: [(RAJIN_BERTH, 180.0, 26.0)],  # both gone, a big one in their place
    }
    obs, dets = _timeline("rajin", times, present)
    calls = infer_port_calls(obs, dets, PORTS)
    assert sorted((c.length_m, c.n_detections) for c in calls) == [
        (60.0, 1),
        (120.0, 2),
        (180.0, 1),
    ]
    big = next(c for c in calls if c.length_m == 180.0)
    assert big.arrival_after_utc == times[2] and big.departure_before_utc == times[4]


def test_failed_observations_and_other_zones_are_ignored() -> None:
    times = _days(1, 4)
    obs, dets = _timeline("rajin", times, {1: [(RAJIN_BERTH, 120.0, 18.0)]})
    obs[2] = events_observation("rajin-2", "rajin", acquired_utc=times[2], status="failed")
    dets.append(events_detection("rajin-1", "rajin", 7, zone="open_water"))
    [call] = infer_port_calls(obs, dets, PORTS)
    assert call.departure_before_utc == times[3]
    assert infer_port_calls([], [], PORTS) == []


def _voyage(dep_day: int, transit_h: float, length: float = 120.0, width: float = 18.0):
    """A ship seen at Rajin's berth for two days, then at Dunai's after *transit_h* hours."""
    r_times = [events_time(dep_day - 2 + k, 2) for k in range(4)]  # seen k=0,1; gone k=2
    r_obs, r_dets = _timeline(
        "rajin", r_times, {0: [(RAJIN_BERTH, length, width)], 1: [(RAJIN_BERTH, length, width)]}
    )
    depart = r_times[1] + dt.timedelta(hours=6)
    arrive = depart + dt.timedelta(hours=transit_h)
    d_times = [
        arrive - dt.timedelta(hours=5),
        arrive + dt.timedelta(hours=3),
        arrive + dt.timedelta(hours=20),
    ]
    d_obs, d_dets = _timeline(
        "dunai", d_times, {1: [(DUNAI_BERTH, length, width)], 2: [(DUNAI_BERTH, length, width)]}
    )
    return r_obs + d_obs, r_dets + d_dets, depart, arrive


def test_a_departure_and_an_arrival_that_fit_the_distance_make_a_trip() -> None:
    obs, dets, depart, arrive = _voyage(10, 11.0)
    calls = infer_port_calls(obs, dets, PORTS)
    [trip] = infer_trips(calls, PORTS)
    assert (trip.from_port, trip.to_port) == ("rajin", "dunai")
    assert trip.depart_after_utc is not None and trip.depart_before_utc is not None
    assert trip.depart_after_utc <= depart <= trip.depart_before_utc
    assert trip.arrive_after_utc is not None and trip.arrive_before_utc is not None
    assert trip.arrive_after_utc <= arrive <= trip.arrive_before_utc
    by_port = {c.port: c.call_id for c in calls}
    assert trip.port_call_ids == (by_port["rajin"], by_port["dunai"])
    assert set(trip.scene_ids) == {"rajin-0", "rajin-1", "dunai-1", "dunai-2"}
    assert len(trip.detection_ids) == 4 and 0.5 < trip.confidence <= 1.0
    assert trip.distance_nm == pytest.approx(
        sea_distance_nm(PORTS["rajin"], PORTS["dunai"]), abs=0.1
    )


@pytest.mark.parametrize(
    ("transit_h", "length_at_dunai"),
    # Dunai's first sighting comes 9 h + transit_h after Rajin's last: -4 h makes it 5 h, which
    # would need more than 16 knots over ~118 nm.
    [(-4.0, 120.0), (80.0, 120.0), (11.0, 190.0)],
    ids=["faster-than-16-knots", "slower-than-6-knots-plus-slack", "another-length"],
)
def test_implausible_links_are_not_trips(transit_h: float, length_at_dunai: float) -> None:
    obs, dets, _, _ = _voyage(10, transit_h)
    dets = [
        d if d.port == "rajin" else DetectionRecord(**{**d.__dict__, "length_m": length_at_dunai})
        for d in dets
    ]
    calls = infer_port_calls(obs, dets, PORTS)
    assert len(calls) == 2
    assert infer_trips(calls, PORTS) == []


def test_one_arrival_is_never_counted_for_two_departures() -> None:
    # Two look-alike ships leave Rajin's two berths the same day; only one arrives at Dunai.
    obs, dets, _, _ = _voyage(10, 11.0)
    second = [
        DetectionRecord(
            **{
                **d.__dict__,
                "index": 5,
                "zone": "rajin-pier2-e",
                "lon": _berth_xy("rajin-pier2-e")[0],
                "lat": _berth_xy("rajin-pier2-e")[1],
            }
        )
        for d in dets
        if d.port == "rajin"
    ]
    calls = infer_port_calls(obs, dets + second, PORTS)
    assert sum(c.port == "rajin" for c in calls) == 2
    trips = infer_trips(calls, PORTS)
    assert len(trips) == 1
    assert trips[0].confidence <= 0.5  # two candidates competed for the one arrival


def test_a_call_can_end_one_trip_and_start_the_next() -> None:
    obs, dets, _, arrive = _voyage(10, 11.0)
    # The ship leaves Dunai two days later and is next seen back at Rajin's berth.
    back = arrive + dt.timedelta(days=2, hours=12)
    d_more = [arrive + dt.timedelta(hours=44), back - dt.timedelta(hours=1)]
    more_obs, _ = _timeline("dunai", d_more, {})
    more_obs = [
        ObservationRecord(**{**o.__dict__, "scene_id": f"dunai-x{k}"})
        for k, o in enumerate(more_obs)
    ]
    extra = [
        DetectionRecord(**{**d.__dict__, "scene_id": "dunai-x0", "index": 0})
        for d in dets
        if d.scene_id == "dunai-2"
    ]
    r_times = [back + dt.timedelta(hours=14), back + dt.timedelta(hours=38)]
    r_obs, r_dets = _timeline("rajin", r_times, {0: [(RAJIN_BERTH, 120.0, 18.0)]})
    r_obs = [
        ObservationRecord(**{**o.__dict__, "scene_id": f"rajin-y{k}"}) for k, o in enumerate(r_obs)
    ]
    r_dets = [DetectionRecord(**{**d.__dict__, "scene_id": "rajin-y0"}) for d in r_dets]
    calls = infer_port_calls(obs + more_obs + r_obs, dets + extra + r_dets, PORTS)
    trips = infer_trips(calls, PORTS)
    assert [(t.from_port, t.to_port) for t in trips] == [("rajin", "dunai"), ("dunai", "rajin")]
    assert trips[0].to_call_id == trips[1].from_call_id


def test_feasible_transit_treats_unknown_ends_as_open() -> None:
    obs, dets, _, _ = _voyage(10, 11.0)
    calls = infer_port_calls(obs, dets, PORTS)
    rajin = next(c for c in calls if c.port == "rajin")
    dunai = next(c for c in calls if c.port == "dunai")
    d = sea_distance_nm(PORTS["rajin"], PORTS["dunai"])
    assert feasible_transit(rajin, dunai, d, TripParams())
    assert not feasible_transit(dunai, rajin, d, TripParams())  # arrival before departure
    open_ended = type(rajin)(**{**rajin.__dict__, "departure_before_utc": None})
    assert feasible_transit(open_ended, dunai, d, TripParams())
