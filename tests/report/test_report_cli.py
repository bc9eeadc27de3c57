"""``berthwatch report``: writes the file, one-line errors with exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from report import ChromiumNotFoundError, find_chromium


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_writes_the_html_to_the_data_dir(report_data_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(report_data_dir, home)
    code, out, err = _run(
        "--port", "dunai", "--since", "2023-08-01", "--until", "2023-10-31", "--data-dir", str(home)
    )  # fmt: skip
    assert code == 0, err
    written = home / "reports" / "dunai_2023-08-01_2023-10-31.html"
    assert out.strip() == str(written) and written.stat().st_size > 10_000
    # A second run refuses to overwrite without --overwrite.
    code, _, err = _run(
        "--port", "dunai", "--since", "2023-08-01", "--until", "2023-10-31", "--data-dir", str(home)
    )  # fmt: skip
    assert code == 2 and "--overwrite" in err


def test_since_after_until_exits_2(report_data_dir: Path) -> None:
    code, _, err = _run(
        "--port", "rajin", "--since", "2023-11-01", "--until", "2023-08-01",
        "--data-dir", str(report_data_dir),
    )  # fmt: skip
    assert code == 2
    assert "after --until" in err


def test_uncovered_period_is_one_line_and_exit_2(report_data_dir: Path, tmp_path: Path) -> None:
    code, _, err = _run(
        "--port", "rajin", "--since", "2019-01-01", "--until", "2019-02-01",
        "--data-dir", str(report_data_dir), "--out", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("berthwatch: error: The event store")
    assert "not 2019-01-01..2019-02-01" in lines[0]
    assert not (tmp_path / "r.html").exists()


def test_missing_store_and_unknown_port_exit_2(tmp_path: Path, report_data_dir: Path) -> None:
    code, _, err = _run("--port", "rajin", "--since", "2023-08-01", "--until", "2023-08-31",
                        "--data-dir", str(tmp_path))  # fmt: skip
    assert code == 2 and "No event store" in err
    code, _, err = _run("--port", "atlantis", "--since", "2023-08-01", "--until", "2023-08-31",
                        "--data-dir", str(report_data_dir), "--out", str(tmp_path / "x.html"))  # fmt: skip
    assert code == 2 and "Unknown port 'atlantis'" in err


def test_pdf_without_chromium_exits_2_with_a_clear_message(
    report_data_dir: Path, tmp_path: Path
) -> None:
    code, _, err = _run(
        "--port", "rajin", "--since", "2023-08-01", "--until", "2023-10-31",
        "--data-dir", str(report_data_dir), "--format", "pdf", "--out", str(tmp_path / "r.pdf"),
        "--chromium", str(tmp_path / "no-such-chromium"),
    )  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "needs Chromium but none was found" in err and "apt-get install chromium" in err
    assert not (tmp_path / "r.pdf").exists() and not (tmp_path / "r.html").exists()


def test_find_chromium_error_is_typed(tmp_path: Path) -> None:
    with pytest.raises(ChromiumNotFoundError, match="--format html"):
        find_chromium(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError):
        find_chromium(tmp_path / "nothing")
