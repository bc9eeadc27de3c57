"""Errors raised by :mod:`detection`."""

from __future__ import annotations

__all__ = ["DetectionError", "DetectionParamsError", "InputArrayError"]


class DetectionError(Exception):
    """Root of every error raised by :mod:`detection`."""


class InputArrayError(DetectionError, ValueError):
    """An input array has the wrong shape, dtype or values (the message says which and the fix)."""


class DetectionParamsError(DetectionError, ValueError):
    """A detector parameter (a ``...Params`` field or keyword) is out of its valid range."""
