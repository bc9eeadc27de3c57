"""Errors raised by :mod:`flows`."""

from __future__ import annotations

__all__ = ["FlowError"]


class FlowError(Exception):
    """Root of every error raised by :mod:`flows` (bad flow parameters, missing archive...)."""
