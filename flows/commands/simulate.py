"""``berthwatch simulate``: write a simulated Sentinel-1/2 archive of ports, with its truth."""

from __future__ import annotations

import shlex
import time
from datetime import datetime
from typing import TYPE_CHECKING

import click

from flows.options import ports_option

if TYPE_CHECKING:
    from geo.simulate import SimulationParams

__all__ = ["commands"]


@click.command("simulate")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder for the archive (STAC catalogue, COG tiles, truth/).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option(
    "--plan",
    type=click.Choice(["realistic", "daily-clear"]),
    default="realistic",
    show_default=True,
    help="realistic: S1 every 12 days, S2 every 5 days with clouds; daily-clear: one cloud-free S2 and one S1 scene per port per day.",
)
@ports_option()
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default="2023-08-10",
    show_default=True,
    help="First day, YYYY-MM-DD (UTC).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default="2023-10-20",
    show_default=True,
    help="Last day, YYYY-MM-DD (UTC).",
)
@click.option(
    "--real-samples",
    "real_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Also copy the real Sentinel samples from this folder (holding s2_ports/ and s1_scenes/).",
)
@click.option("--overwrite", is_flag=True, help="Replace an archive already in --out.")
def simulate_command(
    out_dir: str,
    seed: int,
    plan: str,
    port_ids: tuple[str, ...],
    since: datetime,
    until: datetime,
    real_dir: str | None,
    overwrite: bool,
) -> None:
    """Write a SIMULATED Sentinel-1/2 archive of ports, with its truth.

    The tiles are rendered on each port's fixed 10 m grid and catalogued as a static STAC
    catalogue; truth/ holds the vessels, port calls, trips and yard stock they show. The same
    seed gives byte-identical files.

    \b
    Examples:
      berthwatch simulate --out sample_tiles --seed 0 --real-samples /work/shared/data
      berthwatch simulate --out /tmp/bench --plan daily-clear --since 2023-09-01 --until 2023-09-10
    """
    from geo.simulate import SimulationParams, simulate_archive

    if since.date() > until.date():
        raise click.BadParameter(
            f"--since {since.date()} is after --until {until.date()}.", param_hint="--since"
        )
    params = SimulationParams(
        seed=seed, plan=plan, ports=port_ids, since=since.date(), until=until.date()
    )
    command = _command_line(params, real_dir is not None)
    started = time.perf_counter()
    summary = simulate_archive(
        out_dir, params, real_samples_dir=real_dir, overwrite=overwrite, command=command
    )
    click.echo(
        f"wrote {len(summary.scene_ids)} SIMULATED scenes"
        f"{f' and {summary.n_real_items} real samples' if summary.n_real_items else ''}"
        f" to {summary.out_dir} ({summary.size_bytes / 1e6:.1f} MB, "
        f"{time.perf_counter() - started:.1f} s)"
    )


def _command_line(params: SimulationParams, with_real: bool) -> str:
    """The command as recorded in the archive's README (independent of the actual --out)."""
    parts = [
        "berthwatch simulate --out sample_tiles",
        f"--seed {params.seed}",
        f"--plan {params.plan}",
        f"--ports {shlex.quote(','.join(params.ports))}",
        f"--since {params.since}",
        f"--until {params.until}",
    ]
    if with_real:
        parts.append("--real-samples /work/shared/data")
    return " ".join(parts)


commands = [simulate_command]
