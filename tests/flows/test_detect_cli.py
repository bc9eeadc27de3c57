"""`berthwatch detect`: the exact command-line contract, and one clear line per bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner

from flows.cli import cli
from tests.factories import det_hull, det_optical_scene, det_sea, det_write_raster

UTM = Affine(10, 0, 500_000, 0, -10, 4_600_000)


def _sar_scene(shape: tuple[int, int] = (200, 200)) -> np.ndarray:
    img = det_sea(shape, seed=1)
    img[det_hull(shape, row=100, col=80, length_px=15, width_px=3, heading_deg=90)] += 3.0
    return img


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["detect", *args])
    return result.exit_code, result.stdout, result.stderr


def _fc(path: Path) -> dict:
    return json.loads(path.read_text())


def test_sar_geotiff_in_db_gives_a_lonlat_point(tmp_path: Path) -> None:
    db = 10 * np.log10(_sar_scene())
    img = det_write_raster(
        tmp_path / "s1.tif", db.astype(np.float32), crs="EPSG:32633", transform=UTM
    )
    out = tmp_path / "out.geojson"
    code, stdout, stderr = _run(["--sensor", "sar", str(img), "--out", str(out)])
    assert code == 0, stderr
    fc = _fc(out)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1
    feat = fc["features"][0]
    props = feat["properties"]
    assert abs(props["row"] - 100) <= 1 and abs(props["col"] - 80) <= 1
    assert set(props) >= {"row", "col", "length_m", "width_m", "heading_deg", "score"}
    lon, lat = feat["geometry"]["coordinates"]
    assert feat["geometry"]["type"] == "Point" and 13 < lon < 16 and 41 < lat < 42
    assert "1 vessel" in stdout


def test_sar_8bit_chip_without_georeference(tmp_path: Path) -> None:
    amp = np.sqrt(_sar_scene())
    chip = np.clip(amp / amp.max() * 255, 0, 255).astype(np.uint8)
    png = det_write_raster(tmp_path / "chip.png", chip, driver="PNG")
    out = tmp_path / "out.geojson"
    code, _, stderr = _run(["--sensor", "sar", "--pixel-size", "10", str(png), "--out", str(out)])
    assert code == 0, stderr
    feats = _fc(out)["features"]
    assert len(feats) == 1 and feats[0]["geometry"] is None


def test_image_without_vessels_is_an_empty_collection(tmp_path: Path) -> None:
    img = det_write_raster(
        tmp_path / "sea.tif", det_sea((150, 150), seed=9), crs="EPSG:32633", transform=UTM
    )
    out = tmp_path / "out.geojson"
    code, _, stderr = _run(["--sensor", "sar", str(img), "--out", str(out)])
    assert code == 0, stderr
    assert _fc(out) == {"type": "FeatureCollection", "features": []}


def test_water_mask_is_applied(tmp_path: Path) -> None:
    img = det_write_raster(tmp_path / "s1.tif", _sar_scene(), crs="EPSG:32633", transform=UTM)
    mask = np.ones((200, 200), np.uint8)
    mask[:, :120] = 0  # the ship at col 80 is now on "land"
    m = det_write_raster(tmp_path / "water.tif", mask, crs="EPSG:32633", transform=UTM)
    out = tmp_path / "out.geojson"
    code, _, stderr = _run(["--sensor", "sar", "--water-mask", str(m), str(img), "--out", str(out)])
    assert code == 0, stderr
    assert _fc(out)["features"] == []


def test_optical_bands(tmp_path: Path) -> None:
    shape = (150, 150)
    hull = det_hull(shape, row=70, col=60, length_px=15, width_px=3, heading_deg=30)
    bands = det_optical_scene(shape, hulls=[hull], scaled=True)
    args = ["--sensor", "optical"]
    for name in ("green", "nir", "red"):  # blue (and swir16) may be missing
        path = det_write_raster(
            tmp_path / f"{name}.tif", bands[name], crs="EPSG:32633", transform=UTM
        )
        args += ["--band", f"{name}={path}"]
    out = tmp_path / "out.geojson"
    code, _, stderr = _run([*args, "--out", str(out)])
    assert code == 0, stderr
    feats = _fc(out)["features"]
    assert len(feats) == 1
    assert abs(feats[0]["properties"]["row"] - 70) <= 1.5
    assert feats[0]["geometry"]["type"] == "Point"


def _one_line_exit_2(args: list[str]) -> str:
    code, stdout, stderr = _run(args)
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("berthwatch: error:")
    assert "Traceback" not in stderr
    return lines[0]


def test_missing_file(tmp_path: Path) -> None:
    line = _one_line_exit_2(
        ["--sensor", "sar", str(tmp_path / "no.tif"), "--out", str(tmp_path / "o.geojson")]
    )
    assert "file not found" in line


def test_unreadable_raster(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"\x00\x01not a tiff")
    line = _one_line_exit_2(["--sensor", "sar", str(bad), "--out", str(tmp_path / "o.geojson")])
    assert "not a raster" in line


def test_bands_on_different_grids(tmp_path: Path) -> None:
    a = np.full((20, 20), 300, np.uint16)
    g = det_write_raster(tmp_path / "g.tif", a, crs="EPSG:32633", transform=UTM)
    n = det_write_raster(tmp_path / "n.tif", a[:, :15], crs="EPSG:32633", transform=UTM)
    line = _one_line_exit_2(
        [
            "--sensor",
            "optical",
            "--band",
            f"green={g}",
            "--band",
            f"nir={n}",
            "--out",
            str(tmp_path / "o.geojson"),
        ]
    )
    assert "not on the grid" in line


def test_no_pixel_size_for_an_image_without_georeference(tmp_path: Path) -> None:
    png = det_write_raster(tmp_path / "c.png", np.ones((20, 20), np.uint8), driver="PNG")
    line = _one_line_exit_2(["--sensor", "sar", str(png), "--out", str(tmp_path / "o.geojson")])
    assert "--pixel-size" in line


def test_all_nodata_image(tmp_path: Path) -> None:
    img = det_write_raster(
        tmp_path / "z.tif",
        np.zeros((30, 30), np.float32),
        crs="EPSG:32633",
        transform=UTM,
        nodata=0.0,
    )
    line = _one_line_exit_2(["--sensor", "sar", str(img), "--out", str(tmp_path / "o.geojson")])
    assert "nodata" in line


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--sensor", "optical", "--band", "green=g.tif"], "nir"),
        (["--sensor", "optical", "--band", "nir"], "NAME=FILE"),
        (["--sensor", "optical", "--band", "thermal=t.tif"], "unknown band"),
        (["--sensor", "sar"], "IMAGE"),
        (["--sensor", "lidar", "x.tif"], "lidar"),
        (["--sensor", "sar", "--pixel-size", "ten", "x.tif"], "ten"),
    ],
)
def test_bad_options_are_one_line_too(tmp_path: Path, extra: list[str], needle: str) -> None:
    line = _one_line_exit_2([*extra, "--out", str(tmp_path / "o.geojson")])
    assert needle in line


def test_real_process_contract(tmp_path: Path) -> None:
    """The installed entry point: exit codes and a single stderr line, as a benchmark sees them."""
    img = det_write_raster(tmp_path / "s1.tif", _sar_scene(), crs="EPSG:32633", transform=UTM)
    out = tmp_path / "o.geojson"
    ok = subprocess.run(
        [sys.executable, "-m", "flows", "detect", "--sensor", "sar", str(img), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(_fc(out)["features"]) == 1
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows",
            "detect",
            "--sensor",
            "sar",
            str(tmp_path / "missing.tif"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_optical_large_image_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the one-pass size, bands are read window by window: same vessels as one pass."""
    import flows.commands.detect as detect_module

    shape = (330, 300)
    rng = np.random.default_rng(5)
    land = np.zeros(shape, dtype=bool)
    land[:60] = True
    hulls = [
        det_hull(shape, row=61.5, col=150, length_px=20, width_px=3, heading_deg=90),  # quay
        det_hull(shape, row=127.5, col=130, length_px=14, width_px=3, heading_deg=20),  # edges
        det_hull(shape, row=265, col=230, length_px=14, width_px=3, heading_deg=0),  # in cloud
    ]
    for _ in range(10):
        row, col = rng.uniform(170, 320), rng.uniform(10, 290)
        hulls.append(det_hull(shape, row=row, col=col, length_px=12, width_px=3, heading_deg=60))
    bands = det_optical_scene(shape, land=land, hulls=hulls, seed=6, scaled=True)
    scl = np.full(shape, 6, dtype=np.uint8)  # water
    scl[240:290, 200:260] = 9  # cloud high probability
    args = ["--sensor", "optical"]
    for name, arr in (*bands.items(), ("scl", scl)):
        path = det_write_raster(tmp_path / f"{name}.tif", arr, crs="EPSG:32633", transform=UTM)
        args += ["--band", f"{name}={path}"]
    water = det_write_raster(
        tmp_path / "water.tif", (~land).astype(np.uint8), crs="EPSG:32633", transform=UTM
    )
    outs = []
    for blocks in (False, True):
        if blocks:
            monkeypatch.setattr(detect_module, "_OPTICAL_ONE_PASS_MAX_PX", 100 * 100)
            monkeypatch.setattr(detect_module, "_OPTICAL_BLOCK_PX", 64)
        for extra in ([], ["--water-mask", str(water)]):
            out = tmp_path / f"out_{blocks}_{len(extra)}.geojson"
            code, _, stderr = _run([*args, *extra, "--out", str(out)])
            assert code == 0, stderr
            outs.append(_fc(out)["features"])
    one, one_water, blocked, blocked_water = outs
    assert len(one) >= 8 and len(one_water) >= 8
    assert not any(
        240 <= f["properties"]["row"] < 290 and 200 <= f["properties"]["col"] < 260 for f in one
    )
    assert blocked == one and blocked_water == one_water
