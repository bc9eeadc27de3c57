"""The latest-observation figure: the port tile with zones, numbered detections, scale and north.

Tiles are the cached COGs on the port grid (SAR: ``vv``/``vh`` linear sigma0; optical:
``blue``/``green``/``red``/``nir`` reflectance). Geometries arrive in EPSG:4326 and are mapped to
the tile's own pixels with :mod:`geo.transforms`, so a tile on any grid draws correctly.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Polygon, Rectangle
from numpy.typing import NDArray
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geo.ports import Port
from geo.transforms import lonlat_to_pixels, pixels_to_lonlat
from report._plots import figure_to_data_uri, png_data_uri

__all__ = ["TileMark", "chip_data_uri", "north_angle_deg", "read_display_image", "render_tile"]

logger = logging.getLogger(__name__)

_ZONE_STYLE = {
    "berth": {"edgecolor": "#35a7ff", "linewidth": 1.1, "linestyle": "-"},
    "yard": {"edgecolor": "#ffb000", "linewidth": 1.1, "linestyle": "-"},
    "anchorage": {"edgecolor": "#c8c8c8", "linewidth": 0.8, "linestyle": "--"},
    "pier": {"edgecolor": "#9a9a9a", "linewidth": 0.6, "linestyle": ":"},
}
_MARK_COLOUR = {"vessel": "#ff3b3b", "container_stack": "#ffe14d"}


@dataclass(frozen=True)
class TileMark:
    """A detection to outline: its number in the report, kind, and EPSG:4326 geometry."""

    number: int
    kind: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class _Display:
    image: NDArray[np.float64]  # (M, N) grey or (M, N, 3) RGB in [0, 1], NaN where no data
    transform: Affine
    crs: CRS
    description: str


def read_display_image(path: Path) -> _Display:
    """Read a tile and turn it into a displayable grey (SAR, dB) or RGB (optical) image.

    Raises
    ------
    OSError
        The file is not a readable raster (rasterio's error, with the path).
    """
    with rasterio.open(path) as src:
        names = [(d or "").lower() for d in src.descriptions]
        data = src.read(masked=True).astype(np.float64).filled(np.nan)
        transform, crs = src.transform, CRS.from_user_input(src.crs)
    index = {n: i for i, n in enumerate(names) if n}
    if "valid" in index:  # berthwatch tiles carry their observed-pixel mask (cloud, swath)
        data[:, data[index["valid"]] < 0.5] = np.nan
    if {"red", "green", "blue"} <= index.keys():
        rgb = np.stack([data[index[b]] for b in ("red", "green", "blue")], axis=-1)
        return _Display(_stretch(rgb), transform, crs, "optical true colour (red, green, blue)")
    band = index.get("vv", index.get("hh", 0))
    label = names[band].upper() if names[band] else "band 1"
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(np.where(data[band] > 0, data[band], np.nan))
    if not np.isfinite(db).any() or (np.nanmax(db) - np.nanmin(db) > 60):
        db = data[band]  # not calibrated sigma0: show the values as they are
    return _Display(_stretch(db), transform, crs, f"SAR {label} backscatter (dB, 2–98 % stretch)")


def _stretch(values: NDArray[np.float64]) -> NDArray[np.float64]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full(values.shape, np.nan)
    lo, hi = np.percentile(finite, [2, 98])
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    out: NDArray[np.float64] = np.clip(scaled, 0.0, 1.0)
    return out


def render_tile(
    path: Path, *, port: Port, marks: Sequence[TileMark], title: str
) -> tuple[str, str]:
    """Draw the tile with the port's berths and yards, numbered detections, scale and north arrow.

    Returns
    -------
    (str, str)
        PNG ``data:`` URI and a one-line description of what the pixels show.
    """
    disp = read_display_image(path)
    rows, cols = disp.image.shape[:2]
    fig = Figure(figsize=(7.2, 7.2 * rows / max(cols, 1) + 0.4))
    ax = fig.add_subplot()
    cmap = "gray" if disp.image.ndim == 2 else None
    if disp.image.ndim == 2:
        shown: Any = np.ma.masked_invalid(disp.image)
    else:  # RGBA: transparent where not observed
        alpha = np.isfinite(disp.image).all(axis=-1).astype(float)[..., None]
        shown = np.concatenate([np.nan_to_num(disp.image), alpha], axis=-1)
    # Not observed (cloud, outside the swath, no data) shows as hatched light grey, never as
    # black that would read as water.
    ax.set_facecolor("#dcdcdc")
    ax.add_patch(
        Rectangle((-0.5, -0.5), cols, rows, facecolor="none", edgecolor="#b0b0b0",
                  hatch="xx", linewidth=0, zorder=0)
    )  # fmt: skip
    ax.imshow(
        shown,
        cmap=cmap,
        vmin=0,
        vmax=1,
        extent=(-0.5, cols - 0.5, rows - 0.5, -0.5),
        interpolation="nearest",
    )
    for zone in port.zones:
        if zone.kind in _ZONE_STYLE:
            _outline(ax, zone.geometry, disp, fill=False, **_ZONE_STYLE[zone.kind])
    for mark in marks:
        _draw_mark(ax, mark, disp)
    pixel_m = abs(disp.transform.a) if disp.crs.is_projected else float("nan")
    if math.isfinite(pixel_m):
        _scale_bar(ax, rows, cols, pixel_m)
    _north_arrow(ax, disp, rows, cols)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return figure_to_data_uri(fig), disp.description


def _pixel_rings(geom: BaseGeometry, disp: _Display) -> list[NDArray[np.float64]]:
    rings: list[NDArray[np.float64]] = []
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type != "Polygon":
            continue
        lon, lat = np.asarray(part.exterior.coords).T[:2]
        r, c = lonlat_to_pixels(lon, lat, disp.transform, disp.crs)
        rings.append(np.column_stack([c, r]))
    return rings


def _outline(ax: Any, geom: BaseGeometry, disp: _Display, **style: object) -> None:
    for ring in _pixel_rings(geom, disp):
        ax.add_patch(Polygon(ring, closed=True, **style))


def _draw_mark(ax: Any, mark: TileMark, disp: _Display) -> None:
    colour = _MARK_COLOUR.get(mark.kind, "#ff3bff")
    geom = mark.geometry
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        _outline(ax, geom, disp, fill=False, edgecolor=colour, linewidth=1.0)
        centre = geom.centroid
    else:
        centre = shapely.centroid(geom)
    r, c = lonlat_to_pixels([centre.x], [centre.y], disp.transform, disp.crs)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        ax.plot(c, r, "o", markerfacecolor="none", markeredgecolor=colour, markersize=8)
    ax.annotate(
        str(mark.number),
        (float(c[0]), float(r[0])),
        xytext=(4, 4),
        textcoords="offset points",
        color=colour,
        fontsize=7,
        fontweight="bold",
        bbox={"boxstyle": "round,pad=0.1", "facecolor": "black", "alpha": 0.55, "linewidth": 0},
    )


def _nice_length(target_m: float) -> float:
    for step in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if step >= target_m:
            return float(step)
    return 10000.0


def _scale_bar(ax: Any, rows: int, cols: int, pixel_m: float) -> None:
    length_m = _nice_length(cols * pixel_m / 5)
    length_px = length_m / pixel_m
    x0, y0 = cols * 0.05, rows * 0.94
    h = max(rows * 0.012, 1.0)
    ax.add_patch(
        Rectangle(
            (x0 - 3, y0 - 4 * h), length_px + 6, 5.2 * h, facecolor="white", alpha=0.75, linewidth=0
        )
    )
    ax.add_patch(Rectangle((x0, y0), length_px / 2, h, facecolor="black"))
    ax.add_patch(
        Rectangle(
            (x0 + length_px / 2, y0),
            length_px / 2,
            h,
            facecolor="white",
            edgecolor="black",
            linewidth=0.6,
        )
    )
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    ax.text(x0 + length_px / 2, y0 - h * 0.6, label, ha="center", va="bottom", fontsize=7)


def north_angle_deg(transform: Affine, crs: CRS, shape: tuple[int, int]) -> float:
    """Direction of true north at the image centre, degrees clockwise from image "up".

    On a UTM grid true north differs from grid north by the meridian convergence (about 0.9°
    at Rajin, east of zone 52's central meridian): measure it rather than assume "up".
    """
    rows, cols = shape
    r0, c0 = (rows - 1) / 2, (cols - 1) / 2
    lon, lat = pixels_to_lonlat([r0], [c0], transform, crs)
    r1, c1 = lonlat_to_pixels(lon, lat + 0.01, transform, crs)
    return math.degrees(math.atan2(float(c1[0]) - c0, -(float(r1[0]) - r0)))


def _north_arrow(ax: Any, disp: _Display, rows: int, cols: int) -> None:
    angle = math.radians(north_angle_deg(disp.transform, disp.crs, (rows, cols)))
    dc, dr = math.sin(angle), -math.cos(angle)  # unit vector towards north, (col, row)
    size = rows * 0.09
    x0, y0 = cols * 0.92, rows * 0.16
    ax.add_patch(
        FancyArrow(
            x0 - dc * size / 2, y0 - dr * size / 2, dc * size, dr * size,
            width=size * 0.12, head_width=size * 0.35, head_length=size * 0.35,
            length_includes_head=True, color="white", ec="black", linewidth=0.6,
        )
    )  # fmt: skip
    ax.text(
        x0 + dc * size * 0.75, y0 + dr * size * 0.75 - 2, "N", ha="center", va="bottom",
        fontsize=9, fontweight="bold", color="white",
        bbox={"boxstyle": "circle,pad=0.15", "facecolor": "black", "alpha": 0.6, "linewidth": 0},
    )  # fmt: skip


_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def chip_data_uri(path: Path) -> str:
    """Return a detection chip as a ``data:`` URI: image files as they are, rasters rendered to PNG.

    Raises
    ------
    OSError
        The chip cannot be read.
    """
    mime = _MIME.get(path.suffix.lower())
    if mime is not None:
        import base64

        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    disp = read_display_image(path)
    buf = io.BytesIO()
    from matplotlib.image import imsave

    image = np.nan_to_num(disp.image, nan=0.85)
    imsave(buf, image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1, format="png")
    return png_data_uri(buf.getvalue())
