"""The review app over HTTP (TestClient): sign-in, CSRF, escaping, chips, queue, decisions, API."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from geo.events import EventStore
from tests.review.conftest import REVIEW_TOKENS, make_test_client, sign_in


def _reviews(data: dict[str, Any], detection_id: str | None = None) -> list[Any]:
    with EventStore.open(data["store"], readonly=True) as store:
        return store.reviews(detection_id=detection_id)


def _detail(detection_id: str) -> str:
    return "/detections/" + quote(detection_id, safe=":")


def _bearer(name: str = "ana") -> dict[str, str]:
    return {"Authorization": f"Bearer {name}:{REVIEW_TOKENS[name]}"}


# --- sign-in -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/queue", "/queue?port=rajin", "/detections/x:rajin:vessel:0", "/chips/rajin/a.png"],
)
def test_pages_redirect_to_sign_in(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + quote(path, safe="")


@pytest.mark.parametrize(
    "path", ["/api/detections", "/api/detections/x:rajin:vessel:0", "/openapi.json"]
)
def test_api_needs_credentials(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert client.get(path, headers={"Authorization": "Bearer ana:wrong-token"}).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer ana"}).status_code == 401


def test_unauthenticated_posts_change_nothing(client: Any, review_data: dict[str, Any]) -> None:
    det = review_data["ids"]["berth_rajin"]
    r = client.post("/decide", data={"detection_id": det, "decision": "rejected"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = client.post("/api/decisions", json={"detection_id": det, "decision": "rejected"})
    assert r.status_code == 401
    assert _reviews(review_data) == []


def test_sign_in_sets_a_signed_strict_http_only_cookie(client: Any) -> None:
    form = client.get("/login?next=/queue%3Fport%3Ddunai")
    assert "samesite=strict" in form.headers["set-cookie"].lower()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {
        "name": "ana",
        "token": REVIEW_TOKENS["ana"],
        "csrf_token": csrf,
        "next": "/queue?port=dunai",
    }
    # Without the form's token (a cross-site login attempt): refused.
    assert client.post("/login", data={**data, "csrf_token": "forged"}).status_code == 403
    # A wrong token: 401, no session.
    bad = client.post("/login", data={**data, "token": "wrong-token"})
    assert bad.status_code == 401 and "Unknown name or wrong token" in bad.text
    assert "bw_session" not in client.cookies
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', bad.text).group(1)
    ok = client.post("/login", data={**data, "csrf_token": csrf})
    assert ok.status_code == 303 and ok.headers["location"] == "/queue?port=dunai"
    cookie = ok.headers["set-cookie"].lower()
    assert "bw_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/queue").status_code == 200
    # A tampered cookie is no session at all.
    value = client.cookies["bw_session"]
    client.cookies.set("bw_session", value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert client.get("/queue").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(client: Any, target: str) -> None:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post(
        "/login",
        data={"name": "ana", "token": REVIEW_TOKENS["ana"], "csrf_token": csrf, "next": target},
    )
    assert r.status_code == 303 and r.headers["location"] == "/queue"


def test_resetting_a_token_ends_its_sessions(client: Any, review_data: dict[str, Any]) -> None:
    from review.auth import add_user

    sign_in(client, "bob")
    assert client.get("/queue").status_code == 200
    add_user(review_data["root"], "bob", overwrite=True)
    assert client.get("/queue").status_code == 303


def test_sign_out(client: Any) -> None:
    csrf = sign_in(client)
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert client.get("/queue").status_code == 303


def test_repeated_failures_are_throttled(client: Any) -> None:
    for _ in range(10):
        assert (
            client.get(
                "/api/detections", headers={"Authorization": "Bearer bob:wrong-token"}
            ).status_code
            == 401
        )
    # Even the right token is refused for a while after ten failures for this name.
    assert client.get("/api/detections", headers=_bearer("bob")).status_code == 401
    assert client.get("/api/detections", headers=_bearer("ana")).status_code == 401  # same client


# --- CSRF and decisions --------------------------------------------------------------------------


def test_decision_form_needs_the_csrf_token(client: Any, review_data: dict[str, Any]) -> None:
    csrf = sign_in(client)
    det = review_data["ids"]["berth_rajin"]
    form = {"detection_id": det, "decision": "rejected", "label": "", "note": ""}
    assert client.post("/decide", data=form).status_code == 403
    assert client.post("/decide", data={**form, "csrf_token": "x" * len(csrf)}).status_code == 403
    cross = client.post(
        "/decide", data={**form, "csrf_token": csrf}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    assert _reviews(review_data) == []
    r = client.post(
        "/decide", data={**form, "csrf_token": csrf, "label": "cargo", "note": "moored"}
    )
    assert r.status_code == 303
    (review,) = _reviews(review_data)
    assert (review.detection_id, review.analyst, review.decision, review.label, review.note) == (
        det, "ana", "rejected", "cargo", "moored",
    )  # fmt: skip
    # Redirected to the next detection of the queue, filters kept.
    assert r.headers["location"].startswith("/detections/")


def test_bad_decisions_are_refused(client: Any, review_data: dict[str, Any]) -> None:
    csrf = sign_in(client)
    det = review_data["ids"]["berth_rajin"]
    base = {"detection_id": det, "decision": "rejected", "csrf_token": csrf}
    assert client.post("/decide", data={**base, "decision": "maybe"}).status_code == 400
    assert client.post("/decide", data={**base, "label": "submarine"}).status_code == 400
    assert (
        client.post("/decide", data={**base, "detection_id": "nope:rajin:vessel:0"}).status_code
        == 404
    )
    assert client.post("/decide", data={**base, "note": "x" * 2001}).status_code == 422
    assert _reviews(review_data) == []


def test_api_decisions_csrf_and_bearer(client: Any, review_data: dict[str, Any]) -> None:
    det = review_data["ids"]["weak_rajin"]
    body = {"detection_id": det, "decision": "confirmed", "label": "tanker"}
    csrf = sign_in(client)
    assert client.post("/api/decisions", json=body).status_code == 403  # cookie without token
    assert (
        client.post("/api/decisions", json=body, headers={"X-CSRF-Token": "bad"}).status_code == 403
    )
    r = client.post("/api/decisions", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["analyst"] == "ana"
    # A tool with a bearer token needs no CSRF token (no ambient credentials).
    client.cookies.clear()
    r = client.post("/api/decisions", json={**body, "decision": "unsure"}, headers=_bearer("bob"))
    assert r.status_code == 201 and r.json()["analyst"] == "bob"
    r = client.post("/api/decisions", json={**body, "decision": "sunk"}, headers=_bearer("bob"))
    assert r.status_code == 422
    r = client.post("/api/decisions", json={**body, "detection_id": "nope"}, headers=_bearer("bob"))
    assert r.status_code == 404
    assert [(x.analyst, x.decision) for x in _reviews(review_data, det)] == [
        ("ana", "confirmed"), ("bob", "unsure"),
    ]  # fmt: skip


def test_two_analysts_on_one_detection_both_stay_in_the_audit_trail(
    client: Any, review_data: dict[str, Any]
) -> None:
    det = review_data["ids"]["berth_dunai"]
    for name, decision in (("ana", "confirmed"), ("bob", "rejected")):
        csrf = sign_in(client, name)
        r = client.post(
            "/decide", data={"detection_id": det, "decision": decision, "csrf_token": csrf}
        )
        assert r.status_code == 303
    trail = _reviews(review_data, det)
    assert [(r.analyst, r.decision) for r in trail] == [("ana", "confirmed"), ("bob", "rejected")]
    assert trail[0].decided_utc <= trail[1].decided_utc
    page = client.get(_detail(det)).text
    assert page.count('class="decision decision-') >= 3  # current + two history rows
    assert re.search(r"<td>ana</td>.*<td>bob</td>", page, re.S)
    with EventStore.open(review_data["store"], readonly=True) as store:
        assert det in store.rejected_detection_ids()  # the latest decision wins


def test_a_script_note_is_shown_as_text(client: Any, review_data: dict[str, Any]) -> None:
    csrf = sign_in(client)
    det = review_data["ids"]["speck_rajin"]
    note = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(
        "/decide",
        data={"detection_id": det, "decision": "unsure", "note": note, "csrf_token": csrf},
    )
    page = client.get(_detail(det)).text
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    )
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "script-src 'self'" in client.get(_detail(det)).headers["content-security-policy"]
    # The API returns it as data (JSON), unchanged.
    api = client.get("/api/detections/" + quote(det, safe=":")).json()
    assert api["reviews"][0]["note"] == note


# --- chips ---------------------------------------------------------------------------------------


def test_chips_are_served_only_from_the_chips_folder(
    client: Any, review_data: dict[str, Any]
) -> None:
    sign_in(client)
    flag = review_data["flags"][0]
    ok = client.get("/chips/" + flag.chip_path.removeprefix("chips/"))
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert ok.content[:8] == b"\x89PNG\r\n\x1a\n"
    for path in (
        "/chips/..%2Freview-secret",
        "/chips/..%2F..%2F..%2Fetc%2Fpasswd",
        "/chips/%2E%2E/events.gpkg",
        "/chips/rajin/..%2F..%2Freview-users.json",
        "/chips/%2Fetc%2Fpasswd",
    ):
        r = client.get(path)
        assert r.status_code == 403, path
        assert b"scrypt" not in r.content and b"root:" not in r.content
    # A symlink planted inside chips/ that points outside is refused too.
    os.symlink(
        review_data["root"] / "review-users.json", review_data["root"] / "chips" / "evil.png"
    )
    assert client.get("/chips/evil.png").status_code == 403
    assert client.get("/chips/rajin/missing.png").status_code == 404


# --- pages and API -------------------------------------------------------------------------------


def test_queue_counts_filters_and_order(client: Any, review_data: dict[str, Any]) -> None:
    csrf = sign_in(client)
    ids = review_data["ids"]
    page = client.get("/queue").text
    assert re.search(r"<strong>4</strong> pending", page) and re.search(
        r"<strong>0</strong> decided", page
    )
    order = re.findall(r'class="open" href="[^"]+">([^<]+)</a>', page)
    assert order[0] == ids["weak_rajin"] and len(order) == 4
    assert "SIMULATED" in page
    client.post(
        "/decide",
        data={"detection_id": ids["weak_rajin"], "decision": "rejected", "csrf_token": csrf},
    )
    page = client.get("/queue").text
    assert re.search(r"<strong>3</strong> pending", page) and re.search(
        r"<strong>1</strong> decided", page
    )
    assert ids["weak_rajin"] not in page
    decided = client.get("/queue?status=decided").text
    assert ids["weak_rajin"] in decided and "decision-rejected" in decided
    dunai = client.get("/queue?port=dunai&status=all").text
    assert re.findall(r'class="open" href="[^"]+">([^<]+)</a>', dunai) == [ids["berth_dunai"]]
    size = client.get("/queue?reason=unusual_size").text
    assert re.findall(r'class="open" href="[^"]+">([^<]+)</a>', size) == [ids["speck_rajin"]]
    assert client.get("/queue?day=2023-09-03&status=all").text.count('class="open"') == 1
    assert client.get("/queue?reason=bogus").status_code == 400
    assert client.get("/queue?day=yesterday").status_code == 400


def test_detail_page(client: Any, review_data: dict[str, Any]) -> None:
    sign_in(client)
    det = review_data["ids"]["berth_rajin"]
    page = client.get(_detail(det)).text
    for img in re.findall(r'<img id="(?:chip|reference-chip)" src="([^"]+)"', page):
        assert client.get(img).status_code == 200
    assert len(re.findall(r'<img id="(?:chip|reference-chip)"', page)) == 2
    overview = re.search(r'<image href="([^"]+)"', page).group(1)
    assert client.get(overview).status_code == 200
    assert '<circle class="marker"' in page
    assert "sensor disagreement" in page and "watched berth" in page
    assert 'data-next="/detections/' in page and 'data-prev="/detections/' in page
    assert client.get(_detail("nope:rajin:vessel:9")).status_code == 404
    # Provenance: the run, the reference the detector used and its settings are on the page.
    scenes = review_data["scenes"]
    assert re.search(r'id="run-id">test-run<', page)
    assert (
        f'id="reference-scenes">median of 2 earlier scenes: '
        f"{scenes['rajin_ref1']}, {scenes['rajin_ref2']}<" in page
    )
    assert (
        '"pfa_exponent": 8.0' in page and "detect_sar_vessels and measure_container_stacks" in page
    )
    assert "Reference the detector used: median of 2 earlier scenes" in page
    older = client.get(_detail(review_data["ids"]["berth_dunai"])).text
    assert 'id="run-id">not recorded (store older than schema 2)<' in older
    assert 'id="reference-scenes">not recorded<' in older


def test_json_api(client: Any, review_data: dict[str, Any]) -> None:
    h = _bearer()
    listing = client.get("/api/detections?status=all&limit=2", headers=h).json()
    assert listing["counts"] == {"pending": 4, "decided": 0, "total": 4}
    assert listing["total"] == 4 and len(listing["items"]) == 2
    assert listing["items"][0]["reasons"] == ["sensor_disagreement", "near_threshold"]
    assert client.get("/api/detections?port=dunai", headers=h).json()["total"] == 1
    assert client.get("/api/detections?status=bogus", headers=h).status_code == 422
    det = review_data["ids"]["berth_rajin"]
    detail = client.get("/api/detections/" + quote(det, safe=":"), headers=h).json()
    assert detail["detection"]["detection_id"] == det
    assert detail["detection"]["geometry"]["type"] == "Polygon"
    assert detail["observation"]["sensor"] == "sar"
    assert 0 < detail["position"][0] < 1 and 0 < detail["position"][1] < 1
    spec = client.get("/openapi.json", headers=h).json()
    assert {"/api/detections", "/api/detections/{detection_id}", "/api/decisions"} <= set(
        spec["paths"]
    )
    assert client.get("/docs", headers=h).status_code == 404
    assert client.get("/redoc", headers=h).status_code == 404


def test_pages_load_nothing_from_elsewhere(client: Any, review_data: dict[str, Any]) -> None:
    sign_in(client)
    det = review_data["ids"]["berth_rajin"]
    pages = [client.get("/login").text, client.get("/queue").text, client.get(_detail(det)).text]
    pages += [client.get("/static/review.js").text, client.get("/static/review.css").text]
    for text in pages:
        assert not re.search(r"(src|href)=\"(https?:)?//", text)
        assert "cdn" not in text.lower() and "@import" not in text


def test_store_missing(tmp_path: Path) -> None:
    from review.app import create_app
    from review.auth import add_user

    add_user(tmp_path, "ana", password=REVIEW_TOKENS["ana"])
    with make_test_client(create_app(tmp_path)) as c:
        r = c.get("/api/detections", headers=_bearer())
        assert r.status_code == 503 and "No event store" in r.json()["detail"]


def test_review_summary_counts_latest_decisions(client: Any, review_data: dict[str, Any]) -> None:
    from review.queue import summarize_reviews

    ids = review_data["ids"]
    for det, name, decision in (
        (ids["berth_dunai"], "ana", "confirmed"),
        (ids["berth_dunai"], "bob", "rejected"),
        (ids["weak_rajin"], "ana", "unsure"),
    ):
        headers = {"Authorization": f"Bearer {name}:{REVIEW_TOKENS[name]}"}
        r = client.post(
            "/api/decisions", json={"detection_id": det, "decision": decision}, headers=headers
        )
        assert r.status_code == 201
    with EventStore.open(review_data["store"], readonly=True) as store:
        everything = summarize_reviews(store)
        rajin = summarize_reviews(store, "rajin")
    assert (
        everything.n_detections,
        everything.n_flagged,
        everything.n_reviewed,
        everything.n_reviews,
    ) == (4, 4, 2, 3)
    assert dict(everything.by_decision) == {"confirmed": 0, "rejected": 1, "unsure": 1}
    assert (rajin.n_detections, rajin.n_reviewed, dict(rajin.by_decision)) == (
        3,
        1,
        {"confirmed": 0, "rejected": 0, "unsure": 1},
    )
