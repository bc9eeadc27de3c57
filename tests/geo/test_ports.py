"""Loading and validating seeds/ports.geojson."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import PortsFileError, UnknownPortError
from geo.ports import get_port, load_ports
from geo.settings import seeds_dir
from geo.transforms import lonlat_to_pixels, pixels_to_lonlat


def _seed_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((seeds_dir() / "ports.geojson").read_text())
    return doc


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "ports.geojson"
    path.write_text(json.dumps(doc))
    return path


def test_seed_ports_load_with_zones_and_grids() -> None:
    ports = load_ports()
    assert {"rajin", "dunai", "vostochny"} <= set(ports)
    rajin = ports["rajin"]
    assert rajin.utm_crs.to_epsg() == 32652
    assert ports["dunai"].utm_crs.to_epsg() == 32653
    assert len(rajin.zones_of("berth")) >= 3
    assert rajin.zones_of("yard") and rajin.zones_of("anchorage")
    assert all(z.approximate for p in ports.values() for z in p.zones)
    # The grid is snapped to the pixel size, so every scene of a port lands on the same pixels.
    t = rajin.grid.transform
    assert t.a == 10.0 and t.e == -10.0 and t.c % 10 == 0 and t.f % 10 == 0
    # Rajin's WPI position lies inside its AOI.
    rows, cols = lonlat_to_pixels([130.300], [42.233], t, rajin.utm_crs)
    assert 0 <= rows[0] < rajin.grid.shape[0] and 0 <= cols[0] < rajin.grid.shape[1]


def test_water_and_zone_masks_are_consistent() -> None:
    rajin = get_port("rajin")
    water = rajin.water_mask()
    assert water.shape == rajin.grid.shape
    assert 0.3 < water.mean() < 0.8
    for berth in rajin.zones_of("berth"):
        mask = rajin.zone_mask(berth.id)
        assert mask.sum() > 100, berth.id
        assert water[mask].mean() > 0.9, f"{berth.id} should be water alongside a pier"
    yard = rajin.zone_mask(rajin.zones_of("yard")[0].id)
    assert not water[yard].any()


def test_unknown_port_lists_valid_ids() -> None:
    with pytest.raises(
        UnknownPortError, match="Unknown port 'atlantis'. Valid ports: dunai, rajin"
    ):
        get_port("atlantis")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(type="Feature"), "must be a GeoJSON FeatureCollection"),
        (lambda d: d["features"][1]["properties"].update(id="rajin"), "repeats id 'rajin'"),
        (lambda d: d["features"][0]["properties"].update(utm_epsg=999999), "not a known EPSG code"),
        (lambda d: d["features"][0]["properties"].update(utm_epsg=4326), "not a projected CRS"),
        (lambda d: d["features"][1]["properties"].update(kind="lagoon"), "valid kinds: berth"),
        (lambda d: d["features"][1]["properties"].update(port="nowhere"), "name port 'nowhere'"),
        (
            lambda d: d["features"][1].update(
                geometry={
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            ),
            "invalid polygon",
        ),
        (
            lambda d: d["features"][1].update(
                geometry={"type": "Point", "coordinates": [130.3, 42.2]}
            ),
            "must be a non-empty Polygon",
        ),
        (
            lambda d: d["features"][1].update(
                geometry={
                    "type": "Polygon",
                    "coordinates": [
                        [[131, 42], [131.01, 42], [131.01, 42.01], [131, 42.01], [131, 42]]
                    ],
                }
            ),
            "lies outside the AOI of port 'rajin'",
        ),
    ],
)
def test_malformed_ports_file_is_refused_in_one_line(
    tmp_path: Path, mutate: Any, message: str
) -> None:
    doc = _seed_doc()
    mutate(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(PortsFileError, match=message) as info:
        load_ports(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text


def test_unparseable_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "ports.geojson"
    bad.write_text("{not json")
    with pytest.raises(PortsFileError, match="fix the JSON syntax"):
        load_ports(bad)
    with pytest.raises(PortsFileError, match="file not found"):
        load_ports(tmp_path / "missing.geojson")


@settings(max_examples=50, deadline=None)
@given(
    row=st.floats(-500, 5000, allow_nan=False),
    col=st.floats(-500, 5000, allow_nan=False),
    port_id=st.sampled_from(["rajin", "dunai", "vostochny"]),
)
def test_pixel_lonlat_round_trip(row: float, col: float, port_id: str) -> None:
    port = get_port(port_id)
    lon, lat = pixels_to_lonlat([row], [col], port.grid.transform, port.utm_crs)
    r, c = lonlat_to_pixels(lon, lat, port.grid.transform, port.utm_crs)
    np.testing.assert_allclose([r[0], c[0]], [row, col], atol=1e-6)
