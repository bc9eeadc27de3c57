"""Render one port's report: collect from the store, build the sections, write HTML (and PDF)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from geo.events import EventStore, default_store_path
from geo.ports import Port, get_port, load_ports
from report._coverage import VISIBLE_FRACTION, build_calendar, observed_days, usable
from report._data import Period, PortData, collect, parse_period
from report._headline import build_headline
from report._pdf import find_chromium, print_pdf
from report._sections import (
    claim_rows,
    latest_observation,
    method_notes,
    port_call_rows,
    trip_rows,
    vessel_figures,
    yard_figure,
    yard_rows,
)
from report.errors import ReportFormatError
from report.types import DateLike

__all__ = [
    "FORMATS",
    "default_report_path",
    "render_html",
    "render_port_report",
    "report_context",
]

logger = logging.getLogger(__name__)

#: Output formats: the HTML alone, or the HTML plus a PDF printed from it.
FORMATS = ("html", "pdf")
_TEMPLATES = Path(__file__).with_name("templates")


def default_report_path(
    data_dir: str | os.PathLike[str],
    port_id: str,
    since: DateLike,
    until: DateLike,
    fmt: str = "html",
) -> Path:
    """``<data_dir>/reports/<port>_<since>_<until>.<fmt>``."""
    period = parse_period(since, until)
    return Path(data_dir) / "reports" / f"{port_id}_{period.since}_{period.until}.{fmt}"


def render_port_report(
    store_or_path: EventStore | str | os.PathLike[str],
    port_id: str,
    *,
    since: DateLike,
    until: DateLike,
    out_path: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    fmt: str = "html",
    ports: Mapping[str, Port] | None = None,
    chromium: str | os.PathLike[str] | None = None,
) -> Path:
    """Render one port's report for ``since..until`` (UTC days, both included) and write it.

    Parameters
    ----------
    store_or_path : EventStore or path-like
        An open store, the ``events.gpkg`` file, or a data folder holding one. A path is
        opened read-only.
    port_id : str
        The port, e.g. ``"rajin"``.
    since, until : date, datetime or "YYYY-MM-DD"
        First and last day of the period.
    out_path : path-like, optional
        The file to write (``.html``, or ``.pdf`` with ``fmt="pdf"``; the HTML is then kept
        beside it with the suffix ``.html``). Default: :func:`default_report_path`.
    data_dir : path-like, optional
        Where relative tile and chip paths in the store are resolved (default: the store's
        folder).
    fmt : {"html", "pdf"}
        Output format.
    ports : mapping of str to Port, optional
        Known ports; default :func:`geo.ports.load_ports`.
    chromium : path-like, optional
        Chromium executable for ``fmt="pdf"`` (default: ``/usr/bin/chromium`` or one on PATH).

    Returns
    -------
    Path
        The file written (the PDF for ``fmt="pdf"``).

    Raises
    ------
    PeriodError
        *since* after *until*, or not a date.
    PeriodNotCoveredError
        The store holds nothing in or around the period.
    UnknownPortError
        *port_id* is not a known port.
    ChromiumNotFoundError, PdfPrintError
        ``fmt="pdf"`` and Chromium is missing or failed.
    """
    if fmt not in FORMATS:
        raise ReportFormatError(
            f"Report format {fmt!r} is not supported; use one of {', '.join(FORMATS)}."
        )
    period = parse_period(since, until)
    if fmt == "pdf":
        find_chromium(chromium)  # fail before any work when PDF output cannot be made
    known = dict(load_ports() if ports is None else ports)
    port = get_port(port_id, known)
    t0 = time.perf_counter()
    if isinstance(store_or_path, EventStore):
        context = _render_from(store_or_path, port, period, known, data_dir)
        store_dir = Path(store_or_path.path).parent
    else:
        path = Path(store_or_path)
        path = default_store_path(path) if path.is_dir() else path
        with EventStore.open(path, create=False, readonly=True) as store:
            context = _render_from(store, port, period, known, data_dir)
        store_dir = path.parent
    out = (
        Path(out_path)
        if out_path is not None
        else default_report_path(data_dir or store_dir, port.id, period.since, period.until, fmt)
    )
    html_path = out if fmt == "html" else out.with_suffix(".html")
    _write_atomic(html_path, render_html(context))
    if fmt == "pdf":
        # Print a variant with every evidence list open: a PDF reader cannot click them open.
        with tempfile.TemporaryDirectory(prefix="berthwatch-print-") as tmp:
            printable = Path(tmp) / html_path.name
            printable.write_text(render_html(context, print_mode=True), encoding="utf-8")
            print_pdf(printable, out, chromium=chromium)
    logger.info(
        "report %s for %s %s..%s in %.1f s",
        out,
        port.id,
        period.since,
        period.until,
        time.perf_counter() - t0,
    )
    return out


def _render_from(
    store: EventStore,
    port: Port,
    period: Period,
    ports: dict[str, Port],
    data_dir: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    data = collect(store, port, period, ports=ports)
    bases = [Path(data_dir)] if data_dir is not None else []
    bases.append(Path(store.path).parent)
    return report_context(data, bases=bases, port_names={p.id: p.name for p in ports.values()})


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(context: Mapping[str, Any], *, print_mode: bool = False) -> str:
    """Render a report context (:func:`report_context`) to one self-contained HTML string.

    ``print_mode`` opens every collapsible evidence list, for PDF output.
    """
    template = _environment().get_template("report.html.j2")
    return template.render(**context, print_mode=print_mode)


def report_context(
    data: PortData, *, bases: list[Path], port_names: dict[str, str]
) -> dict[str, Any]:
    """Everything the template shows: headline, calendar, figures, tables, method."""
    simulated = (
        any(o.simulated for o in data.observations)
        or any(d.simulated for d in data.detections)
        or any(c.simulated for c in data.port_calls)
        or any(t.simulated for t in data.trips)
        or any(c.simulated for c in data.claims)
    )
    has_obs = bool(data.observations)
    context = {
        "port": data.port,
        "period": data.period,
        "generated": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "simulated": simulated,
        "has_observations": has_obs,
        "n_usable": sum(usable(o) for o in data.observations),
        "n_observed_days": len(observed_days(data.observations)),
        "headline": build_headline(data),
        "calendar": build_calendar(data.observations, data.port, data.period),
        "figures": vessel_figures(data) if has_obs else {},
        "port_calls": port_call_rows(data),
        "yard_figure": yard_figure(data) if has_obs else None,
        "yard_rows": yard_rows(data),
        "yards": data.port.zones_of("yard"),
        "trips": trip_rows(data, port_names),
        "claims": claim_rows(data),
        "latest": latest_observation(data, bases),
        "method": method_notes(data),
        "visible_pct": round(VISIBLE_FRACTION * 100),
    }
    return context


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
