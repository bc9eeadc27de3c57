"""The berthwatch command line: help, ports, and the one-line error contract."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "ports" in result.output


def test_ports_table_names_every_port_and_zone() -> None:
    result = CliRunner().invoke(cli, ["ports"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for text in ("rajin", "dunai", "vostochny", "rajin-pier3-e", "yard", "approximate"):
        assert text in result.output


def test_bad_ports_file_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "ports.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    proc = subprocess.run(
        [sys.executable, "-m", "flows", "ports", "--file", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(bad) in lines[0] and "has no features" in lines[0]
    assert "Traceback" not in proc.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-v", "ports", "--file", str(tmp_path / "none.geojson")])
    assert result.exit_code != 0
    assert result.exception is not None and "file not found" in str(result.exception)


def test_network_is_blocked_in_tests() -> None:
    with pytest.raises(Exception, match="[Ss]ocket"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
