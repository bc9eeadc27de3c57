"""Builders shared by the tests; each area prefixes its builders (``events_``, ``tile_``, ...)."""

from __future__ import annotations

import dataclasses
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


# --- imagery sources and tiles (geo.catalog, geo.tiles, geo.calibration; tests/geo/test_catalog*.py,
# test_tiles*.py, test_calibration.py, tests/flows/test_scenes_cli.py) ------------------------------


def imagery_write_raster(
    path: Any,
    data: Any,
    *,
    crs: Any,
    transform: Any,
    nodata: float | None = None,
    descriptions: list[str] | None = None,
    tags: dict[str, str] | None = None,
    gcps: list[Any] | None = None,
    driver: str = "COG",
) -> Any:
    """Write a (bands, rows, cols) or (rows, cols) array as a GeoTIFF (COG by default).

    With *gcps* the raster is georeferenced by ground control points (EPSG:4326) instead of
    *crs*/*transform*, like a Sentinel-1 GRD measurement.
    """
    from pathlib import Path

    import numpy as np
    import rasterio

    arr = np.asarray(data)
    if arr.ndim == 2:
        arr = arr[None]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {
        "driver": "GTiff" if gcps is not None else driver,
        "width": arr.shape[2],
        "height": arr.shape[1],
        "count": arr.shape[0],
        "dtype": arr.dtype.name,
        "nodata": nodata,
    }
    if gcps is None:
        profile |= {"crs": crs, "transform": transform}
    else:
        profile |= {"tiled": True, "blockxsize": 256, "blockysize": 256}
        profile |= {"gcps": gcps, "crs": rasterio.crs.CRS.from_epsg(4326)}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(arr)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
    return out


def imagery_port(port_id: str = "rajin") -> Any:
    """A real port of seeds/ports.geojson (Rajin's grid: 241 x 301 pixels of 10 m)."""
    from geo.ports import load_ports

    return load_ports()[port_id]


def imagery_s1_arrays(port: Any, seed: int, *, edge_cols: int = 20) -> dict[str, Any]:
    """Simulated-style sigma0 (linear, float32) on the port grid: sea clutter, one bright ship,
    NaN over the first *edge_cols* columns (outside the swath)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, cols = port.grid.shape
    out = {}
    for pol, level in (("vv", 0.02), ("vh", 0.004)):
        band = rng.gamma(4.0, level / 4.0, size=(rows, cols)).astype(np.float32)
        band[100:104, 150:160] = 40 * level
        band[:, :edge_cols] = np.nan
        out[pol] = band
    return out


def imagery_s2_arrays(shape: tuple[int, int], seed: int) -> dict[str, Any]:
    """Sentinel-2-style uint16 DN (reflectance * 10000 + 1000, i.e. offset -0.1) and an SCL
    with water (6) everywhere, a cloud (9) block and a shadow (3) block."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, cols = shape
    out = {}
    for i, name in enumerate(("blue", "green", "red", "nir")):
        refl = 0.03 + 0.01 * i + 0.002 * rng.standard_normal((rows, cols))
        out[name] = np.clip(np.round(refl * 10000 + 1000), 1, 65535).astype(np.uint16)
    return out


def imagery_sim_catalog(
    root: Any,
    port: Any,
    *,
    s1_days: tuple[int, ...] = (2, 14),
    s2_days: tuple[int, ...] = (7,),
    month: int = 9,
    other_place: bool = True,
) -> Any:
    """A static STAC catalogue in the simulator's layout (see the brief of issue 5).

    Collections ``berthwatch-sim-s1`` (vv, vh: float32 linear sigma0 on the port grid, NaN
    nodata) and ``berthwatch-sim-s2`` (blue, green, red, nir: uint16, raster:bands scale 0.0001
    offset -0.1, nodata 0, on a grid shifted by whole pixels and larger than the port's; scl
    uint8 at 20 m with a cloud block). With *other_place*, one more S1 item far away (must never
    be found for the port). SELF_CONTAINED, relative hrefs. Returns ``catalog.json``'s path.
    """
    from pathlib import Path

    import numpy as np
    import pystac
    from affine import Affine

    root = Path(root)
    grid = port.grid
    cat = pystac.Catalog("berthwatch-test", "test catalogue in the simulator's layout")
    extent = pystac.Extent(
        pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
        pystac.TemporalExtent([[dt.datetime(2023, 1, 1, tzinfo=dt.UTC), None]]),
    )
    s1 = pystac.Collection("berthwatch-sim-s1", "simulated S1", extent)
    s2 = pystac.Collection("berthwatch-sim-s2", "simulated S2", extent)
    cat.add_children([s1, s2])
    footprint = port.aoi.buffer(0.02)
    for k, day in enumerate(s1_days):
        item_id = f"SIM_S1_{port.id}_{_imagery_ymd(2023, month, day)}"
        item = _imagery_item(item_id, footprint, events_time(day, 21.5, month=month), "sar")
        item.properties |= {
            "platform": "sentinel-1a",
            "constellation": "sentinel-1",
            "sar:polarizations": ["VV", "VH"],
        }
        folder = root / "berthwatch-sim-s1" / item_id
        for pol, arr in imagery_s1_arrays(port, seed=k).items():
            imagery_write_raster(
                folder / f"{pol}.tif",
                arr,
                crs=grid.crs,
                transform=grid.transform,
                nodata=float("nan"),
            )
            item.add_asset(
                pol,
                pystac.Asset(
                    str(folder / f"{pol}.tif"),
                    roles=["data"],
                    media_type=pystac.MediaType.COG,
                    extra_fields={"raster:bands": [{"nodata": "nan", "data_type": "float32"}]},
                ),
            )
        s1.add_item(item)
    if other_place:
        far = box(10.0, 50.0, 10.5, 50.5)
        item = _imagery_item(
            "SIM_S1_elsewhere", far, events_time(s1_days[0], 21.5, month=month), "sar"
        )
        item.properties |= {"platform": "sentinel-1a", "constellation": "sentinel-1"}
        item.add_asset("vv", pystac.Asset("elsewhere/vv.tif", roles=["data"]))
        s1.add_item(item)
    # S2: 10 m bands on a grid 3 px left / 2 px above the port grid and 6 px larger each way;
    # SCL at 20 m on the same origin.
    t10 = Affine(10.0, 0.0, grid.transform.c - 30.0, 0.0, -10.0, grid.transform.f + 20.0)
    t20 = Affine(20.0, 0.0, t10.c, 0.0, -20.0, t10.f)
    shape10 = (grid.shape[0] + 6, grid.shape[1] + 6)
    for k, day in enumerate(s2_days):
        item_id = f"SIM_S2_{port.id}_{_imagery_ymd(2023, month, day)}"
        item = _imagery_item(item_id, footprint, events_time(day, 2.1, month=month), "optical")
        item.properties |= {
            "platform": "sentinel-2b",
            "constellation": "sentinel-2",
            "eo:cloud_cover": 12.5,
        }
        folder = root / "berthwatch-sim-s2" / item_id
        for name, arr in imagery_s2_arrays(shape10, seed=100 + k).items():
            arr[:, :2] = 0  # nodata strip on the far left, outside the port grid
            imagery_write_raster(folder / f"{name}.tif", arr, crs=grid.crs, transform=t10, nodata=0)
            item.add_asset(
                name,
                pystac.Asset(
                    str(folder / f"{name}.tif"),
                    roles=["data"],
                    media_type=pystac.MediaType.COG,
                    extra_fields={
                        "raster:bands": [
                            {"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}
                        ]
                    },
                ),
            )
        scl = np.full((shape10[0] // 2, shape10[1] // 2), 6, dtype=np.uint8)
        scl[10:30, 40:70] = 9  # cloud: port-grid rows 18..57, cols 77..136 (20 m -> 10 m, shifted)
        scl[50:55, 100:110] = 3  # cloud shadow
        imagery_write_raster(folder / "scl.tif", scl, crs=grid.crs, transform=t20, nodata=0)
        item.add_asset(
            "scl",
            pystac.Asset(str(folder / "scl.tif"), roles=["data"], media_type=pystac.MediaType.COG),
        )
        s2.add_item(item)
    cat.normalize_hrefs(str(root))
    cat.make_all_asset_hrefs_relative()
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def _imagery_ymd(year: int, month: int, day: int) -> str:
    return f"{year:04d}{month:02d}{day:02d}"


def _imagery_item(item_id: str, footprint: Any, when: dt.datetime, sensor: str) -> Any:
    import pystac
    from shapely.geometry import mapping

    item = pystac.Item(item_id, mapping(footprint), list(footprint.bounds), when, {})
    item.properties |= {"berthwatch:simulated": True, "berthwatch:sensor": sensor}
    return item


# --- review app and flagging (review/; tests/review/) ----------------------------------------------

#: Scene ids of the review scenario (see review_build_store).
REVIEW_SCENES = {
    "rajin_ref1": "SIM_S1_rajin_20230826",
    "rajin_ref2": "SIM_S1_rajin_20230829",
    "rajin_opt": "SIM_S2_rajin_20230901",
    "rajin_call": "SIM_S1_rajin_20230901",
    "rajin_after": "SIM_S1_rajin_20230902",
    "dunai_before": "SIM_S1_dunai_20230902",
    "dunai_call": "SIM_S1_dunai_20230903",
    "dunai_after": "SIM_S1_dunai_20230904",
}


def review_zone_centre(port: Any, zone_id: str) -> tuple[float, float]:
    """(lon, lat) of a zone's centroid."""
    c = port.zone(zone_id).geometry.centroid
    return float(c.x), float(c.y)


def review_detection(
    port: Any, scene_id: str, index: int, lon: float, lat: float, **kw: Any
) -> DetectionRecord:
    """A vessel detection at (lon, lat) with a length × width footprint (default 120 × 20 m, E-W)."""
    from shapely import affinity

    length = kw.pop("length_m", 120.0)
    width = kw.pop("width_m", 20.0)
    centre = port.to_utm(Point(lon, lat))
    rect = box(
        centre.x - length / 2, centre.y - width / 2, centre.x + length / 2, centre.y + width / 2
    )
    geom = port.to_lonlat(affinity.rotate(rect, kw.pop("angle_deg", 0.0), origin=centre))
    inv = ~port.grid.transform
    col, row = inv @ (centre.x, centre.y)
    fields: dict[str, Any] = {
        "scene_id": scene_id,
        "port": port.id,
        "index": index,
        "kind": "vessel",
        "zone": kw.pop("zone", "open_water"),
        "geometry": geom,
        "lon": lon,
        "lat": lat,
        "row": float(row),
        "col": float(col),
        "length_m": length,
        "width_m": width,
        "heading_deg": 90.0,
        "score": 12.0,
        "area_m2": length * width,
    }
    fields.update(kw)
    return DetectionRecord(**fields)


def review_write_tile(
    path: Any,
    port: Any,
    *,
    seed: int,
    ships: tuple[tuple[float, float, float], ...] = (),
    optical: bool = False,
) -> Any:
    """A tile on the port grid: SAR (vv, vh linear sigma0) or optical (blue, green, red, nir).

    *ships* are ``(lon, lat, length_m)``: bright east-west hulls 2 pixels wide. A pier-like bright
    strip (a fixed structure, also in every reference) runs along row 60.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, cols = port.grid.shape
    n = 4 if optical else 2
    level = (0.03, 0.04, 0.03, 0.02) if optical else (0.02, 0.004)
    data = np.stack([rng.gamma(4.0, lv / 4.0, size=(rows, cols)) for lv in level[:n]]).astype(
        np.float32
    )
    data[:, 58:62, 20:200] *= 30.0
    inv = ~port.grid.transform
    px = port.grid.pixel_size_m
    for lon, lat, length in ships:
        c = port.to_utm(Point(lon, lat))
        col, row = inv @ (c.x, c.y)
        half = max(1, round(length / px / 2))
        r0, c0 = int(row), int(col)
        data[:, max(r0 - 1, 0) : r0 + 1, max(c0 - half, 0) : c0 + half] *= 40.0
    names = ["blue", "green", "red", "nir"] if optical else ["vv", "vh"]
    return imagery_write_raster(
        path,
        data,
        crs=port.grid.crs,
        transform=port.grid.transform,
        nodata=float("nan"),
        descriptions=names,
    )


#: The detector settings the review scenario's Rajin SAR observations record.
REVIEW_DETECTOR_SETTINGS = {
    "vessels": {"detector": "detect_sar_vessels", "bands": ["vv"], "params": {"pfa_exponent": 8.0}},
    "containers": {"detector": "measure_container_stacks", "params": {}},
}


def review_build_store(
    data_dir: Any, *, inferences: bool = False, flag: bool = True
) -> dict[str, Any]:
    """An event store with tiles for the review tests, in ``<data_dir>/events.gpkg``.

    Rajin: two empty SAR reference scenes (26 and 29 Aug), an optical scene at 02:00 on 1 Sep
    that sees the berth empty, a SAR scene at 10:00 on 1 Sep with a 120 m vessel at berth
    rajin-pier1-w (index 0), a weak open-water vessel (index 1, score 7.0: near the threshold)
    and a 12 m speck (index 2: unusual size), and a SAR scene on 2 Sep with the berth empty.
    Dunai: SAR scenes on 2 Sep 22:00 (empty), 3 Sep 10:00 (a 120 m vessel at dunai-pier-n) and
    4 Sep 10:00 (empty): with *inferences*, one Rajin → Dunai trip. With *flag*, the detections
    are flagged (chips under ``<data_dir>/chips``). Returns ``{"store": path, "ids": {...}, ...}``.
    """
    from pathlib import Path

    from geo.events import EventStore, ObservationRecord
    from geo.ports import load_ports

    root = Path(data_dir)
    ports = load_ports()
    rajin, dunai = ports["rajin"], ports["dunai"]
    berth_r = review_zone_centre(rajin, "rajin-pier1-w")
    berth_d = review_zone_centre(dunai, "dunai-pier-n")
    water = rajin.to_lonlat(Point(*(rajin.grid.transform @ (150, 200))))
    speck = rajin.to_lonlat(Point(*(rajin.grid.transform @ (250, 190))))
    S = REVIEW_SCENES
    plan: list[tuple[Any, str, dt.datetime, bool, list[DetectionRecord]]] = [
        (rajin, S["rajin_ref1"], events_time(26, 10, month=8), False, []),
        (rajin, S["rajin_ref2"], events_time(29, 10, month=8), False, []),
        (rajin, S["rajin_opt"], events_time(1, 2), True, []),
        (
            rajin,
            S["rajin_call"],
            events_time(1, 10),
            False,
            [
                review_detection(rajin, S["rajin_call"], 0, *berth_r, zone="rajin-pier1-w"),
                review_detection(
                    rajin,
                    S["rajin_call"],
                    1,
                    water.x,
                    water.y,
                    length_m=90.0,
                    width_m=15.0,
                    score=7.0,
                ),
                review_detection(
                    rajin, S["rajin_call"], 2, speck.x, speck.y, length_m=12.0, width_m=10.0
                ),
            ],
        ),
        (rajin, S["rajin_after"], events_time(2, 10), False, []),
        (dunai, S["dunai_before"], events_time(2, 22), False, []),
        (
            dunai,
            S["dunai_call"],
            events_time(3, 10),
            False,
            [review_detection(dunai, S["dunai_call"], 0, *berth_d, zone="dunai-pier-n")],
        ),
        (dunai, S["dunai_after"], events_time(4, 10), False, []),
    ]
    store_path = root / "events.gpkg"
    with EventStore.open(store_path) as store:
        for k, (port, scene, when, optical, dets) in enumerate(plan):
            tile = review_write_tile(
                root / "tiles" / port.id / f"{scene}.tif", port, seed=k, optical=optical,
                ships=tuple((d.lon, d.lat, d.length_m or 0.0) for d in dets),
            )  # fmt: skip
            obs = ObservationRecord(
                scene_id=scene, port=port.id, source="test", collection="sim",
                sensor="optical" if optical else "sar",
                platform="sentinel-2b" if optical else "sentinel-1a", acquired_utc=when,
                footprint=port.aoi.buffer(0.01), valid_fraction=1.0, simulated=True,
                tile_path=str(tile.relative_to(root)),
            )  # fmt: skip
            if port is rajin and not optical:
                # Rajin's rows record their provenance (schema 2); Dunai's are older rows.
                earlier = (S["rajin_ref1"], S["rajin_ref2"]) if scene == S["rajin_call"] else ()
                obs = dataclasses.replace(
                    obs, run_id="test-run", reference_scene_ids=earlier,
                    detector_settings=REVIEW_DETECTOR_SETTINGS,
                )  # fmt: skip
            store.write_scene(obs, dets)
        summary = store.update_inferences(ports) if inferences else None
        flags = []
        if flag:
            from review.flagging import flag_detections

            for pid in ("rajin", "dunai"):
                flags += flag_detections(store, port=pid, data_dir=root, ports=ports)
    ids = {
        "berth_rajin": f"{S['rajin_call']}:rajin:vessel:0",
        "weak_rajin": f"{S['rajin_call']}:rajin:vessel:1",
        "speck_rajin": f"{S['rajin_call']}:rajin:vessel:2",
        "berth_dunai": f"{S['dunai_call']}:dunai:vessel:0",
    }
    return {
        "store": store_path, "ids": ids, "scenes": dict(S), "ports": ports, "flags": flags,
        "summary": summary,
    }  # fmt: skip


def imagery_rehost_catalog(catalog_json: Any, dest: Any, base_url: str, **renames: str) -> Any:
    """Copy a local catalogue to *dest* with every asset href made absolute under *base_url*
    (where a file server serves the original catalogue folder). Keyword arguments rename
    collections (``**{"berthwatch-sim-s1": "sentinel-1-rtc"}``). Returns the new catalog.json."""
    import json
    from pathlib import Path

    src_root = Path(catalog_json).parent.resolve()
    dest = Path(dest)
    for path in sorted(src_root.rglob("*.json")):
        doc = json.loads(path.read_text())
        rel = path.relative_to(src_root)
        for asset in doc.get("assets", {}).values():
            local = (path.parent / asset["href"]).resolve()
            asset["href"] = f"{base_url}/{local.relative_to(src_root).as_posix()}"
        if doc.get("collection") in renames:
            doc["collection"] = renames[doc["collection"]]
        if doc.get("type") == "Collection" and doc.get("id") in renames:
            doc["id"] = renames[doc["id"]]
        for link in doc.get("links", []):
            if link.get("rel") == "collection" and "title" in link:
                link.pop("title")
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc))
    return dest / "catalog.json"


# --- reports (report/; tests/report/) --------------------------------------------------------------

#: The period of the report test store (whole UTC days, both included: 92 days).
REPORT_SINCE = dt.date(2023, 8, 1)
REPORT_UNTIL = dt.date(2023, 10, 31)
#: Rajin is observed every 4 days from 2 Aug, Dunai every 6 days from 4 Aug (scenario below).
REPORT_RAJIN_FAILED = (12,)  # observation indices that failed (no time-of-day data lost)
REPORT_VESSELS = {
    # vessel: (length_m, [(port, berth, observation indices)])
    "A": (120.0, [("rajin", "rajin-pier3-e", (9, 10)), ("dunai", "dunai-pier-n", (7,))]),
    "B": (128.0, [("rajin", "rajin-pier2-w", (16, 17)), ("dunai", "dunai-pier-s", (12,))]),
    "C": (95.0, [("rajin", "rajin-pier1-w", (22,))]),  # in the latest observation, still there
}


def report_times(port_id: str) -> list[dt.datetime]:
    """Acquisition times of the scenario's observations of *port_id* (10:00 UTC each)."""
    first, step, n = (
        (dt.date(2023, 8, 2), 4, 23) if port_id == "rajin" else (dt.date(2023, 8, 4), 6, 15)
    )
    return [
        dt.datetime.combine(first + dt.timedelta(days=step * i), dt.time(10), dt.UTC)
        for i in range(n)
    ]


def report_cloudy(port_id: str, i: int) -> bool:
    """Whether observation *i* of *port_id* is a cloudy optical scene (berths and yard hidden)."""
    return port_id == "rajin" and i % 4 == 3


def report_sensor(i: int) -> tuple[str, str]:
    """(sensor, platform) of observation *i*: SAR on even indices, optical on odd ones."""
    return ("sar", "sentinel-1a") if i % 2 == 0 else ("optical", "sentinel-2b")


def report_rect(
    port: Any, lon: float, lat: float, length_m: float, width_m: float, angle_deg: float
) -> Any:
    """A length × width rectangle (EPSG:4326) centred at (lon, lat), long axis at *angle_deg*."""
    from shapely import affinity

    centre = port.to_utm(Point(lon, lat))
    rect = box(
        centre.x - length_m / 2,
        centre.y - width_m / 2,
        centre.x + length_m / 2,
        centre.y + width_m / 2,
    )
    return port.to_lonlat(affinity.rotate(rect, angle_deg, origin=centre))


def _report_axis_deg(port: Any, zone_id: str) -> float:
    import math

    import numpy as np

    ring = np.asarray(
        port.to_utm(port.zone(zone_id).geometry).minimum_rotated_rectangle.exterior.coords
    )
    edges = np.diff(ring, axis=0)
    dx, dy = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    return math.degrees(math.atan2(dy, dx))


def report_detection(
    port: Any, scene_id: str, index: int, kind: str, zone_id: str, **kw: Any
) -> DetectionRecord:
    """A detection centred in *zone_id*'s centroid (shifted by ``shift_m`` along the zone axis)."""
    import math

    length = kw.pop("length_m", 120.0)
    width = kw.pop("width_m", 20.0)
    shift = kw.pop("shift_m", 0.0)
    angle = _report_axis_deg(port, zone_id) if zone_id in {z.id for z in port.zones} else 0.0
    c = port.to_utm(port.zone(zone_id).geometry.centroid)
    x = c.x + shift * math.cos(math.radians(angle))
    y = c.y + shift * math.sin(math.radians(angle))
    centre = port.to_lonlat(Point(x, y))
    fields: dict[str, Any] = {
        "scene_id": scene_id,
        "port": port.id,
        "index": index,
        "kind": kind,
        "zone": zone_id,
        "geometry": report_rect(port, centre.x, centre.y, length, width, angle),
        "lon": centre.x,
        "lat": centre.y,
        "length_m": length,
        "width_m": width,
        "heading_deg": (90 - angle) % 180,
        "score": 12.0,
        "area_m2": length * width,
    }
    fields.update(kw)
    return DetectionRecord(**fields)


def report_write_tile(
    path: Any, port: Any, *, sensor: str, detections: Any = (), seed: int = 0
) -> Any:
    """Write a tile on the port grid (berthwatch layout: named bands then ``valid``) to *path*.

    Water is dark, land bright, each detection's footprint very bright (SAR) or white (optical).
    """
    import numpy as np
    import rasterio
    from rasterio.features import rasterize

    rng = np.random.default_rng(seed)
    grid = port.grid
    water = port.water_mask()
    objects = np.zeros(grid.shape, bool)
    if detections:
        shapes = [port.to_utm(d.geometry) for d in detections]
        objects = rasterize(shapes, out_shape=grid.shape, transform=grid.transform).astype(bool)
    if sensor == "sar":
        names = ["vv", "vh"]
        vv = np.where(water, 0.01, 0.25) * rng.gamma(4.4, 1 / 4.4, grid.shape)
        vv[objects] = 3.0
        bands = [vv, vv / 4]
    else:
        names = ["blue", "green", "red", "nir"]
        base = np.where(water, 0.03, 0.18) + rng.normal(0, 0.01, grid.shape)
        base[objects] = 0.6
        bands = [base, base * 1.1, base * 1.2, np.where(water, 0.02, 0.3)]
    valid = np.ones(grid.shape, np.float32)
    valid[:12, :] = 0  # a strip outside the swath: drawn as "no data"
    stack = np.stack([*bands, valid]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path, "w", driver="COG", width=grid.shape[1], height=grid.shape[0], count=stack.shape[0],
        dtype="float32", crs=grid.crs.to_wkt(), transform=grid.transform, nodata=float("nan"),
    ) as dst:  # fmt: skip
        dst.write(stack)
        for i, name in enumerate([*names, "valid"], start=1):
            dst.set_band_description(i, name)
    return path


def report_write_chip(path: Any, seed: int = 0) -> Any:
    """Write a small PNG chip (a bright hull on dark water)."""
    import numpy as np
    from matplotlib.image import imsave

    rng = np.random.default_rng(seed)
    chip = rng.uniform(0.0, 0.2, (32, 32))
    chip[12:20, 4:28] = 0.9
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, chip, cmap="gray", vmin=0, vmax=1)
    return path


def _report_zone_fractions(port: Any, cloudy: bool) -> dict[str, float]:
    return {z.id: (0.1 if cloudy and z.kind in ("berth", "yard") else 1.0) for z in port.zones}


def _report_scene(
    port: Any, i: int, when: dt.datetime, data_dir: Any
) -> tuple[ObservationRecord, list[DetectionRecord]]:
    sensor, platform = report_sensor(i)
    cloudy = report_cloudy(port.id, i)
    scene_id = f"{'S1A' if sensor == 'sar' else 'S2B'}_{when:%Y%m%d}_{port.id}"
    dets: list[DetectionRecord] = []
    for length, stops in REPORT_VESSELS.values():
        for port_id, berth, indices in stops:
            if port_id == port.id and i in indices and not cloudy:
                dets.append(
                    report_detection(port, scene_id, len(dets), "vessel", berth, length_m=length)
                )
    if port.id == "rajin" and i < 3:  # a small ship at anchor early in the period
        dets.append(
            report_detection(
                port, scene_id, len(dets), "vessel", "rajin-anchorage", length_m=90.0, width_m=15.0
            )
        )
    yard = f"{port.id}-yard-1"
    if not cloudy:
        central = (600.0 - 15.0 * i) if port.id == "rajin" else (100.0 + 10.0 * i)
        for k, shift in enumerate((-300.0, 0.0, 300.0)):
            teu = central / 3
            dets.append(
                report_detection(
                    port, scene_id, k, "container_stack", yard, length_m=200.0, width_m=60.0,
                    shift_m=shift, area_m2=teu * 6.06 * 2.44 / 2.5, teu_low=teu * 0.7,
                    teu_central=teu, teu_high=teu * 1.3,
                    assumptions="2-3 tiers, 80 % packing; TEU footprint 6.06 x 2.44 m" + (
                        f"; extrapolated from {60 + i}% observed: low = observed part only"
                        if i % 4 == 1 and k == 0 else ""
                    ),
                )
            )  # fmt: skip
    obs = ObservationRecord(
        scene_id=scene_id, port=port.id, source="report-test", collection=f"sim-{sensor}",
        sensor=sensor, platform=platform, acquired_utc=when, footprint=port.aoi,
        valid_fraction=0.35 if cloudy else 0.97, zone_valid_fraction=_report_zone_fractions(port, cloudy),
        status="ok", simulated=True, tile_path="",
    )  # fmt: skip
    return obs, dets


def report_detector_settings(sensor: str) -> dict[str, Any]:
    """The settings a flow records with an observation of *sensor*: detector defaults."""
    from detection import OpticalParams, SarParams, StackParams

    vessels = (
        {"detector": "detect_sar_vessels", "bands": ["vv"], "params": SarParams()}
        if sensor == "sar"
        else {
            "detector": "detect_optical_vessels",
            "bands": ["green", "nir"],
            "params": OpticalParams(),
        }
    )
    return {
        "vessels": {**vessels, "params": dataclasses.asdict(vessels["params"])},
        "containers": {
            "detector": "measure_container_stacks",
            "params": dataclasses.asdict(StackParams()),
        },
    }


def report_build_store(root: Any, *, inferences: bool = True, tiles: bool = True) -> Any:
    """Build a data folder with an event store of simulated Rajin and Dunai observations.

    Rajin: 23 observations, every 4 days from 2023-08-02 (SAR/optical alternating, every 4th
    optical one cloudy, observation 12 failed); Dunai: 15, every 6 days from 2023-08-04.
    Vessels A and B (see :data:`REPORT_VESSELS`) call at both ports; Rajin's yard empties
    slowly. The latest Rajin observation has a cached tile; vessel A's detections have chips
    (flagged), one is confirmed and an anchorage detection rejected by an analyst. With
    *inferences*, port calls, trips and the seed claims are inferred by the store.

    Returns
    -------
    pathlib.Path
        The data folder (``events.gpkg``, ``tiles/``, ``chips/``).
    """
    from pathlib import Path

    from geo.claims import load_claims
    from geo.events import EventStore
    from geo.ports import load_ports

    ports = load_ports()
    data_dir = Path(root)
    with EventStore.open(data_dir / "events.gpkg") as store:
        run_id = store.start_run(source="report-test", note="report test store")
        history: dict[str, list[str]] = {"sar": [], "optical": []}
        for port_id in ("rajin", "dunai"):
            port = ports[port_id]
            times = report_times(port_id)
            for i, when in enumerate(times):
                obs, dets = _report_scene(port, i, when, data_dir)
                if port_id == "rajin" and i in REPORT_RAJIN_FAILED:
                    store.record_failure(
                        scene_id=obs.scene_id, port=port_id, source=obs.source,
                        error="simulated read timeout", acquired_utc=when, sensor=obs.sensor,
                        platform=obs.platform, simulated=True,
                    )  # fmt: skip
                    continue
                dets = [
                    dataclasses.replace(d, chip_path=f"chips/{d.detection_id.replace(':', '_')}.png",
                                        flags="near_land,review:trip_evidence")
                    if d.kind == "vessel" and d.length_m == 120.0 or d.zone == "rajin-anchorage" else d
                    for d in dets
                ]  # fmt: skip
                for d in dets:
                    if d.chip_path:
                        report_write_chip(data_dir / d.chip_path, seed=d.index)
                if tiles and port_id == "rajin" and i == len(times) - 1:
                    rel = f"tiles/rajin/{obs.scene_id}.tif"
                    report_write_tile(
                        data_dir / rel, port, sensor=obs.sensor, detections=dets, seed=i
                    )
                    obs = dataclasses.replace(obs, tile_path=rel)
                if port_id == "rajin":  # Rajin's rows record provenance; Dunai's are older rows
                    obs = dataclasses.replace(
                        obs, run_id=run_id, detector_settings=report_detector_settings(obs.sensor),
                        reference_scene_ids=tuple(history[obs.sensor][-3:])
                        if len(history[obs.sensor]) >= 3 else (),
                    )  # fmt: skip
                    history[obs.sensor].append(obs.scene_id)
                store.write_scene(obs, dets)
        reviewed = store.detections("rajin", kind="vessel", zone="rajin-pier3-e")[0]
        store.append_review(reviewed.detection_id, "analyst-1", "confirmed", label="cargo ship")
        false_alarm = store.detections("rajin", kind="vessel", zone="rajin-anchorage")[1]
        store.append_review(false_alarm.detection_id, "analyst-1", "rejected", note="wave crest")
        store.finish_run(run_id, scenes_seen=38, scenes_processed=37, scenes_failed=1)
        if inferences:
            store.update_inferences(ports, load_claims(ports=ports))
    return data_dir


def imagery_grd_product(
    folder: Any, port: Any, *, rows: int = 420, cols: int = 380, seed: int = 7
) -> dict[str, Any]:
    """A small Sentinel-1 GRD-like product over the port, with its truth.

    The measurement is uint16 DN in radar geometry (mirrored and rotated by 12 degrees from
    north-up, 10 m pixels), georeferenced only by an 8 x 8 grid of GCPs in EPSG:4326, plus the
    calibration and noise annotation in the real Sentinel-1 XML schema. The truth: sigma0 = 0.03
    everywhere but a 0.8 box over port-grid rows 100..119, cols 140..169; ``A_sigma`` and the
    noise vary linearly with line and pixel (so bilinear interpolation of the vectors is exact);
    DN = round(sqrt(sigma0 * A^2 + eta)); the first 12 columns are 0 (outside the swath).

    Returns a dict: ``vv``, ``calibration``, ``noise`` (paths), ``box`` (r0, r1, c0, c1 on the
    port grid, end exclusive), ``sigma0`` (truth in radar geometry), ``dn``, ``a_sigma``, ``eta``.
    """
    from pathlib import Path

    import numpy as np
    from pyproj import Transformer
    from rasterio.control import GroundControlPoint

    folder = Path(folder)
    grid = port.grid
    (minx, miny, maxx, maxy), px = grid.bounds, grid.pixel_size_m
    theta = np.deg2rad(12.0)
    # image (col, row) -> UTM: mirrored rotation, centred on the port grid.
    m = 10.0 * np.array([[-np.cos(theta), -np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    origin = centre - m @ np.array([cols / 2, rows / 2])

    def to_utm(c: Any, r: Any) -> tuple[Any, Any]:
        xy = origin[:, None] + m @ np.vstack([np.ravel(c), np.ravel(r)])
        return xy[0], xy[1]

    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float64)
    x, y = to_utm(cc + 0.5, rr + 0.5)
    grow, gcol = (maxy - y) / px, (x - minx) / px
    box_rc = (100, 120, 140, 170)
    inside = (grow >= box_rc[0]) & (grow < box_rc[1]) & (gcol >= box_rc[2]) & (gcol < box_rc[3])
    sigma0 = np.where(inside, 0.8, 0.03).reshape(rows, cols)
    a_sigma = 400.0 + 0.5 * cc + 0.2 * rr
    eta = (30.0 + 0.1 * cc) * (1.0 + 0.001 * rr)
    rng = np.random.default_rng(seed)
    dn = np.round(np.sqrt(sigma0 * a_sigma**2 + eta) + rng.uniform(-0.01, 0.01, sigma0.shape))
    dn = dn.astype(np.uint16)
    dn[:, :12] = 0
    tf = Transformer.from_crs(grid.crs, 4326, always_xy=True)
    gcps = []
    for gr in np.linspace(0, rows, 8):
        for gc in np.linspace(0, cols, 8):
            gx, gy = to_utm(gc, gr)
            lon, lat = tf.transform(gx[0], gy[0])
            gcps.append(GroundControlPoint(row=gr, col=gc, x=lon, y=lat, z=0.0))
    vv = imagery_write_raster(
        folder / "measurement" / "s1a-iw-grd-vv.tiff", dn, crs=None, transform=None, gcps=gcps
    )
    lines = np.arange(0, rows + 50, 50)
    pixels = np.append(np.arange(0, cols, 40), cols - 1)
    cal = folder / "annotation" / "calibration" / "calibration-s1a-iw-grd-vv.xml"
    cal.parent.mkdir(parents=True, exist_ok=True)
    cal.write_text(
        _imagery_calibration_xml(lines, pixels, lambda ln, p: 400.0 + 0.5 * p + 0.2 * ln)
    )
    noise = folder / "annotation" / "calibration" / "noise-s1a-iw-grd-vv.xml"
    noise.write_text(_imagery_noise_xml(lines, pixels, rows, cols))
    return {
        "vv": vv,
        "calibration": cal,
        "noise": noise,
        "box": box_rc,
        "sigma0": sigma0,
        "dn": dn,
        "a_sigma": a_sigma,
        "eta": eta,
        "gcps": gcps,
    }


def _imagery_numbers(values: Any) -> str:
    return " ".join(f"{v:.6e}" if isinstance(v, float) else str(v) for v in values)


def _imagery_calibration_xml(lines: Any, pixels: Any, a_sigma: Any) -> str:
    vectors = []
    for ln in lines:
        vals = [float(a_sigma(ln, p)) for p in pixels]
        n = len(pixels)
        vectors.append(
            "    <calibrationVector>\n"
            f"      <azimuthTime>2023-09-02T21:30:{int(ln) % 60:02d}.000000</azimuthTime>\n"
            f"      <line>{int(ln)}</line>\n"
            f'      <pixel count="{n}">{_imagery_numbers(int(p) for p in pixels)}</pixel>\n'
            f'      <sigmaNought count="{n}">{_imagery_numbers(vals)}</sigmaNought>\n'
            f'      <betaNought count="{n}">{_imagery_numbers([2.37e2] * n)}</betaNought>\n'
            f'      <gamma count="{n}">{_imagery_numbers([v * 0.9 for v in vals])}</gamma>\n'
            f'      <dn count="{n}">{_imagery_numbers([2.37e2] * n)}</dn>\n'
            "    </calibrationVector>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<calibration>\n'
        "  <adsHeader><missionId>S1A</missionId><productType>GRD</productType>"
        "<polarisation>VV</polarisation><mode>IW</mode><swath>IW</swath></adsHeader>\n"
        "  <calibrationInformation><absoluteCalibrationConstant>1.000000e+00"
        "</absoluteCalibrationConstant></calibrationInformation>\n"
        f'  <calibrationVectorList count="{len(lines)}">\n{"".join(vectors)}'
        "  </calibrationVectorList>\n</calibration>\n"
    )


def _imagery_noise_xml(lines: Any, pixels: Any, rows: int, cols: int) -> str:
    ranges = []
    n = len(pixels)
    for ln in lines:
        lut = [30.0 + 0.1 * float(p) for p in pixels]
        ranges.append(
            "    <noiseRangeVector>\n"
            "      <azimuthTime>2023-09-02T21:30:00.000000</azimuthTime>\n"
            f"      <line>{int(ln)}</line>\n"
            f'      <pixel count="{n}">{_imagery_numbers(int(p) for p in pixels)}</pixel>\n'
            f'      <noiseRangeLut count="{n}">{_imagery_numbers(lut)}</noiseRangeLut>\n'
            "    </noiseRangeVector>\n"
        )
    az_lines = list(range(0, rows, 30)) + [rows - 1]
    az = [1.0 + 0.001 * ln for ln in az_lines]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<noise>\n'
        "  <adsHeader><missionId>S1A</missionId><productType>GRD</productType>"
        "<polarisation>VV</polarisation></adsHeader>\n"
        f'  <noiseRangeVectorList count="{len(lines)}">\n{"".join(ranges)}'
        "  </noiseRangeVectorList>\n"
        '  <noiseAzimuthVectorList count="1">\n    <noiseAzimuthVector>\n'
        "      <swath>IW1</swath>\n      <firstAzimuthLine>0</firstAzimuthLine>\n"
        f"      <firstRangeSample>0</firstRangeSample>\n      <lastAzimuthLine>{rows - 1}</lastAzimuthLine>\n"
        f"      <lastRangeSample>{cols - 1}</lastRangeSample>\n"
        f'      <line count="{len(az_lines)}">{_imagery_numbers(az_lines)}</line>\n'
        f'      <noiseAzimuthLut count="{len(az)}">{_imagery_numbers(az)}</noiseAzimuthLut>\n'
        "    </noiseAzimuthVector>\n  </noiseAzimuthVectorList>\n</noise>\n"
    )


def imagery_add_grd_collection(catalog_json: Any, port: Any) -> dict[str, Any]:
    """Add a ``sentinel-1-grd`` collection with one GRD-like item (Earth Search's asset keys:
    ``vv``, ``schema-calibration-vv``, ``schema-noise-vv``) to a local catalogue. Returns
    :func:`imagery_grd_product`'s dict plus ``id``."""
    from pathlib import Path

    import pystac
    from shapely.geometry import mapping

    catalog_json = Path(catalog_json)
    cat = pystac.Catalog.from_file(str(catalog_json))
    extent = pystac.Extent(
        pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
        pystac.TemporalExtent([[dt.datetime(2023, 1, 1, tzinfo=dt.UTC), None]]),
    )
    coll = pystac.Collection("sentinel-1-grd", "Sentinel-1 GRD (test)", extent)
    cat.add_child(coll)
    item_id = "S1A_IW_GRDH_1SDV_20230910T213000_TEST"
    folder = catalog_json.parent / "sentinel-1-grd" / item_id / f"{item_id}.SAFE"
    grd = imagery_grd_product(folder, port)
    foot = port.aoi.buffer(0.03)
    item = pystac.Item(item_id, mapping(foot), list(foot.bounds), events_time(10, 21.5), {})
    item.properties |= {
        "platform": "sentinel-1a",
        "constellation": "sentinel-1",
        "sar:instrument_mode": "IW",
        "sar:polarizations": ["VV"],
        "sar:product_type": "GRD",
    }
    item.add_asset(
        "vv", pystac.Asset(str(grd["vv"]), media_type=pystac.MediaType.COG, roles=["data"])
    )
    item.add_asset(
        "schema-calibration-vv",
        pystac.Asset(str(grd["calibration"]), media_type=pystac.MediaType.XML, roles=["metadata"]),
    )
    item.add_asset(
        "schema-noise-vv",
        pystac.Asset(str(grd["noise"]), media_type=pystac.MediaType.XML, roles=["metadata"]),
    )
    coll.add_item(item)
    cat.normalize_hrefs(str(catalog_json.parent))
    cat.make_all_asset_hrefs_relative()
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return grd | {"id": item_id}


# --- vessel detection (detection.sar / detection.optical; tests/detection/) ---


def det_sea(
    shape: tuple[int, int] = (256, 256),
    *,
    looks: float = 4.4,
    mean: float = 0.01,
    texture_shape: float | None = None,
    seed: int = 0,
) -> Any:
    """Sea clutter intensity (float32): gamma speckle of *looks*, optionally K-textured."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sea = rng.gamma(looks, mean / looks, size=shape)
    if texture_shape is not None:
        sea *= rng.gamma(texture_shape, 1.0 / texture_shape, size=shape)
    return sea.astype(np.float32)


def det_hull(
    shape: tuple[int, int],
    *,
    row: float,
    col: float,
    length_px: float,
    width_px: float,
    heading_deg: float,
) -> Any:
    """Boolean mask of a rectangular hull centred at (row, col), heading clockwise from up."""
    import math

    import numpy as np
    from skimage.draw import polygon

    t = math.radians(heading_deg)
    u = (-math.cos(t), math.sin(t))  # along the hull, (d_row, d_col)
    v = (-u[1], u[0])
    hl, hw = length_px / 2.0, width_px / 2.0
    corners = [
        (row + a * hl * u[0] + b * hw * v[0], col + a * hl * u[1] + b * hw * v[1])
        for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))
    ]
    rr, cc = polygon([p[0] for p in corners], [p[1] for p in corners], shape=shape)
    mask = np.zeros(shape, dtype=bool)
    mask[rr, cc] = True
    return mask


def det_psf_profile(half_px: int = 60, *, resolution_px: float = 2.2, hamming: float = 0.75) -> Any:
    """1-D SAR impulse response sampled at pixel centres (-half_px..half_px), peak 1.

    Hamming-weighted (Sentinel-1 IW: 0.75 -> peak sidelobe -21 dB) band of 1/resolution_px.
    """
    import numpy as np

    over, n = 16, 8192
    f = np.fft.fftfreq(n, d=1.0 / over)
    band = 1.0 / resolution_px
    w = np.where(np.abs(f) < band / 2, hamming + (1 - hamming) * np.cos(2 * np.pi * f / band), 0.0)
    h = np.abs(np.fft.fftshift(np.fft.ifft(w))) ** 2
    h /= h.max()
    idx = n // 2 + over * np.arange(-half_px, half_px + 1)
    return h[idx]


def det_point_target(
    shape: tuple[int, int], *, row: int, col: int, peak: float, half_px: int = 60
) -> Any:
    """Intensity of a bright point target: separable PSF, cross of sidelobes along the axes."""
    import numpy as np

    prof = det_psf_profile(half_px)
    psf = np.outer(prof, prof) * peak
    out = np.zeros(shape, dtype=np.float32)
    r0, c0 = row - half_px, col - half_px
    rs = slice(max(r0, 0), min(r0 + psf.shape[0], shape[0]))
    cs = slice(max(c0, 0), min(c0 + psf.shape[1], shape[1]))
    out[rs, cs] = psf[rs.start - r0 : rs.stop - r0, cs.start - c0 : cs.stop - c0]
    return out


def det_optical_scene(
    shape: tuple[int, int] = (200, 200),
    *,
    land: Any = None,
    hulls: Any = (),
    seed: int = 0,
    scaled: bool = False,
) -> dict[str, Any]:
    """Sentinel-2-like reflectance bands: dark water, bright land (*land* mask), bright hulls.

    Returns blue, green, red, nir (float32 0..1, or uint16 x 10000 with *scaled*).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    levels = {  # (water, land, hull) reflectance
        "blue": (0.06, 0.10, 0.12),
        "green": (0.05, 0.11, 0.12),
        "red": (0.03, 0.12, 0.14),
        "nir": (0.015, 0.25, 0.24),
    }
    out = {}
    for name, (w, g, h) in levels.items():
        band = rng.normal(w, 0.003, size=shape)
        if land is not None:
            band[land] = rng.normal(g, 0.03, size=int(np.sum(land)))
        for hull in hulls:
            band[hull] = rng.normal(h, 0.02, size=int(np.sum(hull)))
        band = band.clip(0.0, 1.0).astype(np.float32)
        out[name] = (band * 10000).round().astype(np.uint16) if scaled else band
    return out


def det_write_raster(
    path: Any,
    array: Any,
    *,
    crs: Any = None,
    transform: Any = None,
    nodata: float | None = None,
    driver: str = "GTiff",
    scale_offset: tuple[float, float] | None = None,
) -> Any:
    """Write a single-band raster (GeoTIFF by default; PNG for 8-bit chips) and return its path.

    *scale_offset* sets GDAL's band scale and offset (physical = raw * scale + offset).
    """
    import warnings

    import numpy as np
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    arr = np.asarray(array)
    profile: dict[str, Any] = {
        "driver": driver,
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype.name,
    }
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr, 1)
            if scale_offset is not None:
                dst.scales, dst.offsets = (scale_offset[0],), (scale_offset[1],)
    return path


# --- scene simulator and sample archive (geo.simulate, geo.archive; tests/geo/test_simulate.py) ---


def sim_params(**kw: Any) -> Any:
    """Small simulation parameters: Rajin and Dunai, daily cloud-free plan, one day (2023-09-07)."""
    from geo.simulate import SimulationParams

    base: dict[str, Any] = {
        "seed": 3,
        "plan": "daily-clear",
        "ports": ("rajin", "dunai"),
        "since": dt.date(2023, 9, 7),
        "until": dt.date(2023, 9, 7),
    }
    return SimulationParams(**(base | kw))


def sim_hull_cover(vessel: Any, shape: tuple[int, int], pixel_size_m: float = 10.0) -> Any:
    """Coverage (0-1) of a truth vessel's hull rectangle on the grid (axis from ``heading_deg``)."""
    import numpy as np

    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    h = np.deg2rad(float(vessel.heading_deg))
    half_l = float(vessel.length_m) / pixel_size_m / 2
    half_w = float(vessel.width_m) / pixel_size_m / 2
    cover = np.zeros(shape)
    for dr in sub:
        for dc in sub:
            r, c = rr + dr - float(vessel.row), cc + dc - float(vessel.col)
            u = -r * np.cos(h) + c * np.sin(h)
            v = r * np.sin(h) + c * np.cos(h)
            cover += (np.abs(u) <= half_l) & (np.abs(v) <= half_w)
    return cover / sub.size**2


# --- container yards (detection/containers.py) -------------------------------------------------

#: Container paint colours (RGB, 0-1): grey, white, red, orange, yellow, green, dark blue,
#: light blue, brown, maroon. The yard's concrete is CONTAINERS_GROUND.
CONTAINERS_PALETTE = (
    (0.72, 0.72, 0.70),
    (0.92, 0.92, 0.90),
    (0.70, 0.16, 0.12),
    (0.85, 0.45, 0.10),
    (0.88, 0.78, 0.15),
    (0.15, 0.50, 0.25),
    (0.10, 0.18, 0.45),
    (0.35, 0.60, 0.80),
    (0.45, 0.30, 0.18),
    (0.45, 0.10, 0.15),
)
CONTAINERS_GROUND = (0.45, 0.45, 0.43)
_Rect = tuple[float, float, float, float, tuple[float, ...]]


def _containers_block(
    rng: Any,
    x0: float,
    y0: float,
    rows: int,
    bays: int,
    p_empty: float,
    p_forty: float,
) -> list[_Rect]:
    """One block: *rows* rows side by side (touching, 0.1-0.4 m gaps), *bays* 20-ft bays long."""
    w, l20, l40 = 2.44, 6.06, 12.19
    rects: list[_Rect] = []
    y = y0
    for _ in range(rows):
        x, bay = x0, 0
        while bay < bays:
            u = rng.random()
            step = rng.uniform(0.2, 0.8)
            if u < p_empty:
                x, bay = x + l20 + step, bay + 1
                continue
            forty = u < p_empty + p_forty and bay + 1 < bays
            length = l40 if forty else l20
            colour = CONTAINERS_PALETTE[int(rng.integers(len(CONTAINERS_PALETTE)))]
            shade = rng.uniform(0.9, 1.05)
            rects.append((x, y, length, w, tuple(min(1.0, c * shade) for c in colour)))
            x, bay = x + length + step, bay + (2 if forty else 1)
        y += w + rng.uniform(0.1, 0.4)
    return rects


def containers_vhr_yard(
    rng: Any,
    *,
    pixel_size_m: float = 0.5,
    angle_deg: float = 0.0,
    noise: float = 0.02,
    blocks: tuple[int, int] = (2, 2),
    rows_per_block: int = 6,
    bays_per_block: int = 10,
    p_empty: float = 0.12,
    p_forty: float = 0.4,
    supersample: int = 4,
) -> tuple[Any, int, int]:
    """Draw a top view of a container yard: ``(image (M, N, 3) float 0-1, boxes, TEU)``.

    ``blocks`` (rows, cols) of blocks, 15 m lanes between them; in a block each row slot is empty,
    a 20-ft or a 40-ft box (two bays). Drawn with ``skimage.draw.polygon`` at ``supersample`` x
    resolution, averaged down (mixed edge pixels), rotated by ``angle_deg``, blurred by a
    0.5-pixel PSF, plus Gaussian noise.
    """
    import numpy as np
    from scipy import ndimage as ndi
    from skimage.draw import polygon

    lane = 15.0
    block_w, block_l = rows_per_block * 2.84, bays_per_block * 6.86
    rects: list[_Rect] = []
    for i in range(blocks[0]):
        for j in range(blocks[1]):
            x0, y0 = lane + j * (block_l + lane), lane + i * (block_w + lane)
            rects += _containers_block(
                rng, x0, y0, rows_per_block, bays_per_block, p_empty, p_forty
            )
    n_teu = sum(2 if r[2] > 10 else 1 for r in rects)
    width_m, height_m = lane + blocks[1] * (block_l + lane), lane + blocks[0] * (block_w + lane)
    fine = pixel_size_m / supersample
    size_px = int(np.ceil(np.hypot(width_m, height_m) / pixel_size_m)) + 4
    canvas = np.empty((size_px * supersample, size_px * supersample, 3))
    canvas[:] = CONTAINERS_GROUND
    cos, sin = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    centre = size_px * pixel_size_m / 2
    for x, y, length, wid, colour in rects:
        xs = np.array([x, x + length, x + length, x]) - width_m / 2
        ys = np.array([y, y, y + wid, y + wid]) - height_m / 2
        cols = (cos * xs - sin * ys + centre) / fine
        rows = (sin * xs + cos * ys + centre) / fine
        rr, cc = polygon(rows, cols, shape=canvas.shape[:2])
        canvas[rr, cc] = colour
    img = canvas.reshape(size_px, supersample, size_px, supersample, 3).mean(axis=(1, 3))
    img = ndi.gaussian_filter(img, sigma=(0.5, 0.5, 0)) + rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0.0, 1.0), len(rects), n_teu


#: Sentinel-2 test spectra (blue, green, red, nir reflectance): yard concrete and box paints
#: (white, grey, red, blue, green, orange, brown). Loosely from USGS/ECOSTRESS library shapes.
CONTAINERS_S2_GROUND = (0.16, 0.17, 0.18, 0.21)
CONTAINERS_S2_PAINTS = (
    (0.55, 0.56, 0.57, 0.60),
    (0.30, 0.31, 0.32, 0.35),
    (0.07, 0.06, 0.30, 0.38),
    (0.20, 0.12, 0.07, 0.25),
    (0.06, 0.16, 0.08, 0.28),
    (0.07, 0.15, 0.42, 0.48),
    (0.08, 0.08, 0.13, 0.20),
)


def containers_blocks_cover(
    shape: tuple[int, int],
    blocks: Any,
    *,
    pixel_size_m: float = 10.0,
    supersample: int = 8,
) -> Any:
    """Cover fraction (M, N) of rectangular blocks ``(row, col, length_m, width_m, angle_deg)``.

    ``row, col`` is the block centre in pixels; ``angle_deg`` turns the long axis from the column
    axis. Drawn with ``skimage.draw.polygon`` on a ``supersample`` x finer grid, then averaged.
    """
    import numpy as np
    from skimage.draw import polygon

    fine = np.zeros((shape[0] * supersample, shape[1] * supersample))
    for row, col, length_m, width_m, angle in blocks:
        t = np.deg2rad(angle)
        hl, hw = length_m / pixel_size_m / 2, width_m / pixel_size_m / 2
        along, across = np.array([np.sin(t), np.cos(t)]), np.array([np.cos(t), -np.sin(t)])
        corners = [
            np.array([row, col]) + sa * hl * along + sb * hw * across
            for sa, sb in ((1, 1), (1, -1), (-1, -1), (-1, 1))
        ]
        rc = (np.array(corners) + 0.5) * supersample
        rr, cc = polygon(rc[:, 0], rc[:, 1], fine.shape)
        fine[rr, cc] = 1.0
    m, n = shape
    return fine.reshape(m, supersample, n, supersample).mean(axis=(1, 3))


def containers_s2_yard(
    rng: Any,
    blocks: Any,
    *,
    shape: tuple[int, int] = (50, 70),
    noise: float = 0.003,
    psf_px: float = 0.5,
    shadow_m: float = 4.0,
    haze: Any = None,
) -> tuple[dict[str, Any], Any, float]:
    """A 10 m Sentinel-2 container yard: ``(bands uint16 x 10000, yard mask, true area m2)``.

    Each block gets its own mix of paints (the same in every scene); blocks cast a shadow
    ``shadow_m`` long towards +row.
    ``haze`` = ``(row, col, radius_px, opacity)`` adds a soft white blob the SCL would miss.
    The yard is the whole image but a 3-pixel margin of grass around it.
    """
    import numpy as np
    from scipy import ndimage as ndi

    ground = np.asarray(CONTAINERS_S2_GROUND)[:, None, None]
    img = np.repeat(ground, shape[0], 1).repeat(shape[1], 2).astype(float)
    yard = np.zeros(shape, bool)
    yard[3:-3, 3:-3] = True
    grass = np.asarray((0.04, 0.07, 0.05, 0.32))[:, None, None]
    img = np.where(yard[None], img, grass)
    total = np.zeros(shape)
    for b in blocks:
        cov = containers_blocks_cover(shape, [b])
        shade = ndi.shift(cov, (shadow_m / 10.0, 0.0), order=1)
        img *= 1 - 0.5 * np.clip(shade - cov, 0, 1)[None]
        # A block keeps its paints from scene to scene: seed its mix by its position.
        paint_rng = np.random.default_rng(abs(hash(tuple(b))) % 2**32)
        mix = paint_rng.dirichlet(np.full(len(CONTAINERS_S2_PAINTS), 0.7)) @ np.asarray(
            CONTAINERS_S2_PAINTS
        )
        img = img * (1 - cov[None]) + mix[:, None, None] * cov[None]
        total = np.maximum(total, cov)
    img = ndi.gaussian_filter(img, (0, psf_px, psf_px))
    if haze is not None:
        r0, c0, radius, opacity = haze
        rr, cc = np.mgrid[: shape[0], : shape[1]]
        alpha = opacity * np.exp(-(((rr - r0) ** 2 + (cc - c0) ** 2) / (2 * radius**2)))
        img = img * (1 - alpha) + 0.5 * alpha
    img = img + rng.normal(0, noise, img.shape) + img * rng.normal(0, 0.01, img.shape)
    dn = np.clip(np.rint(img * 10000), 1, 65535).astype(np.uint16)
    bands = {name: dn[i] for i, name in enumerate(("blue", "green", "red", "nir"))}
    return bands, yard, float(total[yard].sum()) * 100.0


def containers_s1_yard(
    rng: Any,
    blocks: Any,
    *,
    shape: tuple[int, int] = (50, 70),
    ground_db: float = -15.0,
    stack_db: float = 3.0,
    psf_px: float = 0.6,
    enl: float = 4.4,
) -> tuple[Any, Any, float]:
    """A 10 m Sentinel-1 VV yard (linear sigma0, float32): ``(vv, yard mask, true area m2)``.

    Stacks are strong double-bounce scatterers (``stack_db``, each block +-2 dB) on paving
    (``ground_db``); Gaussian PSF, then gamma speckle of ``enl`` looks.
    """
    import numpy as np
    from scipy import ndimage as ndi

    mu = np.full(shape, 10 ** (ground_db / 10))
    total = np.zeros(shape)
    for b in blocks:
        cov = containers_blocks_cover(shape, [b])
        level = 10 ** ((stack_db + rng.uniform(-2, 2)) / 10)
        mu = mu * (1 - cov) + level * cov
        total = np.maximum(total, cov)
    mu = ndi.gaussian_filter(mu, psf_px)
    vv = (mu * rng.gamma(enl, 1 / enl, shape)).astype(np.float32)
    yard = np.zeros(shape, bool)
    yard[3:-3, 3:-3] = True
    return vv, yard, float(total[yard].sum()) * 100.0


#: A yard of 10 blocks (row, col, length m, width m, angle deg): 5- and 8-row blocks of
#: 20/40-ft boxes, 40-120 m long, turned 0-30 degrees from the grid.
CONTAINERS_BLOCKS = (
    (10.0, 15.0, 80.0, 13.6, 0.0),
    (10.0, 32.0, 60.0, 13.6, 0.0),
    (10.0, 50.0, 90.0, 21.9, 0.0),
    (20.0, 15.0, 100.0, 21.9, 0.0),
    (20.0, 40.0, 120.0, 13.6, 0.0),
    (31.0, 14.0, 70.0, 21.9, 12.0),
    (31.0, 34.0, 70.0, 13.6, 12.0),
    (31.0, 55.0, 60.0, 21.9, 12.0),
    (41.0, 20.0, 110.0, 21.9, 30.0),
    (41.0, 48.0, 80.0, 13.6, 30.0),
)
