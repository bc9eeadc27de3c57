"""Options shared by the ``berthwatch`` commands (declared once, used everywhere)."""

from __future__ import annotations

import click

__all__ = ["data_dir_option", "port_option", "since_option", "until_option"]

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
