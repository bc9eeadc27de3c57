"""`berthwatch claims` and `berthwatch export` over a small event store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.commands.export import LAYERS as CLI_LAYERS
from geo.events import LAYERS, EventStore
from geo.ports import load_ports
from tests.factories import events_detection, events_observation, events_time


def _store(home: Path) -> Path:
    """Twice-daily observations of both ports; one ship sails Rajin -> Dunai on 2023-09-09."""
    ports = load_ports()
    rajin = ports["rajin"].zone("rajin-pier2-e").geometry.centroid
    dunai = ports["dunai"].zone("dunai-pier-n").geometry.centroid
    path = home / "events.gpkg"
    with EventStore.open(path) as store:
        for k in range(40):
            t = events_time(1, 2) + dt.timedelta(hours=12 * k)
            for port, where, present in (
                ("rajin", rajin, events_time(7) <= t < events_time(9, 12)),
                ("dunai", dunai, events_time(10) <= t < events_time(12)),
            ):
                sid = f"{port}-{k:02d}"
                obs = events_observation(sid, port, acquired_utc=t)
                dets = (
                    [
                        events_detection(
                            sid,
                            port,
                            0,
                            lon=where.x,
                            lat=where.y,
                            zone=f"{port}-pier2-e" if port == "rajin" else "dunai-pier-n",
                            length_m=120.0,
                        )
                    ]
                    if present
                    else []
                )
                store.write_scene(obs, dets)
    return path


def test_claims_prints_bounds_verdicts_evidence_and_the_simulated_label(tmp_path: Path) -> None:
    path = _store(tmp_path)
    result = CliRunner().invoke(cli, ["claims", "--data-dir", str(tmp_path)], terminal_width=250)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "SIMULATED DATA" in out
    for claim_id in ("csis-six-trips", "whitehouse-1000-containers", "whitehouse-ship-at-rajin"):
        assert claim_id in out
    assert "evidence: 1 trips rajin->dunai seen" in out
    assert "assumptions: cargo ships are at least" in out
    with EventStore.open(path, readonly=True) as store:
        checks = {c.claim_id: c for c in store.claims()}
        assert len(store.trips()) == 1
    csis = checks["csis-six-trips"]
    # One trip seen; the weeks of the claim's window before and after the store's three weeks
    # of imagery leave room for many more.
    assert csis.lower_bound == 1 and csis.upper_bound is not None and csis.upper_bound > 6
    assert csis.verdict == "cannot be assessed"
    assert checks["whitehouse-ship-at-rajin"].verdict == "consistent"
    # --no-update prints what is stored, without writing.
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    again = CliRunner().invoke(
        cli, ["claims", "--data-dir", str(tmp_path), "--no-update", "--brief"], terminal_width=250
    )
    assert (
        again.exit_code == 0
        and "csis-six-trips" in again.output
        and "evidence:" not in again.output
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_claims_refuses_a_bad_claims_file_and_leaves_the_store_untouched(tmp_path: Path) -> None:
    path = _store(tmp_path)
    bad = tmp_path / "claims.toml"
    bad.write_text(
        '[[claim]]\nid="x"\nsource="s"\nquote="q"\nkind="tonnage"\nports=["rajin"]\n'
        'since=2023-09-01\nuntil=2023-09-02\ncomparator=">="\nnumber=1\n'
    )
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = CliRunner().invoke(cli, ["claims", "--data-dir", str(tmp_path), "--claims", str(bad)])
    assert result.exit_code == 2
    assert "kind='tonnage'; valid kinds" in result.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_claims_without_a_store_says_how_to_make_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["claims", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "No event store at" in result.output and "berthwatch demo" in result.output
    assert not (tmp_path / "empty" / "events.gpkg").exists()


def test_export_layer_names_match_the_store() -> None:
    assert CLI_LAYERS == LAYERS


@pytest.mark.parametrize("fmt", ["geoparquet", "geojson"])
def test_export_writes_every_detection(tmp_path: Path, fmt: str) -> None:
    _store(tmp_path)
    out = tmp_path / f"detections.{'parquet' if fmt == 'geoparquet' else 'geojson'}"
    args = [
        "export",
        "--layer",
        "detections",
        "--format",
        fmt,
        "--out",
        str(out),
        "--data-dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    frame = gpd.read_parquet(out) if fmt == "geoparquet" else gpd.read_file(out)
    with EventStore.open(tmp_path / "events.gpkg", readonly=True) as store:
        ids = [d.detection_id for d in store.detections()]
    assert sorted(frame["detection_id"]) == sorted(ids) and len(ids) == 9
    assert frame.crs.to_epsg() == 4326 and frame.geometry.notna().all()
    # Refuses to overwrite unless asked.
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0


def test_export_attribute_layer_and_format_from_suffix(tmp_path: Path) -> None:
    _store(tmp_path)
    CliRunner().invoke(cli, ["claims", "--data-dir", str(tmp_path), "--brief"])
    out = tmp_path / "claims.geojson"
    result = CliRunner().invoke(
        cli, ["export", "--layer", "claims", "--out", str(out), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert len(doc["features"]) == 5 and doc["features"][0]["geometry"] is None
    bad = CliRunner().invoke(
        cli,
        [
            "export",
            "--layer",
            "claims",
            "--out",
            str(tmp_path / "x.csv"),
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert bad.exit_code == 2 and "pass --format" in bad.output
