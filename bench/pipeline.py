"""Demo wall time, Prefect overhead and per-scene cost of the main job.

Runs ``berthwatch demo`` in fresh processes (as a user would): once with a fresh data folder
(Prefect database migrated on first use), once more in the same folder (every scene already in
the store: what is left is Prefect start-up, searching and the end-of-run steps), then times the
per-scene analysis without Prefect. Prints figures; asserts nothing.

    .venv/bin/python bench/pipeline.py
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds detection.py: the project root must come first or `import detection` finds it.
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent / "berthwatch"


def _demo(data_dir: Path) -> float:
    env = {**os.environ, "BERTHWATCH_HOME": str(data_dir)}
    t0 = time.perf_counter()
    subprocess.run([str(BIN), "-q", "demo"], check=True, env=env, cwd=ROOT, capture_output=True)
    return time.perf_counter() - t0


def _per_scene(data_dir: Path) -> list[float]:
    from flows.analysis import analyse_scene, reference_tiles
    from geo.catalog import open_source
    from geo.events import EventStore
    from geo.ports import load_ports
    from geo.settings import sample_tiles_dir

    ports = load_ports()
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        observations = store.observations(status="ok")
    scenes = {}
    for port_id in {o.port for o in observations}:
        for scene in open_source(f"local:{sample_tiles_dir()}").search(
            ports[port_id], dt.date(2023, 8, 1), dt.date(2023, 11, 1)
        ):
            scenes[(scene.id, port_id)] = scene
    costs = []
    history: dict[str, list[tuple[str, dt.datetime | None, Path]]] = {}
    for o in observations:
        history.setdefault(o.port, []).append((o.sensor, o.acquired_utc, Path(o.tile_path)))
    for o in observations:
        refs = reference_tiles(history[o.port], sensor=o.sensor, before=o.acquired_utc)
        t0 = time.perf_counter()
        analyse_scene(
            scenes[(o.scene_id, o.port)],
            ports[o.port],
            tile_path=Path(o.tile_path),
            reference_paths=refs,
        )
        costs.append(time.perf_counter() - t0)
    return costs


def main() -> None:
    print(
        f"# bench/pipeline.py  {time.strftime('%Y-%m-%d')}  {platform.machine()} {os.cpu_count()} cores  Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        cold = _demo(data_dir)
        warm = _demo(data_dir)
        fresh_store = Path(tmp) / "data2"
        fresh_store.mkdir()
        os.symlink(data_dir / "prefect", fresh_store / "prefect")
        migrated = _demo(fresh_store)
        costs = _per_scene(data_dir)
    n = len(costs)
    print(
        f"demo, fresh clone (new data folder, Prefect DB migrated on first use): {cold:6.1f} s wall"
    )
    print(
        f"demo, new data folder, Prefect DB already migrated:                   {migrated:6.1f} s wall"
    )
    print(
        f"demo again, same folder (all {n} scenes skipped: Prefect + search + inference + reports): {warm:6.1f} s wall"
    )
    print(
        f"per-scene analysis without Prefect (read tile + references, detect, records): n={n}, "
        f"median {statistics.median(costs):.2f} s, max {max(costs):.2f} s, total {sum(costs):.1f} s"
    )
    print(
        f"Prefect and end-of-run overhead in a full run ~ {migrated - sum(costs):.1f} s "
        f"({(migrated - sum(costs)) / migrated:.0%} of the wall time)"
    )


if __name__ == "__main__":
    main()
