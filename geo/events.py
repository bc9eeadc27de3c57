"""The event store: one GeoPackage holding every layer of the data model.

The store is a GeoPackage (SQLite) written with the standard library's :mod:`sqlite3`, so that
every write is a real SQLite transaction: one ``BEGIN IMMEDIATE … COMMIT`` per scene, with
``UNIQUE`` natural keys and upserts, in WAL mode so that the review app can read (and append
reviews) while a nightly run writes. The file opens as is in QGIS, ``ogrinfo`` and
``geopandas.read_file(path, layer=…)``.

Layers (see ``DESIGN.md``), geometries in EPSG:4326:

``observations`` (footprint polygon)
    One row per scene × port; natural key ``(scene_id, port)``.
``detections`` (footprint polygon)
    One row per object found; natural key ``(scene_id, port, kind, object_index)`` and the
    derived ``detection_id`` ``"{scene_id}:{port}:{kind}:{index}"``.
``port_calls`` (point), ``trips`` (line)
    Inferred, recomputed as a whole by :meth:`EventStore.update_inferences`.
``claims``, ``reviews``, ``runs``
    Attribute tables (no geometry). ``reviews`` is append-only (SQL triggers refuse updates and
    deletes).

Times are stored as GeoPackage ``DATETIME`` text, ``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC, millisecond
precision); records carry timezone-aware :class:`datetime.datetime` objects.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import math
import os
import sqlite3
import stat
import struct
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo import settings
from geo.errors import (
    RecordError,
    StoreFormatError,
    StoreNotFoundError,
    StoreReadOnlyError,
    StoreSchemaError,
    UnknownDetectionError,
    UnknownLayerError,
)
from geo.ports import Port
from geo.transforms import pixels_to_lonlat
from geo.types import PathLikeStr

if TYPE_CHECKING:
    import geopandas as gpd

    from detection.types import Vessel
    from geo.claims import Claim, ClaimParams
    from geo.trips import TripParams

__all__ = [
    "DETECTION_KINDS",
    "LAYERS",
    "OBSERVATION_STATUSES",
    "REVIEW_DECISIONS",
    "SCHEMA_VERSION",
    "ClaimCheckRecord",
    "DetectionRecord",
    "EventStore",
    "InferenceSummary",
    "ObservationRecord",
    "PortCallRecord",
    "ReviewRecord",
    "RunRecord",
    "TripRecord",
    "default_store_path",
    "vessel_records",
]

log = logging.getLogger(__name__)

#: Version of the store's schema; bump it (and add a migration) whenever a table changes.
SCHEMA_VERSION = 2
#: The layers (tables) of the store, in the order of ``DESIGN.md``.
LAYERS = ("observations", "detections", "port_calls", "trips", "claims", "reviews", "runs")
OBSERVATION_STATUSES = ("ok", "failed", "partial")
DETECTION_KINDS = ("vessel", "container_stack")
#: Analysts' decisions; the latest review of a detection wins. ``rejected`` detections are left
#: out of port calls, trips and claim checks from the next :meth:`EventStore.update_inferences`.
REVIEW_DECISIONS = ("confirmed", "rejected", "unsure")
#: Zone kinds a detection may be assigned to; anything else is ``"open_water"``.
_DETECTION_ZONE_KINDS = ("berth", "yard", "anchorage")
OPEN_WATER = "open_water"

_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_GPKG_USER_VERSION = 10200  # GeoPackage 1.2
_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
_BUSY_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ObservationRecord:
    """One scene × port: what was looked at, when, and how much of it could be seen.

    ``valid_fraction`` is the share of the port's AOI in the swath and not cloud/nodata;
    ``zone_valid_fraction`` gives the same per zone id (a berth hidden by cloud was *not
    observed*, which is not the same as empty). ``status`` is one of ``ok``, ``failed``,
    ``partial``.

    Provenance: ``run_id`` is the flow run that wrote the row (see the ``runs`` layer),
    ``reference_scene_ids`` the earlier scenes whose per-pixel median served as the pier-side
    reference (empty: the detectors ran without one), and ``detector_settings`` the detector
    names and every parameter they ran with, so a count can be reproduced or questioned.
    """

    scene_id: str
    port: str
    source: str
    collection: str = ""
    sensor: str = ""
    platform: str = ""
    acquired_utc: dt.datetime | None
    footprint: BaseGeometry | None = None
    valid_fraction: float = 0.0
    zone_valid_fraction: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    error: str = ""
    simulated: bool = False
    tile_path: str = ""
    run_id: str = ""
    reference_scene_ids: tuple[str, ...] = ()
    detector_settings: dict[str, Any] = field(default_factory=dict)

    def zone_fraction(self, zone_id: str) -> float:
        """Valid fraction of one zone; the overall fraction when the zone was not measured."""
        return float(self.zone_valid_fraction.get(zone_id, self.valid_fraction))


@dataclass(frozen=True, kw_only=True)
class DetectionRecord:
    """One object found in one scene of one port.

    ``kind`` is ``"vessel"`` or ``"container_stack"``; ``zone`` a zone id of the port or
    ``"open_water"``; ``geometry`` the footprint polygon (EPSG:4326) and ``lon``/``lat`` its
    centre. ``row``/``col`` are pixel coordinates in the tile the detector saw. TEU fields are
    for container stacks (``None`` for vessels), with their ``assumptions`` in words.
    ``acquired_utc`` and ``simulated`` are copied from the observation when the scene is written.
    """

    scene_id: str
    port: str
    index: int
    kind: str
    zone: str
    geometry: BaseGeometry | None
    lon: float
    lat: float
    row: float | None = None
    col: float | None = None
    length_m: float | None = None
    width_m: float | None = None
    heading_deg: float | None = None
    score: float | None = None
    area_m2: float | None = None
    teu_low: float | None = None
    teu_central: float | None = None
    teu_high: float | None = None
    assumptions: str = ""
    chip_path: str = ""
    flags: str = ""
    acquired_utc: dt.datetime | None = None
    simulated: bool = False

    @property
    def detection_id(self) -> str:
        """Stable id from the natural key: ``"{scene_id}:{port}:{kind}:{index}"``."""
        return f"{self.scene_id}:{self.port}:{self.kind}:{self.index}"


@dataclass(frozen=True, kw_only=True)
class PortCallRecord:
    """One vessel stay at a berth (or at anchor), inferred from detections in successive observations.

    ``berth`` is the zone id where the vessel stayed and ``zone_kind`` its kind (``berth`` or
    ``anchorage``).

    The vessel arrived in ``(arrival_after_utc, arrival_before_utc]`` and left in
    ``[departure_after_utc, departure_before_utc)``; ``None`` means unbounded (no observation
    of the berth before the first sighting, or none after the last). ``arrival_before_utc`` is
    the first sighting and ``departure_after_utc`` the last one. ``n_hidden`` counts the
    observations between the first and last sighting that could not see the zone.
    """

    call_id: str
    port: str
    berth: str
    zone_kind: str
    first_seen_utc: dt.datetime
    last_seen_utc: dt.datetime
    arrival_after_utc: dt.datetime | None
    arrival_before_utc: dt.datetime
    departure_after_utc: dt.datetime
    departure_before_utc: dt.datetime | None
    length_m: float
    length_err_m: float
    width_m: float | None
    lon: float
    lat: float
    n_detections: int
    n_hidden: int
    detection_ids: tuple[str, ...]
    scene_ids: tuple[str, ...]
    simulated: bool = False


@dataclass(frozen=True, kw_only=True)
class TripRecord:
    """An inferred voyage from one port call to a port call at another port.

    Departure in ``[depart_after_utc, depart_before_utc]`` and arrival in
    ``[arrive_after_utc, arrive_before_utc]`` (``None``: unbounded). The evidence chain is
    ``port_call_ids`` → ``detection_ids`` → ``scene_ids``. ``confidence`` in [0, 1].
    """

    trip_id: str
    from_port: str
    to_port: str
    from_call_id: str
    to_call_id: str
    depart_after_utc: dt.datetime | None
    depart_before_utc: dt.datetime | None
    arrive_after_utc: dt.datetime | None
    arrive_before_utc: dt.datetime | None
    length_m: float
    length_err_m: float
    distance_nm: float
    confidence: float
    from_lonlat: tuple[float, float]
    to_lonlat: tuple[float, float]
    detection_ids: tuple[str, ...]
    scene_ids: tuple[str, ...]
    simulated: bool = False

    @property
    def port_call_ids(self) -> tuple[str, str]:
        """The two port calls the trip links: ``(from_call_id, to_call_id)``."""
        return (self.from_call_id, self.to_call_id)


@dataclass(frozen=True, kw_only=True)
class ClaimCheckRecord:
    """One claim checked in one run: bounds on the true value, the verdict, and why.

    ``upper_bound`` ``None`` means unbounded (the imagery cannot limit it). ``verdict`` is
    ``consistent``, ``inconsistent`` or ``cannot be assessed``.
    """

    claim_id: str
    run_id: str
    checked_utc: dt.datetime
    kind: str
    ports: tuple[str, ...]
    since: dt.date
    until: dt.date
    comparator: str
    number: float
    unit: str
    lower_bound: float
    upper_bound: float | None
    verdict: str
    evidence: str
    evidence_ids: tuple[str, ...]
    assumptions: str
    n_observations: int
    simulated: bool
    source: str = ""
    quote: str = ""


@dataclass(frozen=True, kw_only=True)
class ReviewRecord:
    """One analyst decision about one detection (append-only)."""

    detection_id: str
    analyst: str
    decision: str
    label: str = ""
    note: str = ""
    decided_utc: dt.datetime


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One flow run: when, from which source, how many scenes."""

    run_id: str
    started_utc: dt.datetime
    finished_utc: dt.datetime | None = None
    source: str = ""
    status: str = "running"
    scenes_seen: int = 0
    scenes_processed: int = 0
    scenes_failed: int = 0
    code_version: str = ""
    note: str = ""


@dataclass(frozen=True)
class InferenceSummary:
    """What :meth:`EventStore.update_inferences` wrote."""

    run_id: str
    n_port_calls: int
    n_trips: int
    n_claims: int


# --------------------------------------------------------------------------------------------
# Value conversion
# --------------------------------------------------------------------------------------------


def _utc(value: dt.datetime | None, what: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise RecordError(
            f"{what}={value.isoformat()} has no time zone; pass an aware UTC datetime "
            "(e.g. datetime(..., tzinfo=timezone.utc))."
        )
    return value.astimezone(dt.UTC)


def _dt_to_db(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise RecordError(f"{value.isoformat()} has no time zone; pass an aware UTC datetime.")
    v = value.astimezone(dt.UTC)
    return f"{v:%Y-%m-%dT%H:%M:%S}.{v.microsecond // 1000:03d}Z"


def _dt_from_db(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _gpkg_blob(geom: BaseGeometry | None) -> bytes | None:
    """GeoPackage binary: ``GP`` header (little endian, srs 4326, xy envelope) then ISO WKB."""
    if geom is None:
        return None
    wkb: bytes = shapely.to_wkb(geom, byte_order=1)
    if geom.is_empty:
        return b"GP" + bytes([0, 0b00010001]) + struct.pack("<i", 4326) + wkb
    minx, miny, maxx, maxy = geom.bounds
    return b"GP" + bytes([0, 0b00000011]) + struct.pack("<i4d", 4326, minx, maxx, miny, maxy) + wkb


_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def _geom_from_blob(blob: Any) -> BaseGeometry | None:
    if blob is None:
        return None
    data = bytes(blob)
    if data[:2] != b"GP" or len(data) < 8:
        raise StoreFormatError(
            "A geometry in the store is not a GeoPackage blob; the file was written by another "
            "tool. Re-create the store or repair it with ogr2ogr."
        )
    env = (data[3] >> 1) & 0b111
    geom: BaseGeometry = shapely.from_wkb(data[8 + _ENVELOPE_BYTES.get(env, 0) :])
    return geom


# Column kinds: how a record field maps to a GeoPackage column and back.
_SQL_TYPES = {
    "text": "TEXT",
    "real": "DOUBLE",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "datetime": "DATETIME",
    "date": "DATE",
    "json": "TEXT",
    "tuple": "TEXT",
}


@dataclass(frozen=True)
class _Col:
    name: str  # column name
    kind: str  # key of _SQL_TYPES
    attr: str = ""  # record attribute (default: same as name)
    null: bool = True

    @property
    def field(self) -> str:
        return self.attr or self.name

    def to_db(self, value: Any) -> Any:
        if value is None:
            return None
        if self.kind == "datetime":
            return _dt_to_db(value)
        if self.kind == "date":
            return value.isoformat()
        if self.kind == "bool":
            return int(bool(value))
        if self.kind == "json":
            return json.dumps(value, sort_keys=True)
        if self.kind == "tuple":
            return json.dumps(list(value))
        if self.kind == "real":
            return None if isinstance(value, float) and math.isnan(value) else float(value)
        return value

    def from_db(self, value: Any) -> Any:
        if value is None:
            return {} if self.kind == "json" else (() if self.kind == "tuple" else None)
        if self.kind == "datetime":
            return _dt_from_db(value)
        if self.kind == "date":
            return dt.date.fromisoformat(str(value))
        if self.kind == "bool":
            return bool(value)
        if self.kind == "json":
            return json.loads(value)
        if self.kind == "tuple":
            return tuple(json.loads(value))
        if self.kind == "real":
            return float(value)
        return value


@dataclass(frozen=True)
class _Table:
    name: str
    record: type
    columns: tuple[_Col, ...]
    geometry: tuple[str, str, Callable[[Any], BaseGeometry | None]] | None  # (column, type, getter)
    unique: tuple[str, ...]
    description: str
    # Record attributes filled from columns that are not constructor arguments.
    derived: tuple[str, ...] = ()
    order_by: str = "fid"

    @property
    def data_type(self) -> str:
        return "features" if self.geometry else "attributes"

    def ddl(self) -> str:
        cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
        if self.geometry:
            cols.append(f"{self.geometry[0]} {self.geometry[1]}")
        for c in self.columns:
            cols.append(f"{c.name} {_SQL_TYPES[c.kind]}{'' if c.null else ' NOT NULL'}")
        cols.append(f"CONSTRAINT uk_{self.name}_natural_key UNIQUE ({', '.join(self.unique)})")
        return f"CREATE TABLE {self.name} (\n  " + ",\n  ".join(cols) + "\n)"

    def row(self, record: Any) -> dict[str, Any]:
        out = {c.name: c.to_db(getattr(record, c.field)) for c in self.columns}
        if self.geometry:
            out[self.geometry[0]] = _gpkg_blob(self.geometry[2](record))
        return out

    def from_row(self, row: sqlite3.Row) -> Any:
        kwargs: dict[str, Any] = {}
        for c in self.columns:
            if c.field not in self.derived:
                kwargs[c.field] = c.from_db(row[c.name])
        if self.geometry and self.geometry[2] is _self_geometry:
            kwargs[self._geometry_attr()] = _geom_from_blob(row[self.geometry[0]])
        return self.record(**kwargs)

    def _geometry_attr(self) -> str:
        return "footprint" if self.name == "observations" else "geometry"


def _self_geometry(record: Any) -> BaseGeometry | None:
    geom: BaseGeometry | None = getattr(
        record, "footprint" if isinstance(record, ObservationRecord) else "geometry"
    )
    return geom


def _call_point(record: Any) -> BaseGeometry:
    return Point(record.lon, record.lat)


def _trip_line(record: Any) -> BaseGeometry:
    return shapely.LineString([record.from_lonlat, record.to_lonlat])


_T = "text"
#: Observation columns added in schema 2 (see ``_MIGRATIONS``).
_OBSERVATION_PROVENANCE = (
    _Col("run_id", _T),
    _Col("reference_scene_ids", "tuple"),
    _Col("detector_settings", "json"),
)
_TABLES: dict[str, _Table] = {
    t.name: t
    for t in (
        _Table(
            "observations",
            ObservationRecord,
            (
                _Col("scene_id", _T, null=False),
                _Col("port", _T, null=False),
                _Col("source", _T, null=False),
                _Col("collection", _T),
                _Col("sensor", _T),
                _Col("platform", _T),
                _Col("acquired_utc", "datetime"),
                _Col("valid_fraction", "real"),
                _Col("zone_valid_fraction", "json"),
                _Col("status", _T, null=False),
                _Col("error", _T),
                _Col("simulated", "bool", null=False),
                _Col("tile_path", _T),
                *_OBSERVATION_PROVENANCE,
            ),
            ("footprint", "GEOMETRY", _self_geometry),
            ("scene_id", "port"),
            "One row per scene x port: acquisition time, footprint, valid (cloud-free, in-swath) fraction per zone, status.",
            order_by="acquired_utc, scene_id, port",
        ),
        _Table(
            "detections",
            DetectionRecord,
            (
                _Col("detection_id", _T, null=False),
                _Col("scene_id", _T, null=False),
                _Col("port", _T, null=False),
                _Col("object_index", "int", "index", null=False),
                _Col("kind", _T, null=False),
                _Col("zone", _T, null=False),
                _Col("acquired_utc", "datetime"),
                _Col("lon", "real", null=False),
                _Col("lat", "real", null=False),
                _Col("pixel_row", "real", "row"),
                _Col("pixel_col", "real", "col"),
                _Col("length_m", "real"),
                _Col("width_m", "real"),
                _Col("heading_deg", "real"),
                _Col("score", "real"),
                _Col("area_m2", "real"),
                _Col("teu_low", "real"),
                _Col("teu_central", "real"),
                _Col("teu_high", "real"),
                _Col("assumptions", _T),
                _Col("chip_path", _T),
                _Col("flags", _T),
                _Col("simulated", "bool", null=False),
            ),
            ("geom", "POLYGON", _self_geometry),
            ("scene_id", "port", "kind", "object_index"),
            "One row per object found (vessel or container stack): footprint polygon, centre, size, score, zone.",
            derived=("detection_id",),
            order_by="acquired_utc, scene_id, port, kind, object_index",
        ),
        _Table(
            "port_calls",
            PortCallRecord,
            (
                _Col("call_id", _T, null=False),
                _Col("port", _T, null=False),
                _Col("berth", _T, null=False),
                _Col("zone_kind", _T, null=False),
                _Col("first_seen_utc", "datetime", null=False),
                _Col("last_seen_utc", "datetime", null=False),
                _Col("arrival_after_utc", "datetime"),
                _Col("arrival_before_utc", "datetime", null=False),
                _Col("departure_after_utc", "datetime", null=False),
                _Col("departure_before_utc", "datetime"),
                _Col("length_m", "real", null=False),
                _Col("length_err_m", "real", null=False),
                _Col("width_m", "real"),
                _Col("lon", "real", null=False),
                _Col("lat", "real", null=False),
                _Col("n_detections", "int", null=False),
                _Col("n_hidden", "int", null=False),
                _Col("detection_ids", "tuple"),
                _Col("scene_ids", "tuple"),
                _Col("simulated", "bool", null=False),
            ),
            ("geom", "POINT", _call_point),
            ("call_id",),
            "Inferred vessel stays at berths, with bounds on arrival and departure from the neighbouring observations.",
            order_by="port, first_seen_utc, berth",
        ),
        _Table(
            "trips",
            TripRecord,
            (
                _Col("trip_id", _T, null=False),
                _Col("from_port", _T, null=False),
                _Col("to_port", _T, null=False),
                _Col("from_call_id", _T, null=False),
                _Col("to_call_id", _T, null=False),
                _Col("depart_after_utc", "datetime"),
                _Col("depart_before_utc", "datetime"),
                _Col("arrive_after_utc", "datetime"),
                _Col("arrive_before_utc", "datetime"),
                _Col("length_m", "real", null=False),
                _Col("length_err_m", "real", null=False),
                _Col("distance_nm", "real", null=False),
                _Col("confidence", "real", null=False),
                _Col("from_lonlat", "tuple"),
                _Col("to_lonlat", "tuple"),
                _Col("detection_ids", "tuple"),
                _Col("scene_ids", "tuple"),
                _Col("simulated", "bool", null=False),
            ),
            ("geom", "LINESTRING", _trip_line),
            ("trip_id",),
            "Inferred voyages linking a departure from one port to an arrival at another, with evidence and confidence.",
            order_by="depart_after_utc, trip_id",
        ),
        _Table(
            "claims",
            ClaimCheckRecord,
            (
                _Col("claim_id", _T, null=False),
                _Col("run_id", _T, null=False),
                _Col("checked_utc", "datetime", null=False),
                _Col("kind", _T, null=False),
                _Col("ports", "tuple"),
                _Col("since", "date", null=False),
                _Col("until", "date", null=False),
                _Col("comparator", _T, null=False),
                _Col("number", "real", null=False),
                _Col("unit", _T),
                _Col("lower_bound", "real", null=False),
                _Col("upper_bound", "real"),
                _Col("verdict", _T, null=False),
                _Col("evidence", _T),
                _Col("evidence_ids", "tuple"),
                _Col("assumptions", _T),
                _Col("n_observations", "int", null=False),
                _Col("simulated", "bool", null=False),
                _Col("source", _T),
                _Col("quote", _T),
            ),
            None,
            ("claim_id", "run_id"),
            "Claim checks per run: observed lower bound, coverage-limited upper bound, verdict, evidence, assumptions.",
            order_by="checked_utc, fid",
        ),
        _Table(
            "reviews",
            ReviewRecord,
            (
                _Col("detection_id", _T, null=False),
                _Col("analyst", _T, null=False),
                _Col("decision", _T, null=False),
                _Col("label", _T),
                _Col("note", _T),
                _Col("decided_utc", "datetime", null=False),
            ),
            None,
            ("fid",),
            "Analyst decisions about detections (append-only audit trail).",
            order_by="fid",
        ),
        _Table(
            "runs",
            RunRecord,
            (
                _Col("run_id", _T, null=False),
                _Col("started_utc", "datetime", null=False),
                _Col("finished_utc", "datetime"),
                _Col("source", _T),
                _Col("status", _T, null=False),
                _Col("scenes_seen", "int", null=False),
                _Col("scenes_processed", "int", null=False),
                _Col("scenes_failed", "int", null=False),
                _Col("code_version", _T),
                _Col("note", _T),
            ),
            None,
            ("run_id",),
            "Flow runs: start, end, source, scenes seen/processed/failed, code version.",
            order_by="started_utc, run_id",
        ),
    )
}

_GPKG_DDL = (
    """CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
    "CREATE TABLE berthwatch_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
)
_SRS_ROWS = (
    (
        "Undefined cartesian SRS",
        -1,
        "NONE",
        -1,
        "undefined",
        "undefined cartesian coordinate reference system",
    ),
    (
        "Undefined geographic SRS",
        0,
        "NONE",
        0,
        "undefined",
        "undefined geographic coordinate reference system",
    ),
    (
        "WGS 84 geodetic",
        4326,
        "EPSG",
        4326,
        _WGS84_WKT,
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    ),
)
_APPEND_ONLY_TRIGGERS = (
    """CREATE TRIGGER reviews_append_only_update BEFORE UPDATE ON reviews
  BEGIN SELECT RAISE(ABORT, 'reviews are append-only: add a new review instead'); END""",
    """CREATE TRIGGER reviews_append_only_delete BEFORE DELETE ON reviews
  BEGIN SELECT RAISE(ABORT, 'reviews are append-only: add a new review instead'); END""",
)
_INDEXES = (
    "CREATE INDEX idx_observations_port_time ON observations (port, acquired_utc)",
    "CREATE INDEX idx_detections_port_time ON detections (port, acquired_utc)",
    "CREATE INDEX idx_detections_id ON detections (detection_id)",
    "CREATE INDEX idx_reviews_detection ON reviews (detection_id)",
)

#: Migrations: ``_MIGRATIONS[v]`` turns a schema-``v`` store into schema ``v + 1`` (inside one
#: transaction). Schema 1 is the first; add an entry here with every bump of SCHEMA_VERSION.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


def _add_observation_provenance(conn: sqlite3.Connection) -> None:
    """Schema 1 -> 2: observations record their run, reference scenes and detector settings."""
    for col in _OBSERVATION_PROVENANCE:
        conn.execute(f"ALTER TABLE observations ADD COLUMN {col.name} {_SQL_TYPES[col.kind]}")
    conn.execute("UPDATE observations SET run_id = ''")  # written before runs were recorded


_MIGRATIONS[1] = _add_observation_provenance


def default_store_path(data_dir: PathLikeStr | None = None) -> Path:
    """Return the event store's path: ``events.gpkg`` in the data folder (see :mod:`geo.settings`)."""
    return settings.data_dir(data_dir) / "events.gpkg"


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


SinceLike = dt.datetime | dt.date | None


class EventStore:
    """The berthwatch event store (a GeoPackage). Open it with :meth:`open`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.gpkg"
    >>> with EventStore.open(path) as store:
    ...     store.observations()
    []
    """

    LAYERS: ClassVar[tuple[str, ...]] = LAYERS

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._conn = conn
        self._lock = threading.RLock()

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, path: PathLikeStr | None = None, *, create: bool = True, readonly: bool = False
    ) -> Iterator[EventStore]:
        """Open (or create) the store at *path* and close it on exit.

        Parameters
        ----------
        path : str or path-like, optional
            The GeoPackage. Default: :func:`default_store_path`.
        create : bool
            Create a new, empty store when *path* does not exist.
        readonly : bool
            Open without any write (``mode=ro``); every write method then raises
            :class:`~geo.errors.StoreReadOnlyError`.

        Raises
        ------
        StoreNotFoundError
            *path* does not exist and ``create`` is false (or ``readonly`` is true).
        StoreReadOnlyError
            The file (or its folder) is not writable and ``readonly`` is false.
        StoreFormatError
            *path* is not a GeoPackage, or not a berthwatch store.
        StoreSchemaError
            The store was written by a newer berthwatch, or by an older one that cannot be
            migrated. The file is left untouched.
        """
        p = Path(path) if path is not None else default_store_path()
        conn = _connect(p, create=create, readonly=readonly)
        store = cls(p, conn, readonly=readonly)
        try:
            yield store
        finally:
            conn.close()

    # -- writing ----------------------------------------------------------------------------

    def write_scene(
        self, observation: ObservationRecord, detections: Sequence[DetectionRecord] = ()
    ) -> int:
        """Write one observation and its detections in one transaction, idempotently.

        Re-writing a scene replaces its observation and detections (rows are matched on their
        natural keys; detections that are no longer in *detections* are deleted). A process
        killed during the call leaves the store as it was before it.

        Returns
        -------
        int
            The number of detections written.

        Raises
        ------
        RecordError
            A detection of another scene or port, a repeated ``(kind, index)``, an unknown
            status or kind, a naive datetime, or a failed observation with detections.
        """
        obs, dets = _validated_scene(observation, detections)
        with self._transaction() as conn:
            self._upsert(conn, "observations", obs)
            keep = {(d.kind, d.index) for d in dets}
            stale = [
                (k, i)
                for k, i in conn.execute(
                    "SELECT kind, object_index FROM detections WHERE scene_id = ? AND port = ?",
                    (obs.scene_id, obs.port),
                )
                if (k, i) not in keep
            ]
            conn.executemany(
                "DELETE FROM detections WHERE scene_id = ? AND port = ? AND kind = ? AND object_index = ?",
                [(obs.scene_id, obs.port, k, i) for k, i in stale],
            )
            for d in dets:
                self._upsert(conn, "detections", d)
            self._touch_contents(conn, "observations", [obs.footprint])
            self._touch_contents(conn, "detections", [d.geometry for d in dets])
        log.debug("wrote scene %s/%s with %d detections", obs.scene_id, obs.port, len(dets))
        return len(dets)

    def record_failure(
        self,
        *,
        scene_id: str,
        port: str,
        source: str,
        error: str,
        acquired_utc: dt.datetime | None = None,
        collection: str = "",
        sensor: str = "",
        platform: str = "",
        footprint: BaseGeometry | None = None,
        simulated: bool = False,
        tile_path: str = "",
        run_id: str = "",
    ) -> bool:
        """Record that a scene could not be processed (status ``failed``, no detections).

        A failure never overwrites a scene already stored as ``ok`` or ``partial`` (a failed
        re-run must not erase good data): then nothing is written and ``False`` is returned.
        """
        obs = ObservationRecord(
            scene_id=scene_id,
            port=port,
            source=source,
            collection=collection,
            sensor=sensor,
            platform=platform,
            acquired_utc=acquired_utc,
            footprint=footprint,
            valid_fraction=0.0,
            status="failed",
            error=error or "unknown error",
            simulated=simulated,
            tile_path=tile_path,
            run_id=run_id,
        )
        obs, _ = _validated_scene(obs, ())
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT status FROM observations WHERE scene_id = ? AND port = ?",
                (scene_id, port),
            ).fetchone()
            if row is not None and row["status"] != "failed":
                log.warning(
                    "kept stored %s scene %s/%s; not overwritten by a failure",
                    row["status"],
                    scene_id,
                    port,
                )
                return False
            self._upsert(conn, "observations", obs)
            conn.execute("DELETE FROM detections WHERE scene_id = ? AND port = ?", (scene_id, port))
            self._touch_contents(conn, "observations", [footprint])
        return True

    def append_review(
        self, detection_id: str, analyst: str, decision: str, label: str = "", note: str = ""
    ) -> ReviewRecord:
        """Append one analyst decision about a detection (reviews are never changed or deleted).

        Raises
        ------
        UnknownDetectionError
            No detection has this id.
        RecordError
            *decision* is not one of :data:`REVIEW_DECISIONS`, or *analyst* is empty.
        """
        if decision not in REVIEW_DECISIONS:
            raise RecordError(
                f"Review decision {decision!r} is not valid; use one of {', '.join(REVIEW_DECISIONS)}."
            )
        if not analyst.strip():
            raise RecordError("A review needs the analyst's name; pass analyst='initials or name'.")
        review = ReviewRecord(
            detection_id=detection_id,
            analyst=analyst,
            decision=decision,
            label=label,
            note=note,
            decided_utc=dt.datetime.now(dt.UTC),
        )
        with self._transaction() as conn:
            found = conn.execute(
                "SELECT 1 FROM detections WHERE detection_id = ?", (detection_id,)
            ).fetchone()
            if found is None:
                raise UnknownDetectionError(
                    f"No detection {detection_id!r} in {self.path}; review an id listed by the store."
                )
            self._insert(conn, "reviews", review)
        return review

    def start_run(self, *, source: str, code_version: str = "", note: str = "") -> str:
        """Record the start of a flow run and return its id."""
        started = dt.datetime.now(dt.UTC)
        run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        if not code_version:
            code_version = _code_version()
        run = RunRecord(
            run_id=run_id, started_utc=started, source=source, code_version=code_version, note=note
        )
        with self._transaction() as conn:
            self._insert(conn, "runs", run)
        return run_id

    def finish_run(
        self,
        run_id: str,
        *,
        scenes_seen: int,
        scenes_processed: int,
        scenes_failed: int,
        status: str = "finished",
        note: str | None = None,
    ) -> None:
        """Record the end of a flow run (``status`` e.g. ``finished`` or ``failed``)."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET finished_utc = ?, status = ?, scenes_seen = ?, scenes_processed = ?, "
                "scenes_failed = ?, note = COALESCE(?, note) WHERE run_id = ?",
                (
                    _dt_to_db(dt.datetime.now(dt.UTC)),
                    status,
                    scenes_seen,
                    scenes_processed,
                    scenes_failed,
                    note,
                    run_id,
                ),
            )
            if cur.rowcount == 0:
                raise RecordError(
                    f"No run {run_id!r} in {self.path}; pass the id start_run returned."
                )

    def update_inferences(
        self,
        ports: Mapping[str, Port],
        claims: Sequence[Claim] = (),
        *,
        trip_params: TripParams | None = None,
        claim_params: ClaimParams | None = None,
        run_id: str | None = None,
    ) -> InferenceSummary:
        """Recompute port calls, trips and claim checks from the stored evidence, in one transaction.

        Reads the ``ok``/``partial`` observations and the detections that no analyst rejected
        (latest review wins), infers port calls (:func:`geo.trips.infer_port_calls`) and trips
        (:func:`geo.trips.infer_trips`), checks *claims* (:func:`geo.claims.check_claims`),
        and replaces the ``port_calls`` and ``trips`` layers and this run's rows of ``claims``.

        Parameters
        ----------
        ports : mapping of str to Port
            The ports (their berths and coordinates).
        claims : sequence of Claim
            Claims to check (e.g. :func:`geo.claims.load_claims`).
        run_id : str, optional
            The run the claim checks belong to; default a new id ``infer-<time>``. Re-using a
            run id replaces that run's checks.
        """
        from geo.claims import ClaimParams, check_claims
        from geo.trips import TripParams, infer_port_calls, infer_trips

        tp = trip_params or TripParams()
        cp = claim_params or ClaimParams()
        now = dt.datetime.now(dt.UTC)
        run = run_id or f"infer-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        with self._transaction() as conn:
            obs = [o for o in self._select(conn, "observations", "", ()) if o.status != "failed"]
            rejected = self._rejected(conn)
            dets = [
                d
                for d in self._select(conn, "detections", "", ())
                if d.detection_id not in rejected
            ]
            calls = infer_port_calls(obs, dets, ports, params=tp)
            trips = infer_trips(calls, ports, params=tp)
            checks = check_claims(
                claims, observations=obs, detections=dets, port_calls=calls, trips=trips,
                ports=ports, trip_params=tp, params=cp, run_id=run, checked_utc=now,
            )  # fmt: skip
            conn.execute("DELETE FROM port_calls")
            conn.execute("DELETE FROM trips")
            conn.execute("DELETE FROM claims WHERE run_id = ?", (run,))
            for table, records in (("port_calls", calls), ("trips", trips), ("claims", checks)):
                for r in records:
                    self._insert(conn, table, r)
            self._reset_extent(conn, "port_calls", [_call_point(c) for c in calls])
            self._reset_extent(conn, "trips", [_trip_line(t) for t in trips])
            self._touch_contents(conn, "claims", [])
        log.info(
            "inferred %d port calls, %d trips, %d claim checks", len(calls), len(trips), len(checks)
        )
        return InferenceSummary(run, len(calls), len(trips), len(checks))

    # -- reading ----------------------------------------------------------------------------

    def observations(
        self,
        port: str | None = None,
        since: SinceLike = None,
        until: SinceLike = None,
        *,
        status: str | None = None,
        source: str | None = None,
    ) -> list[ObservationRecord]:
        """Observations, oldest first; *since*/*until* bound ``acquired_utc`` (a date is a whole day)."""
        where, args = _time_filter("acquired_utc", since, until)
        where, args = _eq(where, args, port=port, status=status, source=source)
        return self._read("observations", where, args)

    def detections(
        self,
        port: str | None = None,
        since: SinceLike = None,
        until: SinceLike = None,
        *,
        kind: str | None = None,
        scene_id: str | None = None,
        zone: str | None = None,
        include_rejected: bool = True,
    ) -> list[DetectionRecord]:
        """Detections, oldest first; ``include_rejected=False`` drops those analysts rejected."""
        where, args = _time_filter("acquired_utc", since, until)
        where, args = _eq(where, args, port=port, kind=kind, scene_id=scene_id, zone=zone)
        dets: list[DetectionRecord] = self._read("detections", where, args)
        if not include_rejected:
            with self._lock:
                rejected = self._rejected(self._conn)
            dets = [d for d in dets if d.detection_id not in rejected]
        return dets

    def detection(self, detection_id: str) -> DetectionRecord | None:
        """One detection by id, or ``None``."""
        found: list[DetectionRecord] = self._read(
            "detections", " WHERE detection_id = ?", (detection_id,)
        )
        return found[0] if found else None

    def port_calls(
        self, port: str | None = None, since: SinceLike = None, until: SinceLike = None
    ) -> list[PortCallRecord]:
        """Port calls seen at least once in ``[since, until]`` (by first/last sighting)."""
        where, args = _overlap_filter("first_seen_utc", "last_seen_utc", since, until)
        where, args = _eq(where, args, port=port)
        return self._read("port_calls", where, args)

    def trips(
        self,
        from_port: str | None = None,
        to_port: str | None = None,
        since: SinceLike = None,
        until: SinceLike = None,
    ) -> list[TripRecord]:
        """Trips whose departure window overlaps ``[since, until]``."""
        where, args = _overlap_filter("depart_after_utc", "depart_before_utc", since, until)
        where, args = _eq(where, args, from_port=from_port, to_port=to_port)
        return self._read("trips", where, args)

    def claims(
        self, claim_id: str | None = None, run_id: str | None = None, *, latest: bool = True
    ) -> list[ClaimCheckRecord]:
        """Claim checks; by default only those of the latest check run (or of *run_id*)."""
        where, args = _eq("", (), claim_id=claim_id, run_id=run_id)
        if latest and run_id is None:
            cond = (
                "run_id = (SELECT run_id FROM claims ORDER BY checked_utc DESC, fid DESC LIMIT 1)"
            )
            where = f"{where} AND {cond}" if where else f" WHERE {cond}"
        return self._read("claims", where, args)

    def reviews(
        self, detection_id: str | None = None, analyst: str | None = None
    ) -> list[ReviewRecord]:
        """Reviews in the order they were made."""
        where, args = _eq("", (), detection_id=detection_id, analyst=analyst)
        return self._read("reviews", where, args)

    def runs(self) -> list[RunRecord]:
        """Flow runs, oldest first."""
        return self._read("runs", "", ())

    def rejected_detection_ids(self) -> set[str]:
        """Ids of the detections whose latest review is ``rejected``."""
        with self._lock:
            return self._rejected(self._conn)

    def has_observation(self, scene_id: str, port: str, *, include_failed: bool = False) -> bool:
        """Whether the scene is stored for *port* (``ok``/``partial``; ``failed`` ones are retried)."""
        sql = "SELECT status FROM observations WHERE scene_id = ? AND port = ?"
        with self._lock:
            row = self._conn.execute(sql, (scene_id, port)).fetchone()
        return row is not None and (include_failed or row["status"] != "failed")

    def last_observation_utc(self, port: str, source: str | None = None) -> dt.datetime | None:
        """Acquisition time of the latest ``ok``/``partial`` observation of *port* (from *source*)."""
        where, args = _eq(" WHERE status != 'failed'", (), port=port, source=source)
        with self._lock:
            row = self._conn.execute(
                f"SELECT MAX(acquired_utc) AS t FROM observations{where}", args
            ).fetchone()
        return _dt_from_db(row["t"])

    def count(self, layer: str) -> int:
        """Number of rows of one layer."""
        _table(layer)
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {layer}").fetchone()[0])

    def read_layer(self, layer: str) -> gpd.GeoDataFrame:
        """One layer as a GeoDataFrame (EPSG:4326; attribute layers get an empty geometry column).

        Every column of the table is kept (``fid`` included); ``DATETIME`` columns become
        timezone-aware pandas timestamps.
        """
        import geopandas as gpd
        import pandas as pd

        table = _table(layer)
        with self._lock:
            rows = self._conn.execute(f"SELECT * FROM {layer} ORDER BY fid").fetchall()
        gcol = table.geometry[0] if table.geometry else None
        data: dict[str, Any] = {"fid": [r["fid"] for r in rows]}
        for c in table.columns:
            values = [r[c.name] for r in rows]
            data[c.name] = pd.to_datetime(values, utc=True) if c.kind == "datetime" else values
        geoms = [_geom_from_blob(r[gcol]) for r in rows] if gcol else [None] * len(rows)
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)

    def export(self, layer: str, out: PathLikeStr, *, fmt: Literal["geoparquet", "geojson"]) -> int:
        """Write one layer to GeoParquet or GeoJSON; return the number of features written."""
        frame = self.read_layer(layer)
        out_p = Path(out)
        out_p.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "geoparquet":
            frame.to_parquet(out_p, index=False)
        elif fmt == "geojson":
            if out_p.exists():
                out_p.unlink()  # the GeoJSON driver refuses to overwrite
            for c in frame.columns:
                if str(frame[c].dtype).startswith("datetime64"):
                    frame[c] = frame[c].map(
                        lambda v: None if v is None or v != v else v.isoformat()
                    )
            frame.to_file(out_p, driver="GeoJSON")
        else:
            raise RecordError(f"Export format {fmt!r} is not supported; use geoparquet or geojson.")
        return len(frame)

    # -- internals --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StoreReadOnlyError(
                f"{self.path} is open read-only; open it with readonly=False to write."
            )
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                raise _store_error(self.path, err) from err
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as err:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.OperationalError):
                    raise _store_error(self.path, err) from err
                raise

    def _upsert(self, conn: sqlite3.Connection, layer: str, record: Any) -> None:
        table = _TABLES[layer]
        row = table.row(record)
        names = list(row)
        conflict = ", ".join(table.unique)
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in table.unique)
        conn.execute(
            f"INSERT INTO {layer} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
            list(row.values()),
        )

    def _insert(self, conn: sqlite3.Connection, layer: str, record: Any) -> None:
        row = _TABLES[layer].row(record)
        conn.execute(
            f"INSERT INTO {layer} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )

    def _touch_contents(
        self, conn: sqlite3.Connection, layer: str, geoms: Sequence[BaseGeometry | None]
    ) -> None:
        env = _envelope(geoms)
        if env is None:
            conn.execute(
                "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
                "WHERE table_name = ?",
                (layer,),
            )
            return
        conn.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
            "min_x = min(coalesce(min_x, ?1), ?1), min_y = min(coalesce(min_y, ?2), ?2), "
            "max_x = max(coalesce(max_x, ?3), ?3), max_y = max(coalesce(max_y, ?4), ?4) "
            "WHERE table_name = ?5",
            (*env, layer),
        )

    def _reset_extent(
        self, conn: sqlite3.Connection, layer: str, geoms: Sequence[BaseGeometry | None]
    ) -> None:
        conn.execute(
            "UPDATE gpkg_contents SET min_x = NULL, min_y = NULL, max_x = NULL, max_y = NULL "
            "WHERE table_name = ?",
            (layer,),
        )
        self._touch_contents(conn, layer, geoms)

    def _select(
        self, conn: sqlite3.Connection, layer: str, where: str, args: Sequence[Any]
    ) -> list[Any]:
        table = _TABLES[layer]
        rows = conn.execute(f"SELECT * FROM {layer}{where} ORDER BY {table.order_by}", args)
        return [table.from_row(r) for r in rows]

    def _read(self, layer: str, where: str, args: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self._select(self._conn, layer, where, args)

    @staticmethod
    def _rejected(conn: sqlite3.Connection) -> set[str]:
        rows = conn.execute(
            "SELECT r.detection_id, r.decision FROM reviews r JOIN ("
            "SELECT detection_id, MAX(fid) AS last FROM reviews GROUP BY detection_id"
            ") l ON r.fid = l.last"
        )
        return {d for d, decision in rows if decision == "rejected"}


# --------------------------------------------------------------------------------------------
# Opening, creating, checking the schema
# --------------------------------------------------------------------------------------------


def _connect(p: Path, *, create: bool, readonly: bool) -> sqlite3.Connection:
    if not p.exists():
        if readonly or not create:
            raise StoreNotFoundError(
                f"No event store at {p}; run a backfill or `berthwatch demo` first, or pass --data-dir."
            )
        return _create(p)
    if p.is_dir():
        raise StoreFormatError(f"{p} is a folder, not an event store; pass the .gpkg file.")
    if not readonly:
        _check_writable(p)
    uri = f"file:{p.resolve()}?mode={'ro' if readonly else 'rw'}"
    try:
        conn = sqlite3.connect(
            uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        _check_store(p, conn, readonly=readonly)
    except sqlite3.DatabaseError as err:
        raise StoreFormatError(
            f"{p} is not a readable GeoPackage ({err}); pass a berthwatch events.gpkg."
        ) from err
    if not readonly:
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _check_writable(p: Path) -> None:
    mode = p.stat().st_mode
    # Root ignores permission bits, so look at them too: a file marked read-only stays read-only.
    if not os.access(p, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise StoreReadOnlyError(
            f"{p} is read-only (mode {stat.filemode(mode)}); make it writable (chmod u+w) "
            "or open it with readonly=True."
        )
    if not os.access(p.parent, os.W_OK):
        raise StoreReadOnlyError(
            f"{p.parent} is not writable, and SQLite needs it for the store's journal; "
            "make the folder writable or open the store with readonly=True."
        )


def _create(p: Path) -> sqlite3.Connection:
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + f".creating-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
        conn.execute("BEGIN")
        for ddl in _GPKG_DDL:
            conn.execute(ddl)
        conn.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", _SRS_ROWS)
        for table in _TABLES.values():
            _create_table(conn, table)
        for sql in (*_APPEND_ONLY_TRIGGERS, *_INDEXES):
            conn.execute(sql)
        conn.executemany(
            "INSERT INTO berthwatch_meta VALUES (?, ?)",
            [
                ("schema_version", str(SCHEMA_VERSION)),
                ("created_utc", _dt_to_db(dt.datetime.now(dt.UTC)) or ""),
                ("created_by", f"berthwatch {_code_version()}"),
            ],
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    # Publish the finished file atomically: a crash while creating leaves no half store behind.
    try:
        os.link(tmp, p)
    except FileExistsError:
        log.info("%s was created by another process meanwhile; using it", p)
    except OSError:  # no hard links on this file system: rename, unless someone beat us to it
        if not p.exists():
            os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    return _connect(p, create=False, readonly=False)


def _create_table(conn: sqlite3.Connection, table: _Table) -> None:
    conn.execute(table.ddl())
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            table.name,
            table.data_type,
            table.name,
            table.description,
            4326 if table.geometry else None,
        ),
    )
    if table.geometry:
        conn.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, 4326, 0, 0)",
            (table.name, table.geometry[0], table.geometry[1]),
        )


def _check_store(p: Path, conn: sqlite3.Connection, *, readonly: bool) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != _GPKG_APPLICATION_ID:
        raise StoreFormatError(
            f"{p} is not a GeoPackage (application_id {app_id:#x}); pass a berthwatch events.gpkg."
        )
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'berthwatch_meta'"
    ).fetchone()
    if not has_meta:
        raise StoreFormatError(
            f"{p} is a GeoPackage but not a berthwatch event store (no berthwatch_meta table); "
            "pass the events.gpkg of a data folder."
        )
    row = conn.execute("SELECT value FROM berthwatch_meta WHERE key = 'schema_version'").fetchone()
    try:
        version = int(row[0])
    except (TypeError, ValueError) as err:
        raise StoreFormatError(
            f"{p} has no valid schema_version in berthwatch_meta; the file is damaged."
        ) from err
    if version > SCHEMA_VERSION:
        raise StoreSchemaError(
            f"{p} has schema version {version}, newer than this berthwatch reads ({SCHEMA_VERSION}); "
            "upgrade berthwatch, or use a separate data folder."
        )
    if version < SCHEMA_VERSION:
        _migrate(p, conn, version, readonly=readonly)


def _migrate(p: Path, conn: sqlite3.Connection, version: int, *, readonly: bool) -> None:
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in _MIGRATIONS]
    if missing:
        raise StoreSchemaError(
            f"{p} has schema version {version}, which this berthwatch cannot migrate to "
            f"{SCHEMA_VERSION}; re-create the store (re-run the backfill) in a new data folder."
        )
    if readonly:
        raise StoreSchemaError(
            f"{p} has schema version {version} and needs migrating to {SCHEMA_VERSION}; "
            "open it once writable (readonly=False) to migrate it."
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        for v in range(version, SCHEMA_VERSION):
            _MIGRATIONS[v](conn)
            log.warning("migrated %s from schema %d to %d", p, v, v + 1)
        conn.execute(
            "UPDATE berthwatch_meta SET value = ? WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _store_error(p: Path, err: sqlite3.OperationalError) -> Exception:
    text = str(err)
    if "readonly" in text or "read-only" in text:
        return StoreReadOnlyError(f"{p} cannot be written ({text}); make it writable (chmod u+w).")
    if "locked" in text or "busy" in text:
        return StoreReadOnlyError(
            f"{p} stayed locked by another process for {_BUSY_TIMEOUT_S:.0f} s ({text}); "
            "wait for the other run to finish and retry."
        )
    return StoreFormatError(f"{p}: SQLite error ({text}); the store may be damaged.")


def _table(layer: str) -> _Table:
    try:
        return _TABLES[layer]
    except KeyError:
        raise UnknownLayerError(
            f"Unknown layer {layer!r}; valid layers: {', '.join(LAYERS)}."
        ) from None


def _code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("berthwatch")
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------------
# Validation and filters
# --------------------------------------------------------------------------------------------


def _validated_scene(
    obs: ObservationRecord, dets: Sequence[DetectionRecord]
) -> tuple[ObservationRecord, list[DetectionRecord]]:
    where = f"scene {obs.scene_id!r} of port {obs.port!r}"
    if not obs.scene_id or not obs.port or not obs.source:
        raise RecordError(f"Observation of {where} needs a scene_id, a port and a source.")
    if obs.status not in OBSERVATION_STATUSES:
        raise RecordError(
            f"Observation of {where} has status {obs.status!r}; use one of {', '.join(OBSERVATION_STATUSES)}."
        )
    if obs.status != "failed" and obs.acquired_utc is None:
        raise RecordError(f"Observation of {where} needs acquired_utc unless its status is failed.")
    if obs.status == "failed" and dets:
        raise RecordError(
            f"Observation of {where} failed but carries {len(dets)} detections; drop them."
        )
    acquired = _utc(obs.acquired_utc, f"acquired_utc of {where}")
    obs = dataclasses.replace(
        obs, acquired_utc=acquired, zone_valid_fraction=dict(obs.zone_valid_fraction)
    )
    seen: set[tuple[str, int]] = set()
    out = []
    for d in dets:
        if (d.scene_id, d.port) != (obs.scene_id, obs.port):
            raise RecordError(
                f"Detection {d.detection_id} belongs to scene {d.scene_id!r}/{d.port!r}, not {where}."
            )
        if d.kind not in DETECTION_KINDS:
            raise RecordError(
                f"Detection {d.detection_id} has kind {d.kind!r}; use one of {', '.join(DETECTION_KINDS)}."
            )
        if (d.kind, d.index) in seen:
            raise RecordError(
                f"Detection {d.detection_id} appears twice in {where}; give each object its own index."
            )
        seen.add((d.kind, d.index))
        out.append(dataclasses.replace(d, acquired_utc=acquired, simulated=obs.simulated))
    return obs, out


def _bound(value: SinceLike, *, end: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        day = value + dt.timedelta(days=1) if end else value
        value = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        if end:
            return _dt_to_db(value - dt.timedelta(milliseconds=1))
    return _dt_to_db(_utc(value, "since/until"))


def _time_filter(col: str, since: SinceLike, until: SinceLike) -> tuple[str, tuple[Any, ...]]:
    conds, args = [], []
    lo, hi = _bound(since, end=False), _bound(until, end=True)
    if lo is not None:
        conds.append(f"{col} >= ?")
        args.append(lo)
    if hi is not None:
        conds.append(f"{col} <= ?")
        args.append(hi)
    return (" WHERE " + " AND ".join(conds) if conds else ""), tuple(args)


def _overlap_filter(
    start: str, end: str, since: SinceLike, until: SinceLike
) -> tuple[str, tuple[Any, ...]]:
    conds, args = [], []
    lo, hi = _bound(since, end=False), _bound(until, end=True)
    if lo is not None:
        conds.append(f"({end} IS NULL OR {end} >= ?)")
        args.append(lo)
    if hi is not None:
        conds.append(f"({start} IS NULL OR {start} <= ?)")
        args.append(hi)
    return (" WHERE " + " AND ".join(conds) if conds else ""), tuple(args)


def _eq(where: str, args: tuple[Any, ...], **filters: Any) -> tuple[str, tuple[Any, ...]]:
    conds = [f"{k} = ?" for k, v in filters.items() if v is not None]
    values = tuple(v for v in filters.values() if v is not None)
    if not conds:
        return where, args
    joined = " AND ".join(conds)
    return (f"{where} AND {joined}" if where else f" WHERE {joined}"), args + values


def _envelope(geoms: Sequence[BaseGeometry | None]) -> tuple[float, float, float, float] | None:
    valid = [g for g in geoms if g is not None and not g.is_empty]
    if not valid:
        return None
    b = np.array([g.bounds for g in valid], dtype=float)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


# --------------------------------------------------------------------------------------------
# Pixel-space results -> records
# --------------------------------------------------------------------------------------------


def vessel_records(
    vessels: Sequence[Vessel],
    *,
    scene_id: str,
    port: Port,
    transform: Affine,
    crs: CRS | str | int,
    chip_paths: Sequence[str] | None = None,
) -> list[DetectionRecord]:
    """Turn the detector's vessels (pixel space) into detection records (EPSG:4326).

    Parameters
    ----------
    vessels : sequence of detection.types.Vessel
        Centres ``(row, col)``, sizes in metres, heading, score, footprint corners, flags.
    scene_id : str
        The scene the vessels were found in.
    port : Port
        The port: its zones (berth, yard, anchorage) give each vessel its ``zone``, by centre;
        a centre in none of them is ``"open_water"``.
    transform, crs
        The georeference of the image the detector saw (e.g. the port grid).
    chip_paths : sequence of str, optional
        One image chip path per vessel.

    Returns
    -------
    list of DetectionRecord
        ``kind="vessel"``, ``index`` = position in *vessels*, footprint polygon from the corners
        (or, without corners, the oriented ``length_m`` × ``width_m`` rectangle).
    """
    if not vessels:
        return []
    rows = [v.row for v in vessels]
    cols = [v.col for v in vessels]
    lons, lats = pixels_to_lonlat(rows, cols, transform, crs)
    zones = _ZoneLookup(port)
    out = []
    for i, v in enumerate(vessels):
        poly = _footprint(v, transform, crs)
        out.append(
            DetectionRecord(
                scene_id=scene_id,
                port=port.id,
                index=i,
                kind="vessel",
                zone=zones.zone_of(float(lons[i]), float(lats[i])),
                geometry=poly,
                lon=float(lons[i]),
                lat=float(lats[i]),
                row=float(v.row),
                col=float(v.col),
                length_m=float(v.length_m),
                width_m=float(v.width_m),
                heading_deg=float(v.heading_deg),
                score=float(v.score),
                area_m2=float(v.length_m * v.width_m),
                chip_path=chip_paths[i] if chip_paths is not None else "",
                flags=",".join(v.flags),
            )
        )
    return out


class _ZoneLookup:
    def __init__(self, port: Port) -> None:
        order = {k: i for i, k in enumerate(_DETECTION_ZONE_KINDS)}
        zones = sorted((z for z in port.zones if z.kind in order), key=lambda z: order[z.kind])
        self._zones = [(z.id, z.geometry) for z in zones]

    def zone_of(self, lon: float, lat: float) -> str:
        for zid, geom in self._zones:
            if shapely.contains_xy(geom, lon, lat):
                return zid
        return OPEN_WATER


def _footprint(v: Vessel, transform: Affine, crs: CRS | str | int) -> BaseGeometry:
    if len(v.corners) >= 3:
        r = [c[0] for c in v.corners]
        c = [c[1] for c in v.corners]
    else:
        # Oriented rectangle in pixel space: heading is clockwise from "up" (row decreasing).
        h = math.radians(v.heading_deg)
        px = math.hypot(transform.a, transform.d) or 1.0
        along = np.array([-math.cos(h), math.sin(h)]) * v.length_m / 2 / px
        across = np.array([math.sin(h), math.cos(h)]) * v.width_m / 2 / px
        centre = np.array([v.row, v.col])
        pts = [
            centre + along + across,
            centre + along - across,
            centre - along - across,
            centre - along + across,
        ]
        r = [float(p[0]) for p in pts]
        c = [float(p[1]) for p in pts]
    lons, lats = pixels_to_lonlat(r, c, transform, crs)
    poly = Polygon(list(zip(lons.tolist(), lats.tolist(), strict=True)))
    return poly if poly.is_valid else poly.convex_hull
