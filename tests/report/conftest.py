"""Shared fixtures of the report tests: one simulated Rajin + Dunai store per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import report_build_store


@pytest.fixture(scope="module")
def report_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the report scenario's store, tiles and chips, inferences run."""
    return report_build_store(tmp_path_factory.mktemp("report-data"))
