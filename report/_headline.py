"""The headline: three sentences generated from the store, each number with its coverage.

Every sentence carries the ids behind its numbers (port calls, trips, claims, observations,
detections), shown in a collapsible evidence list under the headline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from geo.events import DetectionRecord, ObservationRecord
from report._coverage import observed_days, usable, visible_zones, zone_visible
from report._data import PortData, observation_id

__all__ = ["Evidence", "Sentence", "YardTotal", "build_headline", "yard_totals"]


@dataclass(frozen=True)
class Evidence:
    """A labelled list of ids (observation, detection, port call, trip or claim ids)."""

    label: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    """One headline sentence: text parts (``is_number`` marks the numbers) and its evidence."""

    topic: str
    parts: tuple[tuple[str, bool], ...]
    evidence: tuple[Evidence, ...]

    @property
    def text(self) -> str:
        """The plain text of the sentence."""
        return "".join(t for t, _ in self.parts)

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numbers of the sentence, as printed."""
        return tuple(t for t, num in self.parts if num)


@dataclass
class _Builder:
    topic: str
    parts: list[tuple[str, bool]] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    def t(self, text: str) -> _Builder:
        self.parts.append((text, False))
        return self

    def n(self, value: float | int | str) -> _Builder:
        self.parts.append((value if isinstance(value, str) else _fmt(value), True))
        return self

    def ev(self, label: str, ids: Sequence[str]) -> None:
        self.evidence.append(Evidence(label, tuple(dict.fromkeys(ids))))

    def done(self) -> Sentence:
        return Sentence(self.topic, tuple(self.parts), tuple(self.evidence))


def _fmt(value: float | int) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
    return f"{int(round(value)):,}"


def _signed(value: float) -> str:
    v = int(round(value))
    return f"+{v:,}" if v > 0 else (f"−{abs(v):,}" if v < 0 else "0")


def _day(t: dt.datetime | None) -> str:
    return f"{t:%d %b %Y}" if t else "unknown date"


def build_headline(data: PortData) -> list[Sentence]:
    """Return the three headline sentences: port calls; trips; containers and claims."""
    return [_port_calls(data), _trips(data), _containers_and_claims(data)]


def _coverage(b: _Builder, data: PortData) -> list[ObservationRecord]:
    days = observed_days(data.observations)
    berth_obs = [o for o in data.observations if visible_zones(o, data.port, "berth")]
    b.t(" (observed ").n(len(days)).t(" of ").n(data.period.n_days).t(" days; berths visible in ")
    b.n(len(berth_obs)).t(" of ").n(len(data.observations)).t(" observations)")
    return berth_obs


def _port_calls(data: PortData) -> Sentence:
    b = _Builder("port calls")
    kinds = {z.id: z.kind for z in data.port.zones}
    calls = [c for c in data.port_calls if kinds.get(c.berth) == "berth"]
    anchored = [c for c in data.port_calls if kinds.get(c.berth) != "berth"]
    name = data.port.name
    if not data.observations:
        b.t("No observation of ").t(name).t(" in the period, so no port call can be seen")
    elif not any(usable(o) for o in data.observations):
        b.t("Nothing of ").t(name).t(" could be seen in the period (every observation failed or ")
        b.t("was blind), so no port call can be seen")
    elif not calls:
        b.t("No port call seen at ").t(name).t(" (calls between observations are missed)")
    else:
        b.n(len(calls)).t(" port call" + ("s" if len(calls) != 1 else "") + " seen at ").t(name)
        berths = sorted({c.berth for c in calls})
        lengths = [c.length_m for c in calls]
        b.t(" at ").n(len(berths)).t(" berth" + ("s" if len(berths) != 1 else ""))
        b.t(", vessels ").n(min(lengths)).t("–").n(max(lengths)).t(" m long")
    if anchored:
        b.t(", and ").n(len(anchored)).t(" stay" + ("s" if len(anchored) != 1 else ""))
        b.t(" at anchor")
    berth_obs = _coverage(b, data)
    b.t(".")
    b.ev("port calls at berths", [c.call_id for c in calls])
    b.ev("detections behind the port calls", [d for c in calls for d in c.detection_ids])
    if anchored:
        b.ev("stays at anchor", [c.call_id for c in anchored])
        b.ev(
            "detections behind the stays at anchor", [d for c in anchored for d in c.detection_ids]
        )
    b.ev("observations with berths visible", [observation_id(o) for o in berth_obs])
    return b.done()


def _trips(data: PortData) -> Sentence:
    b = _Builder("trips")
    port = data.port
    trips = data.trips
    leaving = [t for t in trips if t.from_port == port.id]
    arriving = [t for t in trips if t.to_port == port.id]
    if trips:
        b.n(len(trips)).t(" trip" + ("s" if len(trips) != 1 else "") + " inferred to or from ")
        b.t(port.name).t(" (").n(len(leaving)).t(" leaving, ").n(len(arriving)).t(" arriving; ")
        conf = [t.confidence for t in trips]
        b.t("confidence ").n(f"{min(conf):.2f}").t("–").n(f"{max(conf):.2f}").t(")")
        b.t(", an observed lower bound since both ends of a trip must be seen")
    else:
        b.t("No trip to or from ").t(port.name).t(" inferred")
        b.t(", which is not evidence of none: both ends of a trip must be seen")
    own = [o for o in data.observations if visible_zones(o, port, "berth")]
    b.t(" (berths visible in ").n(len(own)).t(" of ").n(len(data.observations))
    b.t(f" {port.name} observations")
    other_ids: list[str] = []
    for other, obs in data.other_observations.items():
        vis = [o for o in obs if visible_zones(o, data.other_ports[other], "berth")]
        other_ids += [observation_id(o) for o in vis]
        b.t(", ").n(len(vis)).t(" of ").n(len(obs)).t(
            f" {data.other_ports[other].name} observations"
        )
    b.t(").")
    b.ev("trips", [t.trip_id for t in trips])
    b.ev("port calls linked", [c for t in trips for c in t.port_call_ids])
    b.ev("detections behind the trips", [d for t in trips for d in t.detection_ids])
    b.ev("scenes behind the trips", [s for t in trips for s in t.scene_ids])
    b.ev(
        "observations with berths visible (both ports)",
        [observation_id(o) for o in own] + other_ids,
    )
    return b.done()


@dataclass(frozen=True)
class YardTotal:
    """Container stacks in the port's yards in one observation where every yard was visible."""

    observation: ObservationRecord
    area_m2: float
    teu_low: float
    teu_central: float
    teu_high: float
    detection_ids: tuple[str, ...]


def yard_totals(data: PortData) -> list[YardTotal]:
    """Totals over the yards for each observation in which all of the port's yards were visible."""
    yards = [z.id for z in data.port.zones_of("yard")]
    by_scene: dict[str, list[DetectionRecord]] = {}
    for d in data.kept_detections:
        if d.kind == "container_stack" and d.zone in yards:
            by_scene.setdefault(d.scene_id, []).append(d)
    out = []
    for obs in data.observations:
        if not yards or not all(zone_visible(obs, y) for y in yards):
            continue
        dets = by_scene.get(obs.scene_id, [])
        out.append(
            YardTotal(
                observation=obs,
                area_m2=sum(d.area_m2 or 0.0 for d in dets),
                teu_low=sum(d.teu_low or 0.0 for d in dets),
                teu_central=sum(d.teu_central or 0.0 for d in dets),
                teu_high=sum(d.teu_high or 0.0 for d in dets),
                detection_ids=tuple(d.detection_id for d in dets),
            )
        )
    return out


def _containers_and_claims(data: PortData) -> Sentence:
    b = _Builder("containers and claims")
    yards = data.port.zones_of("yard")
    totals = yard_totals(data)
    n_obs = len(data.observations)
    if not yards:
        b.t(data.port.name).t(" has no container yard zone, so no containers are estimated")
    elif not totals:
        b.t("The container yard was visible in ").n(0).t(" of ").n(n_obs)
        b.t(" observations, so containers cannot be estimated")
    elif len(totals) == 1:
        t = totals[0]
        b.t("The container yard was visible in only ").n(1).t(" of ").n(n_obs)
        b.t(" observations (").t(_day(t.observation.acquired_utc)).t(": ").n(t.teu_central)
        b.t(" TEU, ").n(t.teu_low).t("–").n(t.teu_high).t("), so no change can be measured")
    else:
        first, last = totals[0], totals[-1]
        b.t("The container yard held ").n(first.teu_central).t(" TEU (").n(first.teu_low).t("–")
        b.n(first.teu_high).t(") on ").t(_day(first.observation.acquired_utc)).t(" and ")
        b.n(last.teu_central).t(" TEU (").n(last.teu_low).t("–").n(last.teu_high).t(") on ")
        b.t(_day(last.observation.acquired_utc)).t(", a change of ")
        b.n(_signed(last.teu_central - first.teu_central)).t(" TEU (between ")
        b.n(_signed(last.teu_low - first.teu_high)).t(" and ")
        b.n(_signed(last.teu_high - first.teu_low)).t("; yard visible in ").n(len(totals))
        b.t(" of ").n(n_obs).t(" observations)")
    claims = data.claims
    if claims:
        verdicts = [c.verdict for c in claims]
        b.t("; of ").n(len(claims)).t(" published claim" + ("s" if len(claims) != 1 else ""))
        b.t(" checked, ").n(verdicts.count("consistent")).t(" consistent, ")
        b.n(verdicts.count("inconsistent")).t(" inconsistent and ")
        b.n(verdicts.count("cannot be assessed")).t(" cannot be assessed with this coverage.")
    else:
        b.t("; no published claim about ").t(data.port.name).t(" covers this period.")
    ends = [totals[0], totals[-1]] if totals else []
    b.ev("observations with the yard visible", [observation_id(t.observation) for t in totals])
    b.ev("container stacks at the first and last", [d for t in ends for d in t.detection_ids])
    b.ev("claim checks", [f"{c.claim_id}@{c.run_id}" for c in claims])
    b.ev("evidence of the claim checks", [i for c in claims for i in c.evidence_ids])
    return b.done()
