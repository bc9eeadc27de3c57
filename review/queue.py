"""The review queue over the event store: what is flagged, what was decided, and one detection's file.

Everything here reads and writes the store only through :class:`geo.events.EventStore`'s public
methods. A detection is *pending* until it has a review, *decided* afterwards; the latest review
is its current decision (the full history stays in the append-only ``reviews`` layer).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely.geometry
from PIL import Image

from review.chips import tile_position
from review.errors import ChipRenderError, DecisionError, UnknownDetectionError
from review.flagging import (
    FLAG_REASONS,
    FlagParams,
    _resolve_tile,
    chip_paths,
    flag_priority,
    flag_reasons,
)

__all__ = [
    "DECISIONS",
    "LABELS",
    "MAX_NOTE_CHARS",
    "STATUSES",
    "DetectionDetail",
    "QueueCounts",
    "QueueFilter",
    "QueueItem",
    "ReviewSummary",
    "detail_to_json",
    "item_to_json",
    "load_detail",
    "load_queue",
    "neighbours",
    "record_decision",
    "summarize_reviews",
]

#: Decisions an analyst can make: the store's vocabulary (``rejected`` drops a detection from
#: port calls, trips and claim checks at the next update).
DECISIONS = ("confirmed", "rejected", "unsure")
#: Optional vessel labels.
LABELS = ("cargo", "tanker", "naval", "other")
#: Queue status filters.
STATUSES = ("pending", "decided", "all")
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class QueueFilter:
    """Queue filters; ``None`` means any. ``day`` is a UTC acquisition date."""

    port: str | None = None
    day: dt.date | None = None
    reason: str | None = None
    status: str = "pending"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise DecisionError(
                f"status must be one of {', '.join(STATUSES)}. Got {self.status!r}."
            )
        if self.reason is not None and self.reason not in FLAG_REASONS:
            raise DecisionError(
                f"reason must be one of {', '.join(FLAG_REASONS)}. Got {self.reason!r}."
            )


@dataclass(frozen=True)
class QueueItem:
    """One flagged detection as the queue shows it."""

    detection_id: str
    port: str
    scene_id: str
    kind: str
    index: int
    zone: str
    acquired_utc: dt.datetime | None
    sensor: str
    length_m: float | None
    width_m: float | None
    score: float | None
    reasons: tuple[str, ...]
    priority: float
    chip_path: str
    status: str
    decision: str
    analyst: str
    n_reviews: int
    simulated: bool


@dataclass(frozen=True)
class QueueCounts:
    """Flagged detections matching the port/day/reason filters, by status."""

    pending: int
    decided: int

    @property
    def total(self) -> int:
        """All flagged detections matching the filters."""
        return self.pending + self.decided


@dataclass(frozen=True)
class DetectionDetail:
    """Everything the detail page shows about one detection."""

    item: QueueItem
    detection: Any
    observation: Any
    reference_chip_path: str
    overview_path: str
    overview_size: tuple[int, int] | None  # (width, height) in pixels
    position: tuple[float, float] | None  # (row, col) fractions of the tile
    port_calls: tuple[Any, ...]
    trips: tuple[Any, ...]
    claims: tuple[Any, ...]
    reviews: tuple[Any, ...]


def _sensors(store: Any, port: str | None) -> dict[tuple[str, str], Any]:
    return {(o.scene_id, o.port): o for o in store.observations(port)}


def _reviews_by_detection(store: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for r in store.reviews():
        out[r.detection_id].append(r)
    return out


def _item(det: Any, obs: Any, reviews: Sequence[Any], params: FlagParams) -> QueueItem:
    reasons = flag_reasons(det.flags)
    sensor = obs.sensor if obs is not None else ""
    threshold = params.score_thresholds_by_sensor.get(sensor, params.score_threshold)
    last = reviews[-1] if reviews else None
    return QueueItem(
        detection_id=det.detection_id,
        port=det.port,
        scene_id=det.scene_id,
        kind=det.kind,
        index=det.index,
        zone=det.zone,
        acquired_utc=det.acquired_utc,
        sensor=sensor,
        length_m=det.length_m,
        width_m=det.width_m,
        score=det.score,
        reasons=reasons,
        priority=flag_priority(
            reasons, score=det.score, threshold=threshold, margin=params.score_margin
        ),
        chip_path=det.chip_path,
        status="decided" if last is not None else "pending",
        decision=last.decision if last is not None else "",
        analyst=last.analyst if last is not None else "",
        n_reviews=len(reviews),
        simulated=bool(det.simulated),
    )


def load_queue(
    store: Any, flt: QueueFilter | None = None, *, params: FlagParams | None = None
) -> tuple[list[QueueItem], QueueCounts]:
    """Return the flagged detections matching *flt*, highest priority first, and the counts.

    The counts cover the port, day and reason filters but not the status filter, so the page can
    say "12 pending, 30 decided" whichever status is shown.
    """
    f = flt or QueueFilter()
    p = params or FlagParams()
    obs = _sensors(store, f.port)
    reviews = _reviews_by_detection(store)
    items = []
    for det in store.detections(f.port, f.day, f.day):
        reasons = flag_reasons(det.flags)
        if not reasons or (f.reason is not None and f.reason not in reasons):
            continue
        items.append(
            _item(det, obs.get((det.scene_id, det.port)), reviews.get(det.detection_id, []), p)
        )
    counts = QueueCounts(
        pending=sum(i.status == "pending" for i in items),
        decided=sum(i.status == "decided" for i in items),
    )
    if f.status != "all":
        items = [i for i in items if i.status == f.status]
    items.sort(
        key=lambda i: (
            -i.priority,
            i.acquired_utc or dt.datetime.min.replace(tzinfo=dt.UTC),
            i.detection_id,
        )
    )
    return items, counts


def neighbours(items: Sequence[QueueItem], detection_id: str) -> tuple[str | None, str | None]:
    """Return the ids before and after *detection_id* in the queue (None at the ends or if absent)."""
    ids = [i.detection_id for i in items]
    if detection_id not in ids:
        return None, (ids[0] if ids else None)
    k = ids.index(detection_id)
    return (ids[k - 1] if k > 0 else None), (ids[k + 1] if k + 1 < len(ids) else None)


def load_detail(
    store: Any, detection_id: str, *, data_dir: Path, params: FlagParams | None = None
) -> DetectionDetail:
    """Return one detection with its scene, chips, position, the evidence it supports and its reviews.

    Raises
    ------
    UnknownDetectionError
        No detection has this id.
    """
    det = store.detection(detection_id)
    if det is None:
        raise UnknownDetectionError(
            f"No detection {detection_id!r} in the store; pick one from the queue."
        )
    obs = _sensors(store, det.port).get((det.scene_id, det.port))
    reviews = store.reviews(detection_id=detection_id)
    rel = chip_paths(det.detection_id, det.port, det.scene_id, det.kind, det.index)
    root = Path(data_dir)
    calls = tuple(c for c in store.port_calls(det.port) if detection_id in c.detection_ids)
    call_ids = {c.call_id for c in calls}
    trips = tuple(
        t for t in store.trips()
        if detection_id in t.detection_ids or call_ids & set(t.port_call_ids)
    )  # fmt: skip
    linked = {detection_id} | call_ids | {t.trip_id for t in trips}
    claims = tuple(c for c in store.claims() if linked & set(c.evidence_ids))
    return DetectionDetail(
        item=_item(det, obs, reviews, params or FlagParams()),
        detection=det,
        observation=obs,
        reference_chip_path=rel["reference"] if (root / rel["reference"]).is_file() else "",
        overview_path=rel["overview"] if (root / rel["overview"]).is_file() else "",
        overview_size=_png_size(root / rel["overview"]),
        position=_position(obs, det, root),
        port_calls=calls,
        trips=trips,
        claims=claims,
        reviews=tuple(reviews),
    )


def _png_size(path: Path) -> tuple[int, int] | None:
    if not path.is_file():
        return None
    try:
        with Image.open(path) as img:  # reads the header only
            return int(img.width), int(img.height)
    except OSError:
        return None


def _position(obs: Any, det: Any, root: Path) -> tuple[float, float] | None:
    tile = _resolve_tile(obs.tile_path, root) if obs is not None else None
    if tile is None or det.geometry is None:
        return None
    try:
        return tile_position(tile, det.geometry)
    except ChipRenderError:
        return None


def record_decision(
    store: Any, detection_id: str, *, analyst: str, decision: str, label: str = "", note: str = ""
) -> Any:
    """Append one decision to the store's ``reviews`` (never overwriting) and return the record.

    Raises
    ------
    DecisionError
        A decision not in :data:`DECISIONS`, a label not in :data:`LABELS`, or a note longer
        than :data:`MAX_NOTE_CHARS`.
    UnknownDetectionError
        No detection has this id.
    """
    if decision not in DECISIONS:
        raise DecisionError(f"decision must be one of {', '.join(DECISIONS)}. Got {decision!r}.")
    if label and label not in LABELS:
        raise DecisionError(f"label must be empty or one of {', '.join(LABELS)}. Got {label!r}.")
    if len(note) > MAX_NOTE_CHARS:
        raise DecisionError(f"note must have at most {MAX_NOTE_CHARS} characters. Got {len(note)}.")
    if store.detection(detection_id) is None:
        raise UnknownDetectionError(
            f"No detection {detection_id!r} in the store; pick one from the queue."
        )
    return store.append_review(detection_id, analyst, decision, label, note)


@dataclass(frozen=True)
class ReviewSummary:
    """How much analysts reviewed: flagged detections, those with a decision, and the latest decisions.

    ``n_reviewed`` counts detections with at least one review (flagged or not); ``by_decision``
    counts them by their latest decision; ``n_reviews`` counts every decision (audit trail rows).
    """

    n_detections: int
    n_flagged: int
    n_reviewed: int
    n_reviews: int
    by_decision: Mapping[str, int]


def summarize_reviews(
    store: Any,
    port: str | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
) -> ReviewSummary:
    """Count the reviewed detections of a port and period (for reports: "n detections reviewed")."""
    dets = store.detections(port, since, until)
    ids = {d.detection_id for d in dets}
    reviews = {k: v for k, v in _reviews_by_detection(store).items() if k in ids}
    latest: dict[str, int] = {d: 0 for d in DECISIONS}
    for trail in reviews.values():
        latest[trail[-1].decision] = latest.get(trail[-1].decision, 0) + 1
    return ReviewSummary(
        n_detections=len(dets),
        n_flagged=sum(bool(flag_reasons(d.flags)) for d in dets),
        n_reviewed=len(reviews),
        n_reviews=sum(len(v) for v in reviews.values()),
        by_decision=latest,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "geom_type"):
        return shapely.geometry.mapping(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _record(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    out = {f.name: _jsonable(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if hasattr(record, "detection_id") and "detection_id" not in out:
        out["detection_id"] = record.detection_id
    return out


def item_to_json(item: QueueItem) -> dict[str, Any]:
    """A queue item as JSON-ready data (times ISO 8601 UTC)."""
    return _record(item) or {}


def detail_to_json(d: DetectionDetail) -> dict[str, Any]:
    """A detection's detail as JSON-ready data (geometries as GeoJSON)."""
    return {
        "item": item_to_json(d.item),
        "detection": _record(d.detection),
        "observation": _record(d.observation),
        "chip_path": d.item.chip_path,
        "reference_chip_path": d.reference_chip_path,
        "overview_path": d.overview_path,
        "overview_size": list(d.overview_size) if d.overview_size is not None else None,
        "position": list(d.position) if d.position is not None else None,
        "port_calls": [_record(c) for c in d.port_calls],
        "trips": [_record(t) for t in d.trips],
        "claims": [_record(c) for c in d.claims],
        "reviews": [_record(r) for r in d.reviews],
    }
