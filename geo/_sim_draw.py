"""Drawing primitives of the scene simulator: noise fields, rotated shapes, anti-aliased masks.

Everything here works in pixel space (row down, col right, integer = pixel centre) on one port
grid and takes a :class:`numpy.random.Generator`, so every draw is reproducible from a seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from affine import Affine
from numpy.typing import NDArray
from scipy import ndimage, special
from shapely.geometry.base import BaseGeometry

from geo._gdal import IN_MEMORY_LOCK

FloatArray = NDArray[np.float64]

#: Sub-samples per pixel side when computing coverage fractions of shapes.
SUPERSAMPLE = 5


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """Return an independent generator for ``(seed, *keys)``, stable across runs and platforms.

    Keys are hashed with CRC-32 (not Python's salted ``hash``), so the same seed and keys give the
    same stream whatever else is simulated alongside.
    """
    words = [seed & 0xFFFFFFFF] + [zlib.crc32(k.encode("utf-8")) for k in keys]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def fbm(rng: np.random.Generator, shape: tuple[int, int], *, beta: float = 3.0) -> FloatArray:
    """Fractal (1/f^beta power spectrum) noise of zero mean and unit standard deviation.

    ``beta`` ~ 2 gives rough texture, ~ 3-4 smooth cloud-like fields.
    """
    rows, cols = shape
    white = rng.standard_normal(shape)
    fr = np.fft.fftfreq(rows)[:, None]
    fc = np.fft.rfftfreq(cols)[None, :]
    f = np.hypot(fr, fc)
    f[0, 0] = 1.0
    spec = np.fft.rfft2(white) / f ** (beta / 2.0)
    spec[0, 0] = 0.0
    field = np.asarray(np.fft.irfft2(spec, s=shape), dtype=np.float64)
    std = float(field.std())
    out: FloatArray = (field - field.mean()) / (std if std > 0 else 1.0)
    return out


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], *, sigma_px: float
) -> FloatArray:
    """Gaussian-correlated noise of zero mean and unit standard deviation."""
    field = np.asarray(ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="wrap"))
    std = float(field.std())
    out: FloatArray = (field - field.mean()) / (std if std > 0 else 1.0)
    return out


def gamma_texture(gauss: FloatArray, *, shape_nu: float) -> FloatArray:
    """Map a unit Gaussian field onto a unit-mean gamma field of shape ``nu`` (K-distribution texture).

    Keeps the spatial correlation of ``gauss`` while giving the gamma marginal the K-distributed
    sea-clutter model asks for.
    """
    u = np.clip(special.ndtr(gauss), 1e-9, 1 - 1e-9)
    out: FloatArray = special.gammaincinv(shape_nu, u) / shape_nu
    return out


def geometry_coverage(
    geom: BaseGeometry, *, shape: tuple[int, int], transform: Affine, ss: int = SUPERSAMPLE
) -> FloatArray:
    """Fraction (0-1) of each pixel covered by ``geom`` (in the grid's CRS), by supersampling."""
    from rasterio.features import rasterize

    if geom.is_empty:
        return np.zeros(shape)
    rows, cols = shape
    fine = transform @ Affine.scale(1.0 / ss)
    with IN_MEMORY_LOCK:
        burnt = rasterize([geom], out_shape=(rows * ss, cols * ss), transform=fine, dtype="uint8")
    out: FloatArray = burnt.reshape(rows, ss, cols, ss).mean(axis=(1, 3))
    return out


@dataclass(frozen=True)
class Patch:
    """A small window of values to add into a full image: ``image[rows, cols] += values``."""

    row0: int
    col0: int
    values: FloatArray

    def add_to(self, image: FloatArray, weight: float | FloatArray = 1.0) -> None:
        """Add ``weight * values`` into ``image`` in place, clipped to the image."""
        r0, c0 = self.row0, self.col0
        h, w = self.values.shape
        rr0, cc0 = max(r0, 0), max(c0, 0)
        rr1, cc1 = min(r0 + h, image.shape[0]), min(c0 + w, image.shape[1])
        if rr1 <= rr0 or cc1 <= cc0:
            return
        vals = self.values[rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0]
        image[rr0:rr1, cc0:cc1] += weight * vals

    def full(self, shape: tuple[int, int]) -> FloatArray:
        """The patch pasted into a zero image of ``shape``."""
        out = np.zeros(shape)
        self.add_to(out)
        return out


def _sample_frame(
    centre_rc: tuple[float, float], heading_deg: float, half_extent_px: float
) -> tuple[int, int, FloatArray, FloatArray, int, int]:
    """Sub-pixel sample positions around a centre, expressed along (u) and across (v) the heading."""
    r_c, c_c = centre_rc
    r0 = int(np.floor(r_c - half_extent_px)) - 1
    c0 = int(np.floor(c_c - half_extent_px)) - 1
    n = int(np.ceil(2 * half_extent_px)) + 3
    ss = SUPERSAMPLE
    offs = (np.arange(n * ss) + 0.5) / ss - 0.5  # sample positions in pixel-centre units
    rr = r0 + offs[:, None]
    cc = c0 + offs[None, :]
    h = np.deg2rad(heading_deg)
    # Heading is clockwise from north; north is -row, east is +col.
    u = (rr - r_c) * -np.cos(h) + (cc - c_c) * np.sin(h)
    v = (rr - r_c) * np.sin(h) + (cc - c_c) * np.cos(h)
    return r0, c0, u, v, n, ss


def _to_pixels(inside: NDArray[np.bool_] | FloatArray, n: int, ss: int) -> FloatArray:
    out: FloatArray = np.asarray(inside, dtype=np.float64).reshape(n, ss, n, ss).mean(axis=(1, 3))
    return out


def rect_patch(
    centre_rc: tuple[float, float],
    *,
    length_px: float,
    width_px: float,
    heading_deg: float,
) -> Patch:
    """Coverage fraction of a rectangle ``length_px`` along ``heading_deg`` by ``width_px`` across."""
    half = 0.5 * float(np.hypot(length_px, width_px))
    r0, c0, u, v, n, ss = _sample_frame(centre_rc, heading_deg, half)
    inside = (np.abs(u) <= length_px / 2) & (np.abs(v) <= width_px / 2)
    return Patch(r0, c0, _to_pixels(inside, n, ss))


def hull_patches(
    centre_rc: tuple[float, float],
    *,
    length_px: float,
    width_px: float,
    heading_deg: float,
    superstructure_at: float,
) -> tuple[Patch, Patch]:
    """Coverage of a ship hull (pointed bow at ``+heading``) and of its superstructure block.

    ``superstructure_at`` is the superstructure's centre along the hull, as a fraction of the
    length from the centre (-0.5 = stern, +0.5 = bow); it spans 12 % of the length.
    """
    half = 0.5 * float(np.hypot(length_px, width_px))
    r0, c0, u, v, n, ss = _sample_frame(centre_rc, heading_deg, half)
    half_len, half_wid = length_px / 2, width_px / 2
    bow_start = 0.3 * length_px  # the last 20 % of the length tapers to the bow
    taper = np.clip((half_len - u) / max(half_len - bow_start, 1e-6), 0.0, 1.0) ** 0.6
    taper = np.where(u < bow_start, 1.0, taper)
    hull = (np.abs(u) <= half_len) & (np.abs(v) <= half_wid * taper)
    s_c = superstructure_at * length_px
    sup = hull & (np.abs(u - s_c) <= 0.06 * length_px) & (np.abs(v) <= 0.85 * half_wid)
    return Patch(r0, c0, _to_pixels(hull, n, ss)), Patch(r0, c0, _to_pixels(sup, n, ss))


def splat_line(
    image: FloatArray,
    start_rc: tuple[float, float],
    direction_deg: float,
    values: FloatArray,
) -> None:
    """Add ``values[k]`` at distance ``k + 1`` px from ``start_rc`` along ``direction_deg`` (bilinear)."""
    d = np.deg2rad(direction_deg)
    k = np.arange(1, len(values) + 1, dtype=np.float64)
    rr = start_rc[0] - k * np.cos(d)
    cc = start_rc[1] + k * np.sin(d)
    r_i, c_i = np.floor(rr).astype(int), np.floor(cc).astype(int)
    fr, fc = rr - r_i, cc - c_i
    rows, cols = image.shape
    for dr, dc, w in (
        (0, 0, (1 - fr) * (1 - fc)),
        (1, 0, fr * (1 - fc)),
        (0, 1, (1 - fr) * fc),
        (1, 1, fr * fc),
    ):
        r, c = r_i + dr, c_i + dc
        ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        np.add.at(image, (r[ok], c[ok]), (w * values)[ok])


def quantize_float32(values: FloatArray, *, mantissa_bits: int = 10) -> NDArray[np.float32]:
    """Round float32 values to ``mantissa_bits`` of mantissa (relative error < 2**-bits).

    Keeps 10 bits (0.004 dB) by default: far below speckle, and it lets DEFLATE shrink the files
    by ~45 %. NaN stays NaN.
    """
    a = np.ascontiguousarray(values, dtype=np.float32)
    bits = a.view(np.uint32).astype(np.uint64)
    drop = 23 - mantissa_bits
    half = np.uint64(1 << (drop - 1))
    mask = np.uint64((0xFFFFFFFF >> drop) << drop)
    rounded = ((bits + half) & mask).astype(np.uint32)
    out = rounded.view(np.float32)
    out[np.isnan(a)] = np.nan
    return out
