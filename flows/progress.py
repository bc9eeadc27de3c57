"""Progress reporting from flows to whoever runs them (the terminal's progress bar, or nothing).

Flows call :func:`report`; the command line installs a callable with :func:`reporting`. Tests and
scheduled runs install nothing, and the calls cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Progress", "report", "reporting"]


@dataclass(frozen=True)
class Progress:
    """Scenes done out of ``total`` so far, of which ``failed`` failed."""

    done: int
    total: int
    failed: int
    last: str = ""


_listeners: list[Callable[[Progress], None]] = []


def report(progress: Progress) -> None:
    """Tell every installed listener how far the run is."""
    for listener in _listeners:
        listener(progress)


@contextmanager
def reporting(listener: Callable[[Progress], None]) -> Iterator[None]:
    """Install *listener* for the duration of a ``with`` block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
