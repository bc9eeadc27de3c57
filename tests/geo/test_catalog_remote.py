"""Remote sources against real servers on 127.0.0.1: a STAC API (stac-fastapi-static) and a
range-capable file server that GDAL reads through ``/vsicurl/``; faults included."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from flows.cli import cli
from geo.catalog import Scene, StacApiSource, open_source
from geo.errors import CredentialsRequiredError, StacSearchError, TileReadError
from geo.network import HttpParams
from geo.tiles import read_tile
from tests.factories import (
    imagery_add_grd_collection,
    imagery_port,
    imagery_rehost_catalog,
    imagery_sim_catalog,
)
from tests.servers import Fault, FileServer, StacApi, serve_files, serve_stac_api

SEP1, SEP30 = dt.date(2023, 9, 1), dt.date(2023, 9, 30)
#: Small timeouts and delays keep the fault tests fast; still real retries.
FAST = HttpParams(timeout_s=1.0, max_retry=2, retry_delay_s=0.05, attempts=2)
#: 2 attempts x 2 requests x 1 s timeout: the stall test takes about 4 s.
STALL = HttpParams(timeout_s=1.0, max_retry=1, retry_delay_s=0.05, attempts=2)
S2_ID, GRD_ID = "SIM_S2_rajin_20230907", "S1A_IW_GRDH_1SDV_20230910T213000_TEST"


@pytest.fixture(scope="module")
def port():  # type: ignore[no-untyped-def]
    return imagery_port("rajin")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, port) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An Earth-Search-like catalogue on disk: sentinel-2-c1-l2a (scale/offset) + sentinel-1-grd."""
    root = tmp_path_factory.mktemp("archive")
    catalog = imagery_sim_catalog(root / "cat", port, s1_days=(), other_place=False)
    grd = imagery_add_grd_collection(catalog, port)
    return {"root": root, "catalog": catalog, "grd": grd}


@pytest.fixture(scope="module")
def files(archive: dict[str, Any]) -> Iterator[FileServer]:
    with serve_files(archive["catalog"].parent) as server:
        yield server


@pytest.fixture(scope="module")
def api(archive: dict[str, Any], files: FileServer) -> Iterator[StacApi]:
    catalog = imagery_rehost_catalog(
        archive["catalog"],
        archive["root"] / "api",
        files.url,
        **{"berthwatch-sim-s2": "sentinel-2-c1-l2a"},
    )
    with serve_stac_api(catalog) as server:
        yield server


def _earth_search(api: StacApi, params: HttpParams = FAST) -> StacApiSource:
    source = open_source("earth-search", url=api.url, params=params)
    assert isinstance(source, StacApiSource)
    return source


def test_earth_search_profile_finds_both_collections_over_http(api: StacApi, port) -> None:  # type: ignore[no-untyped-def]
    before = api.seen()["POST /search"]
    scenes = _earth_search(api).search(port, SEP1, SEP30)
    assert [s.id for s in scenes] == [S2_ID, GRD_ID]
    s2, grd = scenes
    assert (s2.collection, s2.product, s2.scales["nir"]) == (
        "sentinel-2-c1-l2a",
        "reflectance",
        (0.0001, -0.1),
    )
    assert (grd.collection, grd.product, grd.sensor) == ("sentinel-1-grd", "s1-grd-dn", "sar")
    assert set(grd.aux_assets) == {"calibration-vv", "noise-vv"}
    for href in [*s2.assets.values(), *grd.assets.values(), *grd.aux_assets.values()]:
        assert href.startswith("http://127.0.0.1:"), href
    assert all(s.source == "earth-search" for s in scenes)
    assert api.seen()["POST /search"] == before + 1  # pystac-client searches by POST


def test_sensor_restricts_the_collections_searched(api: StacApi, port) -> None:  # type: ignore[no-untyped-def]
    assert [s.id for s in _earth_search(api).search(port, SEP1, SEP30, sensor="sar")] == [GRD_ID]
    assert [s.id for s in _earth_search(api).search(port, SEP1, SEP30, sensor="optical")] == [S2_ID]
    assert _earth_search(api).search(port, dt.date(2024, 1, 1), dt.date(2024, 1, 31)) == []


def test_tiles_read_over_http_equal_tiles_read_from_disk(api: StacApi, archive, port) -> None:  # type: ignore[no-untyped-def]
    remote = {s.id: s for s in _earth_search(api).search(port, SEP1, SEP30)}
    local = {s.id: s for s in open_source(f"local:{archive['catalog']}").search(port, SEP1, SEP30)}
    over_http = {i: read_tile(remote[i], port, params=FAST) for i in (S2_ID, GRD_ID)}
    for scene_id, tile in over_http.items():
        on_disk = read_tile(local[scene_id], port)
        assert tile.transform == on_disk.transform == port.grid.transform
        for band in on_disk.bands:
            np.testing.assert_array_equal(tile.bands[band], on_disk.bands[band])
        np.testing.assert_array_equal(tile.valid, on_disk.valid)
    r0, r1, c0, c1 = archive["grd"]["box"]
    vv = over_http[GRD_ID].bands["vv"]
    assert np.nanmin(vv[r0 + 1 : r1 - 1, c0 + 1 : c1 - 1]) > 0.6  # sigma0, calibrated


def test_generic_stac_spec_searches_every_collection(api: StacApi, port) -> None:  # type: ignore[no-untyped-def]
    scenes = open_source(f"stac:{api.url}", params=FAST).search(port, SEP1, SEP30)
    assert {s.id for s in scenes} == {S2_ID, GRD_ID}
    assert all(s.source == f"stac:{api.url}" for s in scenes)


def test_cli_scenes_and_fetch_against_the_loopback_api(api: StacApi, tmp_path: Path) -> None:
    args = ["--port", "rajin", "--since", "2023-09-01", "--until", "2023-09-30"]
    env = {"BERTHWATCH_HTTP_TIMEOUT_S": "2", "BERTHWATCH_HTTP_RETRY_DELAY_S": "0.05"}
    listed = CliRunner().invoke(cli, ["scenes", *args, "--source", f"stac:{api.url}"], env=env)
    assert listed.exit_code == 0, listed.output
    assert S2_ID in listed.output and GRD_ID in listed.output
    fetched = CliRunner().invoke(
        cli,
        ["fetch", *args, "--source", f"stac:{api.url}", "--data-dir", str(tmp_path)],
        env=env,
    )
    assert fetched.exit_code == 0, fetched.output
    assert sorted(p.name for p in (tmp_path / "tiles" / "rajin").iterdir()) == [
        f"{GRD_ID}.tif",
        f"{S2_ID}.tif",
    ]


# ----------------------------------------------------------------------------- search faults


def test_search_succeeds_after_two_503s(api: StacApi, port) -> None:  # type: ignore[no-untyped-def]
    before = api.seen()["POST /search"]
    api.fail_next(2)
    scenes = _earth_search(api).search(port, SEP1, SEP30)
    assert len(scenes) == 2
    assert api.seen()["POST /search"] == before + 3  # two 503s, then the answer


def test_search_that_keeps_failing_is_a_typed_error_naming_the_url(api: StacApi, port) -> None:  # type: ignore[no-untyped-def]
    api.fail_next(50)
    before = api.seen()["POST /search"]
    start = time.monotonic()
    try:
        with pytest.raises(StacSearchError, match=f"STAC search at {api.url} failed") as info:
            _earth_search(api).search(port, SEP1, SEP30)
    finally:
        api.fail_next(0)
    assert time.monotonic() - start < 20
    assert api.seen()["POST /search"] - before == FAST.max_retry + 1  # bounded attempts
    assert "503" in str(info.value) and "\n" not in str(info.value)


def test_unreachable_api_is_a_typed_error(port) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    with pytest.raises(StacSearchError, match="127.0.0.1"):
        open_source(f"stac:{url}", params=FAST).search(port, SEP1, SEP30)


# ----------------------------------------------------------------------------- read faults


def _scene_via(server: FileServer, archive, port, scene_id: str) -> Scene:  # type: ignore[no-untyped-def]
    """The scene from a catalogue whose hrefs point at *server*."""
    root = archive["root"] / f"via-{server.url.rsplit(':', 1)[1]}"
    catalog = imagery_rehost_catalog(archive["catalog"], root, server.url)
    scenes = {s.id: s for s in open_source(f"local:{catalog}").search(port, SEP1, SEP30)}
    return scenes[scene_id]


S2_RED = f"/berthwatch-sim-s2/{S2_ID}/red.tif"


def test_cog_answering_503_twice_is_read_after_retries(archive, port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with serve_files(archive["catalog"].parent, {S2_RED: Fault("status", times=2)}) as server:
        scene = _scene_via(server, archive, port, S2_ID)
        tile = read_tile(scene, port, cache_dir=tmp_path, params=FAST)
        assert server.hits[S2_RED] >= 3
    assert tile.valid.any() and tile.path is not None and tile.path.is_file()


def test_outer_attempts_take_over_when_gdal_retries_run_out(archive, port) -> None:  # type: ignore[no-untyped-def]
    # GDAL tries 1 + max_retry = 3 times per request; 5 failures need a second whole-read attempt.
    params = HttpParams(timeout_s=1.0, max_retry=2, retry_delay_s=0.05, attempts=3)
    with serve_files(archive["catalog"].parent, {S2_RED: Fault("status", times=5)}) as server:
        tile = read_tile(_scene_via(server, archive, port, S2_ID), port, params=params)
    assert tile.valid.any()


def test_a_file_that_keeps_failing_stops_after_bounded_attempts(
    archive, port, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with serve_files(archive["catalog"].parent, {S2_RED: Fault("status", times=10**6)}) as server:
        with pytest.raises(
            TileReadError, match=f"after {FAST.attempts} attempts.*HTTP response code: 503"
        ):
            read_tile(
                _scene_via(server, archive, port, S2_ID), port, cache_dir=tmp_path, params=FAST
            )
        # attempts x (1 + max_retry) GETs, plus at most one HEAD per attempt
        assert server.hits[S2_RED] <= FAST.attempts * (FAST.max_retry + 2)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_calibration_xml_answering_503_twice_is_read_after_retries(archive, port) -> None:  # type: ignore[no-untyped-def]
    cal = Path(archive["grd"]["calibration"]).relative_to(archive["catalog"].parent)
    path = "/" + cal.as_posix()
    with serve_files(archive["catalog"].parent, {path: Fault("status", times=2)}) as server:
        tile = read_tile(_scene_via(server, archive, port, GRD_ID), port, params=FAST)
        assert server.hits[path] == 3
    assert np.nanmedian(tile.bands["vv"]) == pytest.approx(0.03, rel=0.05)


def test_stalled_server_times_out_with_a_typed_error(archive, port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with serve_files(archive["catalog"].parent, {S2_RED: Fault("stall")}) as server:
        scene = _scene_via(server, archive, port, S2_ID)
        start = time.monotonic()
        with pytest.raises(TileReadError) as info:
            read_tile(scene, port, cache_dir=tmp_path, params=STALL)
        elapsed = time.monotonic() - start
    message = str(info.value)
    assert S2_ID in message and f"{server.url}{S2_RED}" in message and "\n" not in message
    assert "timed out" in message.lower()
    assert elapsed < 20  # bounded: attempts x (retries + 1) x timeout, plus back-off
    assert not list(tmp_path.rglob("*"))  # nothing cached


def test_cog_cut_short_is_a_typed_error_and_never_cached(archive, port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with serve_files(archive["catalog"].parent, {S2_RED: Fault("cut")}) as server:
        scene = _scene_via(server, archive, port, S2_ID)
        with pytest.raises(TileReadError, match=S2_ID) as info:
            read_tile(scene, port, cache_dir=tmp_path, params=FAST)
    assert f"{server.url}{S2_RED}" in str(info.value)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no tile, no temporary


# ----------------------------------------------------------------------------- credentials


def _s3_scene(source: str, href: str) -> Scene:
    return Scene(
        "S3SCENE", "sentinel-1-grd", source, "sar", "sentinel-1a",
        dt.datetime(2023, 9, 10, tzinfo=dt.UTC), imagery_port().aoi, None,
        {"vv": href}, product="sigma0",
    )  # fmt: skip


def test_cdse_download_without_keys_says_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch, port
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BERTHWATCH_CDSE_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("BERTHWATCH_CDSE_S3_SECRET_KEY", raising=False)
    scene = _s3_scene(
        "cdse", "s3://eodata/Sentinel-1/SAR/GRD/2023/09/10/x.SAFE/measurement/vv.tiff"
    )
    with pytest.raises(CredentialsRequiredError, match="BERTHWATCH_CDSE_S3_ACCESS_KEY"):
        read_tile(scene, port, params=FAST)


def test_requester_pays_bucket_without_aws_keys_is_refused_up_front(
    monkeypatch: pytest.MonkeyPatch, port
) -> None:  # type: ignore[no-untyped-def]
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    scene = _s3_scene(
        "earth-search", "s3://sentinel-s1-l1c/GRD/2023/9/10/IW/DV/x/measurement/iw-vv.tiff"
    )
    with pytest.raises(CredentialsRequiredError, match="requester-pays"):
        read_tile(scene, port, params=FAST)


def test_planetary_computer_signing_leaves_other_hosts_alone(
    api: StacApi, files: FileServer, port
) -> None:  # type: ignore[no-untyped-def]
    # PC signs only Azure blob URLs (a SAS token per container); a loopback URL reads as is.
    s2 = next(s for s in _earth_search(api).search(port, SEP1, SEP30) if s.id == S2_ID)
    as_pc = Scene.from_dict(s2.to_dict() | {"source": "planetary-computer"})
    assert read_tile(as_pc, port, params=FAST).valid.any()
