"""Local single-band rasters for ``berthwatch detect``: reading, grids, pixel sizes, output.

* :func:`open_raster` opens any single-band raster GDAL reads (GeoTIFF, PNG, JPEG...) as a
  :class:`RasterSource`: metadata now, pixels one window at a time (so a full Sentinel-1 scene
  never has to sit in memory at once).
* The ground pixel size comes from ``--pixel-size`` when given, else from the georeference:
  the geodesic distance between neighbouring pixel centres at the image centre, so projected
  CRSs in metres (UTM), Web Mercator (whose metres shrink by cos(latitude)) and geographic CRSs
  (degrees) all give metres on the ground.
* :func:`open_band_set` checks that optical bands share one grid; :func:`read_water_mask`
  brings a water mask onto the image's grid.
* :func:`write_vessels_geojson` writes the detections (lon/lat points when georeferenced).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS, Geod

from detection.types import Vessel
from geo._gdal import IN_MEMORY_LOCK
from geo.errors import (
    EmptyRasterError,
    GridMismatchError,
    MissingPixelSizeError,
    OutputWriteError,
    RasterReadError,
)
from geo.transforms import pixels_to_lonlat
from geo.types import PathLikeStr

__all__ = [
    "READ_CACHE_MB",
    "SCL_NOT_OBSERVED",
    "RasterSource",
    "bounded_gdal_cache",
    "check_not_empty",
    "ground_pixel_size_m",
    "open_band_set",
    "open_raster",
    "read_band_set",
    "read_scl_invalid",
    "read_water_mask",
    "read_with_valid",
    "valid_view",
    "vessels_feature_collection",
    "write_vessels_geojson",
]

logger = logging.getLogger(__name__)

# Scene classification (Sentinel-2 L2A SCL) classes that mean "not observed".
SCL_NOT_OBSERVED = (0, 1, 3, 8, 9, 10)
_GRID_TOL = 1e-6  # relative tolerance when comparing transforms


def _rasterio() -> Any:
    import rasterio

    return rasterio


#: GDAL's block cache (MB) while detection reads images block by block. GDAL's default (5 % of
#: RAM) roughly doubled the peak memory of block-wise detection on a full Sentinel-2 tile
#: (bench/README.md, "Memory"); the reads are sequential, so a small cache costs nothing.
READ_CACHE_MB = 256


@contextlib.contextmanager
def bounded_gdal_cache(mb: int = READ_CACHE_MB) -> Iterator[None]:
    """Limit GDAL's block cache to *mb* megabytes inside the block (``$GDAL_CACHEMAX`` wins).

    rasterio passes an integer ``GDAL_CACHEMAX`` to ``GDALSetCacheMax64``, in bytes.
    """
    if os.environ.get("GDAL_CACHEMAX"):
        yield  # the user's setting, read by GDAL itself
        return
    with _rasterio().Env(GDAL_CACHEMAX=int(mb) * 1024 * 1024):
        yield


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence rasterio's NotGeoreferencedWarning (plain PNG/JPEG chips are expected here)."""
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield


@dataclass
class RasterSource:
    """One band of a local raster, read window by window (an array-like for the detectors).

    Attributes
    ----------
    path : str
    shape : tuple of int
        ``(rows, cols)``.
    dtype : numpy.dtype
    crs : pyproj.CRS or None
        None when the image has no georeference.
    transform : affine.Affine or None
        Pixel -> CRS coordinates (None without georeference; GCPs are fit by an affine).
    nodata : float or None
    pixel_size_m : float
        Ground pixel size in metres.
    scale, offset : float
        GDAL's per-band scale and offset (1 and 0 when the file has none). When set, reads
        return physical values ``raw * scale + offset`` as float32 (e.g. Sentinel-2 L2A
        reflectance stored as ``DN = 10000 * reflectance + 1000`` with scale 1e-4 and offset
        -0.1 since processing baseline 04.00), and *dtype* is float32.
    """

    path: str
    shape: tuple[int, int]
    dtype: np.dtype[Any]
    crs: CRS | None
    transform: Affine | None
    nodata: float | None
    pixel_size_m: float
    scale: float = 1.0
    offset: float = 0.0
    _ds: Any = field(default=None, repr=False)

    @property
    def georeferenced(self) -> bool:
        """Whether pixels can be placed on the Earth."""
        return self.crs is not None and self.transform is not None

    def __getitem__(self, key: tuple[slice, slice]) -> NDArray[Any]:
        """Read a window ``[rows, cols]`` of band 1."""
        win = self._window(key)
        return self._physical(self._dataset().read(1, window=win))

    def valid(self, key: tuple[slice, slice] | None = None) -> NDArray[np.bool_]:
        """GDAL's mask of band 1 (nodata, alpha, per-dataset mask) for a window, True = data."""
        ds = self._dataset()
        win = None if key is None else self._window(key)
        return np.asarray(ds.read_masks(1, window=win) > 0)

    def read(self) -> NDArray[Any]:
        """The whole band."""
        return self._physical(self._dataset().read(1))

    @property
    def scaled(self) -> bool:
        """Whether the file declares a scale or offset for its values."""
        return self.scale != 1.0 or self.offset != 0.0

    def _physical(self, raw: Any) -> NDArray[Any]:
        arr = np.asarray(raw)
        if not self.scaled:
            return arr
        out = arr.astype(np.float32)
        out *= np.float32(self.scale)
        out += np.float32(self.offset)
        return out

    def close(self) -> None:
        """Close the dataset (reopened on the next read)."""
        if self._ds is not None:
            self._ds.close()
            self._ds = None

    def _dataset(self) -> Any:
        if self._ds is None:
            with _quiet():
                self._ds = _rasterio().open(self.path)
        return self._ds

    def _window(self, key: tuple[slice, slice]) -> Any:
        from rasterio.windows import Window

        rows, cols = key
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        return Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0))


class _ValidView:
    """Array-like over a source's validity mask (for block-wise detection)."""

    def __init__(self, source: RasterSource) -> None:
        self.source = source
        self.shape = source.shape
        self.dtype = np.dtype(bool)

    def __getitem__(self, key: tuple[slice, slice]) -> NDArray[np.bool_]:
        return self.source.valid(key)


def valid_view(source: RasterSource) -> _ValidView:
    """The validity mask of *source* as a window-readable array-like."""
    return _ValidView(source)


def open_raster(path: PathLikeStr, *, pixel_size_m: float | None = None) -> RasterSource:
    """Open a single-band raster and work out its ground pixel size.

    Parameters
    ----------
    path : str or path-like
    pixel_size_m : float, optional
        Overrides the georeference; required when the image has none.

    Raises
    ------
    RasterReadError
        The file is missing or not a raster GDAL can read.
    MissingPixelSizeError
        No georeference and no *pixel_size_m*.
    """
    p = os.fspath(path)
    if not Path(p).is_file():
        raise RasterReadError(f"{p}: file not found; check the path.")
    rasterio = _rasterio()
    from rasterio.errors import RasterioError

    try:
        with _quiet():
            ds = rasterio.open(p)
    except (RasterioError, OSError) as err:
        raise RasterReadError(
            f"{p}: not a raster GDAL can read ({' '.join(str(err).split())}); give a GeoTIFF, "
            "PNG or JPEG."
        ) from err
    if ds.count > 1:
        logger.info("%s has %d bands; using band 1", p, ds.count)
    crs, transform = _georeference(ds)
    size = _pixel_size(p, crs, transform, (ds.height, ds.width), pixel_size_m)
    scale, offset = float(ds.scales[0]), float(ds.offsets[0])
    if not (math.isfinite(scale) and math.isfinite(offset) and scale != 0.0):
        raise RasterReadError(
            f"{p}: band 1 declares scale {scale} and offset {offset}; fix its metadata "
            "(gdal_edit.py -scale 1 -offset 0) or give the physical values."
        )
    scaled = scale != 1.0 or offset != 0.0
    if scaled:
        logger.info("%s: values are raw * %g + %g (the file's scale and offset)", p, scale, offset)
    return RasterSource(
        path=p,
        shape=(int(ds.height), int(ds.width)),
        dtype=np.dtype(np.float32) if scaled else np.dtype(ds.dtypes[0]),
        crs=crs,
        transform=transform,
        nodata=None if ds.nodata is None else float(ds.nodata),
        pixel_size_m=size,
        scale=scale,
        offset=offset,
        _ds=ds,
    )


def _georeference(ds: Any) -> tuple[CRS | None, Affine | None]:
    if ds.crs is not None and not ds.transform.is_identity:
        return CRS.from_user_input(ds.crs.to_wkt()), Affine(*ds.transform[:6])
    gcps, gcp_crs = ds.gcps
    if gcps and gcp_crs is not None:
        from rasterio.transform import from_gcps

        return CRS.from_user_input(gcp_crs.to_wkt()), Affine(*from_gcps(gcps)[:6])
    return None, None


def _pixel_size(
    path: str,
    crs: CRS | None,
    transform: Affine | None,
    shape: tuple[int, int],
    given: float | None,
) -> float:
    if given is not None:
        if not (math.isfinite(given) and given > 0):
            raise MissingPixelSizeError(f"{path}: --pixel-size must be > 0 metres. Got {given}.")
        return float(given)
    if crs is None or transform is None:
        raise MissingPixelSizeError(
            f"{path}: the image has no georeference; give its pixel size with --pixel-size METRES."
        )
    return ground_pixel_size_m(crs, transform, shape)


def ground_pixel_size_m(crs: CRS, transform: Affine, shape: tuple[int, int]) -> float:
    """Ground size of a pixel (metres): geodesic distances between neighbours at the centre.

    The mean of the along-row and along-column spacings. Works for geographic CRSs (degrees),
    Web Mercator (10 m of projection are 10 cos(lat) m on the ground) and UTM alike.

    Examples
    --------
    >>> round(ground_pixel_size_m(CRS.from_epsg(32633), Affine(10, 0, 5e5, 0, -10, 5e6), (9, 9)))
    10
    >>> t = Affine(10, 0, 985_000, 0, -10, 5_530_000)  # EPSG:3857 near 44.4 N (Genoa)
    >>> round(ground_pixel_size_m(CRS.from_epsg(3857), t, (9, 9)), 1)
    7.1
    """
    r, c = (shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0
    lon, lat = pixels_to_lonlat([r, r, r + 1], [c, c + 1, c], transform, crs)
    geod = Geod(ellps="WGS84")
    _, _, d_col = geod.inv(lon[0], lat[0], lon[1], lat[1])
    _, _, d_row = geod.inv(lon[0], lat[0], lon[2], lat[2])
    return float(0.5 * (abs(d_col) + abs(d_row)))


def check_not_empty(source: RasterSource, block_px: int = 4096) -> None:
    """Raise :class:`EmptyRasterError` when *source* has no valid pixel (reads window by window)."""
    m, n = source.shape
    for r0 in range(0, m, block_px):
        for c0 in range(0, n, block_px):
            key = (slice(r0, min(r0 + block_px, m)), slice(c0, min(c0 + block_px, n)))
            ok = source.valid(key)
            if source.dtype.kind == "f":
                ok &= np.isfinite(source[key])
            if ok.any():
                return
    raise EmptyRasterError(f"{source.path}: every pixel is nodata; nothing to detect in.")


def open_band_set(
    paths: Mapping[str, PathLikeStr], *, pixel_size_m: float | None = None
) -> dict[str, RasterSource]:
    """Open optical bands that must share one grid (same shape, CRS and transform).

    Raises
    ------
    RasterReadError, MissingPixelSizeError
        As :func:`open_raster`.
    GridMismatchError
        The bands are not on one grid.
    """
    out = {name: open_raster(p, pixel_size_m=pixel_size_m) for name, p in paths.items()}
    items = list(out.items())
    first_name, first = items[0]
    for name, src in items[1:]:
        if not _same_grid(first, src):
            raise GridMismatchError(
                f"band {name} ({src.path}, {src.shape[0]}x{src.shape[1]}) is not on the grid of "
                f"band {first_name} ({first.path}, {first.shape[0]}x{first.shape[1]}); resample "
                "all bands onto one grid (e.g. gdalwarp -tr 10 10 -tap)."
            )
    return out


def _same_grid(a: RasterSource, b: RasterSource) -> bool:
    if a.shape != b.shape:
        return False
    if a.georeferenced != b.georeferenced:
        return False
    if a.transform is None or b.transform is None:
        return a.transform is None and b.transform is None
    if a.crs is not None and b.crs is not None and not a.crs.equals(b.crs):
        return False
    scale = max(abs(a.transform.a), abs(a.transform.e), 1e-12)
    return all(
        abs(x - y) <= _GRID_TOL * max(abs(x), abs(y), scale)
        for x, y in zip(a.transform[:6], b.transform[:6], strict=True)
    )


def read_water_mask(path: PathLikeStr, like: RasterSource) -> NDArray[np.bool_]:
    """Read a water mask (non-zero, valid = water) on the grid of *like*.

    A georeferenced mask on another grid is resampled (nearest) onto the image grid; a mask
    without georeference must have the image's shape.

    Raises
    ------
    RasterReadError
        The file is missing or unreadable.
    GridMismatchError
        The mask cannot be put on the image's grid.
    """
    # The mask's own pixel size does not matter: it is compared by grid, not by metres.
    mask = open_raster(path, pixel_size_m=like.pixel_size_m)
    try:
        if _same_grid(mask, like) or (
            mask.shape == like.shape and not (mask.georeferenced and like.georeferenced)
        ):
            data = mask.read()
            return np.asarray((data != 0) & mask.valid() & _finite(data))
        if not (mask.georeferenced and like.georeferenced):
            raise GridMismatchError(
                f"{mask.path}: water mask is {mask.shape[0]}x{mask.shape[1]} pixels without a "
                f"common georeference with the {like.shape[0]}x{like.shape[1]} image; give a "
                "mask on the image's grid or georeference both."
            )
        return _reproject_mask(mask, like)
    finally:
        mask.close()


def _finite(data: NDArray[Any]) -> NDArray[np.bool_]:
    if data.dtype.kind == "f":
        return np.asarray(np.isfinite(data))
    return np.ones(data.shape, dtype=bool)


def _reproject_mask(mask: RasterSource, like: RasterSource) -> NDArray[np.bool_]:
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    src = ((mask.read() != 0) & mask.valid()).astype(np.uint8)
    dst = np.zeros(like.shape, dtype=np.uint8)
    with IN_MEMORY_LOCK:
        reproject(
            src,
            dst,
            src_transform=mask.transform,
            src_crs=mask.crs.to_wkt() if mask.crs else None,
            dst_transform=like.transform,
            dst_crs=like.crs.to_wkt() if like.crs else None,
            resampling=Resampling.nearest,
            src_nodata=None,
            dst_nodata=0,
        )
    return dst.astype(bool)


def read_with_valid(source: RasterSource) -> tuple[NDArray[Any], NDArray[np.bool_] | None]:
    """The whole band and its validity mask (None when every pixel is valid)."""
    data = source.read()
    valid = source.valid() & _finite(data)
    return data, (None if valid.all() else valid)


def read_band_set(
    sources: Mapping[str, RasterSource],
) -> tuple[dict[str, NDArray[Any]], NDArray[np.bool_] | None]:
    """Read optical bands whole; an ``scl`` band becomes part of the invalid mask.

    Returns
    -------
    bands : dict of str to ndarray
        Every band but ``scl``.
    invalid : ndarray of bool or None
        Not observed: nodata in any band, or SCL nodata/saturated/shadow/cloud/cirrus. None when
        everything is observed.
    """
    arrays: dict[str, NDArray[Any]] = {}
    invalid: NDArray[np.bool_] | None = None
    for name, src in sources.items():
        bad = read_scl_invalid(src) if name == "scl" else None
        if bad is None:
            data, valid = read_with_valid(src)
            arrays[name] = data
            bad = None if valid is None else ~valid
        if bad is not None:
            invalid = bad if invalid is None else invalid | bad
    return arrays, (None if invalid is None or not invalid.any() else invalid)


def read_scl_invalid(source: RasterSource) -> NDArray[np.bool_]:
    """Pixels a Sentinel-2 scene classification marks as not observed (nodata, cloud, shadow)."""
    scl = source.read()
    return np.asarray(np.isin(scl, SCL_NOT_OBSERVED) | ~source.valid())


def vessels_feature_collection(vessels: Iterable[Vessel], source: RasterSource) -> dict[str, Any]:
    """GeoJSON FeatureCollection of *vessels* (lon/lat points if *source* is georeferenced).

    Properties: ``row``, ``col`` (pixel centre, row down, col right), ``length_m``, ``width_m``,
    ``heading_deg``, ``score`` and ``flags``; geometry null without georeference.
    """
    vs = list(vessels)
    lon: NDArray[np.float64] | None = None
    lat: NDArray[np.float64] | None = None
    if vs and source.transform is not None and source.crs is not None:
        lon, lat = pixels_to_lonlat(
            [v.row for v in vs], [v.col for v in vs], source.transform, source.crs
        )
    features = []
    for i, v in enumerate(vs):
        geometry = None
        if lon is not None and lat is not None:
            geometry = {
                "type": "Point",
                "coordinates": [round(float(lon[i]), 7), round(float(lat[i]), 7)],
            }
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "row": float(v.row),
                    "col": float(v.col),
                    "length_m": float(v.length_m),
                    "width_m": float(v.width_m),
                    "heading_deg": float(v.heading_deg),
                    "score": float(v.score),
                    "flags": list(v.flags),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_vessels_geojson(
    vessels: Iterable[Vessel], path: PathLikeStr, source: RasterSource
) -> int:
    """Write *vessels* as a GeoJSON FeatureCollection to *path* (replaced); return the count.

    Raises
    ------
    OutputWriteError
        The file cannot be written.
    """
    fc = vessels_feature_collection(vessels, source)
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    try:
        tmp.write_text(json.dumps(fc, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, p)
    except OSError as err:
        raise OutputWriteError(
            f"{p}: cannot write the output ({err.strerror}); check the folder exists and is "
            "writable."
        ) from err
    return len(fc["features"])
