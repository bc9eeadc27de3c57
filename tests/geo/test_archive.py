"""The archive writer and the committed sample archive: STAC validity, COG contract, labels."""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio

from geo.archive import COLLECTION_REAL, COLLECTION_SIM_S1, COLLECTION_SIM_S2
from geo.ports import load_ports
from geo.settings import sample_tiles_dir
from geo.simulate import load_truth, simulate_archive
from tests.factories import sim_params

SHARED_DATA = Path("/work/shared/data")
MAX_ARCHIVE_BYTES = 25 * 1024 * 1024


def _core_schema_map() -> dict[str, str]:
    """Map the STAC 1.1 core and GeoJSON schema URLs onto the copies pystac ships (offline)."""
    import pystac.validation.jsonschemas as js

    base = Path(js.__file__).parent
    spec = base / "stac-spec" / "v1.1.0"
    out = {
        f"https://schemas.stacspec.org/v1.1.0/{k}-spec/json-schema/{k}.json": str(
            spec / f"{k}.json"
        )
        for k in ("catalog", "collection", "item")
    }
    for f in spec.glob("*.json"):
        out[f"https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/{f.name}"] = str(f)
    for f in (base / "geojson").glob("*.json"):
        out[f"https://geojson.org/schema/{f.name}"] = str(f)
    return out


def _stac_validator() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # stac_validator -> stac_valid rename
        from stac_validator.validate import StacValidate
    return StacValidate


def _validate_core(root: Path) -> list[dict[str, Any]]:
    """Validate every JSON document of a catalogue with stac-validator (core schemas, offline)."""
    stac_validate = _stac_validator()
    schema_map = _core_schema_map()
    failures = []
    docs = sorted(p for p in root.rglob("*.json") if "labels" not in p.name)
    for doc in docs:
        v = stac_validate(str(doc), core=True, schema_map=schema_map)
        if not v.run():
            failures.append(v.message[-1])
    assert len(docs) > 3
    return failures


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archive") / "tiles"
    real = SHARED_DATA if (SHARED_DATA / "s2_ports" / "honolulu").is_dir() else None
    simulate_archive(
        out, sim_params(since=dt.date(2023, 9, 6), until=dt.date(2023, 9, 7)), real_samples_dir=real
    )
    return out


def test_catalogue_validates_with_stac_validator(small_archive: Path) -> None:
    assert _validate_core(small_archive) == []


def test_collections_label_simulated_and_real(small_archive: Path) -> None:
    cat = pystac.Catalog.from_file(str(small_archive / "catalog.json"))
    colls = {c.id: c for c in cat.get_collections()}
    assert {COLLECTION_SIM_S1, COLLECTION_SIM_S2} <= set(colls)
    assert "SIMULATED" in cat.title and "SIMULATED" in cat.description
    for cid in (COLLECTION_SIM_S1, COLLECTION_SIM_S2):
        c = colls[cid]
        assert "SIMULATED" in c.description and c.extra_fields["berthwatch:simulated"] is True
        for item in c.get_items():
            assert item.properties["berthwatch:simulated"] is True
            assert "SIMULATED" in item.properties["title"]
    if COLLECTION_REAL in colls:
        real = colls[COLLECTION_REAL]
        assert "Contains modified Copernicus Sentinel data" in real.description
        assert real.extra_fields["berthwatch:simulated"] is False
        for item in real.get_items():
            assert item.properties["berthwatch:simulated"] is False
            assert "Contains modified Copernicus Sentinel data" in item.properties["description"]


def test_items_follow_the_contract(small_archive: Path) -> None:
    ports = load_ports()
    cat = pystac.Catalog.from_file(str(small_archive / "catalog.json"))
    n = 0
    for item in cat.get_items(recursive=True):
        if item.collection_id == COLLECTION_REAL:
            continue
        n += 1
        p = item.properties
        port = ports[p["berthwatch:port"]]
        sar = p["berthwatch:sensor"] == "sar"
        assert item.id == f"sim-{'s1' if sar else 's2'}-{port.id}-{item.datetime:%Y%m%dT%H%M%S}"
        assert p["proj:code"] == f"EPSG:{port.grid.crs.to_epsg()}"
        assert p["proj:shape"] == list(port.grid.shape)
        assert p["proj:transform"] == pytest.approx(list(port.grid.transform)[:6])
        assert p["constellation"] == ("sentinel-1" if sar else "sentinel-2")
        if sar:
            assert p["platform"] == "sentinel-1a"
            assert (p["sar:instrument_mode"], p["sar:frequency_band"]) == ("IW", "C")
            assert p["sar:polarizations"] == ["VV", "VH"]
            assert set(item.assets) == {"vv", "vh"}
        else:
            assert p["platform"] in ("sentinel-2a", "sentinel-2b")
            assert 0 <= p["eo:cloud_cover"] <= 100
            assert set(item.assets) == {"blue", "green", "red", "nir", "scl"}
            band = item.assets["nir"].extra_fields["raster:bands"][0]
            assert (band["scale"], band["offset"], band["nodata"]) == (0.0001, 0.0, 0)
        for key, asset in item.assets.items():
            assert not os.path.isabs(asset.href) and asset.href.startswith("./")
            _check_cog(Path(asset.get_absolute_href() or ""), key, port.grid)
    assert n == 8


def _check_cog(path: Path, key: str, grid: Any) -> None:
    with rasterio.open(path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.crs.to_epsg() == grid.crs.to_epsg()
        assert ds.transform.almost_equals(grid.transform)
        assert ds.shape == grid.shape
        assert "TIFFTAG_DATETIME" not in ds.tags()
        expected = {"vv": "float32", "vh": "float32", "scl": "uint8"}.get(key, "uint16")
        assert ds.dtypes[0] == expected
        if expected == "float32":
            assert np.isnan(ds.nodata)
        else:
            assert ds.nodata == 0


def test_no_wall_clock_or_machine_paths_in_json(small_archive: Path) -> None:
    for doc in small_archive.rglob("*.json"):
        text = doc.read_text()
        assert str(small_archive) not in text and "/tmp" not in text
        for key in ('"created"', '"updated"'):
            assert key not in text, doc


@pytest.mark.skipif(not (SHARED_DATA / "s2_ports").is_dir(), reason="shared real data not here")
def test_real_samples_are_copied_faithfully(small_archive: Path) -> None:
    item_dir = small_archive / COLLECTION_REAL / "real-s1-los-angeles-long-beach-20210105"
    with rasterio.open(item_dir / "real-s1-los-angeles-long-beach-20210105_vv.tif") as ds:
        linear = ds.read(1)
    with rasterio.open(SHARED_DATA / "s1_scenes/port_la_longbeach_S1_VV_dB_2021-01-05.tif") as src:
        db = src.read(1)
    ok = np.isfinite(linear)
    assert ok.mean() > 0.9
    assert np.allclose(10 * np.log10(linear[ok]), db[ok], atol=1e-3)
    honolulu = small_archive / COLLECTION_REAL / "real-s2-honolulu-20230108"
    with (
        rasterio.open(honolulu / "real-s2-honolulu-20230108_nir.tif") as ds,
        rasterio.open(SHARED_DATA / "s2_ports/honolulu/nir.tif") as src,
    ):
        assert np.array_equal(ds.read(1), src.read(1))
        assert ds.crs == src.crs
    assert (honolulu / "real-s2-honolulu-20230108_labels.csv").read_text().startswith("label_id,")


# -- the committed sample archive ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_tiles() -> Path:
    root = sample_tiles_dir()
    if not (root / "catalog.json").exists():
        pytest.fail(f"{root} holds no catalog.json; run `berthwatch simulate` (see its README).")
    return root


def test_sample_archive_validates_and_fits_the_budget(sample_tiles: Path) -> None:
    assert _validate_core(sample_tiles) == []
    size = sum(p.stat().st_size for p in sample_tiles.rglob("*") if p.is_file())
    assert size <= MAX_ARCHIVE_BYTES


def test_sample_archive_holds_both_ports_and_real_samples(sample_tiles: Path) -> None:
    cat = pystac.Catalog.from_file(str(sample_tiles / "catalog.json"))
    items = list(cat.get_items(recursive=True))
    by_coll: dict[str, set[str]] = {}
    for item in items:
        by_coll.setdefault(item.collection_id or "", set()).add(item.properties["berthwatch:port"])
    assert by_coll[COLLECTION_SIM_S1] == by_coll[COLLECTION_SIM_S2] == {"rajin", "dunai"}
    assert len(by_coll[COLLECTION_REAL]) == 2
    readme = (sample_tiles / "README.md").read_text()
    assert "SIMULATED" in readme and "Contains modified Copernicus Sentinel data" in readme
    assert "berthwatch simulate --out sample_tiles --seed 0" in readme


def test_sample_truth_matches_the_catalogue(sample_tiles: Path) -> None:
    truth = load_truth(sample_tiles)
    cat = pystac.Catalog.from_file(str(sample_tiles / "catalog.json"))
    sim_ids = {i.id for i in cat.get_items(recursive=True) if i.properties["berthwatch:simulated"]}
    assert set(truth.scenes["scene_id"]) == sim_ids
    to_dunai = truth.trips[
        (truth.trips["from_port"] == "rajin") & (truth.trips["to_port"] == "dunai")
    ]
    assert len(to_dunai) == 6
    assert set(truth.vessels["scene_id"]) <= sim_ids


@pytest.mark.network
def test_sample_archive_validates_with_extensions(sample_tiles: Path) -> None:
    """Full validation (core and extension schemas, fetched from the web), recursively."""
    v = _stac_validator()(str(sample_tiles / "catalog.json"), recursive=True)
    assert v.run(), json.dumps(v.message[-1])[:2000]
