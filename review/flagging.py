"""Which detections an analyst should look at, and why: flags, priorities and image chips.

:func:`flag_detections` runs in the nightly flow after each store update. A detection is flagged
when one or more :data:`FLAG_REASONS` apply:

``near_threshold``
    Its score is within ``score_margin`` above the detector threshold (a coin toss).
``unusual_size``
    Its length, aspect ratio or area is outside the plausible range for its kind, or a robust
    outlier (beyond ``outlier_mad`` scaled MADs of log size) among the port's detections.
``watched_berth``
    Its centre is on a berth zone of the port (where a port call would be inferred from it).
``trip_evidence`` / ``claim_evidence``
    It is evidence for an inferred trip, or for a claim check (directly or through a port call
    or a trip).
``sensor_disagreement``
    Another sensor observed the same spot the same UTC day (footprint and valid coverage) and
    found nothing of the same kind within ``match_radius_m``.

Flags are recorded in the detection's ``flags`` column of the store, as ``review:<reason>``
tokens next to the detector's own flags, and its chip path in ``chip_path`` (relative to the
data folder). The priority is recomputed from the reasons and the score (:func:`flag_priority`),
so the queue order follows the current weights.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from review.chips import ChipParams, render_detection_chips, render_overview
from review.errors import ChipRenderError

__all__ = [
    "FLAG_REASONS",
    "REASON_WEIGHTS",
    "Flag",
    "FlagParams",
    "chip_paths",
    "flag_detections",
    "flag_priority",
    "flag_reasons",
]

logger = logging.getLogger(__name__)

#: Why a detection is flagged, in the order the queue shows them.
FLAG_REASONS = (
    "claim_evidence",
    "trip_evidence",
    "sensor_disagreement",
    "near_threshold",
    "watched_berth",
    "unusual_size",
)
#: Priority weight of each reason: what a wrong decision would change most comes first.
REASON_WEIGHTS: Mapping[str, float] = {
    "claim_evidence": 5.0,
    "trip_evidence": 4.0,
    "sensor_disagreement": 3.0,
    "near_threshold": 2.0,
    "watched_berth": 1.5,
    "unusual_size": 1.0,
}
_TOKEN = "review:"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class FlagParams:
    """Thresholds of the flagging rules (documented defaults).

    Attributes
    ----------
    score_threshold : float, default 6.5
        Detector threshold on ``score`` (for CFAR: -log10 PFA, SNAP's 10^-6.5).
    score_thresholds_by_sensor : mapping of str to float
        Per-sensor thresholds (keyed by the observation's ``sensor``), overriding the default.
    score_margin : float, default 1.0
        A score below ``threshold + margin`` is "near the threshold".
    vessel_length_m : tuple of float, default (25, 400)
        Plausible vessel lengths; outside is unusual.
    vessel_aspect : tuple of float, default (2, 12)
        Plausible length/width ratios of a hull at 10 m.
    stack_area_m2 : tuple of float, default (60, 60000)
        Plausible container stack areas (4 TEU footprints to a whole yard block).
    outlier_mad : float, default 3.5
        Robust z-score of log size beyond which a detection is an outlier among its port's.
    min_population : int, default 20
        Fewest detections of a kind at a port before the outlier rule applies.
    match_radius_m : float, default 150
        How far a detection in another sensor's scene may be and still count as the same object.
    min_zone_valid_fraction : float, default 0.5
        The other sensor must have seen at least this share of the detection's zone.
    watched_zones : tuple of str
        Zone ids that count as watched; empty means every berth of the port.
    """

    score_threshold: float = 6.5
    score_thresholds_by_sensor: Mapping[str, float] = field(default_factory=dict)
    score_margin: float = 1.0
    vessel_length_m: tuple[float, float] = (25.0, 400.0)
    vessel_aspect: tuple[float, float] = (2.0, 12.0)
    stack_area_m2: tuple[float, float] = (60.0, 60_000.0)
    outlier_mad: float = 3.5
    min_population: int = 20
    match_radius_m: float = 150.0
    min_zone_valid_fraction: float = 0.5
    watched_zones: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("score_margin", "outlier_mad", "match_radius_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FlagParams.{name} must be > 0. Got {getattr(self, name)!r}.")
        if not 0 <= self.min_zone_valid_fraction <= 1:
            raise ValueError(
                f"FlagParams.min_zone_valid_fraction must be in [0, 1]. Got {self.min_zone_valid_fraction!r}."
            )


@dataclass(frozen=True)
class Flag:
    """One flagged detection: why, how urgent, and where its chips are (relative to the data folder).

    ``reference_chip_path`` is empty when no earlier scene of the same sensor was available.
    """

    detection_id: str
    port: str
    reasons: tuple[str, ...]
    priority: float
    chip_path: str = ""
    reference_chip_path: str = ""
    overview_path: str = ""


def flag_reasons(flags: str) -> tuple[str, ...]:
    """Return the review reasons recorded in a detection's ``flags`` column, in queue order.

    Examples
    --------
    >>> flag_reasons("near_land,review:watched_berth,review:trip_evidence")
    ('trip_evidence', 'watched_berth')
    """
    found = {t.strip()[len(_TOKEN) :] for t in flags.split(",") if t.strip().startswith(_TOKEN)}
    return tuple(r for r in FLAG_REASONS if r in found)


def _with_reasons(flags: str, reasons: Iterable[str]) -> str:
    kept = [t.strip() for t in flags.split(",") if t.strip() and not t.strip().startswith(_TOKEN)]
    return ",".join([*kept, *(f"{_TOKEN}{r}" for r in reasons)])


def flag_priority(
    reasons: Sequence[str],
    *,
    score: float | None = None,
    threshold: float = 6.5,
    margin: float = 1.0,
) -> float:
    """Return a detection's review priority (higher first): reason weights, plus closeness to threshold.

    Examples
    --------
    >>> flag_priority(["trip_evidence", "near_threshold"], score=6.5)
    7.0
    """
    total = sum(REASON_WEIGHTS.get(r, 0.0) for r in reasons)
    if "near_threshold" in reasons and score is not None and math.isfinite(score):
        # The closer to the threshold, the more a second look is worth (up to +1).
        total += float(np.clip(1.0 - (score - threshold) / margin, 0.0, 1.0))
    return round(total, 3)


def _safe_name(text: str) -> str:
    """A file name from any id: only ``[A-Za-z0-9._-]``, never starting with a dot (no ``..``)."""
    name = _SAFE.sub("_", text)
    return "_" + name.lstrip(".") if name.startswith(".") or not name else name


def chip_paths(
    detection_id: str, port: str, scene_id: str, kind: str, index: int
) -> dict[str, str]:
    """Return the chip, reference chip and overview paths of a detection, relative to the data folder."""
    del detection_id  # the id is derived from the other fields; kept for call-site clarity
    folder = f"chips/{_safe_name(port)}/{_safe_name(scene_id)}"
    stem = f"{_safe_name(kind)}-{int(index)}"
    return {
        "chip": f"{folder}/{stem}.png",
        "reference": f"{folder}/{stem}-ref.png",
        "overview": f"{folder}/overview.png",
    }


def flag_detections(
    store: Any,
    *,
    port: str,
    data_dir: Path | str,
    ports: Mapping[str, Any] | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    params: FlagParams | None = None,
    chip_params: ChipParams | None = None,
    overwrite_chips: bool = False,
) -> list[Flag]:
    """Flag a port's detections for review, draw their chips, and record the flags in the store.

    Call it after each store update (new scenes written, :meth:`update_inferences` run): flags
    are recomputed for every detection of the port in ``[since, until]``, so a detection that is
    no longer evidence for a trip loses that reason. Scenes whose flags or chip paths changed
    are re-written through :meth:`geo.events.EventStore.write_scene` (idempotent).

    Parameters
    ----------
    store : geo.events.EventStore
        The open, writable event store.
    port : str
        The port id.
    data_dir : Path or str
        The data folder; chips go under ``<data_dir>/chips/<port>/<scene>/``.
    ports : mapping of str to Port, optional
        Known ports (default :func:`geo.ports.load_ports`), for the port's berths.
    since, until : date or datetime, optional
        Flag only detections acquired in this window (others are context only).
    params : FlagParams, optional
        Flagging thresholds.
    chip_params : ChipParams, optional
        Chip size and stretch.
    overwrite_chips : bool
        Re-draw chips that already exist (e.g. after a tile was re-fetched).

    Returns
    -------
    list of Flag
        The flagged detections, highest priority first. Empty when nothing needs a look.

    Raises
    ------
    UnknownPortError
        *port* is not a known port.
    """
    from geo.ports import get_port, load_ports

    p = params or FlagParams()
    the_port = get_port(port, ports if ports is not None else load_ports())
    root = Path(data_dir)
    ctx = _Context.build(store, the_port, p)
    updates: dict[str, dict[int, Any]] = defaultdict(dict)
    flags: list[Flag] = []
    for det in ctx.detections:
        if not _in_window(det.acquired_utc, since, until):
            continue
        obs = ctx.obs_by_scene.get(det.scene_id)
        reasons = _reasons(det, obs, ctx, p)
        chip = det.chip_path
        if reasons and obs is not None:
            flag = _chips_for(det, obs, ctx, root, chip_params, overwrite_chips, reasons, p)
            flags.append(flag)
            chip = flag.chip_path or chip
        elif reasons:
            flags.append(Flag(det.detection_id, det.port, reasons, _priority(det, obs, reasons, p)))
        new_flags = _with_reasons(det.flags, reasons)
        if new_flags != det.flags or chip != det.chip_path:
            updates[det.scene_id][id(det)] = dataclasses.replace(
                det, flags=new_flags, chip_path=chip
            )
    _write_back(store, ctx, updates)
    logger.info("%s: %d of %d detections flagged for review", port, len(flags), len(ctx.detections))
    return sorted(flags, key=lambda f: (-f.priority, f.detection_id))


def _in_window(t: dt.datetime | None, since: Any, until: Any) -> bool:
    if t is None:
        return since is None and until is None
    day = t.astimezone(dt.UTC)
    lo = since if isinstance(since, dt.datetime) else None
    hi = until if isinstance(until, dt.datetime) else None
    if since is not None and lo is None and day.date() < since:
        return False
    if until is not None and hi is None and day.date() > until:
        return False
    return (lo is None or day >= lo) and (hi is None or day <= hi)


def _threshold(obs: Any, p: FlagParams) -> float:
    sensor = getattr(obs, "sensor", "") if obs is not None else ""
    return float(p.score_thresholds_by_sensor.get(sensor, p.score_threshold))


def _priority(det: Any, obs: Any, reasons: Sequence[str], p: FlagParams) -> float:
    return flag_priority(
        reasons, score=det.score, threshold=_threshold(obs, p), margin=p.score_margin
    )


@dataclass
class _Context:
    """What the rules need, read once per call: the port's scenes, detections and evidence."""

    port: Any
    observations: list[Any]
    obs_by_scene: dict[str, Any]
    detections: list[Any]
    dets_by_scene: dict[str, list[Any]]
    obs_by_day: dict[dt.date, list[Any]]
    log_sizes: dict[str, tuple[float, float, int]]  # kind -> (median, scaled MAD, n)
    trip_ids: set[str]
    claim_ids: set[str]
    watched: set[str]

    @classmethod
    def build(cls, store: Any, port: Any, p: FlagParams) -> _Context:
        observations = [o for o in store.observations(port.id) if o.status != "failed"]
        detections = store.detections(port.id)
        dets_by_scene: dict[str, list[Any]] = defaultdict(list)
        for d in detections:
            dets_by_scene[d.scene_id].append(d)
        obs_by_day: dict[dt.date, list[Any]] = defaultdict(list)
        for o in observations:
            if o.acquired_utc is not None:
                obs_by_day[o.acquired_utc.astimezone(dt.UTC).date()].append(o)
        trip_ids, claim_ids = _evidence(store)
        watched = set(p.watched_zones) or {z.id for z in port.zones_of("berth")}
        return cls(
            port=port,
            observations=observations,
            obs_by_scene={o.scene_id: o for o in observations},
            detections=detections,
            dets_by_scene=dict(dets_by_scene),
            obs_by_day=dict(obs_by_day),
            log_sizes=_size_stats(detections),
            trip_ids=trip_ids,
            claim_ids=claim_ids,
            watched=watched,
        )


def _evidence(store: Any) -> tuple[set[str], set[str]]:
    """Detection ids behind trips, and behind claim checks (through port calls and trips too)."""
    calls = {c.call_id: set(c.detection_ids) for c in store.port_calls()}
    trip_records = store.trips()
    trips = {t.trip_id: set(t.detection_ids) for t in trip_records}
    trip_ids: set[str] = set().union(*trips.values()) if trips else set()
    for t in trip_records:  # a trip's evidence is also its two port calls
        for cid in t.port_call_ids:
            trip_ids |= calls.get(cid, set())
    claim_ids: set[str] = set()
    for check in store.claims():
        for eid in check.evidence_ids:
            claim_ids |= calls.get(eid) or trips.get(eid) or {eid}
    return trip_ids, claim_ids


def _size(det: Any) -> float | None:
    value = det.length_m if det.kind == "vessel" else det.area_m2
    return float(value) if value is not None and value > 0 and math.isfinite(value) else None


def _size_stats(detections: Sequence[Any]) -> dict[str, tuple[float, float, int]]:
    out: dict[str, tuple[float, float, int]] = {}
    for kind in {d.kind for d in detections}:
        sizes = np.log([s for d in detections if d.kind == kind and (s := _size(d)) is not None])
        if sizes.size:
            med = float(np.median(sizes))
            out[kind] = (med, 1.4826 * float(np.median(np.abs(sizes - med))), int(sizes.size))
    return out


def _reasons(det: Any, obs: Any, ctx: _Context, p: FlagParams) -> tuple[str, ...]:
    found = set()
    if det.detection_id in ctx.claim_ids:
        found.add("claim_evidence")
    if det.detection_id in ctx.trip_ids:
        found.add("trip_evidence")
    if obs is not None and _disagrees(det, obs, ctx, p):
        found.add("sensor_disagreement")
    if det.score is not None and det.score < _threshold(obs, p) + p.score_margin:
        found.add("near_threshold")
    if det.zone in ctx.watched:
        found.add("watched_berth")
    if _unusual_size(det, ctx, p):
        found.add("unusual_size")
    return tuple(r for r in FLAG_REASONS if r in found)


def _unusual_size(det: Any, ctx: _Context, p: FlagParams) -> bool:
    if det.kind == "vessel":
        lo, hi = p.vessel_length_m
        if det.length_m is not None and not lo <= det.length_m <= hi:
            return True
        if det.length_m and det.width_m and det.width_m > 0:
            a_lo, a_hi = p.vessel_aspect
            if not a_lo <= det.length_m / det.width_m <= a_hi:
                return True
    elif det.area_m2 is not None and not p.stack_area_m2[0] <= det.area_m2 <= p.stack_area_m2[1]:
        return True
    size = _size(det)
    stats = ctx.log_sizes.get(det.kind)
    if size is None or stats is None or stats[2] < p.min_population or stats[1] <= 0:
        return False
    return abs(math.log(size) - stats[0]) / stats[1] > p.outlier_mad


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    # Equirectangular: exact enough within a port (errors << 1 m over a few km).
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * 111_320.0 * k, (lat2 - lat1) * 110_574.0)


def _disagrees(det: Any, obs: Any, ctx: _Context, p: FlagParams) -> bool:
    """True when another sensor saw this spot the same day and found nothing of the same kind."""
    if obs.acquired_utc is None:
        return False
    day = obs.acquired_utc.astimezone(dt.UTC).date()
    radius = max(p.match_radius_m, float(det.length_m or 0.0))
    for other in ctx.obs_by_day.get(day, []):
        if other.scene_id == obs.scene_id or other.sensor == obs.sensor:
            continue
        if other.footprint is not None and not shapely.contains_xy(
            other.footprint, det.lon, det.lat
        ):
            continue
        # zone_fraction falls back to the whole-AOI fraction for open water and unmeasured zones.
        if other.zone_fraction(det.zone) < p.min_zone_valid_fraction:
            continue  # cloud or no data there: not observed is not "nothing there"
        twins = [
            d
            for d in ctx.dets_by_scene.get(other.scene_id, [])
            if d.kind == det.kind and _distance_m(det.lon, det.lat, d.lon, d.lat) <= radius
        ]
        if not twins:
            return True
    return False


def _resolve_tile(tile_path: str, root: Path) -> Path | None:
    if not tile_path:
        return None
    path = Path(tile_path)
    for candidate in (path, root / path):
        if candidate.is_file():
            return candidate
    return None


def _reference_tiles(obs: Any, ctx: _Context, root: Path, limit: int) -> list[Path]:
    """The tiles of the reference median the detector used (recorded with the observation).

    Observations written before the store recorded them (schema 1) fall back to the earlier
    tiles of the same port and sensor, newest first, as the flow chose them.
    """
    if obs.reference_scene_ids:
        used = [ctx.obs_by_scene.get(scene_id) for scene_id in obs.reference_scene_ids]
        return [t for o in used if o is not None and (t := _resolve_tile(o.tile_path, root))]
    earlier = [
        o
        for o in ctx.observations
        if o.sensor == obs.sensor
        and o.scene_id != obs.scene_id
        and o.acquired_utc is not None
        and obs.acquired_utc is not None
        and o.acquired_utc < obs.acquired_utc
    ]
    earlier.sort(key=lambda o: o.acquired_utc, reverse=True)
    tiles = [t for o in earlier if (t := _resolve_tile(o.tile_path, root)) is not None]
    return tiles[:limit]


def _chips_for(
    det: Any,
    obs: Any,
    ctx: _Context,
    root: Path,
    chip_params: ChipParams | None,
    overwrite: bool,
    reasons: tuple[str, ...],
    p: FlagParams,
) -> Flag:
    cp = chip_params or ChipParams()
    rel = chip_paths(det.detection_id, det.port, det.scene_id, det.kind, det.index)
    flag = Flag(det.detection_id, det.port, reasons, _priority(det, obs, reasons, p))
    tile = _resolve_tile(obs.tile_path, root)
    if tile is None or det.geometry is None:
        logger.warning(
            "no tile for %s (%r): flagged without a chip", det.detection_id, obs.tile_path
        )
        return flag
    chip, ref, overview = (root / rel[k] for k in ("chip", "reference", "overview"))
    try:
        if overwrite or not chip.exists():
            refs = _reference_tiles(obs, ctx, root, cp.max_reference_scenes)
            ref.unlink(missing_ok=True)
            render_detection_chips(
                tile, geometry=det.geometry, chip_path=chip, reference_tile_paths=refs,
                reference_chip_path=ref, params=cp,
            )  # fmt: skip
        if overwrite or not overview.exists():
            render_overview(tile, out_path=overview)
    except ChipRenderError as err:
        logger.warning("chip of %s not drawn: %s", det.detection_id, err)
        return flag
    return dataclasses.replace(
        flag,
        chip_path=rel["chip"],
        reference_chip_path=rel["reference"] if ref.exists() else "",
        overview_path=rel["overview"],
    )


def _write_back(store: Any, ctx: _Context, updates: Mapping[str, Mapping[int, Any]]) -> None:
    for scene_id, changed in updates.items():
        obs = ctx.obs_by_scene.get(scene_id)
        if obs is None:  # detections of a failed scene cannot exist; nothing to re-write
            continue
        dets = [changed.get(id(d), d) for d in ctx.dets_by_scene[scene_id]]
        store.write_scene(obs, dets)
