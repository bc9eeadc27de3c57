"""``berthwatch scenes`` and ``berthwatch fetch``: find a port's scenes, cache its tiles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from flows.options import data_dir_option, port_option, since_option, until_option

__all__ = ["commands"]

source_option = click.option(
    "--source",
    default=None,
    metavar="SOURCE",
    help=(
        "Where to look: earth-search, planetary-computer, cdse, local:PATH (a static STAC "
        "catalogue), folder:PATH (your GeoTIFFs) or stac:URL. Default: local:sample_tiles."
    ),
)
sensor_option = click.option(
    "--sensor",
    type=click.Choice(["sar", "optical"]),
    default=None,
    help="Only radar (Sentinel-1) or only optical scenes. Default: both.",
)


def _search(
    port_id: str, since: dt.datetime, until: dt.datetime, source: str | None, sensor: str | None
) -> tuple[Any, Any, list[Any]]:
    from geo import settings
    from geo.catalog import open_source, utc_window
    from geo.ports import get_port

    port = get_port(port_id)
    utc_window(since.date(), until.date())  # a reversed window fails before any source opens
    src = open_source(source or f"local:{settings.sample_tiles_dir()}")
    # Whole days: --until 2023-10-16 includes that day's scenes.
    scenes = src.search(port, since.date(), until.date(), sensor=sensor)
    return port, src, scenes


def _cloud(scene: Any) -> str:
    return "-" if scene.cloud_cover is None else f"{scene.cloud_cover:.0f}%"


@click.command("scenes")
@port_option
@since_option
@until_option
@source_option
@sensor_option
def scenes_command(
    port_id: str,
    since: dt.datetime,
    until: dt.datetime,
    source: str | None,
    sensor: str | None,
) -> None:
    """List the scenes of a port in a time window.

    Prints each scene's id, time (UTC), sensor, platform, cloud cover and the share of the
    port's AOI inside its footprint; simulated scenes are flagged SIMULATED.

    \b
    Examples:
      berthwatch scenes --port rajin --since 2023-08-20 --until 2023-10-16
      berthwatch scenes --port rajin --since 2023-09-01 --until 2023-09-30 \\
          --source earth-search --sensor sar
    """
    from rich.table import Table

    from flows.output import console

    port, src, scenes = _search(port_id, since, until, source, sensor)
    table = Table(title=f"{port.name}: scenes from {src.name}")
    for col in ("scene", "time (UTC)", "sensor", "platform", "cloud", "AOI covered", "note"):
        table.add_column(col)
    for s in scenes:
        table.add_row(
            s.id,
            f"{s.acquired_utc:%Y-%m-%d %H:%M}",
            s.sensor,
            s.platform,
            _cloud(s),
            f"{100 * s.aoi_coverage(port):.0f}%",
            "SIMULATED" if s.simulated else "",
        )
    out = console()
    out.print(table)
    n_sim = sum(s.simulated for s in scenes)
    out.print(
        f"{len(scenes)} scene(s) of {port.id} from {since:%Y-%m-%d} to {until:%Y-%m-%d}"
        f" ({sum(s.sensor == 'sar' for s in scenes)} sar, "
        f"{sum(s.sensor == 'optical' for s in scenes)} optical; {n_sim} simulated)."
    )


@click.command("fetch")
@port_option
@since_option
@until_option
@source_option
@sensor_option
@data_dir_option
def fetch_command(
    port_id: str,
    since: dt.datetime,
    until: dt.datetime,
    source: str | None,
    sensor: str | None,
    data_dir: str | None,
) -> None:
    """Find the scenes of a port and cache their tiles on the port's grid.

    Tiles go to <data-dir>/tiles/<port>/<scene>.tif (COG); a second run reads them from there.
    A scene that cannot be read after retries is reported and skipped (exit code 1 at the end);
    nothing half-written is ever cached.

    \b
    Example:
      berthwatch fetch --port rajin --since 2023-08-20 --until 2023-10-16
    """
    from rich.table import Table

    from flows.output import console
    from geo import settings
    from geo.errors import TileReadError
    from geo.tiles import read_tile, tile_path

    port, src, scenes = _search(port_id, since, until, source, sensor)
    cache = settings.data_dir(data_dir) / "tiles"
    table = Table(title=f"{port.name}: tiles from {src.name} in {cache}")
    for col in ("scene", "time (UTC)", "sensor", "status", "observed", "note"):
        table.add_column(col)
    failed: list[str] = []
    for s in scenes:
        path = tile_path(s, port, cache_dir=cache)
        before = path.stat().st_mtime_ns if path.is_file() else None
        try:
            tile = read_tile(s, port, cache_dir=cache)
        except TileReadError as err:
            failed.append(str(err))
            table.add_row(s.id, f"{s.acquired_utc:%Y-%m-%d %H:%M}", s.sensor, "FAILED", "-", "")
            continue
        status = "cached" if before is not None and before == path.stat().st_mtime_ns else "read"
        table.add_row(
            s.id,
            f"{s.acquired_utc:%Y-%m-%d %H:%M}",
            s.sensor,
            status,
            f"{100 * tile.valid_fraction:.0f}%",
            "SIMULATED" if s.simulated else "",
        )
    out = console()
    out.print(table)
    out.print(f"{len(scenes) - len(failed)} of {len(scenes)} tile(s) in {cache / port.id}.")
    if failed:
        err = console(stderr=True)
        for line in failed:
            err.print(f"berthwatch: failed: {line}", markup=False, highlight=False)
        raise click.exceptions.Exit(1)


commands = [scenes_command, fetch_command]
