"""The end-of-run summary printed by ``berthwatch demo`` and ``run``: read from the store."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = ["summary_table"]


def summary_table(summary: Any) -> list[Any]:
    """Rich renderables describing a finished run (*summary* is a ``RunSummary``)."""
    from geo.events import EventStore

    with EventStore.open(Path(summary.store_path), readonly=True) as store:
        observations = store.observations()
        detections = store.detections(include_rejected=False)
        calls = store.port_calls()
        trips = store.trips()
        claims = store.claims()
        reviewed = len({r.detection_id for r in store.reviews()})

    out: list[Any] = [
        Text(
            f"Run {summary.run_id}: {summary.scenes_found} scene(s) found, "
            f"{summary.scenes_processed} processed, {summary.scenes_skipped} already in the store, "
            f"{summary.scenes_failed} failed."
        )
    ]
    out.append(_ports_table(observations, detections, calls))
    out.append(_trips_table(trips))
    out.append(_claims_table(claims))
    for failure in summary.failures:
        out.append(Text(f"failed: {failure}", style="red"))
    out.append(
        Text(
            f"Event store: {summary.store_path}  (opens in QGIS; {reviewed} detection(s) reviewed)"
        )
    )
    for path in summary.reports:
        out.append(Text(f"Report: {path}"))
    if any(o.simulated for o in observations):
        out.append(Text("Numbers above come from SIMULATED imagery.", style="bold yellow"))
    return out


def _ports_table(observations: list[Any], detections: list[Any], calls: list[Any]) -> Table:
    table = Table(title="Per port (all observations in the store)")
    for col in (
        "port",
        "observations ok / failed",
        "by sensor",
        "vessels",
        "container stacks",
        "port calls",
    ):
        table.add_column(col)
    for port in sorted({o.port for o in observations}):
        obs = [o for o in observations if o.port == port]
        ok = [o for o in obs if o.status != "failed"]
        sensors = Counter(o.sensor for o in ok)
        kinds = Counter(d.kind for d in detections if d.port == port)
        table.add_row(
            port,
            f"{len(ok)} / {len(obs) - len(ok)}",
            ", ".join(f"{s}: {n}" for s, n in sorted(sensors.items())),
            str(kinds.get("vessel", 0)),
            str(kinds.get("container_stack", 0)),
            str(sum(1 for c in calls if c.port == port)),
        )
    return table


def _trips_table(trips: list[Any]) -> Table:
    table = Table(title=f"Inferred trips ({len(trips)})")
    for col in ("from", "to", "departed", "arrived", "length m", "confidence"):
        table.add_column(col)
    for t in trips:
        table.add_row(
            t.from_port,
            t.to_port,
            _window(t.depart_after_utc, t.depart_before_utc),
            _window(t.arrive_after_utc, t.arrive_before_utc),
            f"{t.length_m:.0f} ± {t.length_err_m:.0f}",
            f"{t.confidence:.2f}",
        )
    return table


def _claims_table(claims: list[Any]) -> Table:
    table = Table(title="Claim checks (observed lower bound .. coverage-limited upper bound)")
    for col in ("claim", "says", "lower", "upper", "verdict"):
        table.add_column(col)
    for c in claims:
        # Whole numbers, rounded outwards so the printed interval still holds the computed one.
        upper = "unbounded" if c.upper_bound is None else f"{math.ceil(c.upper_bound):,}"
        table.add_row(
            c.claim_id,
            f"{c.comparator} {c.number:,.0f} {c.unit}",
            f"{math.floor(c.lower_bound):,}",
            upper,
            c.verdict,
        )
    return table


def _window(after: Any, before: Any) -> str:
    def fmt(value: Any) -> str:
        return "?" if value is None else value.strftime("%Y-%m-%d %H:%M")

    return f"{fmt(after)} .. {fmt(before)}"
