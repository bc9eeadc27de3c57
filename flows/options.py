"""Options shared by the ``berthwatch`` commands (declared once, used everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = [
    "check_overwrite",
    "data_dir_option",
    "overwrite_option",
    "port_option",
    "ports_option",
    "since_option",
    "until_option",
]

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, writable=True),
    default=None,
    envvar="BERTHWATCH_HOME",
    show_envvar=True,
    help="Data folder (event store, tile cache, reports). Default: ./berthwatch-data.",
)
port_option = click.option(
    "--port", "port_id", required=True, help="Port id, e.g. rajin (see `berthwatch ports`)."
)
since_option = click.option(
    "--since", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD (UTC)."
)
until_option = click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day, YYYY-MM-DD (UTC)."
)

overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace the output file if it exists (default: refuse)."
)


def check_overwrite(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing output unless ``--overwrite`` was given."""
    if out.exists() and not overwrite:
        raise click.BadParameter(
            f"{out} exists; pass --overwrite to replace it or choose another --out.",
            param_hint="--out",
        )


def _split_ports(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    ids = tuple(p.strip() for p in value.split(",") if p.strip())
    if not ids:
        raise click.BadParameter(
            "give at least one port id, e.g. rajin,dunai.", ctx=ctx, param=param
        )
    return ids


def ports_option(default: str = "rajin,dunai") -> Any:
    """``--ports a,b``: comma-separated port ids, passed on as a tuple."""
    return click.option(
        "--ports",
        "port_ids",
        default=default,
        show_default=True,
        callback=_split_ports,
        help="Comma-separated port ids (see `berthwatch ports`).",
    )
