"""Errors raised by :mod:`geo`.

Every error derives from :class:`GeoError` and from the builtin it refines, so callers may catch
either (``except GeoError`` or ``except ValueError``). Messages name what was wrong, where, and how
to fix it, in one line.
"""

from __future__ import annotations

__all__ = [
    "ClaimsFileError",
    "GeoError",
    "PortsFileError",
    "UnknownPortError",
]


class GeoError(Exception):
    """Root of every error raised by :mod:`geo`."""


class PortsFileError(GeoError, ValueError):
    """``ports.geojson`` (or a file given in its place) breaks a rule."""


class UnknownPortError(GeoError, LookupError):
    """A port id that is not in the ports file."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class ClaimsFileError(GeoError, ValueError):
    """``claims.toml`` (or a file given in its place) breaks a rule."""
