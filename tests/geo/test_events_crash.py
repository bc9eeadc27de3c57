"""Kill-and-rerun: a writer killed by SIGKILL between scenes, then re-run, gives the rows of a clean run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geo.events import EventStore
from geo.settings import REPO_ROOT

N_SCENES = 8
N_DETECTIONS = 1500  # ~0.1 s per scene, most of it inside the transaction
KILL_AFTER = 4

# A stand-alone writer, like a nightly run: one transaction per scene, reporting each commit.
_WRITER = f"""
import datetime as dt
import sys

from shapely.geometry import Point, box

from geo.events import DetectionRecord, EventStore, ObservationRecord

path, skip_existing = sys.argv[1], sys.argv[2] == "skip"
t0 = dt.datetime(2023, 9, 1, 2, tzinfo=dt.UTC)
with EventStore.open(path) as store:
    run_id = store.start_run(source="crash-test")
    written = 0
    for n in range({N_SCENES}):
        scene = f"SCENE-{{n:02d}}"
        if skip_existing and store.has_observation(scene, "rajin"):
            continue
        obs = ObservationRecord(
            scene_id=scene, port="rajin", source="sim", acquired_utc=t0 + dt.timedelta(days=n),
            footprint=box(130.2, 42.1, 130.4, 42.3), valid_fraction=1.0 - n / 100,
            zone_valid_fraction={{"rajin-pier1-w": 1.0}}, simulated=True,
        )
        dets = [
            DetectionRecord(
                scene_id=scene, port="rajin", index=i, kind="vessel", zone="open_water",
                geometry=Point(130.25 + i * 1e-4, 42.2).buffer(2e-4, cap_style="square"),
                lon=130.25 + i * 1e-4, lat=42.2, length_m=50.0 + i, width_m=10.0, score=float(n),
            )
            for i in range({N_DETECTIONS})
        ]
        store.write_scene(obs, dets)
        written += 1
        print(f"wrote {{written}}", flush=True)
    store.finish_run(run_id, scenes_seen={N_SCENES}, scenes_processed=written, scenes_failed=0)
print("done", flush=True)
"""


def _run_writer(script: Path, store: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), str(store), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


def _rows(store: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY fid").fetchall()
    finally:
        conn.close()


@pytest.fixture
def writer(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    return script


def _clean_run(writer: Path, store: Path) -> None:
    proc = _run_writer(writer, store, "all")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "done"


def _killed_run(writer: Path, store: Path, delay_s: float) -> int:
    """Start a writer, SIGKILL it *delay_s* after it reports KILL_AFTER scenes; return that count.

    With no delay the kill falls between two scenes; with a delay, inside a later scene's
    transaction (a scene takes ~0.1 s).
    """
    with _run_writer(writer, store, "skip") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        reported = 0
        for line in proc.stdout:
            reported = int(line.split()[1])
            if reported >= KILL_AFTER:
                time.sleep(delay_s)
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    return reported


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    script = folder / "writer.py"
    script.write_text(_WRITER)
    _clean_run(script, folder / "events.gpkg")
    return folder / "events.gpkg"


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [0.0, 0.05])
def test_killed_writer_then_rerun_gives_exactly_the_rows_of_a_clean_run(
    writer: Path, tmp_path: Path, clean_store: Path, delay_s: float
) -> None:
    clean, crashed = clean_store, tmp_path / "crashed" / "events.gpkg"
    reported = _killed_run(writer, crashed, delay_s)
    assert reported == KILL_AFTER
    # After the kill: only whole scenes, at least those reported, never a half-written one.
    with EventStore.open(crashed) as store:
        kept = store.observations()
        assert KILL_AFTER <= len(kept) < N_SCENES
        assert store.count("detections") == len(kept) * N_DETECTIONS
        [run] = store.runs()
        assert (
            run.status == "running" and run.finished_utc is None
        )  # the audit trail shows the kill

    # Re-run (skipping the scenes already stored), as the nightly flow does.
    proc = _run_writer(writer, crashed, "skip")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.splitlines()[-2] == f"wrote {N_SCENES - len(kept)}"

    for table in ("observations", "detections"):
        assert _rows(crashed, table) == _rows(clean, table), table
    # And re-running everything again changes nothing.
    _clean_run(writer, crashed)
    for table in ("observations", "detections"):
        assert _rows(crashed, table) == _rows(clean, table), table
