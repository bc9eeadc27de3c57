"""Simulated Sentinel-1/2 archives of watched ports, with known truth.

The simulator renders tiles of a port on its fixed 10 m UTM grid (:attr:`geo.ports.Port.grid`)
from the zones in ``ports.geojson``: Sentinel-1 IW GRD sigma0 (VV, VH) and Sentinel-2 L2A
reflectance (blue, green, red, nir) with its scene classification (SCL). A scenario drawn from a
seed drives it: vessels moving between ports on dated itineraries (the Rajin -> Dunai shuttle of
"Angara (sim)" and "Maria (sim)", background traffic, ships in transit), container stock in the
yards (the ~300 TEU loading at Rajin on 2023-09-07/08) and an acquisition plan with realistic
revisit and clouds. The truth (vessel positions per scene, port calls, trips, yard stock) is
written beside the tiles; :func:`load_truth` reads it back.

Everything is deterministic: the same seed and parameters give byte-identical files.
Every output is labelled SIMULATED (STAC ``berthwatch:simulated``, titles, descriptions).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pystac
from numpy.typing import NDArray

from geo import archive
from geo._sim_draw import rng_for
from geo._sim_layout import PortLayout, YardFill
from geo._sim_render import (
    SCL_NOT_OBSERVED,
    OpticalConditions,
    PlacedVessel,
    PortLayers,
    SarConditions,
    build_layers,
    optical_conditions,
    render_optical,
    render_sar,
    sar_conditions,
)
from geo._sim_scenario import (
    DEFAULT_PORTS,
    DEFAULT_SINCE,
    DEFAULT_UNTIL,
    PLANS,
    Acquisition,
    Scenario,
    SimulationParams,
    Stay,
    YardTimeline,
    build_scenario,
    draw_transits,
)
from geo.errors import ArchiveExistsError, ArchiveWriteError, SimulationError, TruthFileError
from geo.ports import Port, get_port, load_ports
from geo.transforms import world_to_lonlat, world_to_pixels
from geo.types import PathLikeStr

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_SINCE",
    "DEFAULT_UNTIL",
    "PLANS",
    "Acquisition",
    "RenderedScene",
    "Scenario",
    "SimulationParams",
    "SimulationSummary",
    "Simulator",
    "Truth",
    "VesselTruth",
    "YardTruth",
    "load_truth",
    "simulate_archive",
]

logger = logging.getLogger(__name__)

#: Names ``simulate_archive`` owns inside its output folder (and replaces with ``overwrite``).
OUTPUT_NAMES = (
    "catalog.json",
    archive.COLLECTION_SIM_S1,
    archive.COLLECTION_SIM_S2,
    archive.COLLECTION_REAL,
    "truth",
    "README.md",
)
_TRUTH_FILES = ("scenes", "vessels", "port_calls", "trips", "yards", "conditions")


@dataclass(frozen=True)
class VesselTruth:
    """Where a vessel is in one scene (pixel centre row/col, row down) and whether it is seen."""

    scene_id: str
    port: str
    vessel_id: str
    name: str
    row: float
    col: float
    lon: float
    lat: float
    length_m: float
    width_m: float
    heading_deg: float  # axis, clockwise from north, [0, 180)
    zone: str  # zone id or "open_water"
    visible: bool


@dataclass(frozen=True)
class YardTruth:
    """Stock of one container yard in one scene."""

    scene_id: str
    port: str
    zone: str
    acquired_utc: datetime
    containers_teu: int
    stack_area_m2: float
    tiers_mean: float
    visible_fraction: float


@dataclass(frozen=True)
class RenderedScene:
    """One simulated scene: its bands, its truth and the conditions it was drawn under.

    ``bands``: ``vv``/``vh`` (float32 linear sigma0, NaN nodata) for SAR; ``blue``, ``green``,
    ``red``, ``nir`` (uint16 reflectance x 10000, 0 nodata) and ``scl`` (uint8) for optical.
    """

    acquisition: Acquisition
    bands: Mapping[str, NDArray[Any]]
    vessels: tuple[VesselTruth, ...]
    yards: tuple[YardTruth, ...]
    cloud_fraction: float
    conditions: Mapping[str, float | str]


@dataclass(frozen=True)
class SimulationSummary:
    """What :func:`simulate_archive` wrote."""

    out_dir: Path
    scene_ids: tuple[str, ...]
    n_real_items: int
    size_bytes: int


class Simulator:
    """Renders the scenes of a scenario; per-port static layers are built once and cached.

    Parameters
    ----------
    params : SimulationParams
        Seed, plan, ports and period.
    ports : mapping of str to Port, optional
        Ports by id (default: :func:`geo.ports.load_ports`).

    Raises
    ------
    SimulationError
        Unknown plan, or ``since`` after ``until``.
    UnknownPortError
        A port id that is not in the ports file.

    Examples
    --------
    >>> from datetime import date
    >>> sim = Simulator(SimulationParams(ports=("rajin",), since=date(2023, 9, 4), until=date(2023, 9, 4)))
    >>> [a.scene_id for a in sim.scenario.acquisitions]
    ['sim-s2-rajin-20230904T020731', 'sim-s1-rajin-20230904T093712']
    """

    def __init__(self, params: SimulationParams, ports: Mapping[str, Port] | None = None) -> None:
        if params.plan not in PLANS:
            raise SimulationError(f"plan must be one of {', '.join(PLANS)}. Got {params.plan!r}.")
        if params.since > params.until:
            raise SimulationError(
                f"since ({params.since}) is after until ({params.until}); give since <= until."
            )
        if not params.ports:
            raise SimulationError("no port to simulate; give at least one port id, e.g. rajin.")
        all_ports = load_ports() if ports is None else ports
        for pid in params.ports:
            get_port(pid, all_ports)
        self.params = params
        self.ports = all_ports
        self._layers: dict[str, PortLayers] = {}

    @cached_property
    def scenario(self) -> Scenario:
        """The drawn scenario (truth and acquisition plan)."""
        return build_scenario(self.params, self.ports)

    def layout(self, port: str) -> PortLayout:
        """The geometry helper of one simulated port."""
        return self.scenario.layouts[port]

    def layers(self, port: str) -> PortLayers:
        """Static layers of one port (built on first use)."""
        if port not in self._layers:
            self._layers[port] = build_layers(self.layout(port), self.params.seed)
        return self._layers[port]

    def render(self, acq: Acquisition) -> RenderedScene:
        """Render one planned acquisition: bands, truth and the conditions drawn for it."""
        rng = rng_for(self.params.seed, "scene", acq.scene_id)
        cond: SarConditions | OpticalConditions
        cond = sar_conditions(rng) if acq.sensor == "sar" else optical_conditions(rng, acq)
        vessels = self._place(acq, self.layout(acq.port), cond.wind_from_deg, rng)
        fills = {y.zone: y.layout.fill(y.teu_at(acq.acquired_utc)) for y in self._yards(acq.port)}
        all_fills = [f for fs in fills.values() for f in fs]
        if isinstance(cond, SarConditions):
            bands, unseen, cloud, extra = self._sar(acq, vessels, all_fills, cond, rng)
        else:
            bands, unseen, cloud, extra = self._optical(acq, vessels, all_fills, cond, rng)
        nodata = np.isnan(bands["vv"]) if "vv" in bands else bands["scl"] == 0
        conditions: dict[str, float | str] = {
            "wind_from_deg": round(cond.wind_from_deg, 1),
            "nodata_fraction": round(float(nodata.mean()), 4),
            **extra,
        }
        vt = tuple(self._vessel_truth(acq, v, unseen) for v in vessels)
        yt = tuple(self._yard_truth(acq, zone, fs, unseen) for zone, fs in fills.items())
        return RenderedScene(acq, bands, vt, yt, cloud, conditions)

    def _sar(
        self,
        acq: Acquisition,
        vessels: list[PlacedVessel],
        fills: list[YardFill],
        cond: SarConditions,
        rng: np.random.Generator,
    ) -> tuple[dict[str, NDArray[Any]], NDArray[np.bool_], float, dict[str, float | str]]:
        layout, layers = self.layout(acq.port), self.layers(acq.port)
        vv, vh = render_sar(layers, layout, acq, vessels, fills, cond, rng)
        extra: dict[str, float | str] = {
            "wind_ms": cond.wind_ms,
            "sea_vv_db": cond.sea_vv_db,
            "sea_vh_db": round(cond.sea_vh_with_noise_db, 3),
            "texture_nu": cond.texture_nu,
        }
        return {"vv": vv, "vh": vh}, np.isnan(vv), 0.0, extra

    def _optical(
        self,
        acq: Acquisition,
        vessels: list[PlacedVessel],
        fills: list[YardFill],
        cond: OpticalConditions,
        rng: np.random.Generator,
    ) -> tuple[dict[str, NDArray[Any]], NDArray[np.bool_], float, dict[str, float | str]]:
        layout, layers = self.layout(acq.port), self.layers(acq.port)
        dn, scl, figures = render_optical(layers, layout, acq, vessels, fills, cond, rng)
        bands: dict[str, NDArray[Any]] = {
            b: dn[i] for i, b in enumerate(("blue", "green", "red", "nir"))
        }
        bands["scl"] = scl
        extra: dict[str, float | str] = {
            "sun_elevation_deg": cond.sun_elevation_deg,
            "sun_azimuth_deg": cond.sun_azimuth_deg,
            "cloud_height_m": cond.cloud_height_m,
            "cloud_target": round(acq.cloud_target, 4),
            "shadow_fraction": figures["shadow_fraction"],
        }
        return bands, np.isin(scl, SCL_NOT_OBSERVED), figures["cloud_fraction"], extra

    # -- helpers --------------------------------------------------------------------------

    def _yards(self, port: str) -> list[YardTimeline]:
        return [y for y in self.scenario.yards if y.port == port]

    def _place(
        self, acq: Acquisition, layout: PortLayout, wind_from_deg: float, rng: np.random.Generator
    ) -> list[PlacedVessel]:
        present = self.scenario.stays_at(acq.port, acq.acquired_utc)
        placed = [self._placed_stay(s, layout, wind_from_deg, rng) for s in present]
        for vessel, x, y, heading in draw_transits(rng, layout, present, acq.scene_id):
            placed.append(_placed(layout, vessel, x, y, heading, "open_water"))
        return placed

    def _placed_stay(
        self, s: Stay, layout: PortLayout, wind_from_deg: float, rng: np.random.Generator
    ) -> PlacedVessel:
        if s.heading_deg is None:  # at anchor the bow points into the wind
            heading = (wind_from_deg + float(rng.normal(0, 12))) % 360
        else:
            flip = rng_for(self.params.seed, "bow", s.vessel.id, s.arrive_utc.isoformat()).random()
            heading = (s.heading_deg + (180.0 if flip < 0.5 else 0.0)) % 360
        return _placed(layout, s.vessel, s.x_m, s.y_m, heading, s.zone)

    def _vessel_truth(
        self, acq: Acquisition, v: PlacedVessel, unseen: NDArray[np.bool_]
    ) -> VesselTruth:
        layout = self.layout(acq.port)
        lon, lat = world_to_lonlat([v.x_m], [v.y_m], layout.port.grid.crs)
        return VesselTruth(
            scene_id=acq.scene_id,
            port=acq.port,
            vessel_id=v.vessel.id,
            name=v.vessel.name,
            row=round(v.row, 2),
            col=round(v.col, 2),
            lon=round(float(lon[0]), 7),
            lat=round(float(lat[0]), 7),
            length_m=v.vessel.length_m,
            width_m=v.vessel.width_m,
            heading_deg=round(v.heading_deg % 180.0, 1),
            zone=v.zone,
            visible=_seen(v, layout, unseen),
        )

    def _yard_truth(
        self, acq: Acquisition, zone: str, fills: Sequence[YardFill], unseen: NDArray[np.bool_]
    ) -> YardTruth:
        mask = self.layout(acq.port).port.zone_mask(zone)
        slots = sum(f.ground_slots for f in fills)
        boxes = sum(f.containers for f in fills)
        return YardTruth(
            scene_id=acq.scene_id,
            port=acq.port,
            zone=zone,
            acquired_utc=acq.acquired_utc,
            containers_teu=sum(f.teu for f in fills),
            stack_area_m2=round(sum(f.area_m2 for f in fills), 1),
            tiers_mean=round(boxes / slots, 3) if slots else 0.0,
            visible_fraction=round(1.0 - float(unseen[mask].mean()) if mask.any() else 0.0, 4),
        )


def _placed(
    layout: PortLayout, vessel: Any, x: float, y: float, heading: float, zone: str
) -> PlacedVessel:
    r, c = world_to_pixels([x], [y], layout.port.grid.transform)
    return PlacedVessel(vessel, x, y, heading, zone, float(r[0]), float(c[0]))


def _seen(v: PlacedVessel, layout: PortLayout, unseen: NDArray[np.bool_]) -> bool:
    """Seen when at least half the hull's pixels (coverage > 0.25) are observed."""
    from geo._sim_draw import hull_patches

    px = layout.port.grid.pixel_size_m
    hull, _ = hull_patches(
        (v.row, v.col),
        length_px=v.vessel.length_m / px,
        width_px=v.vessel.width_m / px,
        heading_deg=v.heading_deg,
        superstructure_at=v.vessel.superstructure_at,
    )
    cov = hull.full(unseen.shape)
    pixels = cov > 0.25
    if not pixels.any():
        r = min(max(int(round(v.row)), 0), unseen.shape[0] - 1)
        c = min(max(int(round(v.col)), 0), unseen.shape[1] - 1)
        return not bool(unseen[r, c])
    return float(unseen[pixels].mean()) < 0.5


# -- the archive ---------------------------------------------------------------------------


def simulate_archive(
    out_dir: PathLikeStr,
    params: SimulationParams | None = None,
    *,
    real_samples_dir: PathLikeStr | None = None,
    overwrite: bool = False,
    ports: Mapping[str, Port] | None = None,
    command: str | None = None,
) -> SimulationSummary:
    """Simulate a period and write it as a self-contained STAC archive with its truth.

    Parameters
    ----------
    out_dir : str or path-like
        Output folder (created). It must be empty unless ``overwrite``.
    params : SimulationParams, optional
        Seed, plan, ports, period (default: seed 0, realistic plan, Rajin and Dunai,
        2023-08-10 to 2023-10-20).
    real_samples_dir : str or path-like, optional
        Folder holding ``s2_ports/honolulu/`` and ``s1_scenes/``: copy the real Sentinel samples
        into the ``real-sentinel-samples`` collection.
    overwrite : bool
        Replace the archive files already in ``out_dir`` (other files are left alone).
    ports : mapping of str to Port, optional
        Ports by id (default: ``seeds/ports.geojson``).
    command : str, optional
        The command line to record in the archive's README.

    Returns
    -------
    SimulationSummary

    Raises
    ------
    ArchiveExistsError
        ``out_dir`` holds files and ``overwrite`` is false.
    ArchiveWriteError
        ``out_dir`` cannot be created or written.
    SimulationError
        Bad parameters (unknown plan, ``since`` after ``until``).
    """
    params = params or SimulationParams()
    sim = Simulator(params, ports)
    out = _prepare(Path(out_dir), overwrite=overwrite)
    sar_items: list[pystac.Item] = []
    optical_items: list[pystac.Item] = []
    ids: list[str] = []
    truth: dict[str, list[list[Any]]] = {k: [] for k in _TRUTH_FILES}
    for acq in sim.scenario.acquisitions:
        scene = sim.render(acq)
        item = _write_scene(out, sim, scene)
        (sar_items if acq.sensor == "sar" else optical_items).append(item)
        ids.append(acq.scene_id)
        _collect_truth(truth, scene)
        logger.info(
            "%s: %d vessels, cloud %.2f", acq.scene_id, len(scene.vessels), scene.cloud_fraction
        )
    real = archive.real_sample_items(out, real_samples_dir) if real_samples_dir is not None else []
    archive.write_catalog(out, sar=sar_items, optical=optical_items, real=real)
    _write_truth(out / "truth", sim.scenario, truth)
    _write_readme(out, params, command, n_real=len(real))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return SimulationSummary(out, tuple(ids), len(real), size)


def _prepare(out: Path, *, overwrite: bool) -> Path:
    try:
        if out.exists() and not out.is_dir():
            raise ArchiveWriteError(f"{out}: is a file, not a folder; choose a folder for --out.")
        present = sorted(p.name for p in out.iterdir()) if out.exists() else []
        if present and not overwrite:
            raise ArchiveExistsError(
                f"{out}: folder is not empty ({', '.join(present[:3])}...); pass --overwrite to replace "
                "the archive or choose another folder."
            )
        for name in OUTPUT_NAMES:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".berthwatch-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except (ArchiveExistsError, ArchiveWriteError):
        raise
    except OSError as err:
        raise ArchiveWriteError(
            f"{out}: cannot write the archive here ({err.strerror or err}); choose a writable folder for --out."
        ) from err
    return out


def _write_scene(out: Path, sim: Simulator, scene: RenderedScene) -> pystac.Item:
    acq = scene.acquisition
    port = sim.layout(acq.port).port
    grid = port.grid
    collection = archive.COLLECTION_SIM_S1 if acq.sensor == "sar" else archive.COLLECTION_SIM_S2
    tags = {"berthwatch_simulated": "true", "berthwatch_scene": acq.scene_id}
    assets = {}
    for band, data in scene.bands.items():
        nodata: float = float("nan") if data.dtype.kind == "f" else 0.0
        path = archive.asset_path(out, collection, acq.scene_id, band)
        assets[band] = archive.write_cog(
            path,
            data,
            crs=grid.crs,
            transform=grid.transform,
            nodata=nodata,
            description=band,
            tags=tags,
        )
    minx, miny, maxx, maxy = grid.bounds
    from rasterio.warp import transform_bounds

    bbox = transform_bounds(grid.crs.to_wkt(), "EPSG:4326", minx, miny, maxx, maxy, densify_pts=21)
    info = archive.ArchiveScene(
        item_id=acq.scene_id,
        collection=collection,
        port=acq.port,
        sensor=acq.sensor,
        acquired_utc=acq.acquired_utc,
        platform=acq.platform,
        orbit=acq.orbit,
        crs=grid.crs,
        transform=grid.transform,
        shape=grid.shape,
        footprint_lonlat=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
        assets=assets,
        cloud_cover_pct=None if acq.sensor == "sar" else 100.0 * scene.cloud_fraction,
    )
    return archive.sim_item(info, port_name=port.name)


# -- truth files ---------------------------------------------------------------------------

_HEADERS = {
    "scenes": ("scene_id", "port", "sensor", "acquired_utc", "cloud_fraction", "simulated"),
    "vessels": (
        "scene_id", "port", "vessel_id", "name", "row", "col", "lon", "lat",
        "length_m", "width_m", "heading_deg", "zone", "visible",
    ),
    "port_calls": ("vessel_id", "name", "port", "berth", "arrive_utc", "depart_utc", "length_m"),
    "trips": ("vessel_id", "name", "from_port", "to_port", "depart_utc", "arrive_utc", "length_m"),
    "yards": (
        "scene_id", "port", "zone", "acquired_utc", "containers_teu", "stack_area_m2",
        "tiers_mean", "visible_fraction",
    ),
    "conditions": (
        "scene_id", "port", "sensor", "nodata_fraction", "wind_from_deg", "wind_ms", "sea_vv_db",
        "sea_vh_db", "texture_nu", "sun_elevation_deg", "sun_azimuth_deg", "cloud_height_m",
        "cloud_target", "shadow_fraction",
    ),
}  # fmt: skip


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bool(b: bool) -> str:
    return "true" if b else "false"


def _collect_truth(truth: dict[str, list[list[Any]]], scene: RenderedScene) -> None:
    a = scene.acquisition
    truth["scenes"].append(
        [a.scene_id, a.port, a.sensor, _iso(a.acquired_utc), f"{scene.cloud_fraction:.4f}", "true"]
    )
    for v in scene.vessels:
        truth["vessels"].append([
            v.scene_id, v.port, v.vessel_id, v.name, f"{v.row:.2f}", f"{v.col:.2f}", f"{v.lon:.7f}",
            f"{v.lat:.7f}", f"{v.length_m:.1f}", f"{v.width_m:.1f}", f"{v.heading_deg:.1f}", v.zone, _bool(v.visible),
        ])  # fmt: skip
    for y in scene.yards:
        truth["yards"].append([
            y.scene_id, y.port, y.zone, _iso(y.acquired_utc), y.containers_teu, f"{y.stack_area_m2:.1f}",
            f"{y.tiers_mean:.3f}", f"{y.visible_fraction:.4f}",
        ])  # fmt: skip
    c = scene.conditions
    truth["conditions"].append(
        [a.scene_id, a.port, a.sensor] + [c.get(k, "") for k in _HEADERS["conditions"][3:]]
    )


def _write_truth(folder: Path, scenario: Scenario, truth: dict[str, list[list[Any]]]) -> None:
    for s in sorted(scenario.stays, key=lambda s: (s.arrive_utc, s.vessel.id)):
        if s.kind == "berth":
            truth["port_calls"].append([
                s.vessel.id, s.vessel.name, s.port, s.zone, _iso(s.arrive_utc), _iso(s.depart_utc), f"{s.vessel.length_m:.1f}",
            ])  # fmt: skip
    for t in sorted(scenario.trips, key=lambda t: (t.depart_utc, t.vessel.id)):
        truth["trips"].append([
            t.vessel.id, t.vessel.name, t.from_port, t.to_port, _iso(t.depart_utc), _iso(t.arrive_utc), f"{t.vessel.length_m:.1f}",
        ])  # fmt: skip
    for name in _TRUTH_FILES:
        archive.write_csv(folder / f"{name}.csv", _HEADERS[name], truth[name])


def _write_readme(out: Path, params: SimulationParams, command: str | None, *, n_real: int) -> None:
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("geo", "templates"), keep_trailing_newline=True, autoescape=False
    )
    text = env.get_template("sample_tiles_readme.md.j2").render(
        params=params, command=command or _default_command(params, n_real), n_real=n_real,
        attribution=archive.ATTRIBUTION, collections=(archive.COLLECTION_SIM_S1, archive.COLLECTION_SIM_S2, archive.COLLECTION_REAL),
    )  # fmt: skip
    try:
        (out / "README.md").write_text(text, encoding="utf-8")
    except OSError as err:
        raise ArchiveWriteError(f"{out / 'README.md'}: cannot write ({err}).") from err


def _default_command(params: SimulationParams, n_real: int) -> str:
    parts = [
        "berthwatch simulate --out OUT",
        f"--seed {params.seed}",
        f"--plan {params.plan}",
        f"--ports {','.join(params.ports)}",
        f"--since {params.since}",
        f"--until {params.until}",
    ]
    if n_real:
        parts.append("--real-samples DATA_DIR")
    return " ".join(parts)


# -- reading the truth back ----------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """The truth of a simulated archive, one pandas table per file (times are UTC datetimes).

    ``scenes``, ``vessels``, ``port_calls``, ``trips``, ``yards`` and ``conditions`` follow the
    CSV files in ``truth/`` (see ``sample_tiles/README.md`` for the columns).
    """

    scenes: pd.DataFrame = field(repr=False)
    vessels: pd.DataFrame = field(repr=False)
    port_calls: pd.DataFrame = field(repr=False)
    trips: pd.DataFrame = field(repr=False)
    yards: pd.DataFrame = field(repr=False)
    conditions: pd.DataFrame = field(repr=False)

    def vessels_in(self, scene_id: str) -> pd.DataFrame:
        """The vessels of one scene."""
        return self.vessels[self.vessels["scene_id"] == scene_id]


_TIME_COLUMNS = ("acquired_utc", "arrive_utc", "depart_utc")
_BOOL_COLUMNS = ("simulated", "visible")


def load_truth(folder: PathLikeStr) -> Truth:
    """Read the truth of a simulated archive.

    Parameters
    ----------
    folder : str or path-like
        The archive folder (holding ``truth/``) or the ``truth/`` folder itself.

    Returns
    -------
    Truth

    Raises
    ------
    TruthFileError
        A truth file is missing or unreadable.

    Examples
    --------
    >>> from geo.settings import sample_tiles_dir
    >>> truth = load_truth(sample_tiles_dir())
    >>> int((truth.trips["from_port"] == "rajin").sum())
    6
    """
    p = Path(folder)
    base = p / "truth" if (p / "truth").is_dir() else p
    tables: dict[str, pd.DataFrame] = {}
    for name in _TRUTH_FILES:
        path = base / f"{name}.csv"
        try:
            df = pd.read_csv(
                path,
                keep_default_na=False,
                na_values=[""],
                dtype={"scene_id": str, "vessel_id": str, "zone": str},
            )
        except FileNotFoundError as err:
            raise TruthFileError(
                f"{path}: truth file missing; point at a folder written by `berthwatch simulate`."
            ) from err
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise TruthFileError(
                f"{path}: unreadable truth file ({err}); regenerate it with `berthwatch simulate`."
            ) from err
        missing = [c for c in _HEADERS[name] if c not in df.columns]
        if missing:
            raise TruthFileError(
                f"{path}: missing columns {', '.join(missing)}; regenerate it with `berthwatch simulate`."
            )
        for col in _TIME_COLUMNS:
            if col in df.columns:
                df[col] = pd.to_datetime(df[col], utc=True, format="%Y-%m-%dT%H:%M:%SZ")
        for col in _BOOL_COLUMNS:
            if col in df.columns:
                df[col] = df[col].astype(str).str.lower().eq("true")
        tables[name] = df
    return Truth(**tables)
