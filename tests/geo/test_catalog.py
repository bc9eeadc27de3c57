"""geo.catalog offline: the local static catalogue (GeoParquet index), user folders, open_source."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from geo import settings
from geo.catalog import (
    PROFILES,
    FolderSource,
    LocalCatalogSource,
    Scene,
    StacApiSource,
    build_folder_catalog,
    open_source,
    utc_window,
)
from geo.errors import (
    CatalogError,
    GeoError,
    RasterMetadataError,
    TimeWindowError,
    UnknownSourceError,
)
from tests.factories import imagery_port, imagery_sim_catalog, imagery_write_raster

SEP1, SEP30 = dt.date(2023, 9, 1), dt.date(2023, 9, 30)


@pytest.fixture(scope="module")
def port():  # type: ignore[no-untyped-def]
    return imagery_port("rajin")


@pytest.fixture()
def catalog(tmp_path: Path, port) -> Path:  # type: ignore[no-untyped-def]
    return imagery_sim_catalog(tmp_path / "cat", port)


def test_local_search_finds_the_port_scenes_in_time_order(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    scenes = open_source(f"local:{catalog.parent}").search(port, SEP1, SEP30)
    assert [s.id for s in scenes] == [
        "SIM_S1_rajin_20230902",
        "SIM_S2_rajin_20230907",
        "SIM_S1_rajin_20230914",
    ]
    assert all(s.simulated for s in scenes)  # the far-away item is not found
    s1, s2 = scenes[0], scenes[1]
    assert (s1.sensor, s1.platform, s1.product, s1.cloud_cover) == (
        "sar",
        "sentinel-1a",
        "sigma0",
        None,
    )
    assert (s2.sensor, s2.product, s2.cloud_cover) == ("optical", "reflectance", 12.5)
    assert s2.scales["red"] == (0.0001, -0.1) and s2.nodata["red"] == 0.0
    assert set(s2.assets) == {"blue", "green", "red", "nir", "scl"}
    for href in [*s1.assets.values(), *s2.assets.values()]:
        assert Path(href).is_absolute() and Path(href).is_file(), href
    assert s1.acquired_utc.tzinfo is not None and s1.acquired_utc.utcoffset() == dt.timedelta(0)
    assert s1.aoi_coverage(port) == pytest.approx(1.0)


def test_window_is_inclusive_by_day_and_sensor_filters(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    src = open_source(f"local:{catalog}")
    # 2 Sep 21:30 UTC is inside a window that ends on 2 Sep (whole day), not one ending on 1 Sep.
    assert [s.id for s in src.search(port, SEP1, dt.date(2023, 9, 2))] == ["SIM_S1_rajin_20230902"]
    assert src.search(port, SEP1, SEP1) == []
    assert [s.sensor for s in src.search(port, SEP1, SEP30, sensor="optical")] == ["optical"]
    assert len(src.search(port, SEP1, SEP30, sensor="sar")) == 2
    assert src.search(port, dt.date(2024, 1, 1), dt.date(2024, 2, 1)) == []


def test_bad_window_and_sensor_are_clear_errors(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    src = open_source(f"local:{catalog}")
    with pytest.raises(TimeWindowError, match="is after until"):
        src.search(port, SEP30, SEP1)
    with pytest.raises(UnknownSourceError, match="Valid sensors: sar, optical"):
        src.search(port, SEP1, SEP30, sensor="lidar")


def test_index_is_built_beside_the_catalogue_and_rebuilt_when_stale(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    src = LocalCatalogSource(catalog)
    assert len(src.search(port, SEP1, SEP30)) == 3
    index = catalog.parent / "index.parquet"
    assert index.is_file()
    built = index.stat().st_mtime_ns
    src.search(port, SEP1, SEP30)
    assert index.stat().st_mtime_ns == built  # fresh: reused
    # Add a scene to the catalogue (a newer JSON file): the index is rebuilt and finds it.
    imagery_sim_catalog(catalog.parent, port, s1_days=(2, 14, 26), other_place=False)
    os.utime(catalog, ns=(built + 10**9, built + 10**9))
    ids = [s.id for s in LocalCatalogSource(catalog).search(port, SEP1, SEP30)]
    assert "SIM_S1_rajin_20230926" in ids
    assert index.stat().st_mtime_ns > built


def test_an_index_of_another_catalogue_is_not_trusted(tmp_path: Path, port) -> None:  # type: ignore[no-untyped-def]
    # A checkout or copy can leave an index newer than the catalogue yet built from another one.
    old = imagery_sim_catalog(tmp_path / "old", port, s1_days=(3,), s2_days=(), other_place=False)
    new = imagery_sim_catalog(tmp_path / "new", port, s1_days=(20,), s2_days=(), other_place=False)
    LocalCatalogSource(old).ensure_index()
    shutil.copy2(old.parent / "index.parquet", new.parent / "index.parquet")
    os.utime(new.parent / "index.parquet")  # newer than every JSON file of the new catalogue
    ids = [s.id for s in LocalCatalogSource(new).search(port, SEP1, SEP30)]
    assert ids == ["SIM_S1_rajin_20230920"]


def test_read_only_catalogue_keeps_its_index_in_the_data_folder(
    catalog: Path, port, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Tests run as root, for whom chmod does not stop writes: say the folder is not writable.
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == catalog.parent else real_access(p, mode)
    )
    src = LocalCatalogSource(catalog)
    assert len(src.search(port, SEP1, SEP30)) == 3
    assert not (catalog.parent / "index.parquet").exists()
    cached = list((settings.data_dir() / "cache" / "stac-index").rglob("index.parquet"))
    assert len(cached) == 1


def test_index_that_cannot_be_written_beside_falls_back_to_the_cache(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    blocker = catalog.parent / "index.parquet"
    blocker.mkdir()  # os.replace onto a folder fails, like a read-only file system would
    os.utime(blocker, ns=(0, 0))  # and it looks stale
    assert len(LocalCatalogSource(catalog).search(port, SEP1, SEP30)) == 3
    cached = list((settings.data_dir() / "cache" / "stac-index").rglob("index.parquet"))
    assert len(cached) == 1 and blocker.is_dir()
    assert not list(catalog.parent.glob(".index.parquet.*"))  # no temporary left behind


def test_index_is_geoparquet_with_bbox_covering(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import pyarrow.parquet as pq

    path = LocalCatalogSource(catalog).ensure_index()
    geo_meta = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert "covering" in geo_meta["columns"]["geometry"]
    near = gpd.read_parquet(path, bbox=tuple(port.aoi.bounds))
    assert "SIM_S1_elsewhere" not in set(near["id"]) and len(near) == 3


def test_missing_catalogue_and_unknown_specs(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no STAC catalogue there"):
        open_source(f"local:{tmp_path / 'nothing'}")
    for spec in ("sentinel-hub", "local:", "stac:ftp://x", "earthsearch"):
        with pytest.raises(UnknownSourceError, match="Valid sources: earth-search"):
            open_source(spec)


def test_named_sources_have_the_real_urls_and_collections() -> None:
    es = open_source("earth-search")
    assert isinstance(es, StacApiSource)
    assert es.url == "https://earth-search.aws.element84.com/v1"
    assert es.collections == {"sar": ("sentinel-1-grd",), "optical": ("sentinel-2-c1-l2a",)}
    pc = open_source("planetary-computer")
    assert isinstance(pc, StacApiSource)
    assert pc.url == "https://planetarycomputer.microsoft.com/api/stac/v1"
    assert pc.collections == {"sar": ("sentinel-1-rtc",), "optical": ("sentinel-2-l2a",)}
    cdse = open_source("cdse")
    assert isinstance(cdse, StacApiSource)
    assert cdse.url == "https://stac.dataspace.copernicus.eu/v1"
    assert set(PROFILES) == {"earth-search", "planetary-computer", "cdse"}


def test_utc_window_dates_are_whole_days_and_naive_times_utc() -> None:
    start, stop = utc_window(dt.date(2023, 8, 20), dt.date(2023, 10, 16))
    assert start == dt.datetime(2023, 8, 20, tzinfo=dt.UTC)
    assert stop.date() == dt.date(2023, 10, 16) and stop.hour == 23
    start, _ = utc_window(dt.datetime(2023, 8, 20, 6), dt.date(2023, 8, 20))
    assert start == dt.datetime(2023, 8, 20, 6, tzinfo=dt.UTC)


def test_scene_round_trips_through_json(catalog: Path, port) -> None:  # type: ignore[no-untyped-def]
    for scene in open_source(f"local:{catalog}").search(port, SEP1, SEP30):
        again = Scene.from_dict(json.loads(json.dumps(scene.to_dict())))
        assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(
            scene.to_dict(), sort_keys=True
        )
        assert again.footprint.equals(scene.footprint) and hash(again) == hash(scene)


# ----------------------------------------------------------------------------- folders


def _user_tif(path: Path, port, *, tags=None, crs=True) -> Path:  # type: ignore[no-untyped-def]
    grid = port.grid
    data = np.full((4, 20, 30), 500, dtype=np.uint16)
    return imagery_write_raster(
        path,
        data,
        crs=grid.crs if crs else None,
        transform=Affine(3.0, 0, grid.transform.c + 300, 0, -3.0, grid.transform.f - 300),
        nodata=0,
        descriptions=["Blue", "Green", "Red", "NIR"],
        tags=tags,
        driver="GTiff",
    )


def test_folder_scenes_take_time_from_file_name_or_tags(tmp_path: Path, port) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "planet"
    _user_tif(folder / "20230915_012345_12_2439_3B_AnalyticMS_SR.tif", port)
    _user_tif(
        folder / "sub" / "vhr_rajin.tif",
        port,
        tags={"ACQUISITION_DATETIME": "2023-09-20T03:04:05Z", "BERTHWATCH_SENSOR": "optical"},
    )
    scenes = open_source(f"folder:{folder}").search(port, SEP1, SEP30)
    assert [s.acquired_utc for s in scenes] == [
        dt.datetime(2023, 9, 15, 1, 23, 45, tzinfo=dt.UTC),
        dt.datetime(2023, 9, 20, 3, 4, 5, tzinfo=dt.UTC),
    ]
    first = scenes[0]
    assert list(first.assets) == ["blue", "green", "red", "nir"]
    assert first.band_indexes == {"blue": 1, "green": 2, "red": 3, "nir": 4}
    assert first.nodata["red"] == 0.0 and first.product == "raster" and not first.simulated
    assert scenes[1].id == "sub_vhr_rajin"


def test_folder_catalogue_is_searchable_offline(tmp_path: Path, port) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mine"
    _user_tif(folder / "S2_20230910T020000.tif", port)
    catalog = build_folder_catalog(folder, tmp_path / "mine-stac")
    doc = json.loads(catalog.read_text())
    assert doc["type"] == "Catalog"
    items = list((tmp_path / "mine-stac").rglob("*.json"))
    assert len(items) == 2  # catalogue + one item


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        ("empty", CatalogError, "holds no raster"),
        ("nocrs", RasterMetadataError, "has no CRS"),
        ("notime", RasterMetadataError, "no acquisition time"),
        ("notafolder", CatalogError, "not a folder"),
    ],
)
def test_bad_folders_are_one_clear_error(
    tmp_path: Path, port, setup: str, error: type[GeoError], message: str
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "notes.txt").write_text("no rasters here")
    if setup == "nocrs":
        _user_tif(folder / "20230915_x.tif", port, crs=False)
    if setup == "notime":
        _user_tif(folder / "harbour.tif", port)
    if setup == "notafolder":
        folder = folder / "notes.txt"
    with pytest.raises(error, match=message) as info:
        FolderSource(folder).search(port, SEP1, SEP30)
    assert "\n" not in str(info.value)
