"""Image chips of detections: a contrast-stretched PNG crop of the tile, footprint outlined, scale bar.

Chips are drawn on the tile's own grid (the port grid), so a chip of the same place from an earlier
scene, or from the reference (the per-pixel median of earlier scenes of the same sensor), lines up
pixel for pixel. SAR tiles are shown as VV (else VH) backscatter in dB; optical tiles as true colour
(red, green, blue). Band names come from the tile's band descriptions.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from detection.reference import REFERENCE_SCENES, build_reference
from review.errors import ChipRenderError

__all__ = [
    "ChipParams",
    "TileView",
    "render_detection_chips",
    "render_overview",
    "tile_position",
]

logger = logging.getLogger(__name__)

_OUTLINE_RGB = (255, 221, 0)
_NICE_BAR_M = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


@dataclass(frozen=True)
class ChipParams:
    """How chips are drawn.

    Attributes
    ----------
    size_px : int
        Side of the crop, in tile pixels (64 px = 640 m at 10 m: a 400 m ship and its berth).
    upscale : int
        Nearest-neighbour enlargement of the crop in the PNG (pixels stay visible as squares).
    stretch_percentiles : tuple of float
        Low and high percentiles of the crop mapped to black and white.
    max_reference_scenes : int
        At most this many earlier scenes enter the reference median.
    """

    size_px: int = 64
    upscale: int = 4
    stretch_percentiles: tuple[float, float] = (2.0, 98.0)
    max_reference_scenes: int = REFERENCE_SCENES


@dataclass(frozen=True)
class TileView:
    """Which bands of a tile are shown and how: ``mode`` is ``"sar"``, ``"rgb"`` or ``"grey"``."""

    indexes: tuple[int, ...]
    mode: str


def _tile_view(src: Any) -> TileView:
    names = [(d or "").strip().lower() for d in src.descriptions]
    for pol in ("vv", "vh", "hh", "hv"):
        if pol in names:
            return TileView((names.index(pol) + 1,), "sar")
    if all(b in names for b in ("red", "green", "blue")):
        return TileView(tuple(names.index(b) + 1 for b in ("red", "green", "blue")), "rgb")
    if src.count >= 3:
        return TileView((1, 2, 3), "rgb")
    return TileView((1,), "grey")


def _to_display(data: NDArray[Any], view: TileView) -> NDArray[np.float64]:
    """Masked (bands, rows, cols) → float array with NaN for no data; SAR in dB."""
    arr = np.ma.filled(np.ma.asarray(data).astype(np.float64), np.nan)
    if view.mode == "sar":
        with np.errstate(divide="ignore", invalid="ignore"):
            arr = np.where(arr > 0, 10.0 * np.log10(arr), np.nan)
    return arr


def _limits(arr: NDArray[np.float64], percentiles: tuple[float, float]) -> tuple[float, float]:
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, percentiles)
    return float(lo), float(hi) if hi > lo else float(lo) + 1.0


def _stretch(arr: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.uint8]:
    scaled = np.clip((arr - lo) / (hi - lo), 0.0, 1.0) * 255.0
    out: NDArray[np.uint8] = np.where(np.isfinite(scaled), scaled, 0).astype(np.uint8)
    return out


def _image(arr8: NDArray[np.uint8], upscale: int) -> Image.Image:
    """(bands, rows, cols) uint8 → RGB PIL image enlarged *upscale* times."""
    rgb = np.repeat(arr8, 3, axis=0) if arr8.shape[0] == 1 else arr8[:3]
    img = Image.fromarray(np.ascontiguousarray(np.moveaxis(rgb, 0, -1)), mode="RGB")
    return img.resize((img.width * upscale, img.height * upscale), Image.Resampling.NEAREST)


def _pixel_size_m(src: Any, lat_deg: float) -> float:
    size = abs(float(src.transform.a))
    if src.crs is not None and src.crs.is_geographic:  # degrees: metres along the parallel
        return size * 111_320.0 * math.cos(math.radians(lat_deg))
    return size


def _geometry_pixels(src: Any, geometry: BaseGeometry) -> BaseGeometry:
    """An EPSG:4326 geometry in the tile's (col, row) pixel coordinates (float)."""
    if src.crs is None:
        raise ChipRenderError(f"{src.name}: tile has no CRS; re-cut it onto the port grid.")
    to_tile = Transformer.from_crs(4326, src.crs, always_xy=True)
    inverse = ~src.transform

    def to_px(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = to_tile.transform(xy[:, 0], xy[:, 1])
        col, row = inverse @ (np.asarray(x), np.asarray(y))
        return np.column_stack([col, row])

    return shapely.transform(geometry, to_px)


def _draw_outline(
    draw: ImageDraw.ImageDraw, geom_px: BaseGeometry, origin: tuple[int, int], up: int, px_m: float
) -> None:
    row0, col0 = origin

    def pts(coords: Any) -> list[tuple[float, float]]:
        return [((c - col0) * up, (r - row0) * up) for c, r in coords]

    polys = getattr(geom_px, "geoms", [geom_px])
    for g in polys:
        if g.geom_type == "Polygon":
            # Half a tile pixel outside the footprint, so the line never hides the object itself.
            ring = g.buffer(0.5, join_style="mitre").exterior
            draw.line(pts(ring.coords), fill=_OUTLINE_RGB, width=2)
        elif g.geom_type in ("LineString", "LinearRing"):
            draw.line(pts(g.coords), fill=_OUTLINE_RGB, width=2)
        else:  # a point: a 30 m circle around it
            (x, y), rad = pts(g.coords)[0], max(6.0, 15.0 / px_m * up)
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), outline=_OUTLINE_RGB, width=2)


def _draw_scale_bar(img: Image.Image, *, metres_per_px: float) -> None:
    width_m = img.width * metres_per_px
    bar_m = max([b for b in _NICE_BAR_M if b <= width_m / 3] or [_NICE_BAR_M[0]])
    bar_px = round(bar_m / metres_per_px)
    label = f"{bar_m} m" if bar_m < 1000 else f"{bar_m / 1000:g} km"
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)
    x0, y1 = 8, img.height - 8
    text_w = draw.textlength(label, font=font)
    draw.rectangle((x0 - 4, y1 - 24, x0 + max(bar_px, text_w) + 4, y1 + 4), fill=(0, 0, 0))
    draw.rectangle((x0, y1 - 5, x0 + bar_px, y1), fill=(255, 255, 255))
    draw.text((x0, y1 - 22), label, fill=(255, 255, 255), font=font)


def _save_png(img: Image.Image, out_path: Path) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{secrets.token_hex(4)}.tmp")
    img.save(tmp, format="PNG")
    os.replace(tmp, out_path)
    return out_path


def _read_padded(
    src: Any, indexes: tuple[int, ...], origin: tuple[int, int], size_px: int
) -> NDArray[np.float64]:
    """Read a size_px square at *origin* (row, col); outside the tile and nodata become NaN.

    Done by hand rather than with ``boundless=True``, which goes through a VRT and (rasterio 1.4
    with affine 3) raises a deprecation warning.
    """
    out = np.full((len(indexes), size_px, size_px), np.nan)
    r0, c0 = origin
    rr0, cc0 = max(r0, 0), max(c0, 0)
    rr1, cc1 = min(r0 + size_px, src.height), min(c0 + size_px, src.width)
    if rr1 <= rr0 or cc1 <= cc0:
        return out
    win = Window(cc0, rr0, cc1 - cc0, rr1 - rr0)
    part = src.read(list(indexes), window=win, masked=True)
    out[:, rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0] = np.ma.filled(part.astype(np.float64), np.nan)
    return out


class _Crop:
    """A crop of one tile: display array (bands, rows, cols), origin (row0, col0), pixel size."""

    def __init__(self, path: Path, geometry: BaseGeometry, size_px: int) -> None:
        try:
            with rasterio.open(path) as src:
                self.view = _tile_view(src)
                self.geom_px = _geometry_pixels(src, geometry)
                centre = self.geom_px.centroid if not self.geom_px.is_empty else None
                if centre is None:
                    raise ChipRenderError(
                        f"{path}: detection has an empty geometry; cannot chip it."
                    )
                self.origin = (
                    math.floor(centre.y) - size_px // 2,
                    math.floor(centre.x) - size_px // 2,
                )
                data = _read_padded(src, self.view.indexes, self.origin, size_px)
                lat = shapely.get_y(geometry.centroid)
                self.metres_per_px = _pixel_size_m(src, float(lat))
        except rasterio.errors.RasterioIOError as err:
            raise ChipRenderError(
                f"{path}: tile not readable ({err}); re-fetch the scene."
            ) from err
        self.array = _to_display(data, self.view)


def render_detection_chips(
    tile_path: os.PathLike[str] | str,
    *,
    geometry: BaseGeometry,
    chip_path: os.PathLike[str] | str,
    reference_tile_paths: Sequence[os.PathLike[str] | str] = (),
    reference_chip_path: os.PathLike[str] | str | None = None,
    params: ChipParams | None = None,
) -> tuple[Path, Path | None]:
    """Write a detection's chip and, when earlier scenes exist, the same crop of the reference.

    Parameters
    ----------
    tile_path : path-like
        The scene's tile (a GeoTIFF on the port grid).
    geometry : shapely geometry
        The detection's footprint (or centre point) in EPSG:4326; outlined on both chips.
    chip_path : path-like
        Where the chip PNG goes (folders are created).
    reference_tile_paths : sequence of path-like
        Earlier tiles of the same port and sensor, on the same grid. Their per-pixel median is the
        reference (fixed structures stay, ships that came and went vanish).
    reference_chip_path : path-like, optional
        Where the reference PNG goes; required when *reference_tile_paths* is not empty.
    params : ChipParams, optional
        Crop size, enlargement, stretch.

    Returns
    -------
    tuple of (Path, Path or None)
        The chip and the reference chip (None when no reference tile was readable).

    Raises
    ------
    ChipRenderError
        The scene's tile cannot be read, or the geometry is empty.
    """
    p = params or ChipParams()
    crop = _Crop(Path(tile_path), geometry, p.size_px)
    lo, hi = _limits(crop.array, p.stretch_percentiles)
    chip = _finish(crop, crop.array, lo, hi, p)
    out = _save_png(chip, Path(chip_path))
    ref_arr = _reference(reference_tile_paths, geometry, crop, p)
    if ref_arr is None or reference_chip_path is None:
        return out, None
    # The reference shares the chip's stretch so that brightness compares between the two.
    ref = _finish(crop, ref_arr, lo, hi, p)
    return out, _save_png(ref, Path(reference_chip_path))


def _finish(
    crop: _Crop, arr: NDArray[np.float64], lo: float, hi: float, p: ChipParams
) -> Image.Image:
    img = _image(_stretch(arr, lo, hi), p.upscale)
    _draw_outline(ImageDraw.Draw(img), crop.geom_px, crop.origin, p.upscale, crop.metres_per_px)
    _draw_scale_bar(img, metres_per_px=crop.metres_per_px / p.upscale)
    return img


def _reference(
    paths: Sequence[os.PathLike[str] | str], geometry: BaseGeometry, crop: _Crop, p: ChipParams
) -> NDArray[np.float64] | None:
    stack = []
    for path in list(paths)[: p.max_reference_scenes]:
        try:
            other = _Crop(Path(path), geometry, p.size_px)
        except ChipRenderError as err:
            logger.warning("reference tile skipped: %s", err)
            continue
        if other.origin == crop.origin and other.array.shape == crop.array.shape:
            stack.append(other.array)
    if not stack:
        return None
    # The detectors' reference: pixels never observed stay NaN.
    bands = range(stack[0].shape[0])  # crops are (band, row, col); the reference is per band
    med: NDArray[np.float64] = np.stack(
        [build_reference([a[b] for a in stack]) for b in bands]
    ).astype(np.float64)
    return med


def render_overview(
    tile_path: os.PathLike[str] | str, *, out_path: os.PathLike[str] | str, max_px: int = 480
) -> Path:
    """Write a small contrast-stretched PNG of a whole tile (the port), at most *max_px* wide/high.

    Raises
    ------
    ChipRenderError
        The tile cannot be read.
    """
    path = Path(tile_path)
    try:
        with rasterio.open(path) as src:
            view = _tile_view(src)
            scale = min(1.0, max_px / max(src.width, src.height))
            shape = (
                len(view.indexes),
                max(1, round(src.height * scale)),
                max(1, round(src.width * scale)),
            )
            data = src.read(
                list(view.indexes), out_shape=shape, masked=True, resampling=Resampling.average
            )
    except rasterio.errors.RasterioIOError as err:
        raise ChipRenderError(f"{path}: tile not readable ({err}); re-fetch the scene.") from err
    arr = _to_display(data, view)
    lo, hi = _limits(arr, ChipParams().stretch_percentiles)
    return _save_png(_image(_stretch(arr, lo, hi), 1), Path(out_path))


def tile_position(tile_path: os.PathLike[str] | str, geometry: BaseGeometry) -> tuple[float, float]:
    """Return where a geometry's centre sits in a tile as fractions ``(row, col)`` of its height, width.

    Raises
    ------
    ChipRenderError
        The tile cannot be read.
    """
    path = Path(tile_path)
    try:
        with rasterio.open(path) as src:
            centre = _geometry_pixels(src, geometry).centroid
            return float(centre.y) / src.height, float(centre.x) / src.width
    except rasterio.errors.RasterioIOError as err:
        raise ChipRenderError(f"{path}: tile not readable ({err}); re-fetch the scene.") from err
