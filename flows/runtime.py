"""Prefect's environment, set once before Prefect is imported (CLI entry points and tests).

Prefect reads its settings when first imported, so commands that run flows call
:func:`configure_prefect` first. Values the user already set (e.g. ``PREFECT_API_URL`` for a real
server, or their own ``PREFECT_HOME``) win over ours.
"""

from __future__ import annotations

import os
from pathlib import Path

from geo import settings

__all__ = ["configure_prefect"]


def configure_prefect(data_dir: Path, *, verbosity: int = 0) -> Path:
    """Make Prefect run offline and reliably with its home in ``<data_dir>/prefect``.

    Returns the ``PREFECT_HOME`` in force. Migrations of the ephemeral server's database run once
    per home (~10 s on 2 cores), so keeping it in the data folder makes later runs start faster.
    *verbosity* (the CLI's ``-v`` count minus ``-q``) sets Prefect's own log level: warnings by
    default, task-level progress with ``-v``, debug with ``-vv``.
    """
    home = data_dir / "prefect"
    for key, value in settings.prefect_environment(home).items():
        os.environ.setdefault(key, value)
    level = {0: "WARNING", 1: "INFO"}.get(verbosity, "DEBUG" if verbosity > 1 else "ERROR")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", level)
    prefect_home = Path(os.environ["PREFECT_HOME"])
    prefect_home.mkdir(parents=True, exist_ok=True)
    return prefect_home
