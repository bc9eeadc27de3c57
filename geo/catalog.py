"""Imagery sources behind one interface: find the scenes over a port in a time window.

Every source answers ``search(port, since, until, *, sensor=None) -> list[Scene]``:

``local:PATH`` (the default, ``local:sample_tiles``)
    A static STAC catalogue on disk, searched without a server through a GeoParquet index
    (``index.parquet``, one row per item) kept beside the catalogue and rebuilt when a JSON file
    of the catalogue is newer; when the catalogue folder is read-only the index lives in
    ``<data_dir>/cache/stac-index/``.
``folder:PATH``
    A folder of the user's own GeoTIFFs (Planet, VHR...): each file becomes a scene, its time
    taken from its tags or its file name (:func:`build_folder_catalog` writes them out as a
    static STAC catalogue).
``earth-search``, ``planetary-computer``, ``cdse``
    The public STAC APIs, with their real URLs and collection ids (:data:`PROFILES`).
``stac:URL``
    Any other STAC API (all collections; sensor inferred from each item).

A :class:`Scene` says what the pixels are (``product``) and how to scale them; reading them onto
the port's grid is :func:`geo.tiles.read_tile`'s job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from geo import settings
from geo.errors import (
    CatalogError,
    RasterMetadataError,
    StacSearchError,
    TimeWindowError,
    UnknownSourceError,
)
from geo.network import HttpParams, stac_api_io
from geo.ports import Port
from geo.types import PathLikeStr

__all__ = [
    "PRODUCTS",
    "PROFILES",
    "SENSORS",
    "FolderSource",
    "LocalCatalogSource",
    "RemoteProfile",
    "Scene",
    "Source",
    "StacApiSource",
    "build_folder_catalog",
    "open_source",
    "scene_from_item",
    "utc_window",
]

logger = logging.getLogger(__name__)

#: Sensor kinds a scene can have.
SENSORS = ("sar", "optical")
#: What a scene's pixels are, i.e. how :func:`geo.tiles.read_tile` turns them into bands:
#: ``sigma0`` linear float on a map grid; ``gamma0`` linear terrain-flattened float (RTC);
#: ``s1-grd-dn`` Sentinel-1 GRD digital numbers with GCPs and calibration annotation;
#: ``reflectance`` optical digital numbers with a scale and offset; ``raster`` anything else
#: (read as stored, scaled by the file's own scale/offset).
PRODUCTS = ("sigma0", "gamma0", "s1-grd-dn", "reflectance", "raster")

#: Canonical band names and the asset keys catalogues use for them (matched case-insensitively).
_BAND_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "optical": {
        "blue": ("blue", "B02", "B02_10m"),
        "green": ("green", "B03", "B03_10m"),
        "red": ("red", "B04", "B04_10m"),
        "nir": ("nir", "B08", "B08_10m"),
        "scl": ("scl", "SCL", "SCL_20m"),
    },
    "sar": {"vv": ("vv",), "vh": ("vh",), "hh": ("hh",), "hv": ("hv",)},
}
#: Sentinel-2 processing baseline 04.00 (2022-01-25) shifted L2A digital numbers by +1000.
_S2_OFFSET_SINCE = datetime(2022, 1, 25, tzinfo=UTC)
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2")
_ITEM_LIMIT = 2000
_FINGERPRINT_KEY = b"berthwatch:catalog_fingerprint"


@dataclass(frozen=True)
class Scene:
    """One acquisition found by a source: what, when, where, and where its pixels are.

    Attributes
    ----------
    id, collection, source : str
        Item id, its collection, and the source spec that found it (e.g. ``earth-search``).
    sensor : {"sar", "optical"}
    platform : str
        E.g. ``sentinel-1a``.
    acquired_utc : datetime
        Acquisition time, timezone-aware UTC.
    footprint : shapely geometry
        EPSG:4326 footprint.
    cloud_cover : float or None
        Percent cloud over the whole scene, when the catalogue says.
    assets : mapping of str to str
        Canonical band name (``vv``, ``red``, ``scl``...) to absolute href (path or URL).
    simulated : bool
        True for simulated scenes (``berthwatch:simulated``): label them everywhere.
    product : str
        One of :data:`PRODUCTS`.
    scales : mapping of str to (float, float)
        Band to ``(scale, offset)``: value = stored * scale + offset.
    nodata : mapping of str to float
        Band to no-data value declared by the catalogue (overrides the file's).
    band_indexes : mapping of str to int
        Band to its 1-based band number inside the asset file (default 1).
    aux_assets : mapping of str to str
        Side files, e.g. ``calibration-vv`` and ``noise-vv`` for Sentinel-1 GRD.
    """

    id: str
    collection: str
    source: str
    sensor: str
    platform: str
    acquired_utc: datetime
    footprint: BaseGeometry
    cloud_cover: float | None
    assets: Mapping[str, str]
    simulated: bool = False
    product: str = "raster"
    scales: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    nodata: Mapping[str, float] = field(default_factory=dict)
    band_indexes: Mapping[str, int] = field(default_factory=dict)
    aux_assets: Mapping[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.source, self.collection, self.id))

    def aoi_coverage(self, port: Port) -> float:
        """Fraction (0..1) of the port's AOI inside the scene footprint, measured in UTM."""
        aoi = port.to_utm(port.aoi)
        if aoi.area == 0:
            return 0.0
        inter = aoi.intersection(port.to_utm(self.footprint))
        return float(min(1.0, inter.area / aoi.area))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for flows passing scenes between tasks)."""
        return {
            "id": self.id,
            "collection": self.collection,
            "source": self.source,
            "sensor": self.sensor,
            "platform": self.platform,
            "acquired_utc": self.acquired_utc.isoformat(),
            "footprint": mapping(self.footprint),
            "cloud_cover": self.cloud_cover,
            "assets": dict(self.assets),
            "simulated": self.simulated,
            "product": self.product,
            "scales": {k: list(v) for k, v in self.scales.items()},
            "nodata": dict(self.nodata),
            "band_indexes": dict(self.band_indexes),
            "aux_assets": dict(self.aux_assets),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scene:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=str(d["id"]),
            collection=str(d["collection"]),
            source=str(d["source"]),
            sensor=str(d["sensor"]),
            platform=str(d["platform"]),
            acquired_utc=_parse_datetime(str(d["acquired_utc"])),
            footprint=shape(d["footprint"]),
            cloud_cover=None if d.get("cloud_cover") is None else float(d["cloud_cover"]),
            assets=dict(d["assets"]),
            simulated=bool(d.get("simulated", False)),
            product=str(d.get("product", "raster")),
            scales={k: (float(v[0]), float(v[1])) for k, v in d.get("scales", {}).items()},
            nodata={k: float(v) for k, v in d.get("nodata", {}).items()},
            band_indexes={k: int(v) for k, v in d.get("band_indexes", {}).items()},
            aux_assets=dict(d.get("aux_assets", {})),
        )


# ----------------------------------------------------------------------------- time window


def utc_window(since: date | datetime, until: date | datetime) -> tuple[datetime, datetime]:
    """Normalise a search window to tz-aware UTC datetimes.

    A :class:`~datetime.date` means the whole day: *since* starts at 00:00 UTC, *until* ends at
    23:59:59.999999 UTC. Naive datetimes are taken as UTC.

    Raises
    ------
    TimeWindowError
        When the window starts after it ends.

    Examples
    --------
    >>> utc_window(date(2023, 8, 20), date(2023, 8, 20))[1].isoformat()
    '2023-08-20T23:59:59.999999+00:00'
    """

    def norm(value: date | datetime, end: bool) -> datetime:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)

    start, stop = norm(since, False), norm(until, True)
    if start > stop:
        raise TimeWindowError(
            f"since ({start:%Y-%m-%d}) is after until ({stop:%Y-%m-%d}); give the earlier day first."
        )
    return start, stop


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ----------------------------------------------------------------------------- item -> scene


def _sensor_of(collection: str, props: Mapping[str, Any]) -> str | None:
    explicit = props.get("berthwatch:sensor")
    if explicit in SENSORS:
        return str(explicit)
    text = " ".join(str(props.get(k, "")) for k in ("constellation", "platform")) + collection
    text = text.lower()
    if "sentinel-1" in text or any(k.startswith("sar:") for k in props):
        return "sar"
    if "sentinel-2" in text or "landsat" in text or "eo:cloud_cover" in props:
        return "optical"
    return None


def _asset_band_info(asset: Mapping[str, Any]) -> dict[str, Any]:
    """The first band's ``scale``/``offset``/``nodata`` (raster extension or STAC 1.1 bands)."""
    info: dict[str, Any] = {k: asset[k] for k in ("scale", "offset", "nodata") if k in asset}
    for key in ("raster:bands", "bands"):
        bands = asset.get(key)
        if isinstance(bands, list) and bands and isinstance(bands[0], dict):
            for k in ("scale", "offset", "nodata"):
                if k in bands[0]:
                    info.setdefault(k, bands[0][k])
                if f"raster:{k}" in bands[0]:
                    info.setdefault(k, bands[0][f"raster:{k}"])
    return info


def _s2_default_offset(props: Mapping[str, Any], acquired: datetime) -> float:
    """Reflectance offset of Sentinel-2 L2A DN when the catalogue gives no scale/offset."""
    for key in ("s2:processing_baseline", "processing:version", "sentinel:processing_baseline"):
        if key in props:
            try:
                return -0.1 if float(str(props[key])) >= 4.0 else 0.0
            except ValueError:
                continue
    return -0.1 if acquired >= _S2_OFFSET_SINCE else 0.0


def _match_bands(sensor: str, assets: Mapping[str, Any]) -> dict[str, str]:
    """Canonical band name -> asset key present in *assets*."""
    lower = {k.lower(): k for k in assets}
    found = {}
    for band, keys in _BAND_KEYS[sensor].items():
        for key in keys:
            if key.lower() in lower:
                found[band] = lower[key.lower()]
                break
    return found


def _aux_keys(assets: Mapping[str, Any], pols: Iterable[str]) -> dict[str, str]:
    """Sentinel-1 calibration/noise annotation assets by polarisation."""
    out = {}
    for pol in pols:
        for key in assets:
            k = key.lower()
            if pol not in re.split(r"[^a-z0-9]+", k):
                continue
            if "noise" in k:
                out[f"noise-{pol}"] = key
            elif "calibration" in k:
                out[f"calibration-{pol}"] = key
    return out


def _product_of(
    sensor: str, collection: str, props: Mapping[str, Any], aux: Mapping[str, str]
) -> str:
    explicit = props.get("berthwatch:product")
    if explicit in PRODUCTS:
        return str(explicit)
    if sensor == "optical":
        return "reflectance"
    if any(k.startswith("calibration-") for k in aux) or "grd" in collection.lower():
        # Level-1 GRD pixels are digital numbers: never take them for sigma0 (without its
        # calibration annotation such a scene is refused when read).
        return "s1-grd-dn"
    if "rtc" in collection.lower():
        return "gamma0"
    return "sigma0"


def _href(asset: Mapping[str, Any], base: str | None, prefer_s3: bool) -> str:
    href = str(asset["href"])
    alt = asset.get("alternate")
    if prefer_s3 and isinstance(alt, dict) and not href.startswith("s3://"):
        s3 = alt.get("s3")
        if isinstance(s3, dict) and str(s3.get("href", "")).startswith("s3://"):
            href = str(s3["href"])
    if "://" in href or os.path.isabs(href) or base is None:
        return href
    if "://" in base:
        return urljoin(base, href)
    return str((Path(base).parent / href).resolve())


def _scales_and_nodata(
    band_assets: Mapping[str, Mapping[str, Any]], s2_offset: float | None
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """Per band ``(scale, offset)`` and no-data value, from the assets or Sentinel-2 defaults.

    *s2_offset* is given for Sentinel-2 reflectance: bands without a declared scale get
    ``(1e-4, s2_offset)`` and no-data 0 (the L2A convention).
    """
    scales: dict[str, tuple[float, float]] = {}
    nodata: dict[str, float] = {}
    for band, asset in band_assets.items():
        info = _asset_band_info(asset)
        if band != "scl" and ("scale" in info or "offset" in info):
            scales[band] = (float(info.get("scale", 1.0)), float(info.get("offset", 0.0)))
        elif band != "scl" and s2_offset is not None:
            scales[band] = (1e-4, s2_offset)
        if info.get("nodata") is not None:
            nodata[band] = float(info["nodata"])
        elif s2_offset is not None:
            nodata[band] = 0.0
    return scales, nodata


def scene_from_item(
    item: Mapping[str, Any], *, source: str, base_href: str | None = None
) -> Scene | None:
    """Turn a STAC item (as a dict) into a :class:`Scene`, or None when it holds no usable band.

    Parameters
    ----------
    item : mapping
        The item's JSON.
    source : str
        Source spec recorded on the scene.
    base_href : str, optional
        The item's own location; relative asset hrefs are resolved against it.
    """
    props = item.get("properties") or {}
    collection = str(item.get("collection") or "")
    sensor = _sensor_of(collection, props)
    assets = item.get("assets") or {}
    if sensor is None:
        logger.debug("item %s: cannot tell SAR from optical; skipped", item.get("id"))
        return None
    keys = _match_bands(sensor, assets)
    if not (set(keys) - {"scl"}):
        logger.debug("item %s: no band among %s; skipped", item.get("id"), sorted(assets))
        return None
    when = props.get("datetime") or props.get("start_datetime")
    if not when:
        logger.debug("item %s has no datetime; skipped", item.get("id"))
        return None
    acquired = _parse_datetime(str(when))
    aux_keys = _aux_keys(assets, [b for b in keys if sensor == "sar"])
    product = _product_of(sensor, collection, props, aux_keys)
    prefer_s3 = source == "cdse"
    is_s2 = "sentinel-2" in (collection + str(props.get("constellation", ""))).lower()
    s2_offset = _s2_default_offset(props, acquired) if is_s2 and product == "reflectance" else None
    scales, nodata = _scales_and_nodata({b: assets[k] for b, k in keys.items()}, s2_offset)
    geom = item.get("geometry")
    footprint = shape(geom) if geom else box(*item["bbox"])
    cloud = props.get("eo:cloud_cover")
    return Scene(
        id=str(item["id"]),
        collection=collection,
        source=source,
        sensor=sensor,
        platform=str(props.get("platform") or props.get("constellation") or "unknown").lower(),
        acquired_utc=acquired,
        footprint=footprint,
        cloud_cover=None if cloud is None else float(cloud),
        assets={b: _href(assets[k], base_href, prefer_s3) for b, k in keys.items()},
        simulated=bool(props.get("berthwatch:simulated", False)),
        product=product,
        scales=scales,
        nodata=nodata,
        aux_assets={a: _href(assets[k], base_href, prefer_s3) for a, k in aux_keys.items()},
    )


# ----------------------------------------------------------------------------- sources


class Source(ABC):
    """An imagery source: ``search(port, since, until, *, sensor=None) -> list[Scene]``."""

    #: The spec that opens this source again (``open_source(source.name)``).
    name: str

    def search(
        self,
        port: Port,
        since: date | datetime,
        until: date | datetime,
        *,
        sensor: str | None = None,
    ) -> list[Scene]:
        """Find the scenes whose footprint meets the port's AOI in ``[since, until]``.

        Parameters
        ----------
        port : Port
            The port; its AOI (EPSG:4326) is the search geometry.
        since, until : date or datetime
            The window, inclusive; dates are whole UTC days (see :func:`utc_window`).
        sensor : {"sar", "optical"}, optional
            Only this sensor; default both.

        Returns
        -------
        list of Scene
            Sorted by acquisition time; empty when nothing matches.

        Raises
        ------
        TimeWindowError
            *since* after *until*.
        UnknownSourceError
            *sensor* not one of :data:`SENSORS`.
        """
        start, stop = utc_window(since, until)
        if sensor is not None and sensor not in SENSORS:
            raise UnknownSourceError(
                f"Unknown sensor {sensor!r}. Valid sensors: {', '.join(SENSORS)}."
            )
        sensors = (sensor,) if sensor else SENSORS
        found = self._search(port, start, stop, sensors)
        keep = [
            s
            for s in found
            if s.sensor in sensors
            and start <= s.acquired_utc <= stop
            and s.footprint.intersects(port.aoi)
        ]
        unique = {(s.collection, s.id): s for s in keep}
        return sorted(unique.values(), key=lambda s: (s.acquired_utc, s.id))

    @abstractmethod
    def _search(
        self, port: Port, start: datetime, stop: datetime, sensors: tuple[str, ...]
    ) -> list[Scene]:
        """Candidates (the caller filters by sensor, time and footprint again)."""


class _IndexWriteError(CatalogError):
    """The index could not be written where it was meant to go."""


class LocalCatalogSource(Source):
    """A static STAC catalogue on disk, searched through a GeoParquet index beside it.

    Parameters
    ----------
    path : str or path-like
        ``catalog.json`` or the folder holding it.
    """

    def __init__(self, path: PathLikeStr) -> None:
        p = Path(path).expanduser()
        catalog = p / "catalog.json" if p.is_dir() or not p.suffix else p
        if not catalog.is_file():
            raise CatalogError(
                f"{catalog}: no STAC catalogue there; pass local:FOLDER holding catalog.json "
                "(the sample archive is made by the simulator), or another --source."
            )
        self.catalog = catalog.resolve()
        self.root = self.catalog.parent
        self.name = f"local:{self.root}"

    # The index: one row per item, rebuilt when any JSON file of the catalogue is newer.
    def index_path(self) -> Path:
        """Where the index lives: beside the catalogue, or in the cache when that is read-only."""
        beside = self.root / "index.parquet"
        if beside.exists() or os.access(self.root, os.W_OK):
            return beside
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        return settings.data_dir() / "cache" / "stac-index" / digest / "index.parquet"

    def fingerprint(self) -> str:
        """A digest of every JSON file of the catalogue (path, size, modification time).

        The index stores the fingerprint of the catalogue it was built from and is rebuilt when
        they differ: adding, removing or editing an item, or a fresh checkout, is noticed without
        trusting clocks.
        """
        digest = hashlib.sha1()
        for dirpath, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".json"):
                    full = os.path.join(dirpath, name)
                    st = os.stat(full)
                    rel = os.path.relpath(full, self.root)
                    digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    @staticmethod
    def _fresh(path: Path, fingerprint: str) -> bool:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not path.is_file():
            return False
        try:
            meta = pq.read_schema(path).metadata or {}
        except (OSError, pa.ArrowException):
            return False
        return meta.get(_FINGERPRINT_KEY) == fingerprint.encode()

    def ensure_index(self) -> Path:
        """Return the index path, (re)building it when missing or not of the current catalogue."""
        path = self.index_path()
        fingerprint = self.fingerprint()
        if self._fresh(path, fingerprint):
            return path
        try:
            return self.build_index(path, fingerprint=fingerprint)
        except _IndexWriteError as err:
            logger.info("cannot write the index beside the catalogue (%s); using the cache", err)
            digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
            fallback = settings.data_dir() / "cache" / "stac-index" / digest / "index.parquet"
            if self._fresh(fallback, fingerprint):
                return fallback
            return self.build_index(fallback, fingerprint=fingerprint)

    def build_index(self, path: Path | None = None, *, fingerprint: str | None = None) -> Path:
        """Write the GeoParquet index (atomically) and return its path."""
        import geopandas as gpd
        import pandas as pd
        import pyarrow.parquet as pq
        import pystac

        path = path or self.index_path()
        fingerprint = fingerprint or self.fingerprint()
        try:
            catalog = pystac.Catalog.from_file(str(self.catalog))
            rows = []
            for item in catalog.get_items(recursive=True):
                if item.geometry is None:
                    logger.debug("item %s has no geometry; not indexed", item.id)
                    continue
                d = item.to_dict(transform_hrefs=False)
                when = item.datetime or item.common_metadata.start_datetime
                href = item.get_self_href() or ""
                rows.append(
                    {
                        "id": item.id,
                        "collection": item.collection_id or "",
                        "datetime": pd.Timestamp(when).tz_convert("UTC") if when else pd.NaT,
                        "item_href": os.path.relpath(href, self.root) if href else "",
                        "item": json.dumps(d),
                        "geometry": shape(item.geometry),
                    }
                )
        except (OSError, ValueError, KeyError, pystac.STACError) as err:
            raise CatalogError(
                f"{self.catalog}: cannot read the STAC catalogue ({err}); fix or rebuild it."
            ) from err
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
        if not rows:
            frame = gpd.GeoDataFrame(
                {"id": [], "collection": [], "datetime": [], "item_href": [], "item": []},
                geometry=gpd.GeoSeries([], crs="EPSG:4326"),
            )
        frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(tmp, write_covering_bbox=True)
            table = pq.read_table(tmp)
            meta = dict(table.schema.metadata or {}) | {_FINGERPRINT_KEY: fingerprint.encode()}
            pq.write_table(table.replace_schema_metadata(meta), tmp)
            os.replace(tmp, path)
        except OSError as err:  # read-only folder or file system, full disk...
            raise _IndexWriteError(f"{path}: {err}") from err
        finally:
            tmp.unlink(missing_ok=True)
        logger.info("indexed %d items of %s into %s", len(rows), self.catalog, path)
        return path

    def _search(
        self, port: Port, start: datetime, stop: datetime, sensors: tuple[str, ...]
    ) -> list[Scene]:
        import geopandas as gpd

        index = self.ensure_index()
        frame = gpd.read_parquet(index, bbox=tuple(port.aoi.bounds))
        if frame.empty:
            return []
        hit = frame[
            frame.geometry.intersects(port.aoi)
            & (frame["datetime"] >= start)
            & (frame["datetime"] <= stop)
        ]
        scenes = []
        for row in hit.itertuples():
            base = str(self.root / str(row.item_href)) if row.item_href else str(self.catalog)
            scene = scene_from_item(json.loads(str(row.item)), source=self.name, base_href=base)
            if scene is not None:
                scenes.append(scene)
        return scenes


@dataclass(frozen=True)
class RemoteProfile:
    """A public STAC API: its URL and which collections hold each sensor's scenes."""

    name: str
    url: str
    collections: Mapping[str, tuple[str, ...]]
    note: str = ""


#: The real catalogues, with their real URLs and collection ids.
PROFILES: dict[str, RemoteProfile] = {
    "earth-search": RemoteProfile(
        "earth-search",
        "https://earth-search.aws.element84.com/v1",
        {"sar": ("sentinel-1-grd",), "optical": ("sentinel-2-c1-l2a",)},
        "Element 84 Earth Search v1; S1 GRD sits in a requester-pays bucket (AWS keys needed).",
    ),
    "planetary-computer": RemoteProfile(
        "planetary-computer",
        "https://planetarycomputer.microsoft.com/api/stac/v1",
        {"sar": ("sentinel-1-rtc",), "optical": ("sentinel-2-l2a",)},
        "Microsoft Planetary Computer; assets signed (SAS token) just before reading.",
    ),
    "cdse": RemoteProfile(
        "cdse",
        "https://stac.dataspace.copernicus.eu/v1",
        {"sar": ("sentinel-1-grd",), "optical": ("sentinel-2-l2a",)},
        "Copernicus Data Space; search is anonymous, downloads need CDSE S3 keys.",
    ),
}


class StacApiSource(Source):
    """A STAC API searched with pystac-client (retries on 429/5xx, POST included).

    Parameters
    ----------
    name : str
        Source spec recorded on the scenes (``earth-search``, ``stac:URL``...).
    url : str
        The API's landing page.
    collections : mapping of sensor to collection ids, optional
        Collections to search per sensor; None searches every collection.
    params : HttpParams, optional
        Timeouts and retries (default from the environment).
    """

    def __init__(
        self,
        name: str,
        url: str,
        collections: Mapping[str, tuple[str, ...]] | None = None,
        *,
        params: HttpParams | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.collections = collections
        self.params = params or HttpParams.from_settings()

    def _search(
        self, port: Port, start: datetime, stop: datetime, sensors: tuple[str, ...]
    ) -> list[Scene]:
        items = self._items(port, start, stop, sensors)
        scenes = []
        for item in items:
            self_href = next(
                (lk.get("href") for lk in item.get("links", []) if lk.get("rel") == "self"), None
            )
            scene = scene_from_item(item, source=self.name, base_href=self_href or self.url)
            if scene is not None:
                scenes.append(scene)
        return scenes

    def _items(
        self, port: Port, start: datetime, stop: datetime, sensors: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        import requests
        from pystac_client import Client
        from pystac_client.exceptions import APIError

        collections = None
        if self.collections is not None:
            collections = [c for s in sensors for c in self.collections.get(s, ())]
        try:
            client = Client.open(self.url, stac_io=stac_api_io(self.params))
            search = client.search(
                collections=collections,
                intersects=mapping(port.aoi),
                datetime=[start, stop],
                max_items=_ITEM_LIMIT,
            )
            items = list(search.items_as_dicts())
        except (APIError, requests.RequestException, OSError, ValueError) as err:
            what = " ".join(str(err).split())[:300] or "no message"
            status = getattr(err, "status_code", None)
            what = f"HTTP {status}, {what}" if status else what
            raise StacSearchError(
                f"STAC search at {self.url} failed after retries ({type(err).__name__}: {what}); "
                "check the network or try later, or search the offline archive (--source local:...)."
            ) from err
        if len(items) >= _ITEM_LIMIT:
            logger.warning("%s: stopped at %d items; narrow the window", self.url, _ITEM_LIMIT)
        return items


# ----------------------------------------------------------------------------- user folders

_DATETIME_TAGS = (
    "ACQUISITION_DATETIME",
    "ACQUISITION_DATE",
    "ACQUIRED",
    "DATETIME_ACQUIRED",
    "DATE_ACQUIRED",
    "SENSING_TIME",
    "DATETIME",
)
_NAME_DATETIME = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)"
    r"(?:[T_-]?(?P<H>[0-2]\d):?(?P<M>[0-5]\d):?(?P<S>[0-5]\d))?(?!\d)"
)


def _datetime_from_text(text: str) -> datetime | None:
    for m in _NAME_DATETIME.finditer(text):
        try:
            return datetime(
                int(m["y"]),
                int(m["m"]),
                int(m["d"]),
                int(m["H"] or 0),
                int(m["M"] or 0),
                int(m["S"] or 0),
                tzinfo=UTC,
            )
        except ValueError:
            continue
    return None


def _datetime_from_tag(value: str) -> datetime | None:
    """ISO 8601, TIFF's ``YYYY:MM:DD HH:MM:SS``, or any date-like run of digits."""
    text = value.strip()
    try:
        return _parse_datetime(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return _datetime_from_text(text)


def _raster_datetime(path: Path, tags: Mapping[str, str]) -> datetime:
    upper = {k.upper(): v for k, v in tags.items()}
    for key in _DATETIME_TAGS:
        if key in upper:
            when = _datetime_from_tag(upper[key])
            if when is not None:
                return when
    when = _datetime_from_text(path.stem)
    if when is not None:
        return when
    if "TIFFTAG_DATETIME" in upper:
        when = _datetime_from_tag(upper["TIFFTAG_DATETIME"])
        if when is not None:
            logger.warning("%s: time taken from TIFFTAG_DATETIME (may be a processing time)", path)
            return when
    raise RasterMetadataError(
        f"{path}: no acquisition time in its tags (ACQUISITION_DATETIME...) nor its file name; "
        "rename it with the date, e.g. 20230915T020649_rajin.tif, or tag it "
        "(gdal_edit.py -mo ACQUISITION_DATETIME=2023-09-15T02:06:49Z)."
    )


def _folder_item(path: Path, root: Path) -> dict[str, Any]:
    """A STAC item (dict) for one of the user's rasters."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.warp import transform_bounds

    try:
        with warnings.catch_warnings():
            # A raster without georeferencing gets our own clearer error just below.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
        with ds:
            if ds.crs is None:
                raise RasterMetadataError(
                    f"{path}: raster has no CRS; georeference it "
                    "(e.g. gdal_edit.py -a_srs EPSG:32652 FILE) or move it out of the folder."
                )
            bounds = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
            tags = ds.tags()
            names = [(d or f"b{i}").strip().lower() for i, d in enumerate(ds.descriptions, start=1)]
            if len(set(names)) < len(names):  # repeated descriptions: fall back to numbers
                names = [f"b{i}" for i in range(1, len(names) + 1)]
            scales, offsets, nodata = ds.scales, ds.offsets, ds.nodatavals
    except RasterioIOError as err:
        raise RasterMetadataError(f"{path}: not a readable raster ({err}).") from err
    when = _raster_datetime(path, tags)
    rel = path.relative_to(root).with_suffix("")
    item_id = re.sub(r"[^A-Za-z0-9._-]+", "_", str(rel))
    upper = {k.upper(): v for k, v in tags.items()}
    sensor = upper.get("BERTHWATCH_SENSOR", "optical").lower()
    if sensor not in SENSORS:
        sensor = "optical"
    assets = {}
    for i, name in enumerate(names, start=1):
        band: dict[str, Any] = {"scale": scales[i - 1], "offset": offsets[i - 1]}
        if nodata[i - 1] is not None and np.isfinite(nodata[i - 1]):
            band["nodata"] = nodata[i - 1]
        assets[name] = {
            "href": str(path.resolve()),
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            "raster:bands": [band],
            "berthwatch:band_index": i,
        }
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": "folder",
        "geometry": mapping(box(*bounds)),
        "bbox": list(bounds),
        "properties": {
            "datetime": when.isoformat().replace("+00:00", "Z"),
            "platform": upper.get("PLATFORM", upper.get("SATELLITE", "unknown")).lower(),
            "berthwatch:sensor": sensor,
            "berthwatch:product": "raster",
            "berthwatch:simulated": upper.get("BERTHWATCH_SIMULATED", "").lower() == "true",
        },
        "links": [],
        "assets": assets,
    }


class FolderSource(Source):
    """A folder of the user's own GeoTIFFs; each file is one scene.

    Bands are named from the band descriptions (lower-cased) or ``b1``, ``b2``...; the sensor is
    the ``BERTHWATCH_SENSOR`` tag (default optical); the time comes from the tags or file name.
    """

    def __init__(self, path: PathLikeStr) -> None:
        self.root = Path(path).expanduser().resolve()
        if not self.root.is_dir():
            raise CatalogError(f"{self.root}: not a folder; pass folder:PATH to your GeoTIFFs.")
        self.name = f"folder:{self.root}"

    def files(self) -> list[Path]:
        """The rasters in the folder (recursively), sorted; raise when there is none."""
        files = sorted(
            p for p in self.root.rglob("*") if p.is_file() and p.suffix.lower() in _RASTER_SUFFIXES
        )
        if not files:
            raise CatalogError(
                f"{self.root}: folder holds no raster ({', '.join(_RASTER_SUFFIXES)}); "
                "put your GeoTIFFs there or pass another folder."
            )
        return files

    def items(self) -> list[dict[str, Any]]:
        """One STAC item (dict) per raster."""
        return [_folder_item(p, self.root) for p in self.files()]

    def _search(
        self, port: Port, start: datetime, stop: datetime, sensors: tuple[str, ...]
    ) -> list[Scene]:
        scenes = []
        for item in self.items():
            scene = _folder_scene(item, self.name)
            if scene is not None:
                scenes.append(scene)
        return scenes


def _folder_scene(item: dict[str, Any], source: str) -> Scene | None:
    props = item["properties"]
    assets = item["assets"]
    acquired = _parse_datetime(props["datetime"])
    scales, nodata = {}, {}
    for band, asset in assets.items():
        info = _asset_band_info(asset)
        scales[band] = (float(info.get("scale", 1.0)), float(info.get("offset", 0.0)))
        if info.get("nodata") is not None:
            nodata[band] = float(info["nodata"])
    return Scene(
        id=item["id"],
        collection=item["collection"],
        source=source,
        sensor=props["berthwatch:sensor"],
        platform=props["platform"],
        acquired_utc=acquired,
        footprint=shape(item["geometry"]),
        cloud_cover=None,
        assets={b: a["href"] for b, a in assets.items()},
        simulated=bool(props.get("berthwatch:simulated", False)),
        product="raster",
        scales=scales,
        nodata=nodata,
        band_indexes={b: int(a["berthwatch:band_index"]) for b, a in assets.items()},
    )


def build_folder_catalog(folder: PathLikeStr, dest: PathLikeStr) -> Path:
    """Write a static STAC catalogue of a folder of rasters (absolute asset hrefs).

    Parameters
    ----------
    folder : str or path-like
        The user's rasters.
    dest : str or path-like
        Folder for the catalogue (created); open it later with ``local:DEST``.

    Returns
    -------
    Path
        The written ``catalog.json``.

    Raises
    ------
    CatalogError, RasterMetadataError
        Empty folder; a raster without CRS or acquisition time.
    """
    import pystac

    source = FolderSource(folder)
    catalog = pystac.Catalog(
        id="berthwatch-folder",
        description=f"The user's rasters in {source.root}, catalogued by berthwatch.",
    )
    for d in source.items():
        catalog.add_item(pystac.Item.from_dict(d))
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    catalog.normalize_hrefs(str(out))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return out / "catalog.json"


# ----------------------------------------------------------------------------- open_source

_SPEC_FORMS = "earth-search, planetary-computer, cdse, local:PATH, folder:PATH, stac:URL"


def open_source(spec: str, *, url: str | None = None, params: HttpParams | None = None) -> Source:
    """Open an imagery source from its spec.

    Parameters
    ----------
    spec : str
        ``earth-search``, ``planetary-computer``, ``cdse``, ``local:PATH``, ``folder:PATH`` or
        ``stac:URL``.
    url : str, optional
        Another landing page for a named API (mirrors, tests); the collection ids stay the same.
    params : HttpParams, optional
        Timeouts and retries for remote sources.

    Returns
    -------
    Source

    Raises
    ------
    UnknownSourceError
        A spec of none of these forms.
    CatalogError
        ``local:`` without a catalogue, ``folder:`` that is not a folder.

    Examples
    --------
    >>> open_source("earth-search").url
    'https://earth-search.aws.element84.com/v1'
    """
    spec = spec.strip()
    if spec in PROFILES:
        prof = PROFILES[spec]
        return StacApiSource(prof.name, url or prof.url, prof.collections, params=params)
    kind, sep, rest = spec.partition(":")
    if sep and rest:
        if kind == "local":
            return LocalCatalogSource(rest)
        if kind == "folder":
            return FolderSource(rest)
        if kind == "stac" and urlsplit(rest).scheme in ("http", "https"):
            return StacApiSource(spec, rest, None, params=params)
    raise UnknownSourceError(f"Unknown source {spec!r}. Valid sources: {_SPEC_FORMS}.")
