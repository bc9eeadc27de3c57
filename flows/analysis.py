"""One scene of one port, from cached tile to store records: the calls the nightly flow makes.

Orchestration only: each step is a call into :mod:`geo` (tiles, ports, records) or
:mod:`detection` (detectors); no maths happens here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["MIN_REFERENCE_SCENES", "analyse_scene", "reference_tiles"]

#: Fewer earlier scenes than this and the median is not a fair picture of the fixed structures.
MIN_REFERENCE_SCENES = 3

_STACK_SENSOR = {"sar": "sentinel-1", "optical": "sentinel-2"}

_T = TypeVar("_T")


def reference_tiles(
    history: Iterable[tuple[str, dt.datetime | None, _T]], *, sensor: str, before: dt.datetime
) -> list[_T]:
    """Choose the tiles of a scene's pier-side reference from the port's scene history.

    The reference is the per-pixel median of the
    :data:`~detection.reference.REFERENCE_SCENES` latest scenes of the same sensor acquired
    *before* the scene, whatever order the scenes are processed in (a backfill of an older
    period after a newer one gives the same reference as an in-order run).

    Parameters
    ----------
    history : iterable of (sensor, acquired_utc, tile)
        The port's processed scenes, in any order.
    sensor : {"sar", "optical"}
    before : datetime
        The scene's acquisition time (aware, UTC).

    Returns
    -------
    list
        The chosen tiles, oldest first; may be empty.
    """
    from detection.reference import REFERENCE_SCENES

    earlier = sorted(
        (
            (t, i, tile)
            for i, (s, t, tile) in enumerate(history)
            if s == sensor and t and t < before
        ),
        key=lambda item: (item[0], item[1]),
    )
    return [tile for _, _, tile in earlier[-REFERENCE_SCENES:]]


def analyse_scene(
    scene: Any,
    port: Any,
    *,
    tile_path: Path,
    reference_paths: Sequence[Path],
    run_id: str = "",
) -> tuple[Any, list[Any]]:
    """Detect vessels and container stacks in one cached tile.

    Returns the observation record and its detection records, ready for
    :meth:`geo.events.EventStore.write_scene`. The observation carries its provenance: the
    run, the earlier scenes used as the pier-side reference, and every detector setting.
    """
    from detection import StackParams
    from detection.containers import measure_container_stacks
    from geo.events import ObservationRecord, vessel_records
    from geo.stacks import stack_records
    from geo.tiles import load_cached_tile

    tile = load_cached_tile(tile_path)
    references = [load_cached_tile(p) for p in reference_paths]
    usable = [r for r in references if r.sensor == tile.sensor]
    if len(usable) < MIN_REFERENCE_SCENES:
        usable = []
    vessels, vessel_settings = _vessels(tile, port, usable)
    stack_params = StackParams()
    records = vessel_records(
        vessels, scene_id=scene.id, port=port, transform=tile.transform, crs=tile.crs
    )
    yards = [
        measure_container_stacks(
            tile.bands,
            sensor=_STACK_SENSOR[tile.sensor],
            pixel_size_m=tile.pixel_size_m,
            yard_mask=port.zone_mask(zone.id),
            invalid_mask=~tile.valid,
            zone=zone.id,
            params=stack_params,
        )
        for zone in port.zones_of("yard")
    ]
    records += stack_records(
        yards, scene_id=scene.id, port=port, transform=tile.transform, crs=tile.crs
    )
    observation = ObservationRecord(
        scene_id=scene.id,
        port=port.id,
        source=scene.source,
        collection=scene.collection,
        sensor=scene.sensor,
        platform=scene.platform,
        acquired_utc=scene.acquired_utc,
        footprint=scene.footprint,
        valid_fraction=tile.valid_fraction,
        zone_valid_fraction=dict(tile.zone_valid_fraction),
        status="ok",
        simulated=scene.simulated,
        tile_path=str(tile_path),
        run_id=run_id,
        reference_scene_ids=tuple(r.scene_id for r in usable),
        detector_settings={
            "vessels": vessel_settings,
            "containers": {"detector": "measure_container_stacks", "params": asdict(stack_params)},
        },
    )
    return observation, records


def _vessels(tile: Any, port: Any, usable: Sequence[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Vessels in *tile* (the median of *usable* as reference, if any) and the settings used."""
    from detection import (
        OpticalParams,
        SarParams,
        build_reference,
        detect_optical_vessels,
        detect_sar_vessels,
    )

    water = port.water_mask()
    if tile.sensor == "sar":
        band = "vv" if "vv" in tile.bands else sorted(tile.bands)[0]
        sar_params = SarParams()
        reference = (
            build_reference([r.bands[band] for r in usable if band in r.bands]) if usable else None
        )
        vessels = detect_sar_vessels(
            tile.bands[band],
            pixel_size_m=tile.pixel_size_m,
            water_mask=water,
            valid_mask=tile.valid,
            reference=reference,
            params=sar_params,
        )
        settings = {"detector": "detect_sar_vessels", "bands": [band], "params": asdict(sar_params)}
        return list(vessels), settings
    optical_params = OpticalParams()
    reference_bands = None
    if usable:
        reference_bands = {
            name: build_reference([r.bands[name] for r in usable if name in r.bands])
            for name in tile.bands
        }
    vessels = detect_optical_vessels(
        tile.bands,
        pixel_size_m=tile.pixel_size_m,
        water_mask=water,
        invalid_mask=~tile.valid,
        reference=reference_bands,
        params=optical_params,
    )
    settings = {
        "detector": "detect_optical_vessels",
        "bands": sorted(tile.bands),
        "params": asdict(optical_params),
    }
    return list(vessels), settings
