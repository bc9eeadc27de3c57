"""Terminal output shared by the commands: one rich console factory."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["console"]


def console(*, stderr: bool = False) -> Console:
    """Return a rich console: the terminal's width on a tty, 200 columns when piped (no wrapping)."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(file=stream, width=width, soft_wrap=False)
