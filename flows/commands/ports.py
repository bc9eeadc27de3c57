"""``berthwatch ports``: the watched ports and their zones."""

from __future__ import annotations

import click

__all__ = ["commands"]


@click.command("ports")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Ports GeoJSON (default: seeds/ports.geojson).",
)
def ports_command(path: str | None) -> None:
    """List the watched ports and their zones.

    \b
    Example:
      berthwatch ports
    """
    from rich.table import Table

    from flows.output import console
    from geo.ports import load_ports

    ports = load_ports(path)
    table = Table(title="Watched ports (all geometries approximate, hand-placed)")
    for col in ("port", "name", "CRS", "grid (rows x cols @ m)", "zone", "kind", "zone name"):
        table.add_column(col)
    for port in ports.values():
        rows, cols = port.grid.shape
        head = [
            port.id,
            port.name,
            f"EPSG:{port.utm_crs.to_epsg()}",
            f"{rows} x {cols} @ {port.grid.pixel_size_m:g}",
        ]
        for i, zone in enumerate(port.zones):
            table.add_row(*(head if i == 0 else [""] * 4), zone.id, zone.kind, zone.name)
        table.add_section()
    console().print(table)


commands = [ports_command]
