"""``berthwatch review`` and ``berthwatch review add-user``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from review.auth import check_password, users_path
from review.server import is_loopback


def test_add_user_prints_a_token_and_stores_its_hash(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["review", "add-user", "ana", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    assert len(token) >= 20
    assert check_password(tmp_path, "ana", token)
    assert token not in users_path(tmp_path).read_text()
    assert "ana" in json.loads(users_path(tmp_path).read_text())["users"]


def test_add_user_data_dir_before_the_subcommand_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = CliRunner().invoke(cli, ["review", "--data-dir", str(tmp_path / "a"), "add-user", "ana"])
    assert r.exit_code == 0, r.output
    assert users_path(tmp_path / "a").exists()
    monkeypatch.setenv("BERTHWATCH_HOME", str(tmp_path / "b"))
    assert CliRunner().invoke(cli, ["review", "add-user", "bob"]).exit_code == 0
    assert users_path(tmp_path / "b").exists()


def test_add_user_with_a_password_prompt(tmp_path: Path) -> None:
    args = ["review", "add-user", "bob", "--password", "--data-dir", str(tmp_path)]
    r = CliRunner().invoke(cli, args, input="correct horse\ncorrect horse\n")
    assert r.exit_code == 0, r.output
    assert "correct horse" not in r.stdout
    assert check_password(tmp_path, "bob", "correct horse")
    short = CliRunner().invoke(cli, [*args, "--overwrite"], input="short\nshort\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output


def test_add_user_refuses_to_overwrite_and_bad_names(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["review", "add-user", "ana", "--data-dir", str(tmp_path)]
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert again.stderr.startswith("berthwatch: error: Analyst 'ana' already exists")
    assert runner.invoke(cli, [*args, "--overwrite"]).exit_code == 0
    bad = runner.invoke(cli, ["review", "add-user", "../x", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "Analyst name" in bad.output


def test_review_help_lists_the_subcommand() -> None:
    r = CliRunner().invoke(cli, ["review", "--help"])
    assert r.exit_code == 0
    assert "add-user" in r.output and "--host" in r.output and "8765" in r.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.org", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
