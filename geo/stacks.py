"""Container-stack results (pixel space) to event-store records (EPSG:4326)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo._gdal import IN_MEMORY_LOCK
from geo.events import DetectionRecord
from geo.ports import Port
from geo.transforms import world_to_lonlat, world_to_pixels

__all__ = ["stack_records"]


def stack_records(
    yards: Sequence[Any],
    *,
    scene_id: str,
    port: Port,
    transform: Affine,
    crs: CRS | str | int,
) -> list[DetectionRecord]:
    """One ``container_stack`` record per yard that was at least partly observed.

    Parameters
    ----------
    yards : sequence of detection.containers.YardStacks
        One result per yard zone of the port, on the grid given by *transform* and *crs*.
    scene_id : str
        The scene the yards were measured in.
    port : Port
        The port the yards belong to.
    transform, crs
        The grid the masks are on (the port grid).

    Returns
    -------
    list of DetectionRecord
        ``index`` counts from 0 (container stacks have their own index range per scene);
        ``area_m2`` is the stack footprint seen; ``teu_low/central/high`` the whole-yard interval
        when enough of the yard was observed to extrapolate, else the interval for the observed
        part (flag ``observed_part_only``). A yard not observed at all gives no record: the
        observation's ``zone_valid_fraction`` says it was hidden, which is not "no containers".
    """
    out: list[DetectionRecord] = []
    for yard in yards:
        if yard.observed_fraction <= 0 or yard.teu is None:
            continue
        outline_world = _outline_world(yard.mask, transform)
        if outline_world is None and yard.zone:
            outline_world = port.to_utm(port.zone(yard.zone).geometry)
        teu = yard.teu_extrapolated or yard.teu
        flags = [*yard.flags, f"observed_fraction={yard.observed_fraction:.3f}"]
        if yard.teu_extrapolated is None:
            flags.append("observed_part_only")
        geometry, lon, lat, row, col = None, float("nan"), float("nan"), None, None
        if outline_world is not None:
            centre = outline_world.centroid
            r, c = world_to_pixels([centre.x], [centre.y], transform)
            lons, lats = world_to_lonlat([centre.x], [centre.y], crs)
            row, col, lon, lat = float(r[0]), float(c[0]), float(lons[0]), float(lats[0])
            geometry = shapely.transform(
                outline_world,
                lambda xy: np.column_stack(world_to_lonlat(xy[:, 0], xy[:, 1], crs)),
            )
        out.append(
            DetectionRecord(
                scene_id=scene_id,
                port=port.id,
                index=len(out),
                kind="container_stack",
                zone=yard.zone or "open_water",
                geometry=geometry,
                lon=lon,
                lat=lat,
                row=row,
                col=col,
                area_m2=float(yard.area_m2),
                teu_low=float(teu.low),
                teu_central=float(teu.central),
                teu_high=float(teu.high),
                assumptions=teu.assumptions,
                flags=",".join(flags),
            )
        )
    return out


def _outline_world(mask: Any, transform: Affine) -> BaseGeometry | None:
    """The stack mask as one (multi)polygon in the grid's CRS; None when empty."""
    from rasterio.features import shapes

    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return None
    with IN_MEMORY_LOCK:
        pieces = list(shapes(m.astype(np.uint8), mask=m, transform=transform))
    return shapely.union_all([shape(geom) for geom, value in pieces if value])
