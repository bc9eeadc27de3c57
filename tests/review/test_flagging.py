"""Flagging: which detections need a look, why, in which order; flags and chips land in the store."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from geo.events import EventStore
from geo.ports import load_ports
from review.flagging import FlagParams, chip_paths, flag_detections, flag_reasons
from tests.factories import (
    events_observation,
    events_time,
    review_build_store,
    review_detection,
    review_zone_centre,
)


@pytest.fixture(scope="module")
def ports() -> dict[str, Any]:
    return load_ports()


def _claims_available() -> bool:
    import geo.claims

    return hasattr(geo.claims, "check_claims")


def test_scenario_reasons_chips_and_store(tmp_path: Path) -> None:
    built = review_build_store(tmp_path)
    ids = built["ids"]
    by_id = {f.detection_id: f for f in built["flags"]}
    assert set(by_id) == set(ids.values())
    # The optical scene at 02:00 saw Rajin's berths and found nothing: SAR at 10:00 disagrees.
    assert by_id[ids["berth_rajin"]].reasons == ("sensor_disagreement", "watched_berth")
    assert by_id[ids["weak_rajin"]].reasons == ("sensor_disagreement", "near_threshold")
    assert by_id[ids["speck_rajin"]].reasons == ("sensor_disagreement", "unusual_size")
    assert by_id[ids["berth_dunai"]].reasons == ("watched_berth",)  # no other sensor at Dunai
    priorities = [f.priority for f in built["flags"]]
    assert priorities == sorted(priorities, reverse=True)
    assert built["flags"][0].detection_id == ids["weak_rajin"]  # score 7.0: 0.5 above 6.5
    assert by_id[ids["weak_rajin"]].priority == pytest.approx(3 + 2 + 0.5)
    for f in built["flags"]:
        assert (tmp_path / f.chip_path).is_file()
        assert (tmp_path / f.reference_chip_path).is_file()  # earlier SAR scenes exist
        assert (tmp_path / f.overview_path).is_file()
    # Dunai's first SAR scene is the only earlier one there; Rajin has two references.
    with EventStore.open(built["store"], readonly=True) as store:
        for det_id, flag in by_id.items():
            det = store.detection(det_id)
            assert det is not None
            assert flag_reasons(det.flags) == flag.reasons
            assert det.chip_path == flag.chip_path
            assert det.chip_path.startswith("chips/")


def test_detector_flags_kept_and_flagging_is_idempotent(
    tmp_path: Path, ports: dict[str, Any]
) -> None:
    rajin = ports["rajin"]
    lon, lat = review_zone_centre(rajin, "rajin-pier1-w")
    det = review_detection(rajin, "S1", 0, lon, lat, zone="rajin-pier1-w", flags="near_land")
    with EventStore.open(tmp_path / "events.gpkg") as store:
        store.write_scene(events_observation("S1", tile_path="missing.tif"), [det])
        first = flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports)
        stored = store.detection(det.detection_id)
        second = flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports)
        again = store.detection(det.detection_id)
    assert [f.reasons for f in first] == [("watched_berth",)]
    assert first[0].chip_path == ""  # no tile: flagged, without a chip
    assert stored is not None and stored.flags == "near_land,review:watched_berth"
    assert second == first and again == stored


def test_reasons_are_dropped_when_they_no_longer_apply(
    tmp_path: Path, ports: dict[str, Any]
) -> None:
    rajin = ports["rajin"]
    det = review_detection(rajin, "S1", 0, 130.30, 42.21, score=6.8)
    with EventStore.open(tmp_path / "events.gpkg") as store:
        store.write_scene(events_observation("S1"), [det])
        assert flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports)
        relaxed = FlagParams(score_threshold=5.0)
        assert (
            flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports, params=relaxed)
            == []
        )
        stored = store.detection(det.detection_id)
    assert stored is not None and stored.flags == ""


def _two_sensor_store(path: Path, ports: dict[str, Any], **optical: Any) -> str:
    rajin = ports["rajin"]
    lon, lat = review_zone_centre(rajin, "rajin-pier1-w")
    sar = review_detection(rajin, "SAR", 0, lon, lat, zone="rajin-pier1-w")
    twins = optical.pop("twins", [])
    with EventStore.open(path) as store:
        store.write_scene(
            events_observation("SAR", sensor="sar", acquired_utc=events_time(1, 10)), [sar]
        )
        store.write_scene(
            events_observation(
                "OPT", **({"sensor": "optical", "acquired_utc": events_time(1, 2)} | optical)
            ),
            [dataclasses.replace(t, scene_id="OPT") for t in twins],
        )
    return sar.detection_id


@pytest.mark.parametrize(
    ("optical", "disagrees"),
    [
        ({}, True),
        ({"zone_valid_fraction": {"rajin-pier1-w": 0.1}}, False),  # berth under cloud: not observed
        ({"acquired_utc": events_time(2, 2)}, False),  # another day
        ({"twins": "near"}, False),  # the optical scene saw it too (60 m away)
        ({"twins": "far"}, True),  # the optical scene saw something else, 500 m away
    ],
)
def test_sensor_disagreement(
    tmp_path: Path, ports: dict[str, Any], optical: dict[str, Any], disagrees: bool
) -> None:
    rajin = ports["rajin"]
    lon, lat = review_zone_centre(rajin, "rajin-pier1-w")
    if optical.get("twins") in ("near", "far"):
        shift = 60.0 if optical["twins"] == "near" else 500.0
        optical["twins"] = [review_detection(rajin, "OPT", 0, lon + shift / 82_500, lat)]
    det_id = _two_sensor_store(tmp_path / "events.gpkg", ports, **optical)
    with EventStore.open(tmp_path / "events.gpkg") as store:
        flags = {
            f.detection_id: f
            for f in flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports)
        }
    assert ("sensor_disagreement" in flags[det_id].reasons) is disagrees


def test_unusual_size_rules(tmp_path: Path, ports: dict[str, Any]) -> None:
    rajin = ports["rajin"]
    lengths = [118.0 + (i % 5) for i in range(24)] + [330.0, 20.0]
    dets = [
        review_detection(
            rajin, "S1", i, 130.30 + i * 1e-4, 42.21, length_m=length, width_m=length / 6
        )
        for i, length in enumerate(lengths)
    ]
    dets.append(
        review_detection(rajin, "S1", 26, 130.31, 42.21, length_m=120.0, width_m=100.0)
    )  # squat
    with EventStore.open(tmp_path / "events.gpkg") as store:
        store.write_scene(events_observation("S1"), dets)
        flagged = {
            f.detection_id
            for f in flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports)
        }
        # With a population too small for statistics, only the absolute bounds apply.
        few = FlagParams(min_population=1000)
        absolute = {
            f.detection_id
            for f in flag_detections(
                store, port="rajin", data_dir=tmp_path, ports=ports, params=few
            )
        }
    assert flagged == {
        dets[i].detection_id for i in (24, 25, 26)
    }  # 330 m outlier, 20 m, aspect 1.2
    assert absolute == {dets[i].detection_id for i in (25, 26)}


def test_per_sensor_threshold_and_window(tmp_path: Path, ports: dict[str, Any]) -> None:
    rajin = ports["rajin"]
    a = review_detection(rajin, "A", 0, 130.30, 42.21, score=7.0)
    b = review_detection(rajin, "B", 0, 130.30, 42.21, score=7.0)
    with EventStore.open(tmp_path / "events.gpkg") as store:
        store.write_scene(
            events_observation("A", sensor="optical", acquired_utc=events_time(1, 2)), [a]
        )
        store.write_scene(
            events_observation("B", sensor="sar", acquired_utc=events_time(5, 2)), [b]
        )
        p = FlagParams(score_thresholds_by_sensor={"optical": 3.0})
        flags = flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports, params=p)
        early = flag_detections(
            store,
            port="rajin",
            data_dir=tmp_path,
            ports=ports,
            params=p,
            until=events_time(3).date(),
        )
    # 7.0 is far above the optical threshold (3.0) but within 1.0 of SAR's (6.5).
    assert [f.detection_id for f in flags] == [b.detection_id]
    assert early == []  # b (5 Sep) is outside the window


def test_flag_params_are_validated() -> None:
    with pytest.raises(ValueError, match="score_margin must be > 0"):
        FlagParams(score_margin=0)
    with pytest.raises(ValueError, match=r"min_zone_valid_fraction must be in \[0, 1\]"):
        FlagParams(min_zone_valid_fraction=2)


@pytest.mark.parametrize("scene_id", ["../../etc/passwd scene", "..", ".hidden", "", "a/b\\c"])
def test_chip_paths_stay_inside_chips(scene_id: str, tmp_path: Path) -> None:
    paths = chip_paths("x", "rajin", scene_id, "vessel", 3)
    for rel in paths.values():
        parts = rel.split("/")
        assert parts[:2] == ["chips", "rajin"] and len(parts) == 4
        assert all(p and not p.startswith(".") for p in parts)
        assert (tmp_path / rel).resolve().is_relative_to(tmp_path / "chips")


@pytest.mark.skipif(not _claims_available(), reason="geo.claims.check_claims not written yet")
def test_trip_evidence_follows_inferences_and_reviews(tmp_path: Path) -> None:
    built = review_build_store(tmp_path, inferences=True)
    ids, ports = built["ids"], built["ports"]
    by_id = {f.detection_id: f for f in built["flags"]}
    assert "trip_evidence" in by_id[ids["berth_rajin"]].reasons
    assert "trip_evidence" in by_id[ids["berth_dunai"]].reasons
    with EventStore.open(built["store"]) as store:
        store.append_review(ids["berth_dunai"], "ana", "rejected")
        store.update_inferences(ports)
        flags = {
            f.detection_id: f
            for f in flag_detections(store, port="rajin", data_dir=tmp_path, ports=ports)
        }
    assert "trip_evidence" not in flags[ids["berth_rajin"]].reasons
