"""The event store: GeoPackage layout, idempotent transactional writes, queries, bad stores."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from detection.types import Vessel
from geo.errors import (
    RecordError,
    StoreFormatError,
    StoreNotFoundError,
    StoreReadOnlyError,
    StoreSchemaError,
    UnknownDetectionError,
    UnknownLayerError,
)
from geo.events import (
    LAYERS,
    SCHEMA_VERSION,
    EventStore,
    default_store_path,
    vessel_records,
)
from geo.ports import load_ports
from geo.transforms import lonlat_to_pixels
from tests.factories import events_detection, events_observation, events_time


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "events.gpkg"


def _scene(n: int, *, day: int = 7, port: str = "rajin", dets: int = 2):
    obs = events_observation(f"S{n}", port, acquired_utc=events_time(day, 2))
    return obs, [events_detection(f"S{n}", port, i, lon=130.288 + 0.001 * i) for i in range(dets)]


def test_default_path_is_in_the_data_folder(tmp_path: Path) -> None:
    assert default_store_path(tmp_path) == tmp_path / "events.gpkg"


def test_new_store_is_a_wal_geopackage_with_every_layer(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        assert store.observations() == []
    conn = _raw(store_path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    contents = dict(conn.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert set(contents) == set(LAYERS)
    assert contents["detections"] == "features" and contents["runs"] == "attributes"
    version = conn.execute("SELECT value FROM berthwatch_meta WHERE key='schema_version'")
    assert int(version.fetchone()[0]) == SCHEMA_VERSION
    srs = {r[0] for r in conn.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")}
    assert {-1, 0, 4326} <= srs


def test_scene_round_trips_exactly(store_path: Path) -> None:
    obs, dets = _scene(1)
    obs = dataclasses.replace(obs, zone_valid_fraction={"rajin-pier1-w": 0.25})
    with EventStore.open(store_path) as store:
        assert store.write_scene(obs, dets) == 2
    with EventStore.open(store_path, readonly=True) as store:
        assert store.observations() == [obs]
        got = store.detections()
    expected = [dataclasses.replace(d, acquired_utc=obs.acquired_utc, simulated=True) for d in dets]
    assert got == expected
    assert got[1].detection_id == "S1:rajin:vessel:1"
    assert obs.zone_fraction("rajin-pier1-w") == 0.25 and obs.zone_fraction("other") == 1.0


def test_rewriting_a_scene_is_idempotent_and_keeps_row_ids(store_path: Path) -> None:
    obs, dets = _scene(1, dets=3)
    with EventStore.open(store_path) as store:
        store.write_scene(obs, dets)
        store.write_scene(*_scene(2, day=8))
        fids = _raw(store_path).execute("SELECT fid, detection_id FROM detections").fetchall()
        store.write_scene(obs, dets)
        assert (
            _raw(store_path).execute("SELECT fid, detection_id FROM detections").fetchall() == fids
        )
        assert store.count("observations") == 2 and store.count("detections") == 5
        # Re-processing the scene found fewer objects: the stale detection goes.
        store.write_scene(obs, dets[:1])
        assert [d.detection_id for d in store.detections(scene_id="S1")] == ["S1:rajin:vessel:0"]
        assert store.count("detections") == 3


def test_natural_keys_are_unique_in_sqlite_itself(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
    conn = _raw(store_path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO observations (scene_id, port, source, status, simulated) "
            "VALUES ('S1', 'rajin', 'x', 'ok', 0)"
        )
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO detections (detection_id, scene_id, port, object_index, kind, zone, lon, lat, simulated) "
            "VALUES ('dup', 'S1', 'rajin', 0, 'vessel', 'open_water', 0, 0, 0)"
        )


def test_a_scene_that_fails_half_way_leaves_the_store_as_it_was(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
        before = _digest(store_path), store.count("observations"), store.count("detections")
        obs, dets = _scene(2)
        broken = dataclasses.replace(
            dets[1], geometry="not a geometry"
        )  # fails inside the transaction
        with pytest.raises(TypeError):
            store.write_scene(obs, [dets[0], broken])
        assert (store.count("observations"), store.count("detections")) == before[1:]
        assert not store.has_observation("S2", "rajin")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"status": "done"}, "status 'done'"),
        ({"acquired_utc": events_time(7).replace(tzinfo=None)}, "no time zone"),
        ({"acquired_utc": None}, "needs acquired_utc"),
        ({"source": ""}, "needs a scene_id, a port and a source"),
    ],
)
def test_bad_observations_are_refused(store_path: Path, change: dict, match: str) -> None:
    obs, dets = _scene(1)
    with EventStore.open(store_path) as store:
        with pytest.raises(RecordError, match=match):
            store.write_scene(dataclasses.replace(obs, **change), dets)
        assert store.count("observations") == 0


def test_bad_detections_are_refused(store_path: Path) -> None:
    obs, dets = _scene(1)
    with EventStore.open(store_path) as store:
        with pytest.raises(RecordError, match="belongs to scene 'S9'"):
            store.write_scene(obs, [dataclasses.replace(dets[0], scene_id="S9")])
        with pytest.raises(RecordError, match="appears twice"):
            store.write_scene(obs, [dets[0], dets[0]])
        with pytest.raises(RecordError, match="kind 'ship'"):
            store.write_scene(obs, [dataclasses.replace(dets[0], kind="ship")])
        failed = dataclasses.replace(obs, status="failed")
        with pytest.raises(RecordError, match="failed but carries 2 detections"):
            store.write_scene(failed, dets)
        assert store.count("observations") == 0


def test_failures_are_recorded_retried_and_never_erase_good_scenes(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        assert store.record_failure(scene_id="F1", port="rajin", source="s", error="HTTP 503")
        assert not store.has_observation("F1", "rajin")
        assert store.has_observation("F1", "rajin", include_failed=True)
        [failed] = store.observations(status="failed")
        assert failed.error == "HTTP 503" and failed.acquired_utc is None
        store.write_scene(*_scene(1))
        assert not store.record_failure(scene_id="S1", port="rajin", source="s", error="late")
        assert store.observations(status="ok")[0].scene_id == "S1"
        assert store.count("detections") == 2
        # Retrying the failed scene successfully replaces the failure.
        obs, dets = _scene(1)
        store.write_scene(
            dataclasses.replace(obs, scene_id="F1"),
            [dataclasses.replace(d, scene_id="F1") for d in dets],
        )
        assert store.has_observation("F1", "rajin")


def test_queries_filter_by_port_time_kind_and_source(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        for n, day in ((1, 5), (2, 7), (3, 9)):
            store.write_scene(*_scene(n, day=day))
        obs, dets = _scene(4, day=8, port="dunai")
        store.write_scene(dataclasses.replace(obs, source="other"), dets)
        assert [o.scene_id for o in store.observations("rajin", since=events_time(6))] == [
            "S2",
            "S3",
        ]
        assert [o.scene_id for o in store.observations(until=events_time(7).date())] == ["S1", "S2"]
        assert [o.scene_id for o in store.observations(source="other")] == ["S4"]
        assert (
            len(store.detections("rajin", since=events_time(7).date(), until=events_time(7).date()))
            == 2
        )
        assert store.detections(kind="container_stack") == []
        assert store.last_observation_utc("rajin") == events_time(9, 2)
        assert store.last_observation_utc("rajin", "other") is None
        assert store.last_observation_utc("dunai", "other") == events_time(8, 2)
        assert store.detection("S4:dunai:vessel:1") is not None
        assert store.detection("nope") is None


def test_reviews_are_append_only_and_latest_decision_wins(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
        did = "S1:rajin:vessel:0"
        store.append_review(did, "ab", "rejected", "not_a_vessel", "pier crane")
        assert store.rejected_detection_ids() == {did}
        assert [d.detection_id for d in store.detections(include_rejected=False)] == [
            "S1:rajin:vessel:1"
        ]
        store.append_review(did, "cd", "confirmed", "vessel")
        assert store.rejected_detection_ids() == set()
        assert [(r.analyst, r.decision) for r in store.reviews(did)] == [
            ("ab", "rejected"),
            ("cd", "confirmed"),
        ]
        with pytest.raises(UnknownDetectionError, match="No detection 'S9:x'"):
            store.append_review("S9:x", "ab", "rejected")
        with pytest.raises(RecordError, match="confirmed, rejected, unsure"):
            store.append_review(did, "ab", "maybe")
    conn = _raw(store_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE reviews SET decision = 'confirmed'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM reviews")


def test_runs_are_started_and_finished(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        run_id = store.start_run(source="sample")
        store.finish_run(run_id, scenes_seen=3, scenes_processed=2, scenes_failed=1)
        [run] = store.runs()
        assert (run.run_id, run.status, run.scenes_failed) == (run_id, "finished", 1)
        assert run.finished_utc is not None and run.finished_utc >= run.started_utc
        with pytest.raises(RecordError, match="No run 'x'"):
            store.finish_run("x", scenes_seen=0, scenes_processed=0, scenes_failed=0)


def test_a_reader_sees_committed_scenes_while_a_writer_is_open(store_path: Path) -> None:
    with (
        EventStore.open(store_path) as writer,
        EventStore.open(store_path, readonly=True) as reader,
    ):
        writer.write_scene(*_scene(1))
        assert [o.scene_id for o in reader.observations()] == ["S1"]
        writer.write_scene(*_scene(2, day=8))
        assert reader.count("observations") == 2


def test_missing_store_is_not_created_when_not_asked(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError, match="No event store at"):
        with EventStore.open(tmp_path / "none.gpkg", create=False):
            pass
    with pytest.raises(StoreNotFoundError):
        with EventStore.open(tmp_path / "none.gpkg", readonly=True):
            pass
    assert not (tmp_path / "none.gpkg").exists()


def test_newer_schema_is_refused_and_left_untouched(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
    _raw(store_path).execute(
        f"UPDATE berthwatch_meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'"
    )
    before = _digest(store_path)
    for readonly in (False, True):
        with pytest.raises(StoreSchemaError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
            with EventStore.open(store_path, readonly=readonly):
                pass
    assert _digest(store_path) == before


def test_unmigratable_older_schema_is_refused_and_left_untouched(store_path: Path) -> None:
    with EventStore.open(store_path):
        pass
    _raw(store_path).execute("UPDATE berthwatch_meta SET value = '0' WHERE key = 'schema_version'")
    before = _digest(store_path)
    with pytest.raises(StoreSchemaError, match="cannot migrate"):
        with EventStore.open(store_path):
            pass
    assert _digest(store_path) == before


def test_files_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.gpkg"
    text.write_text("hello " * 200)
    with pytest.raises(StoreFormatError, match="not a readable GeoPackage"):
        with EventStore.open(text):
            pass
    assert text.read_text() == "hello " * 200
    other = tmp_path / "other.gpkg"
    conn = _raw(other)
    conn.execute("PRAGMA application_id = 1196444487")
    conn.execute("CREATE TABLE gpkg_contents (table_name TEXT)")
    conn.close()
    with pytest.raises(StoreFormatError, match="not a berthwatch event store"):
        with EventStore.open(other):
            pass


def test_read_only_store_refuses_writes_and_stays_untouched(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
    before = _digest(store_path)
    store_path.chmod(0o444)
    try:
        with pytest.raises(StoreReadOnlyError, match="is read-only"):
            with EventStore.open(store_path):
                pass
        with EventStore.open(store_path, readonly=True) as store:
            assert store.count("detections") == 2
            with pytest.raises(StoreReadOnlyError, match="open read-only"):
                store.write_scene(*_scene(2))
            with pytest.raises(StoreReadOnlyError):
                store.append_review("S1:rajin:vessel:0", "ab", "rejected")
    finally:
        store_path.chmod(0o644)
    assert _digest(store_path) == before


def test_ogrinfo_lists_every_layer_and_its_features(store_path: Path) -> None:
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "ogrinfo is missing: run `make sysdeps` (Debian gdal-bin)"
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
        store.write_scene(*_scene(2, day=8, dets=3))
        store.append_review("S1:rajin:vessel:0", "ab", "confirmed")
        store.finish_run(
            store.start_run(source="t"), scenes_seen=2, scenes_processed=2, scenes_failed=0
        )
    before = _digest(store_path)
    out = subprocess.run(
        [ogrinfo, "-ro", "-al", str(store_path)], capture_output=True, text=True, check=True
    )
    assert "ERROR" not in out.stderr and "Warning" not in out.stderr, out.stderr
    counts = {
        block.split("\n", 1)[0].strip(): int(block.split("Feature Count: ", 1)[1].split()[0])
        for block in out.stdout.split("Layer name: ")[1:]
    }
    assert counts == {
        "observations": 2, "detections": 5, "port_calls": 0, "trips": 0,
        "claims": 0, "reviews": 1, "runs": 1,
    }  # fmt: skip
    assert "detection_id (String) = S2:rajin:vessel:2" in out.stdout
    assert "POLYGON ((130.2905" in out.stdout  # geometries decoded by GDAL itself
    assert "acquired_utc (DateTime) = 2023/09/08 02:00:00" in out.stdout
    assert _digest(store_path) == before


def test_geopandas_reads_each_layer(store_path: Path) -> None:
    with EventStore.open(store_path) as store:
        store.write_scene(*_scene(1))
        mine = store.read_layer("detections")
        with pytest.raises(UnknownLayerError, match="valid layers: observations"):
            store.read_layer("ships")
    frame = gpd.read_file(store_path, layer="detections")
    assert frame.crs.to_epsg() == 4326 and len(frame) == 2
    assert list(frame["detection_id"]) == list(mine["detection_id"])
    assert frame.geometry.equals(mine.geometry)
    assert str(frame["acquired_utc"].dtype).startswith("datetime64")
    assert len(gpd.read_file(store_path, layer="observations")) == 1


def test_vessel_records_place_vessels_in_zones_and_in_lonlat() -> None:
    port = load_ports()["rajin"]
    berth = port.zone("rajin-pier2-e").geometry.centroid
    grid = port.grid
    rows, cols = lonlat_to_pixels([berth.x, 130.29], [berth.y, 42.228], grid.transform, grid.crs)
    vessels = [
        Vessel(float(rows[0]), float(cols[0]), 120.0, 18.0, 0.0, 12.0, flags=("near_land",)),
        Vessel(float(rows[1]), float(cols[1]), 60.0, 10.0, 90.0, 8.0),
    ]
    recs = vessel_records(vessels, scene_id="S1", port=port, transform=grid.transform, crs=grid.crs)
    assert [r.zone for r in recs] == ["rajin-pier2-e", "open_water"]
    assert recs[0].lon == pytest.approx(berth.x, abs=1e-9) and recs[0].lat == pytest.approx(
        berth.y, abs=1e-9
    )
    assert recs[0].flags == "near_land" and recs[1].index == 1
    area = port.to_utm(recs[0].geometry).area
    assert area == pytest.approx(120.0 * 18.0, rel=0.01)
    assert port.to_utm(recs[1].geometry).bounds[2] - port.to_utm(recs[1].geometry).bounds[
        0
    ] == pytest.approx(60.0, rel=0.01)
    assert recs[0].geometry.contains(Point(recs[0].lon, recs[0].lat))
    assert (
        vessel_records([], scene_id="S1", port=port, transform=grid.transform, crs=grid.crs) == []
    )


def test_schema_1_store_is_migrated_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    # A store written by berthwatch before observations recorded their provenance (schema 1).
    path = tmp_path / "events.gpkg"
    shutil.copy(Path(__file__).parent / "data" / "events-schema1.gpkg", path)
    before = _digest(path)
    with pytest.raises(StoreSchemaError, match="schema version 1 and needs migrating to 2"):
        with EventStore.open(path, readonly=True):
            pass
    assert _digest(path) == before

    with EventStore.open(path) as store:
        old = store.observations()
        assert [o.scene_id for o in old] == ["S0", "S1"]
        assert {(o.run_id, o.reference_scene_ids) for o in old} == {("", ())}
        assert all(o.detector_settings == {} for o in old)
        assert len(store.detections()) == 4 and len(store.runs()) == 1
        obs, dets = _scene(2, day=9)
        store.write_scene(
            dataclasses.replace(
                obs,
                run_id=store.runs()[0].run_id,
                reference_scene_ids=("S0", "S1"),
                detector_settings={"vessels": {"detector": "detect_sar_vessels"}},
            ),
            dets,
        )
    with EventStore.open(path, readonly=True) as store:
        (new,) = [o for o in store.observations() if o.scene_id == "S2"]
    assert new.reference_scene_ids == ("S0", "S1")
    assert new.detector_settings == {"vessels": {"detector": "detect_sar_vessels"}}
    version = (
        _raw(path)
        .execute("SELECT value FROM berthwatch_meta WHERE key = 'schema_version'")
        .fetchone()
    )
    assert version == (str(SCHEMA_VERSION),)
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "ogrinfo is missing: run `make sysdeps` (Debian gdal-bin)"
    out = subprocess.run(
        [ogrinfo, "-ro", "-so", str(path), "observations"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "run_id: String" in out.stdout and "detector_settings: String" in out.stdout
