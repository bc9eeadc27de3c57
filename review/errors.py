"""Errors raised by :mod:`review`.

Every error derives from :class:`ReviewError` and from the builtin it refines, so callers may catch
either. Messages name what was wrong, where, and how to fix it, in one line.
"""

from __future__ import annotations

__all__ = [
    "ChipRenderError",
    "DecisionError",
    "ReviewError",
    "UnknownDetectionError",
    "UserExistsError",
    "UsersFileError",
]


class ReviewError(Exception):
    """Root of every error raised by :mod:`review`."""


class ChipRenderError(ReviewError, OSError):
    """A tile that could not be read or a chip that could not be written."""


class DecisionError(ReviewError, ValueError):
    """A review decision, label or note that breaks a rule (the message lists valid values)."""


class UsersFileError(ReviewError, ValueError):
    """``review-users.json`` (or the session secret) is unreadable or malformed."""


class UserExistsError(ReviewError, ValueError):
    """``add-user`` for a name that already exists (without ``--overwrite``)."""


class UnknownDetectionError(ReviewError, LookupError):
    """A detection id that is not in the event store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
