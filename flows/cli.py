"""The ``berthwatch`` command line: thin commands that parse, call and exit.

Project errors (bad input files, unknown ports, unreadable rasters...) print one line on stderr and
exit with code 2; ``-v`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

__all__ = ["cli", "main"]

# Command modules under flows/commands/, each exposing ``commands``: a list of click commands.
# Imported lazily per invocation cost: `berthwatch --help` must not import Prefect.
_COMMAND_MODULES = (
    "claims",
    "detect",
    "export",
    "pipeline",
    "ports",
    "report",
    "review",
    "scenes",
    "simulate",
)


def _user_errors() -> tuple[type[BaseException], ...]:
    from detection.errors import DetectionError
    from flows.errors import FlowError
    from geo.errors import GeoError
    from report.errors import ReportError

    return (GeoError, DetectionError, FlowError, ReportError, OSError)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _user_errors() as err:
            if ctx.obj and ctx.obj.get("verbosity", 0) > 0:
                raise
            raise _UserError(_one_line(err)) from err


class _UserError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"berthwatch: error: {self.format_message()}", err=True)


def _one_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if isinstance(err, OSError) and err.filename and str(err.filename) not in text:
        text = f"{err.filename}: {text}"
    return " ".join(text.split())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-v", "--verbose", count=True, help="More log output (repeat for debug); tracebacks on errors."
)
@click.option("-q", "--quiet", count=True, help="Less log output.")
@click.version_option(package_name="berthwatch")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """berthwatch: watch ports from space.

    Finds vessels and container stacks in Sentinel-1/2 imagery of watched ports, logs them as
    events, infers port calls and trips, and checks published claims against what the imagery
    can and cannot show.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbosity"] = verbose - quiet
    level = max(logging.DEBUG, min(logging.WARNING - 10 * (verbose - quiet), logging.CRITICAL))
    # The level goes on the handler too: Prefect's loggers carry their own (INFO) level and
    # propagate to the root, so a root-level setting alone would still print their chatter.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


for _name in _COMMAND_MODULES:
    for _cmd in importlib.import_module(f"flows.commands.{_name}").commands:
        cli.add_command(_cmd)


def main() -> None:
    """Entry point of the ``berthwatch`` console script."""
    sys.exit(cli.main(prog_name="berthwatch"))
