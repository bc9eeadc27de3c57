"""The one module that reads environment variables and knows where things live.

``BERTHWATCH_HOME``
    The data folder (event store, tile cache, reports). Default ``./berthwatch-data``.
``BERTHWATCH_SEEDS``
    Folder with ``ports.geojson`` and ``claims.toml``. Default: the repository's ``seeds/``.
``BERTHWATCH_SAMPLE_TILES``
    The embedded sample archive. Default: the repository's ``sample_tiles/``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "REPO_ROOT",
    "data_dir",
    "prefect_environment",
    "sample_tiles_dir",
    "seeds_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir(value: str | os.PathLike[str] | None = None) -> Path:
    """Return the data folder: *value*, else ``$BERTHWATCH_HOME``, else ``./berthwatch-data``."""
    if value is not None:
        return Path(value)
    return Path(os.environ.get("BERTHWATCH_HOME", "berthwatch-data"))


def seeds_dir() -> Path:
    """Return the folder holding ``ports.geojson`` and ``claims.toml``."""
    return Path(os.environ.get("BERTHWATCH_SEEDS", REPO_ROOT / "seeds"))


def sample_tiles_dir() -> Path:
    """Return the embedded sample archive (a static STAC catalogue)."""
    return Path(os.environ.get("BERTHWATCH_SAMPLE_TILES", REPO_ROOT / "sample_tiles"))


def prefect_environment(home: Path) -> dict[str, str]:
    """Return the environment Prefect needs to run offline and reliably on a small machine.

    Analytics off (otherwise Prefect looks up a telemetry host and can lock a fresh database),
    a generous ephemeral-server start-up timeout (the 20 s default times out on 2 cores), and a
    persistent ``PREFECT_HOME`` so database migrations run once. Values already set win.
    """
    wanted = {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_HOME": str(home),
        "PREFECT_LOGGING_EXTRA_LOGGERS": "detection,geo",
    }
    return {k: os.environ.get(k, v) for k, v in wanted.items()}
