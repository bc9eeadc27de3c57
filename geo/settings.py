"""The one module that reads environment variables and knows where things live.

``BERTHWATCH_HOME``
    The data folder (event store, tile cache, reports). Default ``./berthwatch-data``.
``BERTHWATCH_SEEDS``
    Folder with ``ports.geojson`` and ``claims.toml``. Default: the repository's ``seeds/``.
``BERTHWATCH_SAMPLE_TILES``
    The embedded sample archive. Default: the repository's ``sample_tiles/``.
``BERTHWATCH_HTTP_TIMEOUT_S``, ``BERTHWATCH_HTTP_MAX_RETRY``, ``BERTHWATCH_HTTP_RETRY_DELAY_S``
    Network reads: per-request timeout (default 30 s), retries of one request on 429/5xx (default
    4) and the first back-off delay (default 1 s, doubling each retry).
``BERTHWATCH_READ_ATTEMPTS``
    Whole-tile read attempts before a scene is reported failed (default 3).
``BERTHWATCH_CDSE_S3_ACCESS_KEY``, ``BERTHWATCH_CDSE_S3_SECRET_KEY``
    Copernicus Data Space S3 keys (https://eodata-s3keysmanager.dataspace.copernicus.eu/); only
    CDSE downloads need them, CDSE search is anonymous.
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``
    AWS credentials, only for requester-pays buckets (Earth Search ``sentinel-1-grd``).
``BERTHWATCH_NETWORK_TESTS``
    ``1`` runs the tests marked ``network`` (real catalogues on the internet).
"""

from __future__ import annotations

import os
from pathlib import Path

from geo.errors import SettingsError

__all__ = [
    "REPO_ROOT",
    "aws_credentials",
    "cdse_s3_credentials",
    "data_dir",
    "http_settings",
    "network_tests_enabled",
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


def _env_number(name: str, default: float, *, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(f"${name} must be a number in [{low:g}, {high:g}]. Got {raw!r}.")
    return value


def http_settings() -> dict[str, float]:
    """Return the network read settings: ``timeout_s``, ``max_retry``, ``retry_delay_s``, ``attempts``.

    Raises
    ------
    SettingsError
        An environment variable that is not a number in its range (the message names it).
    """
    return {
        "timeout_s": _env_number("BERTHWATCH_HTTP_TIMEOUT_S", 30.0, low=0.1, high=3600),
        "max_retry": _env_number("BERTHWATCH_HTTP_MAX_RETRY", 4, low=0, high=20),
        "retry_delay_s": _env_number("BERTHWATCH_HTTP_RETRY_DELAY_S", 1.0, low=0, high=600),
        "attempts": _env_number("BERTHWATCH_READ_ATTEMPTS", 3, low=1, high=20),
    }


def cdse_s3_credentials() -> tuple[str, str] | None:
    """Return the CDSE S3 ``(access_key, secret_key)``, or None when either is unset."""
    key = os.environ.get("BERTHWATCH_CDSE_S3_ACCESS_KEY", "").strip()
    secret = os.environ.get("BERTHWATCH_CDSE_S3_SECRET_KEY", "").strip()
    return (key, secret) if key and secret else None


def aws_credentials() -> dict[str, str] | None:
    """Return AWS ``access_key``, ``secret_key``, ``token``, ``region`` from the environment, or None."""
    key = os.environ.get("AWS_ACCESS_KEY_ID", "").strip()
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not (key and secret):
        return None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    token = os.environ.get("AWS_SESSION_TOKEN", "")
    return {"access_key": key, "secret_key": secret, "token": token, "region": region}


def network_tests_enabled() -> bool:
    """Return True when ``BERTHWATCH_NETWORK_TESTS=1`` (tests may use the internet)."""
    return os.environ.get("BERTHWATCH_NETWORK_TESTS") == "1"
