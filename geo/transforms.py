"""Pixel <-> world <-> lon/lat conversion, the one place the project does it.

Pixel coordinates follow the project convention: ``(row, col)``, row down, col right, and an
integer value is the *centre* of a pixel (numpy / ``scipy.ndimage.center_of_mass``). GDAL's
continuous pixel coordinates are these plus 0.5.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

__all__ = [
    "lonlat_to_pixels",
    "lonlat_to_world",
    "pixels_to_lonlat",
    "pixels_to_world",
    "world_to_lonlat",
    "world_to_pixels",
]

FloatArray = NDArray[np.float64]


def pixels_to_world(
    rows: ArrayLike, cols: ArrayLike, transform: Affine
) -> tuple[FloatArray, FloatArray]:
    """Map pixel centres ``(row, col)`` to world ``(x, y)`` in the raster's CRS.

    Examples
    --------
    >>> from affine import Affine
    >>> pixels_to_world([0], [0], Affine(10, 0, 1000, 0, -10, 2000))
    (array([1005.]), array([1995.]))
    """
    r = np.asarray(rows, dtype=np.float64) + 0.5
    c = np.asarray(cols, dtype=np.float64) + 0.5
    x = transform.a * c + transform.b * r + transform.c
    y = transform.d * c + transform.e * r + transform.f
    return x, y


def world_to_pixels(
    xs: ArrayLike, ys: ArrayLike, transform: Affine
) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`pixels_to_world`: world ``(x, y)`` to fractional ``(row, col)``."""
    inv = ~transform
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    c = inv.a * x + inv.b * y + inv.c
    r = inv.d * x + inv.e * y + inv.f
    return r - 0.5, c - 0.5


def world_to_lonlat(
    xs: ArrayLike, ys: ArrayLike, crs: CRS | str | int
) -> tuple[FloatArray, FloatArray]:
    """Project world coordinates in *crs* to ``(lon, lat)`` degrees (EPSG:4326, lon first)."""
    tf = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    lon, lat = tf.transform(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def lonlat_to_world(
    lons: ArrayLike, lats: ArrayLike, crs: CRS | str | int
) -> tuple[FloatArray, FloatArray]:
    """Project ``(lon, lat)`` degrees to world coordinates in *crs*."""
    tf = Transformer.from_crs(4326, CRS.from_user_input(crs), always_xy=True)
    x, y = tf.transform(np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def pixels_to_lonlat(
    rows: ArrayLike, cols: ArrayLike, transform: Affine, crs: CRS | str | int
) -> tuple[FloatArray, FloatArray]:
    """Map pixel centres ``(row, col)`` of a georeferenced raster to ``(lon, lat)`` degrees."""
    return world_to_lonlat(*pixels_to_world(rows, cols, transform), crs)


def lonlat_to_pixels(
    lons: ArrayLike, lats: ArrayLike, transform: Affine, crs: CRS | str | int
) -> tuple[FloatArray, FloatArray]:
    """Map ``(lon, lat)`` degrees to fractional pixel ``(row, col)`` of a georeferenced raster."""
    return world_to_pixels(*lonlat_to_world(lons, lats, crs), transform)
