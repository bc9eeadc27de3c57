"""End to end in a real browser: Debian's Chromium driven by Playwright against ``berthwatch review``.

One server (the real CLI, in a subprocess on a free 127.0.0.1 port) and one browser per module.
Screenshots of the queue and of a detail page are saved in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geo.events import EventStore
from geo.settings import REPO_ROOT
from report import CHROMIUM_ARGS
from tests.review.conftest import REVIEW_TOKENS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium"),
]

ARTIFACTS = REPO_ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    review_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """``berthwatch review --data-dir <copy> --port <free>`` running in a subprocess."""
    root = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(review_template["root"], root)
    port = _free_port()
    log = (root.parent / "server.log").open("w")
    env = {**os.environ, "BERTHWATCH_HOME": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows", "review", "--data-dir", str(root), "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    f"review server did not start:\n{(root.parent / 'server.log').read_text()}"
                )
            time.sleep(0.2)
        yield {**review_template, "root": root, "store": root / "events.gpkg", "base": base}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=list(CHROMIUM_ARGS))
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(15_000)
    requests: list[str] = []
    p.on("request", lambda req: requests.append(req.url))
    p.requests = requests
    try:
        yield p
    finally:
        context.close()


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/queue")
    assert "/login?next=" in page.url
    page.fill("#name", "ana")
    page.fill("#token", REVIEW_TOKENS["ana"])
    with page.expect_navigation():
        page.click("#sign-in")
    assert page.url == f"{base}/queue", page.content()[:2000]


def _wait_until(page: Any, expression: str, timeout_s: float = 15.0) -> None:
    """Poll a JavaScript expression from Python until it is true.

    ``page.wait_for_function`` evaluates its predicate with ``eval`` once it has to poll, which
    the app's Content-Security-Policy (``script-src 'self'``) rightly refuses; ``page.evaluate``
    runs through the DevTools protocol and is not subject to the page's CSP.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout_s:.0f} s: {expression}")
        time.sleep(0.1)


def _decide(page: Any, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def test_review_three_detections_with_the_keyboard(page: Any, server: dict[str, Any]) -> None:
    base, ids = server["base"], server["ids"]
    _sign_in(page, base)
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.inner_text("#counts").startswith("4 pending · 0 decided")
    _wait_until(page, "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)

    # j / k move the selection; Enter opens the selected detection.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "selected" in page.get_attribute("#queue tbody tr:nth-child(2)", "class")
    page.keyboard.press("k")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("#detection-id").startswith(ids["weak_rajin"])
    _wait_until(
        page,
        "document.getElementById('chip').complete"
        " && document.getElementById('reference-chip').complete",
    )
    page.screenshot(path=str(ARTIFACTS / "review-detail.png"), full_page=True)

    # 1st: label 2 (tanker) then y: confirmed; the app moves on to the next in the queue.
    page.keyboard.press("2")
    _decide(page, "y")
    assert page.inner_text("#detection-id").startswith(ids["berth_rajin"])
    # 2nd: n: rejected.
    _decide(page, "n")
    assert page.inner_text("#detection-id").startswith(ids["speck_rajin"])
    # 3rd: c to type a note (keys typed there are text, not shortcuts), Esc, then u: unsure.
    page.keyboard.press("c")
    page.keyboard.type("<script>window.pwned=1</script> y n u")
    page.keyboard.press("Escape")
    _decide(page, "u")
    assert page.inner_text("#detection-id").startswith(ids["berth_dunai"])

    with EventStore.open(server["store"], readonly=True) as store:
        trail = [(r.detection_id, r.analyst, r.decision, r.label, r.note) for r in store.reviews()]
        rejected = store.rejected_detection_ids()
    assert trail == [
        (ids["weak_rajin"], "ana", "confirmed", "tanker", ""),
        (ids["berth_rajin"], "ana", "rejected", "", ""),
        (ids["speck_rajin"], "ana", "unsure", "", "<script>window.pwned=1</script> y n u"),
    ]
    assert rejected == {ids["berth_rajin"]}

    # k goes back (the decided one left the pending queue: back to the queue's previous item),
    # and the history shows the note as text, never run.
    page.goto(f"{base}/detections/{ids['speck_rajin']}?status=all")
    assert "<script>window.pwned=1</script> y n u" in page.inner_text("#history")
    assert page.evaluate("window.pwned") is None
    page.goto(f"{base}/queue")
    assert page.inner_text("#counts").startswith("1 pending · 3 decided")
    # Everything the pages loaded came from the app itself (no CDN, no other host).
    assert page.requests and all(u.startswith(base + "/") for u in page.requests)


def test_signed_out_browser_sees_only_the_sign_in_page(page: Any, server: dict[str, Any]) -> None:
    base = server["base"]
    flag = server["flags"][0]
    page.goto(f"{base}/detections/{flag.detection_id}")
    assert "/login?next=" in page.url
    response = page.goto(f"{base}/{flag.chip_path}")
    assert "/login?next=" in page.url and response.status == 200  # the sign-in form, not the PNG
    page.fill("#name", "ana")
    page.fill("#token", "wrong-token-123")
    page.click("#sign-in")
    assert "Unknown name or wrong token" in page.inner_text("main")
