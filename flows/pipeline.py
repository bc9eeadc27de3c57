"""The main job: the ``nightly`` and ``backfill`` flows (Prefect 3), orchestration only.

For each watched port and source: search scenes, skip those already in the store, fetch each
scene's tile onto the port's fixed grid (cached), detect vessels and container stacks, write
observations and detections (one transaction per scene), then update port calls, trips and claim
checks, flag detections for review and render each port's report.

One scene failing (network, corrupt file) is recorded in ``observations`` as failed with its error
and retried on the next night; it never stops the other scenes. Tasks pass scene records, ids and
paths, never arrays.
"""

# No `from __future__ import annotations` here: Prefect builds the flows' parameter models from
# these signatures, and a deployment run cannot resolve string annotations (`RunParams`).

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import PrefectFuture
from prefect.tasks import exponential_backoff
from pydantic import BaseModel, Field, field_validator, model_validator

from flows import progress
from flows.analysis import reference_tiles

__all__ = ["RunParams", "RunSummary", "backfill", "nightly"]

#: A nightly run searches a few days, but its reports look back at least this far.
REPORT_MIN_DAYS = 90


class RunParams(BaseModel):
    """Parameters of a run, validated by Prefect before the flow starts."""

    ports: list[str] = Field(default_factory=lambda: ["rajin", "dunai"], min_length=1)
    source: str = Field(
        "local",
        description="earth-search | planetary-computer | cdse | local[:PATH] | folder:PATH | stac:URL",
        validate_default=True,
    )
    since: dt.date | None = Field(
        None, description="First day (UTC); default: last observation minus the look-back"
    )
    until: dt.date | None = Field(None, description="Last day (UTC); default: today")
    lookback_days: int = Field(
        5, ge=0, le=60, description="Days re-searched before the last observation"
    )
    initial_days: int = Field(
        30, ge=1, description="Days searched when the store has no observation yet"
    )
    data_dir: str = "berthwatch-data"
    reports: bool = True

    @field_validator("ports")
    @classmethod
    def _known_ports(cls, value: list[str]) -> list[str]:
        from geo.ports import get_port, load_ports

        known = load_ports()
        for port_id in value:
            get_port(port_id, known)
        return value

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        """``local`` alone means the embedded sample archive; every spec is checked before the run."""
        from geo.catalog import open_source
        from geo.settings import sample_tiles_dir

        spec = f"local:{sample_tiles_dir()}" if value.strip() == "local" else value.strip()
        open_source(spec)
        return spec

    @model_validator(mode="after")
    def _ordered(self) -> "RunParams":
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since={self.since} is after until={self.until}; swap them.")
        return self


class RunSummary(BaseModel):
    """What a run did, for the terminal and for tests."""

    run_id: str
    store_path: str
    scenes_found: int = 0
    scenes_skipped: int = 0
    scenes_processed: int = 0
    scenes_failed: int = 0
    failures: list[str] = Field(default_factory=list)
    reports: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------- tasks


@task(
    name="search-scenes",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
)
def search_scenes(source: str, port_id: str, since: dt.date, until: dt.date) -> list[Any]:
    """Find the scenes of one port in a source (network: retried with back-off)."""
    from geo.catalog import open_source
    from geo.ports import get_port

    scenes = open_source(source).search(get_port(port_id), since, until)
    get_run_logger().info(
        "%s: %d scene(s) in %s from %s to %s", port_id, len(scenes), source, since, until
    )
    return list(scenes)


@task(name="fetch-tile", retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=3))
def fetch_tile(scene: Any, port_id: str, data_dir: str) -> str:
    """Cut the port out of one scene onto its fixed grid and cache it; return the tile's path."""
    from geo.ports import get_port
    from geo.tiles import fetch_tile_to_cache

    return str(fetch_tile_to_cache(scene, get_port(port_id), cache_dir=Path(data_dir) / "tiles"))


@task(name="detect-and-record")
def detect_and_record(
    scene: Any,
    port_id: str,
    tile_path: str,
    reference_paths: list[str],
    store_path: str,
    run_id: str,
) -> int:
    """Detect vessels and container stacks in one cached tile and write them in one transaction."""
    from flows.analysis import analyse_scene
    from geo.events import EventStore
    from geo.ports import get_port

    port = get_port(port_id)
    observation, detections = analyse_scene(
        scene,
        port,
        tile_path=Path(tile_path),
        reference_paths=[Path(p) for p in reference_paths],
        run_id=run_id,
    )
    with EventStore.open(Path(store_path)) as store:
        store.write_scene(observation, detections)
    get_run_logger().info("%s %s: %d detection(s)", port_id, scene.id, len(detections))
    return len(detections)


@task(name="record-failure")
def record_failure(scene: Any, port_id: str, error: str, store_path: str, run_id: str) -> None:
    """Record a scene that could not be processed, so the next run retries it."""
    from geo.events import EventStore

    with EventStore.open(Path(store_path)) as store:
        store.record_failure(
            scene_id=scene.id,
            port=port_id,
            source=scene.source,
            error=error,
            acquired_utc=scene.acquired_utc,
            collection=scene.collection,
            sensor=scene.sensor,
            platform=scene.platform,
            footprint=scene.footprint,
            simulated=scene.simulated,
            run_id=run_id,
        )


@task(name="update-inferences")
def update_inferences(store_path: str) -> dict[str, int]:
    """Recompute port calls, trips and claim checks from the store (analyst rejections applied)."""
    from geo.claims import load_claims
    from geo.events import EventStore
    from geo.ports import load_ports

    with EventStore.open(Path(store_path)) as store:
        done = store.update_inferences(load_ports(), load_claims())
    return {"port_calls": done.n_port_calls, "trips": done.n_trips, "claims": done.n_claims}


@task(name="flag-for-review")
def flag_for_review(store_path: str, port_id: str, data_dir: str) -> int:
    """Flag this port's detections that an analyst should look at, with image chips."""
    from geo.events import EventStore
    from review.flagging import flag_detections

    with EventStore.open(Path(store_path)) as store:
        return len(flag_detections(store, port=port_id, data_dir=Path(data_dir)))


@task(name="render-report")
def render_report(
    store_path: str, port_id: str, since: dt.date, until: dt.date, data_dir: str
) -> str | None:
    """Render one port's report, ``<data_dir>/reports/<port>.html``; None if the store has nothing yet."""
    from report import render_port_report
    from report.errors import PeriodNotCoveredError

    out = Path(data_dir) / "reports" / f"{port_id}.html"
    try:
        path = render_port_report(
            Path(store_path),
            port_id,
            since=since,
            until=until,
            out_path=out,
            data_dir=Path(data_dir),
        )
    except PeriodNotCoveredError as err:
        get_run_logger().warning("no report for %s: %s", port_id, err)
        return None
    return str(path)


# --------------------------------------------------------------------------------------- flows


@flow(name="berthwatch-nightly", log_prints=False)
def nightly(params: RunParams) -> RunSummary:
    """Process new scenes of every watched port, update inferences, flag and report."""
    return _run(params, flow_name="nightly")


@flow(name="berthwatch-backfill", log_prints=False)
def backfill(params: RunParams) -> RunSummary:
    """The nightly job over a historic window (``since`` and ``until`` required)."""
    if params.since is None or params.until is None:
        raise ValueError("backfill needs both since and until.")
    return _run(params, flow_name="backfill")


def _run(params: RunParams, *, flow_name: str) -> RunSummary:
    from geo.events import EventStore

    logger = get_run_logger()
    data_dir = Path(params.data_dir)
    store_path = data_dir / "events.gpkg"
    data_dir.mkdir(parents=True, exist_ok=True)
    with EventStore.open(store_path) as store:
        run_id = store.start_run(source=params.source, note=flow_name)
        windows = {
            p: _window(
                params,
                store.last_observation_utc(p, params.source),
                [
                    o.acquired_utc
                    for o in store.observations(p, status="failed", source=params.source)
                ],
            )
            for p in params.ports
        }
    summary = RunSummary(run_id=run_id, store_path=str(store_path))

    found = {p: search_scenes.submit(params.source, p, *windows[p]) for p in params.ports}
    todo: list[tuple[str, Any]] = []
    with EventStore.open(store_path) as store:
        for port_id, fut in found.items():
            for scene in fut.result():
                summary.scenes_found += 1
                if store.has_observation(scene.id, port_id):
                    summary.scenes_skipped += 1
                else:
                    todo.append((port_id, scene))
        earlier = {
            p: [(o.sensor, o.acquired_utc, o.tile_path) for o in store.observations(p, status="ok")]
            for p in params.ports
        }
    todo.sort(key=lambda item: (item[0], item[1].acquired_utc, item[1].id))
    logger.info(
        "%d new scene(s) to process, %d already in the store", len(todo), summary.scenes_skipped
    )

    fetched = [
        (port_id, scene, fetch_tile.submit(scene, port_id, str(data_dir)))
        for port_id, scene in todo
    ]
    tiles = _settle_fetches(fetched, summary, str(store_path), run_id)
    _detect_all(tiles, earlier, summary, str(store_path), run_id)

    counts = update_inferences(str(store_path))
    logger.info("inferences: %s", counts)
    for port_id in params.ports:
        flag_for_review(str(store_path), port_id, str(data_dir))
        if params.reports:
            since, until = windows[port_id]
            since = min(since, until - dt.timedelta(days=REPORT_MIN_DAYS))
            path = render_report(str(store_path), port_id, since, until, str(data_dir))
            if path is not None:
                summary.reports.append(path)
    with EventStore.open(store_path) as store:
        store.finish_run(
            run_id,
            scenes_seen=summary.scenes_found,
            scenes_processed=summary.scenes_processed,
            scenes_failed=summary.scenes_failed,
        )
    return summary


def _window(
    params: RunParams, last_utc: dt.datetime | None, failed_utc: Sequence[dt.datetime | None] = ()
) -> tuple[dt.date, dt.date]:
    """The days a run searches: the asked window, or since the last observation minus the
    look-back, reaching back to the oldest scene that failed before so that it is retried."""
    until = params.until or dt.datetime.now(dt.UTC).date()
    if params.since is not None:
        return params.since, until
    if last_utc is None:
        since = until - dt.timedelta(days=params.initial_days)
    else:
        since = last_utc.date() - dt.timedelta(days=params.lookback_days)
    retry = [t.date() for t in failed_utc if t is not None and t.date() <= until]
    return min([since, *retry]), until


def _settle_fetches(
    fetched: Sequence[tuple[str, Any, PrefectFuture[str]]],
    summary: RunSummary,
    store_path: str,
    run_id: str,
) -> list[tuple[str, Any, str]]:
    tiles: list[tuple[str, Any, str]] = []
    for port_id, scene, fut in fetched:
        fut.wait()
        if fut.state.is_completed():
            tiles.append((port_id, scene, fut.result()))
            continue
        _fail(summary, port_id, scene, _state_error(fut), store_path, run_id)
    return tiles


def _detect_all(
    tiles: Sequence[tuple[str, Any, str]],
    earlier: dict[str, list[tuple[str, dt.datetime, str]]],
    summary: RunSummary,
    store_path: str,
    run_id: str,
) -> None:
    history = {p: list(h) for p, h in earlier.items()}
    futures = []
    for port_id, scene, tile_path in tiles:
        sensor = scene.sensor
        refs = reference_tiles(history[port_id], sensor=sensor, before=scene.acquired_utc)
        futures.append(
            (
                port_id,
                scene,
                detect_and_record.submit(scene, port_id, tile_path, refs, store_path, run_id),
            )
        )
        history[port_id].append((sensor, scene.acquired_utc, tile_path))
    total = len(tiles) + summary.scenes_failed
    for port_id, scene, fut in futures:
        fut.wait()
        if fut.state.is_completed():
            summary.scenes_processed += 1
        else:
            _fail(summary, port_id, scene, _state_error(fut), store_path, run_id)
        progress.report(
            progress.Progress(
                done=summary.scenes_processed + summary.scenes_failed,
                total=total,
                failed=summary.scenes_failed,
                last=f"{port_id} {scene.id}",
            )
        )


def _fail(
    summary: RunSummary, port_id: str, scene: Any, error: str, store_path: str, run_id: str
) -> None:
    summary.scenes_failed += 1
    summary.failures.append(f"{port_id} {scene.id}: {error}")
    logging.getLogger(__name__).warning("%s %s failed: %s", port_id, scene.id, error)
    record_failure(scene, port_id, error, store_path, run_id)


def _state_error(fut: PrefectFuture[Any]) -> str:
    try:
        fut.result(raise_on_failure=True)
    except Exception as err:  # noqa: BLE001 - any task failure becomes the recorded error text
        return " ".join(f"{type(err).__name__}: {err}".split())
    return f"task ended in state {fut.state.type.value}"
