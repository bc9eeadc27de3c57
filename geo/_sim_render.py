"""Rendering simulated Sentinel-1 (VV/VH sigma0) and Sentinel-2 L2A (B02-B08, SCL) tiles of a port.

Physics, in short (values are what the tests check):

* Sentinel-1 IW GRD, 10 m: sea VV sigma0 -18 +/- 4 dB per scene (wind), VH ~8 dB lower plus a
  -30 dB noise floor; K-distributed clutter = spatially correlated gamma texture (shape 6-20) times
  gamma speckle of ENL 4.4; land -8 to -3 dB, textured, with bright point scatterers in built
  areas; piers and quay walls bright (double bounce); container blocks bright and regular; ships
  5-25 dB over the sea, oriented, with a brighter superstructure and, for bright ones, faint
  cross-shaped sidelobes along range and azimuth. A 0.6 px Gaussian stands for the impulse response.
* Sentinel-2 L2A, 10 m: water dark (NIR 0.01-0.03), vegetation bright in NIR, concrete grey, ships
  0.1-0.3 in all bands with a white superstructure, container blocks a mix of paints brighter
  than the ground; clouds (fractal opacity), their shadows (displaced along the anti-solar
  direction) and cirrus, all flagged in SCL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from shapely import union_all
from shapely.geometry.base import BaseGeometry

from geo._sim_draw import (
    FloatArray,
    Patch,
    fbm,
    gamma_texture,
    geometry_coverage,
    hull_patches,
    quantize_float32,
    rect_patch,
    rng_for,
    smooth_noise,
    splat_line,
)
from geo._sim_layout import PortLayout, YardFill
from geo._sim_scenario import Acquisition, SimVessel

#: Equivalent number of looks of Sentinel-1 IW GRDH.
ENL = 4.4
#: Band order of the optical renderer.
S2_BANDS = ("blue", "green", "red", "nir")
#: Noise-equivalent sigma0 (dB) added to VH (the thermal noise floor of IW GRD cross-pol).
NESZ_DB = -30.0
#: Sea VV sigma0 (dB) that ship brightness is quoted against.
_NOMINAL_SEA_DB = -18.0
#: SCL classes meaning "not observed".
SCL_NOT_OBSERVED = (0, 3, 8, 9, 10)

_VEG = np.array([0.030, 0.060, 0.040, 0.300])
_BUILT = np.array([0.100, 0.110, 0.125, 0.170])
_PIER = np.array([0.170, 0.180, 0.190, 0.210])
_YARD = np.array([0.090, 0.100, 0.110, 0.140])
_WHITE = np.array([0.42, 0.43, 0.44, 0.46])
# Container paints (blue, green, red, nir): red, blue, white, grey, green, orange, brown.
_PAINTS = np.array(
    [
        [0.06, 0.05, 0.20, 0.28],
        [0.14, 0.10, 0.06, 0.22],
        [0.50, 0.50, 0.50, 0.52],
        [0.22, 0.22, 0.23, 0.26],
        [0.06, 0.13, 0.07, 0.20],
        [0.07, 0.12, 0.32, 0.38],
        [0.07, 0.07, 0.11, 0.17],
    ]
)


@dataclass(frozen=True)
class PortLayers:
    """Static, per-port layers (the same in every scene of the port)."""

    water: FloatArray  # coverage fractions; water + land + pier + yard = 1
    land: FloatArray
    pier: FloatArray
    yard: FloatArray
    aoi: NDArray[np.bool_]
    quay_edge: FloatArray  # 0-1 strength of quay-wall double bounce
    shelter: FloatArray  # 0-1, calm water close to the shore
    land_vv_db: FloatArray
    land_vh_db: FloatArray
    pier_vv_db: FloatArray
    land_refl: FloatArray  # (4, M, N)
    pixel_size_m: float


@dataclass(frozen=True)
class PlacedVessel:
    """A vessel where it is in one scene; ``heading_deg`` is the bow direction in [0, 360)."""

    vessel: SimVessel
    x_m: float
    y_m: float
    heading_deg: float
    zone: str
    row: float
    col: float


@dataclass(frozen=True)
class SarConditions:
    """Per-scene Sentinel-1 conditions (the clutter the tests check against)."""

    wind_ms: float
    wind_from_deg: float
    sea_vv_db: float  # mean open-sea VV sigma0 (dB), before speckle
    sea_vh_db: float  # same for VH, before the noise floor is added
    texture_nu: float

    @property
    def sea_vh_with_noise_db(self) -> float:
        """Mean open-sea VH sigma0 (dB) as measured: clutter plus the noise floor."""
        return float(10 * np.log10(10 ** (self.sea_vh_db / 10) + 10 ** (NESZ_DB / 10)))


@dataclass(frozen=True)
class OpticalConditions:
    """Per-scene Sentinel-2 conditions."""

    wind_from_deg: float
    sun_elevation_deg: float
    sun_azimuth_deg: float
    cloud_height_m: float
    water_reflectance: tuple[float, float, float, float]


def build_layers(layout: PortLayout, seed: int) -> PortLayers:
    """Rasterise the port's zones (anti-aliased) and draw its static land textures."""
    grid = layout.port.grid
    water, land, pier, yard = _coverages(layout)
    aoi = _cover(layout.port.to_utm(layout.port.aoi), layout, ss=1) > 0.5
    rng = rng_for(seed, "layers", layout.port.id)
    dist_px = ndimage.distance_transform_edt(water < 0.5)
    # Built-up land near the water, vegetation inland (hills behind the port).
    veg = np.clip(0.5 + 0.35 * fbm(rng, grid.shape, beta=3.0) + (dist_px - 45.0) / 60.0, 0.0, 1.0)
    fine = fbm(rng, grid.shape, beta=1.8)
    land_vv = -4.5 * (1 - veg) - 8.3 * veg + 1.2 * fine
    points = (rng.random(grid.shape) < 0.006) & (veg < 0.5)  # building corners
    land_vv = land_vv + points * rng.uniform(6.0, 14.0, grid.shape)
    land_vh = land_vv - (9.0 * (1 - veg) + 6.0 * veg)
    refl = (_VEG[:, None, None] * veg + _BUILT[:, None, None] * (1 - veg)) * (1 + 0.12 * fine)
    solid = 1.0 - water
    edge = (solid > 0.3) & ndimage.binary_dilation(water > 0.5, iterations=1)
    quay = edge * np.clip(0.75 + 0.25 * smooth_noise(rng, grid.shape, sigma_px=3.0), 0.2, 1.0)
    dist_m = ndimage.distance_transform_edt(solid < 0.5) * grid.pixel_size_m
    shelter = np.exp(-dist_m / 150.0)
    pier_vv = -6.0 + 1.2 * smooth_noise(rng, grid.shape, sigma_px=1.0)
    return PortLayers(
        water,
        land,
        pier,
        yard,
        aoi,
        quay,
        shelter,
        land_vv,
        land_vh,
        pier_vv,
        refl,
        grid.pixel_size_m,
    )


def _cover(geom: BaseGeometry | None, layout: PortLayout, *, ss: int = 5) -> FloatArray:
    grid = layout.port.grid
    if geom is None:
        return np.zeros(grid.shape)
    return geometry_coverage(geom, shape=grid.shape, transform=grid.transform, ss=ss)


def _coverages(layout: PortLayout) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Coverage fractions of water, land, piers and yards (summing to 1 in every pixel)."""
    port = layout.port

    def union(kind: str) -> BaseGeometry | None:
        parts = [port.to_utm(z.geometry) for z in port.zones_of(kind)]
        return union_all(parts) if parts else None

    land_g, pier_g = union("land"), union("pier")
    if pier_g is not None and land_g is not None:
        pier_g = pier_g.difference(land_g)
    solid = _cover(layout.dry, layout)
    pier = np.minimum(_cover(pier_g, layout), solid)
    yard = np.minimum(_cover(union("yard"), layout), solid - pier)
    land = np.clip(solid - pier - yard, 0.0, 1.0)
    return np.clip(1.0 - solid, 0.0, 1.0), land, pier, yard


def _db(x: FloatArray | float) -> FloatArray:
    return np.asarray(10.0 ** (np.asarray(x) / 10.0), dtype=np.float64)


def _vessel_patches(v: PlacedVessel, px: float) -> tuple[Patch, Patch]:
    return hull_patches(
        (v.row, v.col),
        length_px=v.vessel.length_m / px,
        width_px=v.vessel.width_m / px,
        heading_deg=v.heading_deg,
        superstructure_at=v.vessel.superstructure_at,
    )


def _fill_patch(
    f: YardFill, layout: PortLayout, shift_m: tuple[float, float] = (0.0, 0.0)
) -> Patch:
    from geo.transforms import world_to_pixels

    x, y = f.block.part_centre(f.n_bays)
    grid = layout.port.grid
    r, c = world_to_pixels([x + shift_m[0]], [y + shift_m[1]], grid.transform)
    return rect_patch(
        (float(r[0]), float(c[0])),
        length_px=f.block.length_m(f.n_bays) / grid.pixel_size_m,
        width_px=f.block.width_m / grid.pixel_size_m,
        heading_deg=f.block.heading_deg,
    )


def _nodata_mask(shape: tuple[int, int], fraction: float, angle_deg: float) -> NDArray[np.bool_]:
    """Pixels beyond a straight swath/tile edge covering ``fraction`` of the grid."""
    if fraction <= 0:
        return np.zeros(shape, dtype=bool)
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]]
    a = math.radians(angle_deg)
    proj = -rr * math.cos(a) + cc * math.sin(a)
    mask: NDArray[np.bool_] = proj >= np.quantile(proj, 1.0 - fraction)
    return mask


# -- Sentinel-1 ------------------------------------------------------------------------------


def sar_conditions(rng: np.random.Generator) -> SarConditions:
    """Draw the wind and the sea clutter level of one scene."""
    vv = float(np.clip(rng.normal(-18.0, 2.3), -24.0, -12.0))
    wind = float(
        np.clip(6.0 + (vv + 18.0) / 1.1, 1.5, 14.0)
    )  # VV grows ~1.1 dB per m/s (CMOD-like)
    return SarConditions(
        wind_ms=round(wind, 2),
        wind_from_deg=float(rng.uniform(0, 360)),
        sea_vv_db=round(vv, 3),
        sea_vh_db=round(vv - 8.0 + float(rng.normal(0, 0.6)), 3),
        texture_nu=round(float(rng.uniform(15.0, 60.0)), 2),
    )


def render_sar(
    layers: PortLayers,
    layout: PortLayout,
    acq: Acquisition,
    vessels: list[PlacedVessel],
    fills: list[YardFill],
    cond: SarConditions,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Render linear sigma0 VV and VH (float32, NaN outside the swath)."""
    shape = layers.water.shape
    px = layout.port.grid.pixel_size_m
    streaks = 1.0 + 0.08 * fbm(rng, shape, beta=3.2)
    texture = gamma_texture(smooth_noise(rng, shape, sigma_px=1.5), shape_nu=cond.texture_nu)
    calm = _db(-3.0 * layers.shelter)
    sea_vv = _db(cond.sea_vv_db) * streaks * texture * calm
    sea_vh = _db(cond.sea_vh_db) * streaks * texture * calm
    mu_vv = layers.water * sea_vv + layers.land * _db(layers.land_vv_db)
    mu_vh = layers.water * sea_vh + layers.land * _db(layers.land_vh_db)
    pier_vv = _db(layers.pier_vv_db)
    mu_vv += layers.pier * pier_vv + layers.yard * _db(-9.0)
    mu_vh += layers.pier * pier_vv * _db(-9.0) + layers.yard * _db(-18.0)
    mu_vv += layers.quay_edge * _db(2.0)
    mu_vh += layers.quay_edge * _db(-9.0)
    for f in fills:
        cov = _fill_patch(f, layout).full(shape)
        tiers = f.containers / max(f.ground_slots, 1)
        level = _db(1.0 + 2.0 * (tiers - 1.0) + rng.normal(0, 1.0)) * (
            1 + 0.3 * rng.standard_normal(shape)
        ).clip(0.3)
        mu_vv = mu_vv * (1 - cov) + cov * level
        mu_vh = mu_vh * (1 - cov) + cov * level * _db(-9.0)
    peaks: list[tuple[float, float, float]] = []
    for v in vessels:
        hull_p, sup_p = _vessel_patches(v, px)
        hull, sup = hull_p.full(shape), sup_p.full(shape)
        # A ship's radar cross-section does not depend on the wind: its level is set against the
        # nominal -18 dB sea, so its contrast drops on windy days (never below +3 dB).
        level_db = max(_NOMINAL_SEA_DB + v.vessel.sar_excess_db, cond.sea_vv_db + 3.0)
        ship = _db(level_db) * np.exp(0.55 * rng.standard_normal(shape)) * (1 + 3.0 * sup)
        mu_vv = mu_vv * (1 - hull) + hull * ship
        mu_vh = mu_vh * (1 - hull) + hull * ship * _db(-7.0)
        if level_db - cond.sea_vv_db >= 18.0:
            r, c = np.unravel_index(int(np.argmax(hull * ship)), shape)
            peaks.append((float(r), float(c), float((hull * ship)[r, c])))
    mu_vv = ndimage.gaussian_filter(mu_vv, 0.6)
    mu_vh = ndimage.gaussian_filter(mu_vh, 0.6)
    _sidelobes(mu_vv, mu_vh, peaks, acq.orbit)
    vv = mu_vv * rng.gamma(ENL, 1.0 / ENL, shape)
    vh = (mu_vh + _db(NESZ_DB)) * rng.gamma(ENL, 1.0 / ENL, shape)
    off = _nodata_mask(shape, acq.nodata_fraction, acq.nodata_angle_deg)
    vv[off] = np.nan
    vh[off] = np.nan
    return quantize_float32(vv), quantize_float32(vh)


def _sidelobes(
    mu_vv: FloatArray, mu_vh: FloatArray, peaks: list[tuple[float, float, float]], orbit: str
) -> None:
    """Faint cross of sinc sidelobes along azimuth (the track) and range through bright peaks."""
    track = 348.0 if orbit == "ascending" else 192.0
    k = np.arange(1, 41, dtype=np.float64)
    for r, c, peak in peaks:
        arm = peak * 10 ** (-1.5) * k ** (-1.0)  # -15 dB next to the peak, fading with distance
        for direction in (track, track + 90.0, track + 180.0, track + 270.0):
            splat_line(mu_vv, (r, c), direction, arm)
            splat_line(mu_vh, (r, c), direction, arm * 10 ** (-0.7))


# -- Sentinel-2 ------------------------------------------------------------------------------


def optical_conditions(rng: np.random.Generator, acq: Acquisition) -> OpticalConditions:
    """Draw sun, cloud height and water colour of one scene."""
    doy = acq.acquired_utc.timetuple().tm_yday
    elev = 62.0 - 0.42 * max(doy - 200, 0)  # ~60 deg in August, ~40 deg by late October at 42 N
    return OpticalConditions(
        wind_from_deg=float(rng.uniform(0, 360)),
        sun_elevation_deg=round(float(elev + rng.normal(0, 1.0)), 2),
        sun_azimuth_deg=round(float(rng.uniform(150, 170)), 2),
        cloud_height_m=round(float(rng.uniform(800, 3000)), 1),
        water_reflectance=(
            round(float(rng.uniform(0.035, 0.060)), 4),
            round(float(rng.uniform(0.025, 0.050)), 4),
            round(float(rng.uniform(0.010, 0.028)), 4),
            round(float(rng.uniform(0.008, 0.022)), 4),
        ),
    )


def render_optical(
    layers: PortLayers,
    layout: PortLayout,
    acq: Acquisition,
    vessels: list[PlacedVessel],
    fills: list[YardFill],
    cond: OpticalConditions,
    rng: np.random.Generator,
) -> tuple[NDArray[np.uint16], NDArray[np.uint8], dict[str, float]]:
    """Render L2A reflectance x 10000 (4, M, N) uint16 and SCL, plus cloud figures."""
    shape = layers.water.shape
    px = layout.port.grid.pixel_size_m
    water = np.asarray(cond.water_reflectance)[:, None, None] * (
        1 + 0.05 * fbm(rng, shape, beta=3.0)
    )
    surf = water * layers.water + layers.land_refl * layers.land
    surf += _PIER[:, None, None] * layers.pier * (1 + 0.05 * rng.standard_normal(shape))
    surf += _YARD[:, None, None] * layers.yard
    built = np.zeros(shape)
    shadow_len_m = 2.6 / math.tan(math.radians(cond.sun_elevation_deg))
    anti = math.radians(cond.sun_azimuth_deg + 180.0)
    for f in fills:
        tiers = f.containers / max(f.ground_slots, 1)
        off = (shadow_len_m * tiers * math.sin(anti), shadow_len_m * tiers * math.cos(anti))
        shade = _fill_patch(f, layout, off).full(shape)
        cov = _fill_patch(f, layout).full(shape)
        colour = 0.85 * (np.asarray(f.block.paint) @ _PAINTS) + 0.15 * 0.04
        surf *= 1 - 0.45 * np.clip(shade - cov, 0, 1)
        surf = surf * (1 - cov) + colour[:, None, None] * cov
        built = np.maximum(built, cov)
    for v in vessels:
        hull_p, sup_p = _vessel_patches(v, px)
        hull, sup = hull_p.full(shape), sup_p.full(shape)
        deck = np.asarray(v.vessel.deck_reflectance)[:, None, None] * (
            1 + 0.15 * rng.standard_normal(shape)
        )
        ship = deck * (1 - sup) + _WHITE[:, None, None] * sup
        surf = surf * (1 - hull) + ship * hull
        built = np.maximum(built, hull)
    surf = ndimage.gaussian_filter(surf, (0, 0.45, 0.45))
    alpha, cirrus, shadow = _clouds(rng, layers, acq, cond)
    cloud_refl = (0.30 + 0.35 * np.clip(0.5 + 0.3 * fbm(rng, shape, beta=2.5), 0, 1))[
        None
    ] * np.array([1.0, 0.98, 0.97, 0.93])[:, None, None]
    surf = surf * (1 - 0.65 * shadow * (1 - alpha))
    surf = surf * (1 - alpha) + cloud_refl * alpha
    surf = surf * (1 - cirrus) + 0.25 * cirrus
    surf = surf + rng.normal(0.0, 0.0025, surf.shape) + surf * rng.normal(0.0, 0.01, surf.shape)
    dn = np.clip(np.rint(surf * 10000.0), 1, 65535).astype(np.uint16)
    scl = _scl(layers, built, alpha, cirrus, shadow)
    outside = _nodata_mask(shape, acq.nodata_fraction, acq.nodata_angle_deg)
    dn[:, outside] = 0
    scl[outside] = 0
    return dn, scl, _cloud_figures(layers, scl)


def _clouds(
    rng: np.random.Generator, layers: PortLayers, acq: Acquisition, cond: OpticalConditions
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Cloud opacity, cirrus opacity and cloud-shadow strength on the grid."""
    shape = layers.water.shape
    zero = np.zeros(shape)
    if acq.cloud_target <= 0.0:
        return zero, zero, zero
    px = layers.pixel_size_m
    length_px = cond.cloud_height_m / math.tan(math.radians(cond.sun_elevation_deg)) / px
    sun = math.radians(cond.sun_azimuth_deg)
    d_row, d_col = -length_px * math.cos(sun), length_px * math.sin(sun)  # towards the sun
    pad = int(math.ceil(length_px)) + 8
    big = fbm(rng, (shape[0] + 2 * pad, shape[1] + 2 * pad), beta=3.3)
    core = big[pad:-pad, pad:-pad]
    thr = (
        float(np.quantile(core[layers.aoi], 1.0 - acq.cloud_target))
        if acq.cloud_target < 1
        else -np.inf
    )
    width = 0.35
    alpha_big = (
        np.clip(0.5 + (big - thr) / (2 * width), 0.0, 1.0) ** 1.2
        if np.isfinite(thr)
        else np.ones_like(big)
    )
    alpha = alpha_big[pad:-pad, pad:-pad]
    r0, c0 = pad + int(round(d_row)), pad + int(round(d_col))
    shadow = alpha_big[r0 : r0 + shape[0], c0 : c0 + shape[1]]
    cirrus = zero
    if rng.random() < 0.25:
        c = fbm(rng, shape, beta=3.0)
        cirrus = np.clip(0.12 * (c - 0.2), 0.0, 0.2)
    return alpha, cirrus, shadow


def _scl(
    layers: PortLayers, built: FloatArray, alpha: FloatArray, cirrus: FloatArray, shadow: FloatArray
) -> NDArray[np.uint8]:
    veg = layers.land_refl[3] > 0.2
    scl = np.full(layers.water.shape, 5, dtype=np.uint8)
    scl[(layers.land > 0.5) & veg] = 4
    scl[(layers.water > 0.5) & (built < 0.3)] = 6
    scl[(shadow * (1 - alpha) > 0.35)] = 3
    scl[cirrus > 0.1] = 10
    scl[alpha >= 0.4] = 8
    scl[alpha >= 0.75] = 9
    return scl


def _cloud_figures(layers: PortLayers, scl: NDArray[np.uint8]) -> dict[str, float]:
    has_data = layers.aoi & (scl != 0)
    n = max(int(has_data.sum()), 1)
    cloud = np.isin(scl, (8, 9, 10)) & has_data
    shadow = (scl == 3) & has_data
    return {
        "cloud_fraction": round(float(cloud.sum()) / n, 4),
        "shadow_fraction": round(float(shadow.sum()) / n, 4),
    }
