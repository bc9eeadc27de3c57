"""The embedded sample archive: COG tiles and a static, self-contained STAC catalogue.

Layout (pystac's default): ``<root>/catalog.json``, ``<root>/<collection>/collection.json``,
``<root>/<collection>/<item_id>/<item_id>.json`` and ``<item_id>_<band>.tif`` beside it; every
href is relative, so the folder can be moved or served as is. Nothing written here carries a
wall-clock time: writing the same scenes twice gives byte-identical files.

Collections: ``berthwatch-sim-s1`` and ``berthwatch-sim-s2`` (simulated, labelled so in their
description, keywords and every item's ``berthwatch:simulated``), and ``real-sentinel-samples``
(a few real Sentinel tiles of other ports, "Contains modified Copernicus Sentinel data").
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension
from pystac.extensions.sar import FrequencyBand, Polarization, SarExtension
from pystac.extensions.sat import OrbitState, SatExtension
from shapely.geometry import box, mapping

from geo.errors import ArchiveWriteError
from geo.types import PathLikeStr

__all__ = [
    "ATTRIBUTION",
    "COLLECTION_REAL",
    "COLLECTION_SIM_S1",
    "COLLECTION_SIM_S2",
    "ArchiveScene",
    "asset_path",
    "real_sample_items",
    "sim_item",
    "write_catalog",
    "write_cog",
]

logger = logging.getLogger(__name__)

COLLECTION_SIM_S1 = "berthwatch-sim-s1"
COLLECTION_SIM_S2 = "berthwatch-sim-s2"
COLLECTION_REAL = "real-sentinel-samples"
ATTRIBUTION = "Contains modified Copernicus Sentinel data"
CATALOG_ID = "berthwatch-sample-tiles"

_SENTINEL_LICENCE = (
    "https://sentinels.copernicus.eu/documents/247904/690755/Sentinel_Data_Legal_Notice"
)
# Sentinel-2 band metadata: (band name, centre wavelength um, full width um).
_S2 = {
    "blue": ("B02", 0.490, 0.098),
    "green": ("B03", 0.560, 0.045),
    "red": ("B04", 0.665, 0.038),
    "nir": ("B08", 0.842, 0.145),
}
_SIM_NOTE = (
    "SIMULATED imagery: rendered by berthwatch's scene simulator (geo.simulate) on the port's fixed "
    "10 m UTM grid, with known truth in truth/. Not real satellite data."
)


@dataclass(frozen=True)
class ArchiveScene:
    """What the catalogue needs to know about one written scene (one port, one acquisition)."""

    item_id: str
    collection: str
    port: str
    sensor: str  # "sar" or "optical"
    acquired_utc: datetime
    platform: str
    orbit: str
    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    footprint_lonlat: tuple[float, float, float, float]
    assets: Mapping[str, Path]
    cloud_cover_pct: float | None
    simulated: bool = True


def asset_path(root: PathLikeStr, collection: str, item_id: str, band: str) -> Path:
    """Where a band of an item lives: ``<root>/<collection>/<item_id>/<item_id>_<band>.tif``."""
    return Path(root) / collection / item_id / f"{item_id}_{band}.tif"


def write_cog(
    path: PathLikeStr,
    data: NDArray[Any],
    *,
    crs: CRS,
    transform: Affine,
    nodata: float | None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Path:
    """Write one band as a Cloud-Optimised GeoTIFF (DEFLATE, no timestamps, deterministic).

    Parameters
    ----------
    path : str or path-like
        Output file; parent folders are created.
    data : ndarray, shape (M, N)
        float32 (predictor 3), uint16 or uint8 (predictor 2).
    crs, transform : pyproj.CRS, affine.Affine
        The grid.
    nodata : float or None
        Nodata value (``float("nan")`` for float rasters).

    Raises
    ------
    ArchiveWriteError
        The file cannot be written (permissions, disk full...).
    """
    p = Path(path)
    predictor = 3 if data.dtype.kind == "f" else 2
    profile = {
        "driver": "COG",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": crs.to_wkt(),
        "transform": transform,
        "nodata": nodata,
        "compress": "DEFLATE",
        "level": 9,
        "predictor": predictor,
        "blocksize": 512,
        "overviews": "NONE",
    }
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with rasterio.open(p, "w", **profile) as dst:
            dst.write(data, 1)
            if description:
                dst.set_band_description(1, description)
            if tags:
                dst.update_tags(**tags)
    except (OSError, rasterio.errors.RasterioIOError) as err:
        raise ArchiveWriteError(
            f"{p}: cannot write the tile ({err}); choose a writable output folder."
        ) from err
    return p


def sim_item(scene: ArchiveScene, *, port_name: str) -> pystac.Item:
    """Build the STAC item of one simulated scene (assets must already be written)."""
    item = _base_item(scene)
    item.properties["title"] = f"SIMULATED {_sensor_title(scene.sensor)} scene of {port_name}"
    item.properties["description"] = _SIM_NOTE
    if scene.sensor == "sar":
        _add_sar(item, scene, linear_note="sigma0, linear power, float32 (simulated)")
    else:
        _add_optical(item, scene, with_scl=True)
    return item


def _sensor_title(sensor: str) -> str:
    return "Sentinel-1 IW GRD sigma0" if sensor == "sar" else "Sentinel-2 L2A reflectance"


def _base_item(scene: ArchiveScene) -> pystac.Item:
    item = pystac.Item(
        id=scene.item_id,
        geometry=mapping(box(*scene.footprint_lonlat)),
        bbox=[round(v, 7) for v in scene.footprint_lonlat],
        datetime=scene.acquired_utc.astimezone(UTC),
        properties={},
        collection=scene.collection,
    )
    item.common_metadata.platform = scene.platform
    item.common_metadata.constellation = "sentinel-1" if scene.sensor == "sar" else "sentinel-2"
    item.common_metadata.instruments = ["c-sar"] if scene.sensor == "sar" else ["msi"]
    item.common_metadata.gsd = float(abs(scene.transform.a))
    item.properties["berthwatch:port"] = scene.port
    item.properties["berthwatch:simulated"] = scene.simulated
    item.properties["berthwatch:sensor"] = scene.sensor
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    epsg = scene.crs.to_epsg()
    proj.apply(
        code=f"EPSG:{epsg}" if epsg else None,
        wkt2=None if epsg else scene.crs.to_wkt(),
        shape=list(scene.shape),
        transform=[float(v) for v in list(scene.transform)[:6]],
    )
    sat = SatExtension.ext(item, add_if_missing=True)
    sat.orbit_state = OrbitState(scene.orbit)
    return item


def _asset(href: Path, title: str, media: str = pystac.MediaType.COG) -> pystac.Asset:
    return pystac.Asset(href=str(href.resolve()), media_type=media, roles=["data"], title=title)


def _add_sar(item: pystac.Item, scene: ArchiveScene, *, linear_note: str) -> None:
    pols = [Polarization(p.upper()) for p in ("vv", "vh") if p in scene.assets]
    SarExtension.ext(item, add_if_missing=True).apply(
        instrument_mode="IW",
        frequency_band=FrequencyBand.C,
        polarizations=pols,
        product_type="GRD",
        center_frequency=5.405,
    )
    RasterExtension.add_to(item)
    for pol in ("vv", "vh"):
        if pol not in scene.assets:
            continue
        asset = _asset(scene.assets[pol], f"{pol.upper()} {linear_note}")
        item.add_asset(pol, asset)
        SarExtension.ext(asset).polarizations = [Polarization(pol.upper())]
        RasterExtension.ext(asset).bands = [
            RasterBand.create(
                nodata=NoDataStrings.NAN,
                data_type=DataType.FLOAT32,
                spatial_resolution=float(abs(scene.transform.a)),
                unit="linear power",
            )
        ]


def _add_optical(item: pystac.Item, scene: ArchiveScene, *, with_scl: bool) -> None:
    eo = EOExtension.ext(item, add_if_missing=True)
    if scene.cloud_cover_pct is not None:
        eo.cloud_cover = round(float(scene.cloud_cover_pct), 2)
    RasterExtension.add_to(item)
    for key, (name, centre, fwhm) in _S2.items():
        if key not in scene.assets:
            continue
        asset = _asset(scene.assets[key], f"{key} ({name}) L2A reflectance x 10000")
        item.add_asset(key, asset)
        EOExtension.ext(asset).bands = [
            Band.create(
                name=name, common_name=key, center_wavelength=centre, full_width_half_max=fwhm
            )
        ]
        RasterExtension.ext(asset).bands = [
            RasterBand.create(
                nodata=0,
                data_type=DataType.UINT16,
                scale=0.0001,
                offset=0.0,
                spatial_resolution=float(abs(scene.transform.a)),
            )
        ]
    if with_scl and "scl" in scene.assets:
        asset = _asset(scene.assets["scl"], "Scene classification (Sentinel-2 SCL classes)")
        asset.roles = ["data", "cloud"]
        item.add_asset("scl", asset)
        RasterExtension.ext(asset).bands = [
            RasterBand.create(
                nodata=0, data_type=DataType.UINT8, spatial_resolution=float(abs(scene.transform.a))
            )
        ]


def _collection(
    cid: str, title: str, description: str, items: Sequence[pystac.Item], *, simulated: bool
) -> pystac.Collection:
    bboxes = (
        np.array([it.bbox for it in items]) if items else np.array([[-180.0, -90.0, 180.0, 90.0]])
    )
    bbox = [
        float(bboxes[:, 0].min()),
        float(bboxes[:, 1].min()),
        float(bboxes[:, 2].max()),
        float(bboxes[:, 3].max()),
    ]
    times = sorted(it.datetime for it in items if it.datetime is not None)
    interval: list[list[datetime | None]] = [[times[0], times[-1]]] if times else [[None, None]]
    extent = pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent(interval))
    coll = pystac.Collection(
        id=cid,
        title=title,
        description=description,
        extent=extent,
        license="Apache-2.0" if simulated else "other",
        keywords=["simulated", "berthwatch"] if simulated else ["sentinel", "copernicus", "real"],
        extra_fields={"berthwatch:simulated": simulated},
    )
    if simulated:
        coll.providers = [
            pystac.Provider(
                name="berthwatch scene simulator",
                roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.PROCESSOR],
            )
        ]
    else:
        coll.providers = [
            pystac.Provider(
                name="ESA / Copernicus",
                roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.LICENSOR],
                url="https://dataspace.copernicus.eu",
            ),
        ]
        coll.add_link(
            pystac.Link(
                "license",
                _SENTINEL_LICENCE,
                media_type="text/html",
                title="Sentinel data legal notice",
            )
        )
    for it in items:
        coll.add_item(it)
    return coll


def write_catalog(
    root: PathLikeStr,
    *,
    sar: Sequence[pystac.Item],
    optical: Sequence[pystac.Item],
    real: Sequence[pystac.Item] = (),
) -> Path:
    """Write the self-contained STAC catalogue of an archive; return the path of ``catalog.json``.

    Raises
    ------
    ArchiveWriteError
        The catalogue cannot be written.
    """
    root_p = Path(root)
    cat = pystac.Catalog(
        id=CATALOG_ID,
        title="berthwatch sample archive (mostly SIMULATED)",
        description=(
            "The embedded default archive of berthwatch. The berthwatch-sim-s1 and berthwatch-sim-s2 "
            "collections are SIMULATED scenes of watched ports with known truth (truth/*.csv); "
            f"real-sentinel-samples holds a few real Sentinel tiles of other ports ({ATTRIBUTION})."
        ),
        extra_fields={"berthwatch:simulated": True},
    )
    if sar:
        cat.add_child(
            _collection(
                COLLECTION_SIM_S1,
                "SIMULATED Sentinel-1 IW GRD (VV, VH) port tiles",
                "SIMULATED Sentinel-1 IW GRD sigma0 (VV, VH; linear float32, NaN nodata) on each port's 10 m UTM grid. "
                + _SIM_NOTE,
                sar,
                simulated=True,
            )
        )
    if optical:
        cat.add_child(
            _collection(
                COLLECTION_SIM_S2,
                "SIMULATED Sentinel-2 L2A port tiles",
                "SIMULATED Sentinel-2 L2A surface reflectance (blue, green, red, nir: uint16 = reflectance x 10000, nodata 0) and scene classification (scl) on each port's 10 m UTM grid. "
                + _SIM_NOTE,
                optical,
                simulated=True,
            )
        )
    if real:
        cat.add_child(
            _collection(
                COLLECTION_REAL,
                "Real Sentinel tiles of other ports",
                f"REAL Sentinel-1 and Sentinel-2 tiles of ports that are not simulated, for smoke tests. {ATTRIBUTION}. Sources and licences in each item's description.",
                real,
                simulated=False,
            )
        )
    try:
        cat.normalize_hrefs(str(root_p.resolve()))
        cat.make_all_asset_hrefs_relative()
        cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    except OSError as err:
        raise ArchiveWriteError(
            f"{root_p}: cannot write the STAC catalogue ({err}); choose a writable folder."
        ) from err
    return root_p / "catalog.json"


# -- real samples --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealSample:
    """A real Sentinel tile copied into the archive, with its provenance."""

    item_id: str
    source: str  # path under the shared data folder
    kind: str  # "s2" (folder of band files) or "s1db" (one VV dB file)
    acquired_utc: datetime
    port: str
    platform: str
    orbit: str
    pixel_size_m: float
    description: str


#: Real tiles copied into the archive (small port scenes with their attribution).
REAL_SAMPLES = (
    RealSample(
        "real-s2-honolulu-20230108",
        "s2_ports/honolulu",
        "s2",
        datetime(2023, 1, 8, tzinfo=UTC),
        "honolulu",
        "sentinel-2a",
        "descending",
        9.307,
        f"REAL Sentinel-2 L2A tile of the port of Honolulu, 2023-01-08 (time of day not recorded; "
        f"datetime is the day's start). {ATTRIBUTION} (2023), processed by Sentinel Hub; from the "
        "sen2ships dataset (https://github.com/ShipDetectionExperts/sen2ships, MIT). Grid EPSG:3857, "
        "~10 m in projection units = 9.3 m on the ground. Reflectance x 10000 (sen2ships 'Raw' DN "
        "rescaled by 10000/65535), no offset. No SCL. 12 vessel boxes in the labels asset "
        "(inclusive pixel indices, row/col centres).",
    ),
    RealSample(
        "real-s1-los-angeles-long-beach-20210105",
        "s1_scenes/port_la_longbeach_S1_VV_dB_2021-01-05.tif",
        "s1db",
        datetime(2021, 1, 5, tzinfo=UTC),
        "los-angeles-long-beach",
        "sentinel-1a",
        "descending",
        30.0,
        f"REAL Sentinel-1 GRD VV sigma0 of the Ports of Los Angeles / Long Beach, 2021-01-05 (time "
        f"of day not recorded). {ATTRIBUTION} (2021), exported from Google Earth Engine "
        "COPERNICUS/S1_GRD (via https://github.com/alexmak001/SAR-satelite-image-ship-detection). "
        "Converted here from dB to linear power (float32, NaN nodata; source zeros = nodata). "
        "30 m pixels, EPSG:32611, unlabelled (dozens of anchored ships).",
    ),
)


def real_sample_items(root: PathLikeStr, source_dir: PathLikeStr) -> list[pystac.Item]:
    """Copy the real Sentinel tiles from ``source_dir`` into the archive as COGs; return their items.

    ``source_dir`` is laid out like the project's shared data folder (``s2_ports/honolulu/*.tif``,
    ``s1_scenes/*.tif``).

    Raises
    ------
    ArchiveWriteError
        A source tile is missing or unreadable, or the copy cannot be written.
    """
    src = Path(source_dir)
    items = []
    for sample in REAL_SAMPLES:
        path = src / sample.source
        if not path.exists():
            raise ArchiveWriteError(
                f"{path}: real sample not found; pass the folder holding s2_ports/ and s1_scenes/."
            )
        items.append(
            _real_s2(root, sample, path) if sample.kind == "s2" else _real_s1(root, sample, path)
        )
    return items


def _read(path: Path) -> tuple[NDArray[Any], CRS, Affine, float | None]:
    try:
        with rasterio.open(path) as ds:
            return ds.read(1), CRS.from_wkt(ds.crs.to_wkt()), ds.transform, ds.nodata
    except (OSError, rasterio.errors.RasterioIOError) as err:
        raise ArchiveWriteError(f"{path}: cannot read the real sample ({err}).") from err


def _footprint(
    crs: CRS, transform: Affine, shape: tuple[int, int]
) -> tuple[float, float, float, float]:
    from rasterio.warp import transform_bounds

    rows, cols = shape
    x0, y0 = transform.c, transform.f
    x1 = transform.c + cols * transform.a + rows * transform.b
    y1 = transform.f + cols * transform.d + rows * transform.e
    b = transform_bounds(
        crs.to_wkt(),
        "EPSG:4326",
        min(x0, x1),
        min(y0, y1),
        max(x0, x1),
        max(y0, y1),
        densify_pts=21,
    )
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _real_scene(
    sample: RealSample,
    sensor: str,
    grid: tuple[CRS, Affine, tuple[int, int]],
    assets: Mapping[str, Path],
) -> ArchiveScene:
    crs, transform, shape = grid
    return ArchiveScene(
        item_id=sample.item_id,
        collection=COLLECTION_REAL,
        port=sample.port,
        sensor=sensor,
        acquired_utc=sample.acquired_utc,
        platform=sample.platform,
        orbit=sample.orbit,
        crs=crs,
        transform=transform,
        shape=shape,
        footprint_lonlat=_footprint(crs, transform, shape),
        assets=assets,
        cloud_cover_pct=None,
        simulated=False,
    )


def _finish_real(item: pystac.Item, sample: RealSample) -> pystac.Item:
    item.properties["title"] = f"REAL {sample.item_id}"
    item.properties["description"] = sample.description
    item.properties["berthwatch:attribution"] = ATTRIBUTION
    item.properties["berthwatch:pixel_size_m"] = sample.pixel_size_m
    item.properties["berthwatch:watched_port"] = False
    end = sample.acquired_utc.replace(hour=23, minute=59, second=59)
    item.common_metadata.start_datetime = sample.acquired_utc
    item.common_metadata.end_datetime = end
    return item


_REAL_TAGS = {"attribution": ATTRIBUTION, "berthwatch_simulated": "false"}


def _real_s2(root: PathLikeStr, sample: RealSample, folder: Path) -> pystac.Item:
    assets: dict[str, Path] = {}
    grid: tuple[CRS, Affine, tuple[int, int]] | None = None
    for band in _S2:
        data, crs, transform, _ = _read(folder / f"{band}.tif")
        grid = (crs, transform, (int(data.shape[0]), int(data.shape[1])))
        out = asset_path(root, COLLECTION_REAL, sample.item_id, band)
        assets[band] = write_cog(
            out, data.astype(np.uint16), crs=crs, transform=transform, nodata=0,
            description=band, tags=_REAL_TAGS,
        )  # fmt: skip
    if grid is None:  # pragma: no cover - _S2 is never empty
        raise ArchiveWriteError(f"{folder}: no band to copy.")
    scene = _real_scene(sample, "optical", grid, assets)
    item = _base_item(scene)
    _add_optical(item, scene, with_scl=False)
    for name, media in (("labels.csv", "text/csv"), ("labels.geojson", pystac.MediaType.GEOJSON)):
        dst = asset_path(root, COLLECTION_REAL, sample.item_id, "x").with_name(
            f"{sample.item_id}_{name}"
        )
        try:
            shutil.copyfile(folder / name, dst)
        except OSError as err:
            raise ArchiveWriteError(f"{folder / name}: cannot copy the labels ({err}).") from err
        key = "labels" if name.endswith(".csv") else "labels-geojson"
        item.add_asset(
            key,
            pystac.Asset(
                href=str(dst.resolve()), media_type=media, roles=["metadata", "labels"],
                title=f"Vessel boxes ({name})",
            ),
        )  # fmt: skip
    return _finish_real(item, sample)


def _real_s1(root: PathLikeStr, sample: RealSample, path: Path) -> pystac.Item:
    db, crs, transform, nodata = _read(path)
    bad = ~np.isfinite(db)
    if nodata is not None:
        bad |= db == nodata
    linear = np.where(bad, np.nan, 10.0 ** (db.astype(np.float64) / 10.0)).astype(np.float32)
    out = asset_path(root, COLLECTION_REAL, sample.item_id, "vv")
    write_cog(
        out,
        linear,
        crs=crs,
        transform=transform,
        nodata=float("nan"),
        description="vv",
        tags=_REAL_TAGS,
    )
    grid = (crs, transform, (int(db.shape[0]), int(db.shape[1])))
    scene = _real_scene(sample, "sar", grid, {"vv": out})
    item = _base_item(scene)
    _add_sar(item, scene, linear_note="sigma0, linear power, float32 (REAL, converted from dB)")
    return _finish_real(item, sample)


def write_csv(path: PathLikeStr, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """Write a CSV with one header line and ``\\n`` line ends (deterministic)."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    except OSError as err:
        raise ArchiveWriteError(
            f"{p}: cannot write ({err}); choose a writable output folder."
        ) from err
    return p
