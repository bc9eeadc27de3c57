"""Test set-up shared by every test package.

The network is blocked by pytest-socket (see pyproject.toml: only loopback hosts are allowed), and
each test runs with its own data folder so nothing leaks into ./berthwatch-data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Prefect must never phone home from a test, nor wait on a slow ephemeral server start.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point ``BERTHWATCH_HOME`` at a fresh folder for every test."""
    home = tmp_path_factory.mktemp("berthwatch-home")
    monkeypatch.setenv("BERTHWATCH_HOME", str(home))
    return home


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``network`` unless ``BERTHWATCH_NETWORK_TESTS=1`` (they need the internet)."""
    if os.environ.get("BERTHWATCH_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs the internet; set BERTHWATCH_NETWORK_TESTS=1 to run")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)
