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
    "UnknownUserError",
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


class UnknownUserError(ReviewError, LookupError):
    """A user name that is not in ``review-users.json``."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class UnknownDetectionError(ReviewError, LookupError):
    """A detection id that is not in the event store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
