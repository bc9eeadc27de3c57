"""Fixtures for flow tests: one Prefect test server per session and a small simulated archive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server for the whole session (~10-25 s to start on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def mini_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve simulated days of Rajin and Dunai (a few S1 and S2 scenes each), read-only by convention."""
    from geo.simulate import SimulationParams, simulate_archive

    out = tmp_path_factory.mktemp("mini-archive")
    simulate_archive(
        out,
        SimulationParams(
            seed=3, ports=("rajin", "dunai"), since=dt.date(2023, 9, 1), until=dt.date(2023, 9, 12)
        ),
    )
    return out
