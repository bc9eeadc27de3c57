"""Read a scene onto a port's fixed grid, and keep the result in a local tile cache.

Every scene of a port, whatever its sensor, projection or pixel size, is read as a window around
the port's AOI and resampled onto the port's fixed UTM grid (:attr:`geo.ports.Port.grid`), so
observations of one port stack pixel for pixel across time and sensors. Pixels are converted to
physical values on the way: Sentinel-2 digital numbers to reflectance (scale/offset of the item),
Sentinel-1 GRD digital numbers to sigma0 (:mod:`geo.calibration`, warped by its GCPs).

A :class:`Tile` carries its CRS, transform, time, sensor, bands, the mask of observed pixels and
the observed fraction of each zone of the port. Pixels that were not observed (outside the swath,
no data, and for Sentinel-2 cloud, cloud shadow and cirrus per the scene classification) are
``valid == False``: "not observed" is never "nothing there".

The cache holds one COG per scene and port, ``<cache_dir>/<port>/<scene_id>.tif``; it is written
under a temporary name and renamed into place, so a crash never leaves a half tile that looks
whole, and a second run reads from it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geo import settings
from geo._gdal import IN_MEMORY_LOCK
from geo.calibration import calibrate_sigma0, parse_calibration_xml, parse_noise_xml
from geo.catalog import Scene
from geo.errors import CredentialsRequiredError, RasterMetadataError, TileReadError
from geo.network import HttpParams, S3Access, fetch_bytes, gdal_options, gdal_path, retry_call
from geo.ports import Port, PortGrid
from geo.types import PathLikeStr

__all__ = [
    "REQUESTER_PAYS_BUCKETS",
    "SCL_NOT_OBSERVED",
    "TILE_FORMAT_VERSION",
    "Tile",
    "fetch_tile_to_cache",
    "load_cached_tile",
    "read_tile",
    "tile_path",
    "write_tile",
]

logger = logging.getLogger(__name__)


#: Sentinel-2 scene classes that mean "not observed": 0 no data, 3 cloud shadow,
#: 8 and 9 cloud (medium, high probability), 10 thin cirrus.
SCL_NOT_OBSERVED = (0, 3, 8, 9, 10)
#: S3 buckets that bill the reader (AWS keys needed): Sentinel-1 on AWS (Earth Search GRD).
REQUESTER_PAYS_BUCKETS = ("sentinel-s1-l1c", "sentinel-s2-l1c", "sentinel-s2-l2a")
#: Bumped when the cached tile layout changes; older cached tiles are re-read.
TILE_FORMAT_VERSION = 1
_CDSE_S3_ENDPOINT = "eodata.dataspace.copernicus.eu"
_TAG = "BERTHWATCH_TILE"


@dataclass(frozen=True, eq=False)
class Tile:
    """One scene read onto one port's grid.

    Attributes
    ----------
    scene_id, port_id : str
    sensor : {"sar", "optical"}
    platform : str
    acquired_utc : datetime
        Timezone-aware UTC.
    bands : dict of str to ndarray of float32, shape grid.shape
        Physical values: S2 reflectance (0..1 after scale/offset), S1 linear sigma0 (or gamma0
        for RTC products). NaN where no data.
    valid : ndarray of bool, shape grid.shape
        Observed pixels: data in every band and, for S2, not cloud/shadow/cirrus.
    crs : pyproj.CRS
    transform : affine.Affine
        The port grid's CRS and transform (identical for every tile of a port).
    zone_valid_fraction : dict of str to float
        Per zone of the port, the fraction of its pixels observed (0 when the zone is empty).
    simulated : bool
        True for simulated scenes.
    source : str
        Source spec the scene came from.
    collection, product : str
        STAC collection and pixel product (see :data:`geo.catalog.PRODUCTS`).
    scl : ndarray of uint8 or None
        Sentinel-2 scene classification on the grid (0 where unknown), when the scene has one.
    path : Path or None
        The cached COG, when the tile was read from or written to the cache.
    """

    scene_id: str
    port_id: str
    sensor: str
    platform: str
    acquired_utc: datetime
    bands: dict[str, NDArray[np.float32]]
    valid: NDArray[np.bool_]
    crs: CRS
    transform: Affine
    zone_valid_fraction: dict[str, float]
    simulated: bool
    source: str
    collection: str = ""
    product: str = ""
    scl: NDArray[np.uint8] | None = None
    path: Path | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape (rows, cols)."""
        return (int(self.valid.shape[0]), int(self.valid.shape[1]))

    @property
    def valid_fraction(self) -> float:
        """Fraction of the whole grid observed."""
        return float(self.valid.mean()) if self.valid.size else 0.0

    @property
    def pixel_size_m(self) -> float:
        """Pixel size in metres."""
        return float(self.transform.a)


# ----------------------------------------------------------------------------- cache


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "scene"


def tile_path(
    scene: Scene | str, port: Port | str, *, cache_dir: PathLikeStr | None = None
) -> Path:
    """Return where the tile of *scene* on *port* is cached.

    ``<cache_dir>/<port>/<scene_id>.tif``; *cache_dir* defaults to ``<data_dir>/tiles``.

    Examples
    --------
    >>> tile_path("S1A_X/1", "rajin", cache_dir="/data/tiles").as_posix()
    '/data/tiles/rajin/S1A_X_1.tif'
    """
    scene_id = scene.id if isinstance(scene, Scene) else scene
    port_id = port.id if isinstance(port, Port) else port
    root = Path(cache_dir) if cache_dir is not None else settings.data_dir() / "tiles"
    return root / _safe_name(port_id) / f"{_safe_name(scene_id)}.tif"


def write_tile(tile: Tile, path: PathLikeStr) -> Path:
    """Write a tile as a COG, atomically (temporary name, then :func:`os.replace`).

    Bands are float32, followed by ``valid`` (0/1) and, when present, ``scl``; the metadata is
    a JSON tag. Returns the path.
    """
    import rasterio

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = [*tile.bands, "valid", *(["scl"] if tile.scl is not None else [])]
    layers = [*tile.bands.values(), tile.valid.astype(np.float32)]
    if tile.scl is not None:
        layers.append(tile.scl.astype(np.float32))
    stack = np.stack(layers).astype(np.float32)
    meta = {
        "version": TILE_FORMAT_VERSION,
        "scene_id": tile.scene_id,
        "port_id": tile.port_id,
        "sensor": tile.sensor,
        "platform": tile.platform,
        "acquired_utc": tile.acquired_utc.isoformat(),
        "zone_valid_fraction": tile.zone_valid_fraction,
        "simulated": tile.simulated,
        "source": tile.source,
        "collection": tile.collection,
        "product": tile.product,
        "bands": list(tile.bands),
    }
    tmp = out.with_name(f".{out.stem}.{uuid.uuid4().hex}.part.tif")
    try:
        with rasterio.open(
            tmp,
            "w",
            driver="COG",
            width=stack.shape[2],
            height=stack.shape[1],
            count=stack.shape[0],
            dtype="float32",
            crs=tile.crs.to_wkt(),
            transform=tile.transform,
            nodata=float("nan"),
            compress="DEFLATE",
            predictor="YES",
        ) as dst:
            dst.write(stack)
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
            dst.update_tags(**{_TAG: json.dumps(meta)})
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def load_cached_tile(path: PathLikeStr) -> Tile:
    """Read a tile written by :func:`write_tile`.

    Raises
    ------
    TileReadError
        Not a berthwatch tile, or unreadable.
    """
    import rasterio
    from rasterio.errors import RasterioError

    p = Path(path)
    try:
        with rasterio.open(p) as ds:
            meta = json.loads(ds.tags().get(_TAG, "null"))
            if not isinstance(meta, dict) or meta.get("version") != TILE_FORMAT_VERSION:
                raise TileReadError(
                    f"{p}: not a berthwatch tile (format {TILE_FORMAT_VERSION}); delete it to re-fetch."
                )
            data = ds.read()
            names = list(ds.descriptions)
            epsg = ds.crs.to_epsg()
            crs = CRS.from_epsg(epsg) if epsg else CRS.from_wkt(ds.crs.to_wkt())
            transform = ds.transform
    except (RasterioError, json.JSONDecodeError) as err:
        raise TileReadError(f"{p}: cached tile unreadable ({err}); delete it to re-fetch.") from err
    layers = dict(zip(names, data, strict=True))
    scl = layers.get("scl")
    return Tile(
        scene_id=meta["scene_id"],
        port_id=meta["port_id"],
        sensor=meta["sensor"],
        platform=meta["platform"],
        acquired_utc=datetime.fromisoformat(meta["acquired_utc"]),
        bands={b: layers[b].astype(np.float32) for b in meta["bands"]},
        valid=layers["valid"] > 0.5,
        crs=crs,
        transform=transform,
        zone_valid_fraction={k: float(v) for k, v in meta["zone_valid_fraction"].items()},
        simulated=bool(meta["simulated"]),
        source=meta["source"],
        collection=meta.get("collection", ""),
        product=meta.get("product", ""),
        scl=None if scl is None else np.nan_to_num(scl).astype(np.uint8),
        path=p,
    )


def _cached(path: Path, port: Port) -> Tile | None:
    """The cached tile when present, readable and on the port's current grid."""
    if not path.is_file():
        return None
    try:
        tile = load_cached_tile(path)
    except TileReadError as err:
        logger.warning("%s; reading the scene again", err)
        return None
    grid = port.grid
    if tile.crs != grid.crs or tile.transform != grid.transform or tile.shape != grid.shape:
        logger.info("%s: cached on another grid; reading the scene again", path)
        return None
    return tile


# ----------------------------------------------------------------------------- public reads


def read_tile(
    scene: Scene,
    port: Port,
    *,
    cache_dir: PathLikeStr | None = None,
    params: HttpParams | None = None,
) -> Tile:
    """Read a scene onto a port's fixed grid.

    Parameters
    ----------
    scene : Scene
        From :meth:`geo.catalog.Source.search`.
    port : Port
        The port; its ``grid`` is the output grid.
    cache_dir : str or path-like, optional
        Tile cache folder: a cached tile is returned as is; a fresh read is cached there.
        Without it nothing is cached.
    params : HttpParams, optional
        Timeouts and retries (default from the environment).

    Returns
    -------
    Tile

    Raises
    ------
    TileReadError
        A read still failing after the retries; names the scene and the URL. Nothing is cached.
    CredentialsRequiredError
        The source needs credentials to download (CDSE, requester-pays buckets).

    Examples
    --------
    >>> tile = read_tile(scene, port, cache_dir=data_dir / "tiles")  # doctest: +SKIP
    >>> tile.bands["vv"].shape == port.grid.shape  # doctest: +SKIP
    True
    """
    path = tile_path(scene, port, cache_dir=cache_dir) if cache_dir is not None else None
    if path is not None:
        cached = _cached(path, port)
        if cached is not None:
            logger.debug("%s on %s: from the cache %s", scene.id, port.id, path)
            return cached
    tile = _read_with_retries(scene, port, params or HttpParams.from_settings())
    logger.info(
        "%s on %s: read, %.0f%% of the grid observed", scene.id, port.id, 100 * tile.valid_fraction
    )
    if path is not None:
        write_tile(tile, path)
        tile = replace(tile, path=path)
    return tile


def fetch_tile_to_cache(
    scene: Scene,
    port: Port,
    *,
    cache_dir: PathLikeStr | None = None,
    params: HttpParams | None = None,
) -> Path:
    """Make sure the tile of *scene* on *port* is cached and return its path (for flows).

    *cache_dir* defaults to ``<data_dir>/tiles``. Raises like :func:`read_tile`.
    """
    root = Path(cache_dir) if cache_dir is not None else settings.data_dir() / "tiles"
    tile = read_tile(scene, port, cache_dir=root, params=params)
    return tile.path or tile_path(scene, port, cache_dir=root)


# ----------------------------------------------------------------------------- access


@dataclass(frozen=True)
class _Access:
    """How to reach a scene's files: GDAL options, S3 access, URL signing."""

    gdal: Mapping[str, str]
    s3: S3Access | None
    sign: bool

    def path(self, href: str) -> str:
        if self.sign and href.startswith("https://"):
            import planetary_computer

            href = str(planetary_computer.sign(href))
        return gdal_path(href)


def _access(scene: Scene, params: HttpParams) -> _Access:
    hrefs = [*scene.assets.values(), *scene.aux_assets.values()]
    s3_hrefs = [h for h in hrefs if h.startswith("s3://")]
    s3: S3Access | None = None
    if scene.source == "cdse" and any(h.startswith(("s3://", "https://")) for h in hrefs):
        creds = settings.cdse_s3_credentials()
        if creds is None:
            raise CredentialsRequiredError(
                f"scene {scene.id}: CDSE downloads need S3 keys; create them at "
                "https://eodata-s3keysmanager.dataspace.copernicus.eu/ and set "
                "BERTHWATCH_CDSE_S3_ACCESS_KEY and BERTHWATCH_CDSE_S3_SECRET_KEY "
                "(searching CDSE needs none), or use --source earth-search."
            )
        s3 = S3Access(creds[0], creds[1], region="default", endpoint=_CDSE_S3_ENDPOINT)
    elif s3_hrefs:
        buckets = {h[len("s3://") :].split("/", 1)[0] for h in s3_hrefs}
        pays = bool(buckets & set(REQUESTER_PAYS_BUCKETS))
        aws = settings.aws_credentials()
        if pays and aws is None:
            raise CredentialsRequiredError(
                f"scene {scene.id}: its files sit in the requester-pays bucket "
                f"s3://{sorted(buckets)[0]} (reads are billed to the reader); set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --source planetary-computer "
                "(sentinel-1-rtc) for radar."
            )
        region = (aws or {}).get("region") or (
            "eu-central-1" if "sentinel-s1-l1c" in buckets else "us-west-2"
        )
        s3 = S3Access(
            (aws or {}).get("access_key", ""),
            (aws or {}).get("secret_key", ""),
            (aws or {}).get("token", ""),
            region=region,
            requester_pays=pays,
        )
    extra = dict(s3.gdal_options()) if s3 is not None else {}
    return _Access(gdal_options(params, extra=extra), s3, scene.source == "planetary-computer")


class _AssetError(OSError):
    """A read of one asset failed; carries its URL for the final message."""

    def __init__(self, href: str, err: BaseException) -> None:
        # rasterio's own message is often "Read failed. See previous exception": GDAL's first
        # complaint (deepest cause) says what happened, e.g. "got 23992 bytes, expected 317645".
        cause: BaseException = err
        while cause.__cause__ is not None or cause.__context__ is not None:
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        detail = " ".join(str(cause).split()) or type(cause).__name__
        super().__init__(f"{href}: {detail}")
        self.href = href


def _read_with_retries(scene: Scene, port: Port, params: HttpParams) -> Tile:
    import rasterio

    access = _access(scene, params)
    opts = dict(access.gdal)

    def once() -> Tile:
        with rasterio.Env(**opts):
            return _read_scene(scene, port, access, params)

    def fresh_connections(attempt: int) -> None:
        # Do not trust what GDAL cached of a file that just failed (size, blocks, errors). GDAL
        # splits this list on ":", so "http" alone ends up a prefix: every URL goes uncached.
        opts["CPL_VSIL_CURL_NON_CACHED"] = ":".join(
            access.path(h) for h in scene.assets.values() if "://" in h
        )

    try:
        return retry_call(
            once,
            attempts=params.attempts,
            delay_s=params.retry_delay_s,
            retry_on=(_AssetError,),
            what=f"reading scene {scene.id}",
            before_retry=fresh_connections,
        )
    except _AssetError as err:
        remote = any("://" in href for href in scene.assets.values())
        hint = (
            "check the network and run again"
            if remote
            else "the file is damaged or cut short: restore it and run again"
        )
        raise TileReadError(
            f"scene {scene.id} ({scene.source}): read failed after {params.attempts} attempts: "
            f"{err}; {hint} (nothing was cached)."
        ) from err


# ----------------------------------------------------------------------------- reading


def _read_scene(scene: Scene, port: Port, access: _Access, params: HttpParams) -> Tile:
    grid = port.grid
    names = [b for b in scene.assets if b != "scl"]
    if not names:
        raise RasterMetadataError(f"scene {scene.id}: no band to read among {list(scene.assets)}.")
    bands: dict[str, NDArray[np.float32]] = {}
    for band in names:
        if scene.product == "s1-grd-dn":
            bands[band] = _read_grd_band(scene, band, grid, access, params)
        else:
            bands[band] = _read_band(scene, band, grid, access)
    valid = np.logical_and.reduce([np.isfinite(b) for b in bands.values()])
    scl = None
    if "scl" in scene.assets:
        scl_f = _read_band(scene, "scl", grid, access, categorical=True)
        scl = np.nan_to_num(scl_f, nan=0.0).astype(np.uint8)
        valid &= ~np.isin(scl, SCL_NOT_OBSERVED)
    return Tile(
        scene_id=scene.id,
        port_id=port.id,
        sensor=scene.sensor,
        platform=scene.platform,
        acquired_utc=scene.acquired_utc,
        bands=bands,
        valid=valid,
        crs=grid.crs,
        transform=grid.transform,
        zone_valid_fraction=_zone_fractions(port, valid),
        simulated=scene.simulated,
        source=scene.source,
        collection=scene.collection,
        product=scene.product,
        scl=scl,
    )


def _zone_fractions(port: Port, valid: NDArray[np.bool_]) -> dict[str, float]:
    out = {}
    for zone in port.zones:
        mask = port.zone_mask(zone.id)
        out[zone.id] = float(valid[mask].mean()) if mask.any() else 0.0
    return out


def _grid_window(ds: Any, grid: PortGrid, pad_px: int = 2) -> Any:
    """The window of *ds* covering the grid (padded), or None when they do not meet."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    bounds = transform_bounds(grid.crs.to_wkt(), ds.crs, *grid.bounds, densify_pts=21)
    win = from_bounds(*bounds, transform=ds.transform)
    r0 = math.floor(win.row_off) - pad_px
    c0 = math.floor(win.col_off) - pad_px
    r1 = math.ceil(win.row_off + win.height) + pad_px
    c1 = math.ceil(win.col_off + win.width) + pad_px
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, ds.height), min(c1, ds.width)
    if r1 <= r0 or c1 <= c0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _read_band(
    scene: Scene, band: str, grid: PortGrid, access: _Access, *, categorical: bool = False
) -> NDArray[np.float32]:
    """One georeferenced band, scaled to physical values and resampled onto the grid."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError
    from rasterio.warp import reproject

    href = scene.assets[band]
    index = scene.band_indexes.get(band, 1)
    dst = np.full(grid.shape, np.nan, dtype=np.float32)
    try:
        with rasterio.open(access.path(href)) as ds:
            if ds.crs is None:
                raise RasterMetadataError(
                    f"scene {scene.id}: {href} has no CRS; georeference it or drop the scene."
                )
            if (
                scene.product in ("sigma0", "gamma0")
                and not np.dtype(ds.dtypes[index - 1]).kind == "f"
            ):
                raise RasterMetadataError(
                    f"scene {scene.id}: {href} holds {ds.dtypes[index - 1]} values, not calibrated "
                    f"linear {scene.product}; give the catalogue item its calibration annotation."
                )
            window = _grid_window(ds, grid)
            if window is None:
                return dst
            raw = ds.read(index, window=window)
            masked = ds.read_masks(index, window=window) == 0
            # (not ds.window_transform: it multiplies affines with `*`, deprecated in affine 3.1)
            src_transform = ds.transform @ Affine.translation(window.col_off, window.row_off)
            src_crs = ds.crs
    except RasterioError as err:
        raise _AssetError(href, err) from err
    src = raw.astype(np.float32)
    declared = scene.nodata.get(band)
    invalid = masked | ~np.isfinite(src)
    if declared is not None and math.isfinite(declared):
        invalid |= raw == declared
    if not categorical:
        scale, offset = scene.scales.get(band, (1.0, 0.0))
        src = src * np.float32(scale) + np.float32(offset)
    src[invalid] = np.nan
    with IN_MEMORY_LOCK:
        reproject(
            src,
            dst,
            src_transform=src_transform,
            src_crs=src_crs,
            src_nodata=np.nan,
            dst_transform=grid.transform,
            dst_crs=grid.crs.to_wkt(),
            dst_nodata=np.nan,
            resampling=Resampling.nearest if categorical else Resampling.bilinear,
        )
    return dst


def _gcp_window(gcps: list[Any], gcp_crs: Any, grid: PortGrid, shape: tuple[int, int]) -> Any:
    """Window of a GCP-georeferenced image covering the grid, from a quadratic fit of the GCPs."""
    from rasterio.windows import Window

    x = np.array([g.x for g in gcps])
    y = np.array([g.y for g in gcps])
    rows = np.array([g.row for g in gcps])
    cols = np.array([g.col for g in gcps])
    mx, my, sx, sy = x.mean(), y.mean(), max(np.ptp(x), 1e-9), max(np.ptp(y), 1e-9)

    def design(px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.float64]:
        u, v = (px - mx) / sx, (py - my) / sy
        return np.column_stack([np.ones_like(u), u, v, u * u, u * v, v * v])

    a = design(x, y)
    coef_r = np.linalg.lstsq(a, rows, rcond=None)[0]
    coef_c = np.linalg.lstsq(a, cols, rcond=None)[0]
    minx, miny, maxx, maxy = grid.bounds
    t = np.linspace(0.0, 1.0, 21)
    ex = np.concatenate(
        [
            minx + t * (maxx - minx),
            np.full_like(t, maxx),
            maxx - t * (maxx - minx),
            np.full_like(t, minx),
        ]
    )
    ey = np.concatenate(
        [
            np.full_like(t, miny),
            miny + t * (maxy - miny),
            np.full_like(t, maxy),
            maxy - t * (maxy - miny),
        ]
    )
    tf = Transformer.from_crs(grid.crs, CRS.from_user_input(gcp_crs.to_wkt()), always_xy=True)
    px, py = tf.transform(ex, ey)
    d = design(np.asarray(px), np.asarray(py))
    r, c = d @ coef_r, d @ coef_c
    pad = 16
    r0, r1 = max(math.floor(r.min()) - pad, 0), min(math.ceil(r.max()) + pad, shape[0])
    c0, c1 = max(math.floor(c.min()) - pad, 0), min(math.ceil(c.max()) + pad, shape[1])
    if r1 <= r0 or c1 <= c0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _read_grd_band(
    scene: Scene, band: str, grid: PortGrid, access: _Access, params: HttpParams
) -> NDArray[np.float32]:
    """Sentinel-1 GRD: DN window -> sigma0 (calibration, noise) -> warped by GCPs onto the grid."""
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError
    from rasterio.warp import reproject

    href = scene.assets[band]
    cal_href = scene.aux_assets.get(f"calibration-{band}")
    if cal_href is None:
        raise RasterMetadataError(
            f"scene {scene.id}: GRD band {band} has no calibration annotation asset; "
            "cannot turn its digital numbers into sigma0."
        )
    dst = np.full(grid.shape, np.nan, dtype=np.float32)
    try:
        with rasterio.open(access.path(href)) as ds:
            gcps, gcp_crs = ds.gcps
            if not gcps or gcp_crs is None:
                raise RasterMetadataError(
                    f"scene {scene.id}: {href} has no ground control points; not a GRD measurement."
                )
            window = _gcp_window(gcps, gcp_crs, grid, (ds.height, ds.width))
            if window is None:
                return dst
            dn = ds.read(scene.band_indexes.get(band, 1), window=window)
    except RasterioError as err:
        raise _AssetError(href, err) from err
    calibration = parse_calibration_xml(_fetch(cal_href, access, params), source=cal_href)
    noise_href = scene.aux_assets.get(f"noise-{band}")
    noise = None
    if noise_href is not None:
        noise = parse_noise_xml(_fetch(noise_href, access, params), source=noise_href)
    r0, c0 = int(window.row_off), int(window.col_off)
    sigma0 = calibrate_sigma0(dn, calibration=calibration, noise=noise, row_off=r0, col_off=c0)
    shifted = [
        GroundControlPoint(row=g.row - r0, col=g.col - c0, x=g.x, y=g.y, z=g.z) for g in gcps
    ]
    with IN_MEMORY_LOCK:
        reproject(
            sigma0,
            dst,
            gcps=shifted,
            src_crs=gcp_crs,
            src_nodata=np.nan,
            dst_transform=grid.transform,
            dst_crs=grid.crs.to_wkt(),
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
            SRC_METHOD="GCP_TPS",
        )
    return dst


def _fetch(href: str, access: _Access, params: HttpParams) -> bytes:
    try:
        return fetch_bytes(href, params=params, s3=access.s3)
    except OSError as err:
        raise _AssetError(href, err) from err
