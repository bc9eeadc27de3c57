"""``berthwatch review``: the analysts' review web app, and ``review add-user``."""

from __future__ import annotations

from typing import Any

import click

from flows.options import data_dir_option

__all__ = ["commands"]


class _ReviewFailure(click.ClickException):
    """A project error (users file, existing user): one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"berthwatch: error: {self.format_message()}", err=True)


@click.group("review", invoke_without_command=True)
@data_dir_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but localhost exposes the app to the network (no TLS).",
)
@click.option(
    "--port",
    "port_number",
    type=click.IntRange(1, 65535),
    default=8765,
    show_default=True,
    help="TCP port.",
)
@click.pass_context
def review_group(ctx: click.Context, data_dir: str | None, host: str, port_number: int) -> None:
    """Start the analysts' review web app (http://127.0.0.1:8765 by default).

    Analysts sign in with a token from `berthwatch review add-user NAME`, go through the
    detections the nightly run flagged (keys y / n / u decide, j / k move), and their decisions
    are appended to the store's reviews: rejected detections leave port calls, trips and claim
    checks at the next update.

    \b
    Examples:
      berthwatch review add-user alice
      berthwatch review --data-dir berthwatch-data
    """
    if ctx.invoked_subcommand is not None:
        return
    from geo.settings import data_dir as resolve_data_dir
    from review.auth import list_users
    from review.errors import ReviewError
    from review.server import is_loopback, serve

    root = resolve_data_dir(data_dir)
    if not is_loopback(host):
        click.echo(
            f"berthwatch: warning: binding {host}: the review app is reachable from the network "
            "and serves plain HTTP; prefer 127.0.0.1 or put it behind an HTTPS proxy.",
            err=True,
        )
    try:
        if not list_users(root):
            click.echo(
                f"berthwatch: warning: no analysts in {root}; add one with "
                "`berthwatch review add-user NAME` (nobody can sign in yet).",
                err=True,
            )
    except ReviewError as err:
        raise _ReviewFailure(str(err)) from err
    if not (root / "events.gpkg").exists():
        click.echo(
            f"berthwatch: warning: no event store in {root} yet; the queue is empty.", err=True
        )
    click.echo(f"berthwatch review: http://{host}:{port_number}/ (Ctrl-C to stop)", err=True)
    serve(root, host=host, port=port_number)


@review_group.command("add-user")
@click.argument("name")
@data_dir_option
@click.option(
    "--password",
    "ask_password",
    is_flag=True,
    help="Prompt for a password (8+ characters) instead of generating a random token.",
)
@click.option("--overwrite", is_flag=True, help="Reset the token of an existing analyst.")
@click.pass_context
def add_user_command(
    ctx: click.Context, name: str, data_dir: str | None, ask_password: bool, overwrite: bool
) -> None:
    """Add an analyst NAME and print their sign-in token (stored only as a salted scrypt hash).

    \b
    Examples:
      berthwatch review add-user alice
      berthwatch review add-user bob --password
    """
    from geo.settings import data_dir as resolve_data_dir
    from review.auth import add_user, users_path
    from review.errors import ReviewError

    # An explicit --data-dir after add-user wins, then one before it, then $BERTHWATCH_HOME.
    parent = ctx.parent
    if (
        ctx.get_parameter_source("data_dir") != click.core.ParameterSource.COMMANDLINE
        and parent is not None
        and parent.get_parameter_source("data_dir") == click.core.ParameterSource.COMMANDLINE
    ):
        data_dir = parent.params["data_dir"]
    root = resolve_data_dir(data_dir)
    password = (
        click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if ask_password
        else None
    )
    try:
        token = add_user(root, name, password=password, overwrite=overwrite)
    except ReviewError as err:  # an existing analyst, an unreadable users file
        raise _ReviewFailure(str(err)) from err
    except ValueError as err:
        hint = "NAME" if "name" in str(err) else "--password"
        raise click.BadParameter(str(err), param_hint=hint) from err
    click.echo(f"Added analyst {name} to {users_path(root)}.", err=True)
    if ask_password:
        click.echo("Sign in with that password.", err=True)
    else:
        click.echo("Their sign-in token (shown once; only its hash is stored):", err=True)
        click.echo(token)


commands = [review_group]
