"""``berthwatch scenes`` and ``berthwatch fetch`` against a local catalogue (offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner

from flows.cli import cli
from tests.factories import imagery_port, imagery_sim_catalog, imagery_write_raster

WINDOW = ["--since", "2023-08-20", "--until", "2023-10-16"]


@pytest.fixture()
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalogue in the simulator's layout, made the default source (sample_tiles)."""
    root = tmp_path / "sample_tiles"
    imagery_sim_catalog(root, imagery_port("rajin"))
    monkeypatch.setenv("BERTHWATCH_SAMPLE_TILES", str(root))
    return root


def test_scenes_lists_the_sample_scenes_flagged_simulated(sample: Path) -> None:
    result = CliRunner().invoke(cli, ["scenes", "--port", "rajin", *WINDOW])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "SIM_" in ln]
    assert [ln.split()[1] for ln in lines] == [
        "SIM_S1_rajin_20230902",
        "SIM_S2_rajin_20230907",
        "SIM_S1_rajin_20230914",
    ]
    assert all("SIMULATED" in ln for ln in lines)
    assert "2023-09-07 02:06" in lines[1] and "optical" in lines[1] and "12%" in lines[1]
    assert all("100%" in ln for ln in lines)  # AOI coverage
    assert "3 scene(s) of rajin" in result.output and "3 simulated" in result.output


def test_scenes_sensor_filter_and_explicit_local_source(sample: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["scenes", "--port", "rajin", *WINDOW, "--sensor", "sar", "--source", f"local:{sample}"],
    )
    assert result.exit_code == 0, result.output
    assert "SIM_S2" not in result.output and result.output.count("SIM_S1_rajin") == 2


def test_fetch_caches_tiles_and_a_second_run_reads_the_cache(sample: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["fetch", "--port", "rajin", *WINDOW, "--data-dir", str(data)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    tiles = sorted(p.name for p in (data / "tiles" / "rajin").iterdir())
    assert tiles == [
        "SIM_S1_rajin_20230902.tif",
        "SIM_S1_rajin_20230914.tif",
        "SIM_S2_rajin_20230907.tif",
    ]
    assert first.output.count(" read ") == 3 and "3 of 3 tile(s)" in first.output
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert second.output.count(" cached ") == 3


def test_fetch_reports_a_scene_it_cannot_read_and_exits_1(sample: Path, tmp_path: Path) -> None:
    (sample / "berthwatch-sim-s1" / "SIM_S1_rajin_20230914" / "vv.tif").write_bytes(b"broken")
    env = {"BERTHWATCH_READ_ATTEMPTS": "1"}
    result = CliRunner().invoke(
        cli, ["fetch", "--port", "rajin", *WINDOW, "--data-dir", str(tmp_path / "d")], env=env
    )
    assert result.exit_code == 1
    assert "FAILED" in result.output and "2 of 3 tile(s)" in result.output
    assert "SIM_S1_rajin_20230914" in result.stderr and "vv.tif" in result.stderr
    cached = sorted(p.name for p in (tmp_path / "d" / "tiles" / "rajin").iterdir())
    assert "SIM_S1_rajin_20230914.tif" not in cached and len(cached) == 2


def test_folder_source_from_the_command_line(tmp_path: Path) -> None:
    port = imagery_port("rajin")
    g = port.grid
    imagery_write_raster(
        tmp_path / "mine" / "20230915T010203_vhr.tif",
        np.full((3, 40, 40), 100, np.uint16),
        crs=g.crs,
        transform=Affine(2.0, 0, g.transform.c + 500, 0, -2.0, g.transform.f - 500),
    )
    result = CliRunner().invoke(
        cli, ["scenes", "--port", "rajin", *WINDOW, "--source", f"folder:{tmp_path / 'mine'}"]
    )
    assert result.exit_code == 0, result.output
    assert "20230915T010203_vhr" in result.output and "2023-09-15 01:02" in result.output


def test_bad_input_through_the_console_script_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flows", "scenes", "--port", "atlantis", *WINDOW],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("berthwatch: error: Unknown port 'atlantis'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "rajin", "--since", "2023-10-16", "--until", "2023-08-20"], "is after until"),
        (["--port", "rajin", *WINDOW, "--source", "sentinelhub"], "Unknown source 'sentinelhub'"),
        (["--port", "rajin", *WINDOW, "--source", "folder:EMPTY"], "holds no raster"),
        (["--port", "rajin", *WINDOW, "--source", "folder:NOCRS"], "has no CRS"),
        (["--port", "rajin", *WINDOW, "--source", "local:NOWHERE"], "no STAC catalogue there"),
        (["--port", "rajin", *WINDOW], "no STAC catalogue there"),  # default sample_tiles absent
    ],
)
@pytest.mark.parametrize("command", ["scenes", "fetch"])
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, command: str, args: list[str], message: str
) -> None:
    empty, nocrs = tmp_path / "empty", tmp_path / "nocrs"
    empty.mkdir()
    imagery_write_raster(
        nocrs / "20230915_x.tif",
        np.ones((5, 5), np.uint8),
        crs=None,
        transform=Affine(10.0, 0, 1000.0, 0, -10.0, 2000.0),
        driver="GTiff",
    )
    args = [
        a.replace("EMPTY", str(empty))
        .replace("NOCRS", str(nocrs))
        .replace("NOWHERE", str(tmp_path / "x"))
        for a in args
    ]
    result = CliRunner().invoke(
        cli, [command, *args], env={"BERTHWATCH_SAMPLE_TILES": str(tmp_path / "none")}
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("berthwatch: error:") and message in lines[0]
    assert result.stdout == ""
