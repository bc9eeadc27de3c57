"""One scene's analysis records where its numbers came from: run, reference scenes, settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from detection import SarParams
from flows.analysis import MIN_REFERENCE_SCENES, analyse_scene, reference_tiles
from geo.catalog import open_source
from geo.ports import get_port
from geo.settings import REPO_ROOT
from geo.tiles import fetch_tile_to_cache


def test_reference_scenes_and_settings_are_recorded_with_the_observation(tmp_path: Path) -> None:
    port = get_port("rajin")
    scenes = open_source(f"local:{REPO_ROOT / 'sample_tiles'}").search(
        port, dt.date(2023, 8, 1), dt.date(2023, 10, 31), sensor="sar"
    )
    assert len(scenes) > MIN_REFERENCE_SCENES, "the sample archive holds enough Rajin S1 scenes"
    assert [s.acquired_utc for s in scenes] == sorted(s.acquired_utc for s in scenes)
    earlier, scene = scenes[:MIN_REFERENCE_SCENES], scenes[MIN_REFERENCE_SCENES]
    paths = [fetch_tile_to_cache(s, port, cache_dir=tmp_path) for s in (*earlier, scene)]

    with_ref, _ = analyse_scene(
        scene, port, tile_path=paths[-1], reference_paths=paths[:-1], run_id="run-1"
    )
    assert with_ref.run_id == "run-1"
    assert with_ref.reference_scene_ids == tuple(s.id for s in earlier)
    vessels = with_ref.detector_settings["vessels"]
    assert vessels["detector"] == "detect_sar_vessels" and vessels["bands"] == ["vv"]
    assert vessels["params"] == dataclasses.asdict(SarParams())
    assert with_ref.detector_settings["containers"]["detector"] == "measure_container_stacks"

    # Too few earlier scenes: no reference is built, and the observation says so.
    alone, _ = analyse_scene(
        scene, port, tile_path=paths[-1], reference_paths=paths[:1], run_id="run-1"
    )
    assert alone.reference_scene_ids == ()
    assert alone.detector_settings == with_ref.detector_settings


def test_reference_is_the_latest_earlier_scenes_of_the_sensor_in_any_processing_order() -> None:
    from detection.reference import REFERENCE_SCENES

    day = [dt.datetime(2023, 9, d, 10, tzinfo=dt.UTC) for d in range(1, 31)]
    history = [("sar", day[d], f"s1-{d}") for d in range(0, 30, 2)]
    history += [("optical", day[d], f"s2-{d}") for d in range(1, 30, 2)]
    history.append(("sar", None, "s1-no-time"))
    in_order = reference_tiles(history, sensor="sar", before=day[21])
    assert in_order == [f"s1-{d}" for d in range(20 - 2 * (REFERENCE_SCENES - 1), 21, 2)]
    # A backfill of an older period after a newer one: the history arrives out of order, and
    # scenes acquired after the one analysed never feed its reference.
    assert reference_tiles(history[::-1], sensor="sar", before=day[21]) == in_order
    assert reference_tiles(history, sensor="optical", before=day[4]) == ["s2-1", "s2-3"]
    assert reference_tiles(history, sensor="sar", before=day[0]) == []
