"""Real catalogues on the internet: one real search per source (and one real read).

Skipped unless ``BERTHWATCH_NETWORK_TESTS=1`` (see README, "Real catalogues"). The sockets the
rest of the suite blocks are opened to every host here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from geo.catalog import PROFILES, open_source
from geo.tiles import read_tile
from tests.factories import imagery_port

pytestmark = [
    pytest.mark.network,
    pytest.mark.allow_hosts(["0.0.0.0/0", "::/0"]),
    # Real servers and client libraries may warn about things that are not ours to fix.
    pytest.mark.filterwarnings("default"),
]

# Rajin, September 2023: the month the Rajin -> Dunai shipments were first reported.
SINCE, UNTIL = dt.date(2023, 9, 1), dt.date(2023, 9, 30)


@pytest.mark.parametrize("spec", sorted(PROFILES))
@pytest.mark.parametrize("sensor", ["sar", "optical"])
def test_one_real_search_per_source(spec: str, sensor: str) -> None:
    port = imagery_port("rajin")
    scenes = open_source(spec).search(port, SINCE, UNTIL, sensor=sensor)
    assert scenes, f"{spec} found no {sensor} scene of Rajin in September 2023"
    collections = PROFILES[spec].collections[sensor]
    for scene in scenes:
        assert scene.collection in collections and scene.sensor == sensor
        assert SINCE <= scene.acquired_utc.date() <= UNTIL
        assert scene.footprint.intersects(port.aoi) and not scene.simulated
        assert scene.assets and all("://" in h for h in scene.assets.values())
    if sensor == "optical":
        assert all(s.cloud_cover is not None for s in scenes)
        assert {"red", "nir", "scl"} <= set(scenes[0].assets)


def test_one_real_sentinel2_tile_from_earth_search() -> None:
    port = imagery_port("rajin")
    scenes = open_source("earth-search").search(port, SINCE, UNTIL, sensor="optical")
    clearest = min(scenes, key=lambda s: (s.cloud_cover or 100.0, -s.aoi_coverage(port)))
    tile = read_tile(clearest, port)
    assert tile.shape == port.grid.shape and tile.transform == port.grid.transform
    red = tile.bands["red"][tile.valid]
    if red.size:  # a cloudy scene may leave nothing observed: not observed, not an error
        assert -0.2 < float(np.median(red)) < 1.0  # reflectance, scale/offset applied
