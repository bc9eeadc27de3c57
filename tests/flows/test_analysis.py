"""One scene's analysis records where its numbers came from: run, reference scenes, settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from detection import SarParams
from flows.analysis import MIN_REFERENCE_SCENES, analyse_scene
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
