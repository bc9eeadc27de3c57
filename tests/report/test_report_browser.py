"""The report as readers see it: Chromium screenshots of the HTML and pages of the PDF.

Chromium (Debian's, /usr/bin/chromium) runs offline: every host name resolves to nothing, and the
test records every request the page makes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from matplotlib.image import imread

from geo.events import EventStore
from geo.ports import load_ports
from report import CHROMIUM_ARGS, render_port_report
from tests.factories import REPORT_SINCE, REPORT_UNTIL

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def _key_numbers(data_dir: Path, port: str) -> list[str]:
    """Phrases with the headline's key numbers, computed from the store (not from the report)."""
    berths = {z.id for z in load_ports()[port].zones_of("berth")}
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        calls = [c for c in store.port_calls(port, REPORT_SINCE, REPORT_UNTIL) if c.berth in berths]
        obs = store.observations(port, REPORT_SINCE, REPORT_UNTIL)
        trips = [t for t in store.trips() if port in (t.from_port, t.to_port)]
    days = {o.acquired_utc.date() for o in obs if o.status != "failed" and o.acquired_utc}
    n_days = (REPORT_UNTIL - REPORT_SINCE).days + 1
    n = len(calls)
    return [
        f"{n} port call{'s' if n != 1 else ''} seen" if n else "No port call seen",
        f"observed {len(days)} of {n_days} days",
        f"{len(trips)} trip" if trips else "No trip to or from",
    ]


def _not_blank(png: Path) -> float:
    img = imread(png)[..., :3]
    non_white = float((img.min(axis=-1) < 0.9).mean())
    assert img.std() > 0.1, f"{png} looks blank (std {img.std():.3f})"
    assert non_white > 0.05, f"{png} is almost all white ({non_white:.1%} ink)"
    return float(img.std())


def test_html_screenshot_is_not_blank_loads_nothing_and_shows_the_numbers(
    report_data_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    html = render_port_report(
        report_data_dir,
        "rajin",
        since=REPORT_SINCE,
        until=REPORT_UNTIL,
        out_path=tmp_path / "rajin.html",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_rajin.png"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html.as_uri(), wait_until="load")
            headline = page.inner_text("#headline .headline")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth])"
            )
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
    assert images and all(done and width > 0 for done, width in images)  # every image decoded
    for phrase in _key_numbers(report_data_dir, "rajin"):
        assert phrase in " ".join(headline.split()), phrase
    _not_blank(shot)


def test_pdf_pages_are_not_blank_and_carry_the_numbers(
    report_data_dir: Path, tmp_path: Path
) -> None:
    pdf = render_port_report(
        report_data_dir, "dunai", since=REPORT_SINCE, until=REPORT_UNTIL, out_path=tmp_path / "dunai.pdf",
        fmt="pdf", chromium=CHROMIUM,
    )  # fmt: skip
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "dunai.html").is_file()  # the HTML is kept beside the PDF
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / "report_dunai_pdf_page1"
    page1 = prefix.with_suffix(".png")
    page1.unlink(missing_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(prefix),
        ],
        check=True,
    )
    _not_blank(page1)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    for phrase in _key_numbers(report_data_dir, "dunai"):
        assert phrase in flat, phrase
    assert "SIMULATED" in flat
    # Evidence lists are printed open: the ids behind the headline are in the PDF.
    squashed = "".join(text.split())
    with EventStore.open(report_data_dir / "events.gpkg", readonly=True) as store:
        trips = [t for t in store.trips() if "dunai" in (t.from_port, t.to_port)]
    assert trips
    for t in trips:
        assert t.trip_id in squashed
        assert all(d in squashed for d in t.detection_ids)
