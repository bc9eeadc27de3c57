"""``berthwatch demo | run | backfill | schedule``: the main job from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from flows.options import data_dir_option, ports_option

__all__ = ["commands"]

_DEMO_SINCE = dt.date(2023, 8, 1)
_DEMO_UNTIL = dt.date(2023, 11, 1)


def _source_option(default: str = "local") -> Any:
    return click.option(
        "--source",
        default=default,
        show_default=True,
        help="earth-search | planetary-computer | cdse | local[:PATH] (default sample_tiles/) | folder:PATH",
    )


_workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run scene tasks on a local Dask cluster of N worker processes.",
)
_scheduler_option = click.option(
    "--dask-scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run scene tasks on an existing Dask scheduler.",
)


def _params(**kwargs: Any) -> Any:
    from pydantic import ValidationError

    from flows.errors import FlowError
    from flows.pipeline import RunParams

    try:
        return RunParams(ports=list(kwargs.pop("port_ids")), **kwargs)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "parameters"
        raise FlowError(f"{where}: {first['msg']}") from None


def _execute(flow_name: str, params: Any, workers: int | None, scheduler: str | None) -> Any:
    from flows.runtime import configure_prefect

    ctx = click.get_current_context()
    configure_prefect(
        Path(params.data_dir).resolve(), verbosity=(ctx.obj or {}).get("verbosity", 0)
    )
    from flows import pipeline

    flow = getattr(pipeline, flow_name)
    if workers or scheduler:
        from prefect_dask import DaskTaskRunner

        runner = (
            DaskTaskRunner(address=scheduler)
            if scheduler
            else DaskTaskRunner(
                cluster_kwargs={
                    "n_workers": workers,
                    "threads_per_worker": 1,
                    "processes": True,
                    "dashboard_address": None,
                }
            )
        )
        flow = flow.with_options(task_runner=runner)
    return flow(params)


def _print_summary(summary: Any, *, demo: bool) -> None:
    from flows.output import console
    from flows.summary import summary_table

    out = console()
    if demo:
        out.print(
            "[bold yellow]SIMULATED DATA[/]: the Rajin and Dunai tiles in sample_tiles/ are simulated "
            "(known truth), not real imagery."
        )
    for renderable in summary_table(summary):
        out.print(renderable)


@click.command("demo")
@data_dir_option
@_workers_option
@_scheduler_option
def demo_command(data_dir: str | None, workers: int | None, dask_scheduler: str | None) -> None:
    """Run the main job on the embedded sample archive (offline) and print a summary.

    Processes the simulated Rajin and Dunai series in sample_tiles/ into the data folder, then
    prints scenes, detections, port calls, trips, claim verdicts and where the reports are.
    Running it again processes no scene twice.

    \b
    Example:
      berthwatch demo
      berthwatch demo --data-dir /tmp/bw --workers 2
    """
    from geo.settings import data_dir as resolve

    params = _params(
        port_ids=("rajin", "dunai"),
        source="local",  # the embedded sample archive
        since=_DEMO_SINCE,
        until=_DEMO_UNTIL,
        data_dir=str(resolve(data_dir)),
    )
    summary = _execute("nightly", params, workers, dask_scheduler)
    _print_summary(summary, demo=True)


@click.command("run")
@data_dir_option
@ports_option()
@_source_option()
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day (default: last observation minus the look-back).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day (default: today, UTC).",
)
@click.option(
    "--lookback-days",
    type=click.IntRange(0, 60),
    default=5,
    show_default=True,
    help="Days re-searched for late items.",
)
@click.option("--no-reports", is_flag=True, help="Skip rendering the per-port reports.")
@_workers_option
@_scheduler_option
def run_command(
    data_dir: str | None,
    port_ids: tuple[str, ...],
    source: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    lookback_days: int,
    no_reports: bool,
    workers: int | None,
    dask_scheduler: str | None,
) -> None:
    """Run the nightly job once: new scenes since the last observation of each port.

    \b
    Examples:
      berthwatch run --source local:sample_tiles
      berthwatch run --ports rajin --source earth-search
    """
    from geo.settings import data_dir as resolve

    params = _params(
        port_ids=port_ids,
        source=source,
        since=since.date() if since else None,
        until=until.date() if until else None,
        lookback_days=lookback_days,
        data_dir=str(resolve(data_dir)),
        reports=not no_reports,
    )
    _print_summary(_execute("nightly", params, workers, dask_scheduler), demo=False)


@click.command("backfill")
@data_dir_option
@ports_option()
@_source_option()
@click.option(
    "--since", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD."
)
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day, YYYY-MM-DD."
)
@_workers_option
@_scheduler_option
def backfill_command(
    data_dir: str | None,
    port_ids: tuple[str, ...],
    source: str,
    since: dt.datetime,
    until: dt.datetime,
    workers: int | None,
    dask_scheduler: str | None,
) -> None:
    """Process a historic window, with a progress bar (scenes done / total, failures).

    \b
    Example:
      berthwatch backfill --since 2023-08-01 --until 2023-11-01 --source earth-search
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows import progress
    from flows.output import console
    from geo.settings import data_dir as resolve

    params = _params(
        port_ids=port_ids,
        source=source,
        since=since.date(),
        until=until.date(),
        data_dir=str(resolve(data_dir)),
    )
    bar = Progress(
        TextColumn("scenes"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed: {task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=console(stderr=True),
    )
    with bar:
        task_id = bar.add_task("scenes", total=None, failed=0, last="")

        def listener(p: progress.Progress) -> None:
            bar.update(task_id, completed=p.done, total=p.total, failed=p.failed, last=p.last)

        with progress.reporting(listener):
            summary = _execute("backfill", params, workers, dask_scheduler)
    _print_summary(summary, demo=False)


@click.command("schedule")
@data_dir_option
@click.option(
    "--cron",
    default="0 2 * * *",
    show_default=True,
    help="Cron expression (UTC) for the nightly run.",
)
@ports_option()
@_source_option("earth-search")
@click.option("--name", default="nightly", show_default=True, help="Deployment name.")
def schedule_command(
    data_dir: str | None, cron: str, port_ids: tuple[str, ...], source: str, name: str
) -> None:
    """Serve the nightly flow as a Prefect deployment on a cron schedule (blocks; Ctrl-C stops).

    Schedules fire only with a real Prefect server: start one with
    `prefect server start --host 127.0.0.1` and set PREFECT_API_URL=http://127.0.0.1:4200/api.

    \b
    Example:
      berthwatch schedule --cron "0 2 * * *" --ports rajin,dunai --source earth-search
    """
    from flows.runtime import configure_prefect
    from geo.settings import data_dir as resolve

    params = _params(port_ids=port_ids, source=source, data_dir=str(resolve(data_dir).resolve()))
    if not _valid_cron(cron):
        raise click.BadParameter(
            f"{cron!r} is not a 5-field cron expression, e.g. '0 2 * * *'.", param_hint="--cron"
        )
    configure_prefect(Path(params.data_dir))
    from prefect.schedules import Cron

    from flows.pipeline import nightly

    # An explicit UTC zone: with none, Prefect 3.9's server scheduler fails on the cron
    # ("tzinfo must be of type ZoneInfo") and never creates a run.
    nightly.serve(
        name=name,
        schedules=[Cron(cron, timezone="UTC")],
        parameters={"params": params.model_dump(mode="json")},
    )


def _valid_cron(expr: str) -> bool:
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=expr)
    except ValidationError:
        return False
    return len(expr.split()) == 5


commands = [demo_command, run_command, backfill_command, schedule_command]
