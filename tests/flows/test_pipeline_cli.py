"""Bad input to demo/run/backfill/schedule: one line on stderr, exit 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--ports", "rajin,atlantis"], "Unknown port 'atlantis'"),
        (["run", "--source", "ftp://nowhere"], "Unknown source 'ftp://nowhere'"),
        (["run", "--source", "local:/no/such/catalog"], "/no/such/catalog"),
        (["run", "--since", "2023-10-01", "--until", "2023-09-01"], "is after until"),
        (["backfill", "--since", "2023-10-01", "--until", "2023-09-01"], "is after until"),
        (["schedule", "--cron", "0 2 * *"], "not a 5-field cron expression"),
        (["schedule", "--cron", "61 2 * * *"], "not a 5-field cron expression"),
    ],
)
def test_bad_run_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, [*args[:1], "--data-dir", str(tmp_path), *args[1:]])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "events.gpkg").exists(), "nothing may start on bad input"


def test_commands_document_examples() -> None:
    for name in ("demo", "run", "backfill", "schedule"):
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output and "--data-dir" in result.output
