"""The nightly flow end to end on a small simulated archive, under a real Prefect test server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from flows.analysis import MIN_REFERENCE_SCENES
from geo.events import EventStore

pytestmark = pytest.mark.usefixtures("prefect_harness")

_SINCE, _UNTIL = dt.date(2023, 9, 1), dt.date(2023, 9, 12)


def _run(archive: Path, data_dir: Path, **kwargs: Any) -> Any:
    from flows.pipeline import RunParams, nightly

    params = RunParams(
        **{
            "source": f"local:{archive}",
            "since": _SINCE,
            "until": _UNTIL,
            "data_dir": str(data_dir),
            **kwargs,
        }
    )
    return nightly(params)


def _rows(store_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The store's observations, detections, port calls and trips, minus run-specific fields."""
    with EventStore.open(store_path, readonly=True) as store:
        obs = [
            (o.scene_id, o.port, o.status, round(o.valid_fraction, 6), o.sensor)
            for o in store.observations()
        ]
        dets = [
            (d.detection_id, d.zone, round(d.lon, 7), round(d.lat, 7), d.length_m, d.area_m2)
            for d in store.detections()
        ]
        calls = [(c.port, c.berth, c.first_seen_utc, c.last_seen_utc) for c in store.port_calls()]
        trips = [(t.from_port, t.to_port, t.depart_after_utc) for t in store.trips()]
    return {"observations": obs, "detections": dets, "port_calls": calls, "trips": trips}


@pytest.fixture(scope="module")
def first_run(mini_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    data_dir = tmp_path_factory.mktemp("run")
    return data_dir, _run(mini_archive, data_dir, reports=True)


def test_nightly_processes_every_scene_and_writes_store_and_reports(
    first_run: tuple[Path, Any],
) -> None:
    data_dir, summary = first_run
    assert summary.scenes_found > 4
    assert summary.scenes_processed == summary.scenes_found
    assert summary.scenes_failed == 0
    rows = _rows(data_dir / "events.gpkg")
    assert len(rows["observations"]) == summary.scenes_found
    assert {o[1] for o in rows["observations"]} == {"rajin", "dunai"}
    assert rows["detections"], "the simulated ports hold vessels and container stacks"
    assert sorted(Path(p).name for p in summary.reports) == ["dunai.html", "rajin.html"]
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        assert store.claims(), "claim checks are written by the run"
        assert store.runs()[-1].scenes_processed == summary.scenes_processed


def test_every_observation_records_its_run_reference_scenes_and_detector_settings(
    first_run: tuple[Path, Any],
) -> None:
    from detection import OpticalParams, SarParams

    data_dir, _ = first_run
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        (run,) = store.runs()
        observations = store.observations()
    seen: dict[tuple[str, str], list[str]] = {}
    for o in observations:
        assert o.run_id == run.run_id
        vessels = o.detector_settings["vessels"]
        sensor = "sar" if vessels["detector"] == "detect_sar_vessels" else "optical"
        default = SarParams() if sensor == "sar" else OpticalParams()
        assert vessels["params"] == json.loads(json.dumps(dataclasses.asdict(default)))
        assert o.detector_settings["containers"]["detector"] == "measure_container_stacks"
        earlier = seen.setdefault((o.port, sensor), [])
        # The reference is the median of earlier scenes of the same port and sensor, once
        # there are enough of them; before that the detectors run without one.
        if len(earlier) >= MIN_REFERENCE_SCENES:
            assert o.reference_scene_ids and set(o.reference_scene_ids) <= set(earlier)
        else:
            assert o.reference_scene_ids == ()
        earlier.append(o.scene_id)


def test_second_run_processes_no_scene_twice(
    mini_archive: Path, first_run: tuple[Path, Any]
) -> None:
    data_dir, summary = first_run
    before = _rows(data_dir / "events.gpkg")
    again = _run(mini_archive, data_dir, reports=False)
    assert again.scenes_found == summary.scenes_found
    assert again.scenes_skipped == again.scenes_found
    assert again.scenes_processed == 0
    assert _rows(data_dir / "events.gpkg") == before


def test_one_corrupt_tile_fails_alone(mini_archive: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(mini_archive, archive)
    victim = sorted(archive.rglob("sim-s2-rajin-*_nir.tif"))[0]
    good = victim.read_bytes()
    victim.write_bytes(good[:3000])  # cut short: a header, no pixels
    data_dir = tmp_path / "data"
    summary = _run(archive, data_dir, reports=False)
    assert summary.scenes_failed == 1
    assert summary.scenes_processed == summary.scenes_found - 1
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        failed = store.observations(status="failed")
        assert len(failed) == 1 and failed[0].scene_id in victim.name
        assert "the file is damaged or cut short" in failed[0].error
        assert failed[0].run_id == store.runs()[-1].run_id
        assert len(store.observations(status="ok")) == summary.scenes_found - 1
        assert not store.detections(scene_id=failed[0].scene_id)
        failed_scene, last_ok = failed[0].scene_id, store.last_observation_utc("rajin")

    # The next night (no --since: the window starts a day before the last observation, after
    # the failed scene) retries the failed scene once its file is whole again.
    assert last_ok is not None and failed[0].acquired_utc is not None
    assert (last_ok - failed[0].acquired_utc).days > 1
    victim.write_bytes(good)
    retry = _run(archive, data_dir, reports=False, since=None, lookback_days=1)
    assert retry.scenes_processed == 1 and retry.scenes_failed == 0
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        assert not store.observations(status="failed")
        (retried,) = [o for o in store.observations() if o.scene_id == failed_scene]
        assert retried.status == "ok" and retried.run_id == store.runs()[-1].run_id


@pytest.mark.slow
def test_dask_cluster_gives_the_same_store(
    mini_archive: Path, first_run: tuple[Path, Any], tmp_path: Path
) -> None:
    from prefect_dask import DaskTaskRunner

    from flows.pipeline import RunParams, nightly

    data_dir = tmp_path / "dask"
    params = RunParams(
        source=f"local:{mini_archive}",
        since=_SINCE,
        until=_UNTIL,
        data_dir=str(data_dir),
        reports=False,
    )
    runner = DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 2,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
    summary = nightly.with_options(task_runner=runner)(params)
    assert summary.scenes_processed == first_run[1].scenes_processed
    assert _rows(data_dir / "events.gpkg") == _rows(first_run[0] / "events.gpkg")


def test_run_command_prints_the_summary_and_skips_known_scenes(
    mini_archive: Path, first_run: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from flows.cli import cli

    for key in ("PREFECT_HOME", "PREFECT_LOGGING_LEVEL"):
        monkeypatch.delenv(key, raising=False)
    data_dir, summary = first_run
    args = ["run", "--data-dir", str(data_dir), "--source", f"local:{mini_archive}"]
    args += ["--since", str(_SINCE), "--until", str(_UNTIL), "--no-reports"]
    result = CliRunner().invoke(cli, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"{summary.scenes_found} scene(s) found, 0 processed" in result.output
    assert "Claim checks" in result.output and "csis-six-trips" in result.output
    assert "SIMULATED" in result.output
