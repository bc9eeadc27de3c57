"""Analysts' decisions change what berthwatch infers: a rejected detection leaves trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from geo.events import EventStore
from review.app import create_app
from tests.factories import review_build_store
from tests.review.conftest import REVIEW_TOKENS, make_test_client


def _claims_available() -> bool:
    import geo.claims

    return hasattr(geo.claims, "check_claims")


pytestmark = pytest.mark.skipif(
    not _claims_available(),
    reason="geo.claims.check_claims (used by update_inferences) not written yet",
)


def _decide(client: Any, detection_id: str, decision: str, name: str) -> None:
    headers = {"Authorization": f"Bearer {name}:{REVIEW_TOKENS[name]}"}
    r = client.post(
        "/api/decisions", json={"detection_id": detection_id, "decision": decision}, headers=headers
    )
    assert r.status_code == 201, r.text


def test_rejecting_trip_evidence_changes_the_trip_count(tmp_path: Path) -> None:
    from review.auth import add_user

    built = review_build_store(tmp_path, inferences=True)
    ids, ports = built["ids"], built["ports"]
    for name, token in REVIEW_TOKENS.items():
        add_user(tmp_path, name, password=token)
    with EventStore.open(built["store"], readonly=True) as store:
        (trip,) = store.trips()
        assert set(trip.detection_ids) == {ids["berth_rajin"], ids["berth_dunai"]}
    counts = []
    with make_test_client(create_app(tmp_path)) as client:
        detail = client.get(
            "/api/detections/" + quote(ids["berth_dunai"], safe=":"),
            headers={"Authorization": f"Bearer ana:{REVIEW_TOKENS['ana']}"},
        ).json()
        assert [t["trip_id"] for t in detail["trips"]] == [
            trip.trip_id
        ]  # the page shows what it supports
        for name, decision in (("ana", "unsure"), ("ana", "rejected"), ("bob", "confirmed")):
            _decide(client, ids["berth_dunai"], decision, name)
            with EventStore.open(built["store"]) as store:
                before = len(store.trips())
                store.update_inferences(ports)
                counts.append((before, len(store.trips()), len(store.port_calls(port="dunai"))))
    # unsure changes nothing; rejected removes the Dunai port call and the trip at the next
    # update; a later confirmation by another analyst (the latest decision wins) brings it back.
    assert counts == [(1, 1, 1), (1, 0, 0), (0, 1, 1)]
    with EventStore.open(built["store"], readonly=True) as store:
        assert [r.decision for r in store.reviews(detection_id=ids["berth_dunai"])] == [
            "unsure", "rejected", "confirmed",
        ]  # fmt: skip
