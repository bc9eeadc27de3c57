"""Per-port reports rendered from the event store: one self-contained HTML file (and a PDF).

>>> from report import render_port_report  # doctest: +SKIP
>>> render_port_report("berthwatch-data", "rajin", since="2023-08-01", until="2023-11-01",
...                    out_path="rajin.html")  # doctest: +SKIP
"""

from report._coverage import VISIBLE_FRACTION
from report._data import Period, StoreSpan, parse_period, store_span
from report._pdf import CHROMIUM_ARGS, find_chromium, print_pdf
from report._render import FORMATS, default_report_path, render_port_report
from report.errors import (
    ChromiumNotFoundError,
    PdfPrintError,
    PeriodError,
    PeriodNotCoveredError,
    ReportError,
    ReportFormatError,
)

__all__ = [
    "CHROMIUM_ARGS",
    "FORMATS",
    "VISIBLE_FRACTION",
    "ChromiumNotFoundError",
    "PdfPrintError",
    "Period",
    "PeriodError",
    "PeriodNotCoveredError",
    "ReportError",
    "ReportFormatError",
    "StoreSpan",
    "default_report_path",
    "find_chromium",
    "parse_period",
    "print_pdf",
    "render_port_report",
    "store_span",
]
