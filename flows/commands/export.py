"""``berthwatch export``: one layer of the event store as GeoParquet or GeoJSON."""

from __future__ import annotations

import click

from flows.options import check_overwrite, data_dir_option, overwrite_option

__all__ = ["commands"]

#: The event store's layers (geo.events.LAYERS; kept here so `--help` stays fast).
LAYERS = ("observations", "detections", "port_calls", "trips", "claims", "reviews", "runs")
_SUFFIXES = {
    ".parquet": "geoparquet",
    ".geoparquet": "geoparquet",
    ".geojson": "geojson",
    ".json": "geojson",
}


@click.command("export")
@click.option("--layer", type=click.Choice(LAYERS), required=True, help="Layer of the event store.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geoparquet", "geojson"]),
    default=None,
    help="Output format (default: from the --out suffix, .parquet or .geojson).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="Output file.",
)
@overwrite_option
@data_dir_option
def export_command(
    layer: str, fmt: str | None, out_path: str, overwrite: bool, data_dir: str | None
) -> None:
    """Export one layer of the event store (EPSG:4326) to GeoParquet or GeoJSON.

    \b
    Attribute layers (claims, reviews, runs) are written with an empty geometry.
    Example:
      berthwatch export --layer detections --format geoparquet --out detections.parquet
      berthwatch export --layer trips --out trips.geojson
    """
    from pathlib import Path

    from geo.events import EventStore, default_store_path

    out = Path(out_path)
    if fmt is None:
        fmt = _SUFFIXES.get(out.suffix.lower())
        if fmt is None:
            raise click.BadParameter(
                f"cannot tell the format from {out.name!r}; pass --format geoparquet or geojson.",
                param_hint="--format",
            )
    check_overwrite(out, overwrite)
    with EventStore.open(default_store_path(data_dir), readonly=True) as store:
        n = store.export(layer, out, fmt="geoparquet" if fmt == "geoparquet" else "geojson")
    click.echo(f"wrote {n} {layer} to {out} ({fmt})")


commands = [export_command]
