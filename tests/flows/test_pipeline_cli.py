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


def test_deployment_parameters_validate_like_a_scheduled_run(tmp_path: Path) -> None:
    """A deployment run validates JSON parameters against the flow signature (string annotations
    broke this once: `NightlyModel is not fully defined`)."""
    from flows.pipeline import RunParams, nightly

    params = RunParams(ports=["rajin"], data_dir=str(tmp_path))
    assert params.source.startswith("local:"), "the default source is the sample archive"
    validated = nightly.validate_parameters({"params": params.model_dump(mode="json")})
    assert validated["params"] == params


def test_server_cron_schedule_yields_dates() -> None:
    """Prefect's server scheduler must be able to expand our cron (whenever < 0.11 could not)."""
    import asyncio
    import datetime as dt

    from prefect.server.schemas.schedules import CronSchedule

    dates = asyncio.run(CronSchedule(cron="0 2 * * *", timezone="UTC").get_dates(n=3))
    assert len(dates) == 3
    assert all(d.hour == 2 and d.minute == 0 for d in dates)
    assert dates[0] > dt.datetime.now(dt.UTC)
