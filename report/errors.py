"""Errors raised by :mod:`report`.

Every error derives from :class:`ReportError` and from the builtin it refines, so callers may catch
either. Messages are one line: what was wrong, where, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ChromiumNotFoundError",
    "PdfPrintError",
    "PeriodError",
    "PeriodNotCoveredError",
    "ReportError",
    "ReportFormatError",
]


class ReportError(Exception):
    """Root of every error raised by :mod:`report`."""


class PeriodError(ReportError, ValueError):
    """A report period that cannot be used (``since`` after ``until``, unknown format...)."""


class ReportFormatError(ReportError, ValueError):
    """An output format that is not one of ``html``, ``pdf``."""


class PeriodNotCoveredError(ReportError, LookupError):
    """The store holds nothing in or around the requested period (no observation, no run)."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class ChromiumNotFoundError(ReportError, FileNotFoundError):
    """PDF output was asked for but no Chromium executable was found."""

    def __str__(self) -> str:  # keep OSError from prefixing "[Errno ...]"
        return str(self.args[0]) if self.args else ""


class PdfPrintError(ReportError, OSError):
    """Chromium ran but did not produce the PDF (crash, timeout, empty output)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
