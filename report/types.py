"""Type aliases shared across :mod:`report`."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

__all__ = ["DateLike", "ReportFormat"]

#: A report bound: a date, a datetime (its UTC date is used) or ``"YYYY-MM-DD"``.
DateLike: TypeAlias = dt.date | dt.datetime | str
#: Output formats :func:`report.render_port_report` writes.
ReportFormat: TypeAlias = str  # "html" or "pdf"
