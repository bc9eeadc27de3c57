"""Builders shared by the tests; each area prefixes its builders (``events_``, ``tile_``, ...)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shapely.geometry import Point, box

from geo.events import DetectionRecord, ObservationRecord

# --- event store records (geo.events; tests/geo/test_events*.py, test_trips.py, test_claims.py) ---


def events_time(day: int, hour: float = 0, *, month: int = 9, year: int = 2023) -> dt.datetime:
    """An aware UTC datetime, default in September 2023; *hour* may be fractional."""
    return dt.datetime(year, month, day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


def events_observation(scene_id: str = "S1", port: str = "rajin", **kw: Any) -> ObservationRecord:
    """An observation of a fully visible port (override any field with keywords)."""
    fields: dict[str, Any] = {
        "scene_id": scene_id,
        "port": port,
        "source": "test",
        "collection": "test-collection",
        "sensor": "S2",
        "platform": "sentinel-2a",
        "acquired_utc": events_time(7, 2),
        "footprint": box(130.2, 42.1, 130.4, 42.3),
        "valid_fraction": 1.0,
        "zone_valid_fraction": {},
        "simulated": True,
    }
    fields.update(kw)
    return ObservationRecord(**fields)


def events_detection(
    scene_id: str = "S1",
    port: str = "rajin",
    index: int = 0,
    *,
    lon: float = 130.288,
    lat: float = 42.2335,
    **kw: Any,
) -> DetectionRecord:
    """A vessel detection centred at ``(lon, lat)`` with a small square footprint."""
    fields: dict[str, Any] = {
        "scene_id": scene_id,
        "port": port,
        "index": index,
        "kind": "vessel",
        "zone": "open_water",
        "geometry": Point(lon, lat).buffer(0.0005, cap_style="square"),
        "lon": lon,
        "lat": lat,
        "row": 10.0 + index,
        "col": 20.0,
        "length_m": 120.0,
        "width_m": 18.0,
        "heading_deg": 0.0,
        "score": 9.5,
    }
    fields.update(kw)
    return DetectionRecord(**fields)
