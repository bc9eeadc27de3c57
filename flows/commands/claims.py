"""``berthwatch claims``: check the published claims against the event store and print the table."""

from __future__ import annotations

from typing import Any

import click

from flows.options import data_dir_option

__all__ = ["commands"]


@click.command("claims")
@data_dir_option
@click.option(
    "--claims",
    "claims_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Claims TOML (default: seeds/claims.toml).",
)
@click.option(
    "--update/--no-update",
    default=True,
    show_default=True,
    help="Recompute port calls, trips and claim checks from the store first (--no-update: print the last stored checks).",
)
@click.option(
    "--brief", is_flag=True, help="Print the table only, without evidence and assumptions."
)
def claims_command(
    data_dir: str | None, claims_path: str | None, update: bool, brief: bool
) -> None:
    """Check each published claim against what the imagery shows and could have missed.

    \b
    For every claim: the observed lower bound (trips, vessels or containers the imagery
    shows), the upper bound given coverage (how many could have happened unseen, from
    revisit, cloud and dwell time), and a verdict: consistent, inconsistent or cannot be
    assessed, with the evidence and the assumptions in words.
    Example:
      berthwatch claims
      berthwatch claims --data-dir berthwatch-data --no-update
    """
    from geo.claims import load_claims
    from geo.events import EventStore, default_store_path
    from geo.ports import load_ports

    # Validate the claims before touching the store: a bad file leaves it as it was.
    ports = load_ports()
    claims = load_claims(claims_path, ports=ports)
    path = default_store_path(data_dir)
    if update:
        with EventStore.open(path, create=False) as store:
            store.update_inferences(ports, claims)
    with EventStore.open(path, readonly=True) as store:
        checks = store.claims()
    if not checks:
        raise click.ClickException(
            f"no claim checks stored in {path}; run `berthwatch claims` without --no-update"
        )
    _print(checks, path, brief=brief)


def _bound(value: float | None) -> str:
    if value is None:
        return "unbounded"
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _print(checks: list[Any], path: Any, *, brief: bool) -> None:
    from rich.table import Table

    from flows.output import console

    out = console()
    simulated = any(c.simulated for c in checks)
    title = f"Claim checks, run {checks[0].run_id} ({path})"
    if simulated:
        title += " - SIMULATED DATA, not real imagery"
    table = Table(title=title)
    for col in (
        "claim",
        "kind",
        "ports",
        "window",
        "claimed",
        "observed >=",
        "upper <=",
        "verdict",
        "obs.",
    ):
        table.add_column(col, no_wrap=col in ("claim", "window"))
    for c in checks:
        table.add_row(
            c.claim_id,
            c.kind,
            " -> ".join(c.ports),
            f"{c.since} .. {c.until}",
            f"{c.comparator} {c.number:g} {c.unit}".strip(),
            _bound(c.lower_bound),
            _bound(c.upper_bound),
            c.verdict,
            str(c.n_observations),
        )
    out.print(table)
    if brief:
        return
    for c in checks:
        out.print(f"\n[bold]{c.claim_id}[/bold]: {c.verdict}", highlight=False)
        out.print(f"  evidence: {c.evidence}", highlight=False, markup=False)
        out.print(f"  assumptions: {c.assumptions}", highlight=False, markup=False)


commands = [claims_command]
