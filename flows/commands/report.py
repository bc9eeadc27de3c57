"""``berthwatch report``: one port's report (self-contained HTML, optionally PDF)."""

from __future__ import annotations

import datetime as dt

import click

from flows.options import (
    check_overwrite,
    data_dir_option,
    overwrite_option,
    port_option,
    since_option,
    until_option,
)

__all__ = ["commands"]


@click.command("report")
@port_option
@since_option
@until_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf"]),
    default="html",
    show_default=True,
    help="html: one self-contained file; pdf: the HTML printed by headless Chromium (HTML kept beside it).",
)
@data_dir_option
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Output file. Default: <data-dir>/reports/<port>_<since>_<until>.<format>.",
)
@overwrite_option
@click.option(
    "--chromium",
    type=click.Path(dir_okay=False),
    default=None,
    hidden=True,
    help="Chromium executable for PDF output (default: /usr/bin/chromium or one on PATH).",
)
def report_command(
    port_id: str,
    since: dt.datetime,
    until: dt.datetime,
    fmt: str,
    data_dir: str | None,
    out_path: str | None,
    overwrite: bool,
    chromium: str | None,
) -> None:
    """Write one port's report for SINCE..UNTIL (UTC days, both included).

    \b
    The HTML embeds every image (no external requests): open it offline or send it by e-mail.
    Example:
      berthwatch report --port rajin --since 2023-08-01 --until 2023-11-01
      berthwatch report --port dunai --since 2023-08-01 --until 2023-11-01 --format pdf
    """
    from pathlib import Path

    from flows.errors import FlowError
    from geo.events import default_store_path
    from geo.settings import data_dir as resolve_data_dir
    from report import ReportError, default_report_path, render_port_report

    if since.date() > until.date():
        raise click.BadParameter(
            f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}; swap them.",
            param_hint="--since/--until",
        )
    home = resolve_data_dir(data_dir)
    out = Path(out_path) if out_path else default_report_path(home, port_id, since, until, fmt)
    check_overwrite(out, overwrite)
    try:
        written = render_port_report(
            default_store_path(home),
            port_id,
            since=since.date(),
            until=until.date(),
            out_path=out,
            data_dir=home,
            fmt=fmt,
            chromium=chromium,
        )
    except ReportError as err:
        # One line on stderr and exit 2, like every project error (see flows.cli).
        raise FlowError(str(err)) from err
    click.echo(str(written))


commands = [report_command]
