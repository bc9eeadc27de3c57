"""Ports, their zones and their fixed pixel grids, loaded from ``seeds/ports.geojson``.

Each port has an area of interest (AOI) in EPSG:4326, a local UTM CRS and a fixed grid on it
(origin snapped to the pixel size), so every observation of a port, from any sensor, lands on the
same pixels. Zones (berths, piers, anchorage, container yards, land) are polygons in EPSG:4326.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo import settings
from geo._gdal import IN_MEMORY_LOCK
from geo.errors import PortsFileError, UnknownPortError
from geo.types import BBox, PathLikeStr

__all__ = [
    "ZONE_KINDS",
    "Port",
    "PortGrid",
    "Zone",
    "get_port",
    "load_ports",
]

#: The kinds of zone a port may have. Water is what the AOI holds outside land and piers.
ZONE_KINDS = ("berth", "pier", "anchorage", "yard", "land")
#: How far (m) a zone may stick out of its port's AOI before it is refused (hand-placed slack).
_ZONE_SLACK_M = 50.0


@dataclass(frozen=True)
class PortGrid:
    """A port's fixed pixel grid: ``crs``, ``transform`` and ``shape`` (rows, cols)."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]

    @property
    def pixel_size_m(self) -> float:
        """Pixel size in metres (square pixels)."""
        return float(self.transform.a)

    @property
    def bounds(self) -> BBox:
        """Grid bounds ``(minx, miny, maxx, maxy)`` in :attr:`crs`."""
        rows, cols = self.shape
        minx, maxy = self.transform.c, self.transform.f
        return (minx, maxy - rows * self.pixel_size_m, minx + cols * self.pixel_size_m, maxy)


@dataclass(frozen=True)
class Zone:
    """One zone of a port: ``kind`` is one of :data:`ZONE_KINDS`; ``geometry`` is EPSG:4326."""

    id: str
    port: str
    kind: str
    name: str
    geometry: BaseGeometry
    approximate: bool = True


@dataclass(frozen=True)
class Port:
    """A watched port: AOI and zones in EPSG:4326, measured on its UTM grid."""

    id: str
    name: str
    country: str
    aoi: BaseGeometry
    utm_crs: CRS
    pixel_size_m: float
    zones: tuple[Zone, ...]
    wpi: int | None = None
    approximate: bool = True
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def grid(self) -> PortGrid:
        """The fixed grid covering the AOI in :attr:`utm_crs`, origin snapped to the pixel size."""
        minx, miny, maxx, maxy = self.to_utm(self.aoi).bounds
        px = self.pixel_size_m
        x0, y1 = math.floor(minx / px) * px, math.ceil(maxy / px) * px
        x1, y0 = math.ceil(maxx / px) * px, math.floor(miny / px) * px
        shape_rc = (round((y1 - y0) / px), round((x1 - x0) / px))
        return PortGrid(self.utm_crs, Affine(px, 0.0, x0, 0.0, -px, y1), shape_rc)

    def zone(self, zone_id: str) -> Zone:
        """Return the zone called *zone_id*; raise :class:`UnknownPortError` listing valid ids."""
        for z in self.zones:
            if z.id == zone_id:
                return z
        valid = ", ".join(z.id for z in self.zones)
        raise UnknownPortError(f"Port {self.id!r} has no zone {zone_id!r}. Valid zones: {valid}.")

    def zones_of(self, kind: str) -> tuple[Zone, ...]:
        """Return the zones of one kind (e.g. ``"berth"``)."""
        return tuple(z for z in self.zones if z.kind == kind)

    def to_utm(self, geom: BaseGeometry) -> BaseGeometry:
        """Project an EPSG:4326 geometry onto the port's UTM CRS."""
        tf = Transformer.from_crs(4326, self.utm_crs, always_xy=True)
        return shapely.transform(geom, lambda xy: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])))

    def to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a geometry in the port's UTM CRS back to EPSG:4326."""
        tf = Transformer.from_crs(self.utm_crs, 4326, always_xy=True)
        return shapely.transform(geom, lambda xy: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])))

    def zone_mask(self, zone_id: str) -> NDArray[np.bool_]:
        """Boolean mask, shape ``grid.shape``, of the pixels whose centre lies in the zone."""
        key = f"mask:{zone_id}"
        if key not in self._cache:
            self._cache[key] = self._rasterize(self.to_utm(self.zone(zone_id).geometry))
        mask: NDArray[np.bool_] = self._cache[key]
        return mask

    def water_mask(self) -> NDArray[np.bool_]:
        """Mask of the AOI's water: everything outside the land and pier zones (approximate)."""
        key = "mask:water"
        if key not in self._cache:
            solid = [self.to_utm(z.geometry) for z in self.zones if z.kind in ("land", "pier")]
            dry = self._rasterize(shapely.union_all(solid)) if solid else None
            self._cache[key] = ~dry if dry is not None else np.ones(self.grid.shape, bool)
        mask: NDArray[np.bool_] = self._cache[key]
        return mask

    def _rasterize(self, geom_utm: BaseGeometry) -> NDArray[np.bool_]:
        # Imported here: rasterio.features pulls GDAL and is only needed for masks.
        from rasterio.features import rasterize

        with IN_MEMORY_LOCK:
            out = rasterize([geom_utm], out_shape=self.grid.shape, transform=self.grid.transform)
        mask: NDArray[np.bool_] = np.asarray(out, dtype=bool)
        return mask


def load_ports(path: PathLikeStr | None = None) -> dict[str, Port]:
    """Load and validate the ports file.

    Parameters
    ----------
    path : str or path-like, optional
        A GeoJSON FeatureCollection of ``feature: port`` and ``feature: zone`` features.
        Default: ``seeds/ports.geojson`` (see :mod:`geo.settings`).

    Returns
    -------
    dict of str to Port
        Ports by id, in file order.

    Raises
    ------
    PortsFileError
        Unreadable file, bad geometry, unknown CRS, duplicate id, unknown zone kind or port,
        or a zone outside its port's AOI. The message names the file, the feature and the fix.

    Examples
    --------
    >>> ports = load_ports()
    >>> ports["rajin"].grid.pixel_size_m
    10.0
    """
    p = Path(path) if path is not None else settings.seeds_dir() / "ports.geojson"
    features = _read_features(p)
    ports: dict[str, Port] = {}
    zones: dict[str, list[Zone]] = {}
    seen: set[str] = set()
    for i, feat in enumerate(features):
        props = _props(p, i, feat)
        fid = props["id"]
        if fid in seen:
            raise PortsFileError(
                f"{p}: feature {i} repeats id {fid!r}; give every port and zone a unique id."
            )
        seen.add(fid)
        geom = _geometry(p, fid, feat)
        if props["feature"] == "port":
            ports[fid] = _port(p, fid, props, geom)
        else:
            zones.setdefault(props.get("port", ""), []).append(_zone(p, fid, props, geom))
    return _attach_zones(p, ports, zones)


def get_port(port_id: str, ports: Mapping[str, Port] | None = None) -> Port:
    """Return one port by id, or raise :class:`UnknownPortError` listing the valid ids."""
    ports = load_ports() if ports is None else ports
    try:
        return ports[port_id]
    except KeyError:
        valid = ", ".join(sorted(ports))
        raise UnknownPortError(f"Unknown port {port_id!r}. Valid ports: {valid}.") from None


def _read_features(p: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise PortsFileError(f"{p}: file not found; pass an existing ports GeoJSON.") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PortsFileError(f"{p}: not readable as GeoJSON ({err}); fix the JSON syntax.") from err
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise PortsFileError(f"{p}: must be a GeoJSON FeatureCollection of ports and zones.")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise PortsFileError(f"{p}: has no features; add at least one port.")
    return features


def _props(p: Path, i: int, feat: Any) -> dict[str, Any]:
    props = feat.get("properties") if isinstance(feat, dict) else None
    if not isinstance(props, dict) or not isinstance(props.get("id"), str) or not props["id"]:
        raise PortsFileError(f"{p}: feature {i} has no string 'id' property; give it one.")
    if props.get("feature") not in ("port", "zone"):
        raise PortsFileError(
            f"{p}: feature {props['id']!r} has feature={props.get('feature')!r}; "
            "it must be 'port' or 'zone'."
        )
    return props


def _geometry(p: Path, fid: str, feat: dict[str, Any]) -> BaseGeometry:
    try:
        geom = shape(feat["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as err:
        raise PortsFileError(f"{p}: feature {fid!r} has no readable geometry ({err}).") from err
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise PortsFileError(
            f"{p}: feature {fid!r} must be a non-empty Polygon; got {geom.geom_type}."
        )
    if not geom.is_valid:
        why = shapely.is_valid_reason(geom)
        raise PortsFileError(f"{p}: feature {fid!r} has an invalid polygon ({why}); fix the ring.")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise PortsFileError(
            f"{p}: feature {fid!r} has coordinates outside lon/lat ranges; geometries are EPSG:4326 (lon, lat)."
        )
    return geom


def _port(p: Path, fid: str, props: dict[str, Any], geom: BaseGeometry) -> Port:
    epsg = props.get("utm_epsg")
    try:
        crs = CRS.from_epsg(int(str(epsg)))
    except (TypeError, ValueError, CRSError) as err:
        raise PortsFileError(
            f"{p}: port {fid!r} has utm_epsg={epsg!r}, not a known EPSG code; use its UTM zone, e.g. 32652."
        ) from err
    if not crs.is_projected:
        raise PortsFileError(
            f"{p}: port {fid!r} utm_epsg={epsg} is not a projected CRS; use a UTM zone."
        )
    size = props.get("pixel_size_m", 10.0)
    if not isinstance(size, (int, float)) or not 0 < size <= 100:
        raise PortsFileError(
            f"{p}: port {fid!r} pixel_size_m must be in (0, 100] metres. Got {size!r}."
        )
    return Port(
        id=fid,
        name=str(props.get("name", fid)),
        country=str(props.get("country", "")),
        aoi=geom,
        utm_crs=crs,
        pixel_size_m=float(size),
        zones=(),
        wpi=props.get("wpi"),
        approximate=bool(props.get("approximate", True)),
    )


def _zone(p: Path, fid: str, props: dict[str, Any], geom: BaseGeometry) -> Zone:
    kind = props.get("kind")
    if kind not in ZONE_KINDS:
        raise PortsFileError(
            f"{p}: zone {fid!r} has kind={kind!r}; valid kinds: {', '.join(ZONE_KINDS)}."
        )
    return Zone(
        id=fid,
        port=str(props.get("port", "")),
        kind=kind,
        name=str(props.get("name", fid)),
        geometry=geom,
        approximate=bool(props.get("approximate", True)),
    )


def _attach_zones(p: Path, ports: dict[str, Port], zones: dict[str, list[Zone]]) -> dict[str, Port]:
    if not ports:
        raise PortsFileError(f"{p}: holds no feature with feature='port'; add at least one port.")
    for port_id, zs in zones.items():
        if port_id not in ports:
            names = ", ".join(z.id for z in zs)
            raise PortsFileError(
                f"{p}: zones {names} name port {port_id!r}, which is not in the file; "
                f"valid ports: {', '.join(ports)}."
            )
    out: dict[str, Port] = {}
    for port_id, port in ports.items():
        aoi_utm = port.to_utm(port.aoi).buffer(_ZONE_SLACK_M)
        for z in zones.get(port_id, []):
            if not aoi_utm.contains(port.to_utm(z.geometry)):
                raise PortsFileError(
                    f"{p}: zone {z.id!r} lies outside the AOI of port {port_id!r}; "
                    "move it inside or enlarge the AOI."
                )
        out[port_id] = replace(port, zones=tuple(zones.get(port_id, [])))
    return out
