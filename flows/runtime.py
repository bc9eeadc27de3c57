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


def configure_prefect(data_dir: Path) -> Path:
    """Make Prefect run offline and reliably with its home in ``<data_dir>/prefect``.

    Returns the ``PREFECT_HOME`` in force. Migrations of the ephemeral server's database run once
    per home (~10 s on 2 cores), so keeping it in the data folder makes later runs start faster.
    """
    home = data_dir / "prefect"
    for key, value in settings.prefect_environment(home).items():
        os.environ.setdefault(key, value)
    prefect_home = Path(os.environ["PREFECT_HOME"])
    prefect_home.mkdir(parents=True, exist_ok=True)
    return prefect_home
