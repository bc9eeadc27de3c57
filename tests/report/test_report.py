"""Rendering per-port reports from an event store (no browser; see test_report_browser.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html import escape
from pathlib import Path

import pytest

from geo.events import EventStore
from geo.ports import load_ports
from report import (
    PeriodError,
    PeriodNotCoveredError,
    ReportFormatError,
    parse_period,
    render_port_report,
)
from report._coverage import observed_days
from tests.factories import (
    REPORT_RAJIN_FAILED,
    REPORT_SINCE,
    REPORT_UNTIL,
    events_observation,
    report_cloudy,
    report_times,
)
from tests.report.helpers import external_urls, parse_report

STORE = "events.gpkg"


def _render(data_dir: Path, port: str, tmp_path: Path, **kw: object) -> tuple[str, Path]:
    out = tmp_path / f"{port}.html"
    kw.setdefault("since", REPORT_SINCE)
    kw.setdefault("until", REPORT_UNTIL)
    path = render_port_report(data_dir / STORE, port, out_path=out, **kw)  # type: ignore[arg-type]
    return path.read_text(encoding="utf-8"), path


@pytest.fixture(scope="module")
def rajin_html(report_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    html, _ = _render(report_data_dir, "rajin", tmp_path_factory.mktemp("out"))
    return html


def test_rajin_headline_counts_match_the_store_and_the_scenario(
    rajin_html: str, report_data_dir: Path
) -> None:
    parsed = parse_report(rajin_html)
    assert len(parsed.sentences) == 3
    calls_s, trips_s, yard_s = (" ".join(s.split()) for s in parsed.sentences)
    with EventStore.open(report_data_dir / STORE, readonly=True) as store:
        calls = store.port_calls("rajin", REPORT_SINCE, REPORT_UNTIL)
        trips = [t for t in store.trips() if "rajin" in (t.from_port, t.to_port)]
    # Independent of the renderer: observed days and berth-visible observations from the scenario.
    times = report_times("rajin")
    usable = [i for i in range(len(times)) if i not in REPORT_RAJIN_FAILED]
    n_days = (REPORT_UNTIL - REPORT_SINCE).days + 1
    berth_visible = [i for i in usable if not report_cloudy("rajin", i)]
    berths = {z.id for z in load_ports()["rajin"].zones_of("berth")}
    at_berth = [c for c in calls if c.berth in berths]
    at_anchor = [c for c in calls if c.berth not in berths]
    assert at_berth and at_anchor, "the scenario has vessels at Rajin's berths and at anchor"
    lengths = sorted(c.length_m for c in at_berth)
    assert calls_s.startswith(
        f"{len(at_berth)} port calls seen at Rajin (Najin) at {len({c.berth for c in at_berth})} "
        f"berths, vessels {lengths[0]:.0f}–{lengths[-1]:.0f} m long, and {len(at_anchor)} stay"
    )
    assert f"(observed {len(usable)} of {n_days} days; " in calls_s
    assert f"berths visible in {len(berth_visible)} of {len(times)} observations)" in calls_s
    assert trips_s.startswith(f"{len(trips)} trip")
    assert "lower bound" in trips_s
    assert "Dunai" in trips_s  # the other end's coverage is stated too
    # Yard: 600 TEU at the first yard-visible observation, 270 at the last (see factories).
    assert "held 600 TEU (420–780) on 02 Aug 2023 and 270 TEU (189–351) on 29 Oct 2023" in yard_s
    assert "a change of −330 TEU (between −591 and −69; yard visible in" in yard_s
    assert "claim" in yard_s


def test_every_headline_number_is_backed_by_ids_in_the_evidence(
    rajin_html: str, report_data_dir: Path
) -> None:
    evidence = rajin_html[rajin_html.index('id="headline-evidence"') :]
    evidence = evidence[: evidence.index("</details>")]
    with EventStore.open(report_data_dir / STORE, readonly=True) as store:
        calls = store.port_calls("rajin", REPORT_SINCE, REPORT_UNTIL)
        obs = store.observations("rajin", REPORT_SINCE, REPORT_UNTIL)
        claims = [c for c in store.claims() if "rajin" in c.ports]
    for call in calls:
        assert call.call_id in evidence
        for det in call.detection_ids:
            assert det in evidence
    cloudy = {o.scene_id for o in obs if o.valid_fraction < 0.5}
    for o in obs:
        if o.status == "failed" or o.scene_id in cloudy:
            assert f"{o.scene_id}:rajin," not in evidence.split("observations with berths")[1][:200]
        else:
            assert f"{o.scene_id}:rajin" in evidence
    for c in claims:
        assert f"{c.claim_id}@{c.run_id}" in evidence
    # The counts in the summary lines equal the number of ids listed.
    for label, n, ids in re.findall(
        r"<li>([^<(]+) \((\d+)\): <span class=\"ids\">([^<]*)</span>", evidence
    ):
        listed = [] if ids == "none" else ids.split(", ")
        assert int(n) == len(listed), label


def test_report_is_self_contained(rajin_html: str) -> None:
    parsed = parse_report(rajin_html)
    assert parsed.urls, "the report has images"
    assert external_urls(parsed) == []
    style = "".join(parsed.style)
    assert "url(" not in style and "@import" not in style
    assert sum(v.startswith("data:image/png;base64,") for _t, _a, v in parsed.urls) >= 5


def test_sections_are_in_order_and_simulated_is_shouted(rajin_html: str) -> None:
    ids = ["headline", "coverage", "vessels", "containers", "trips-claims", "latest", "method"]
    positions = [rajin_html.index(f'<section id="{i}">') for i in ids]
    assert positions == sorted(positions)
    assert rajin_html.count('class="simulated-banner"') == 2
    assert "<title>Rajin (Najin) · 2023-08-01 to 2023-10-31 · SIMULATED" in rajin_html


def test_calendar_has_every_day_and_marks_failed_and_cloudy(rajin_html: str) -> None:
    days = re.findall(r'<td class="(observed|unobserved)" data-date="([\d-]+)"', rajin_html)
    assert len(days) == (REPORT_UNTIL - REPORT_SINCE).days + 1
    observed = {d for css, d in days if css == "observed"}
    expected = {
        t.date().isoformat()
        for i, t in enumerate(report_times("rajin"))
        if i not in REPORT_RAJIN_FAILED
    }
    assert observed == expected
    assert rajin_html.count('class="obs cov-failed"') == len(REPORT_RAJIN_FAILED)
    n_cloudy = sum(report_cloudy("rajin", i) for i in range(len(report_times("rajin"))))
    assert rajin_html.count('class="obs cov-low"') == n_cloudy


def test_trips_and_claims_tables(rajin_html: str, report_data_dir: Path) -> None:
    with EventStore.open(report_data_dir / STORE, readonly=True) as store:
        trips = [t for t in store.trips() if "rajin" in (t.from_port, t.to_port)]
        claims = [c for c in store.claims() if "rajin" in c.ports]
    assert trips and claims
    for t in trips:
        assert escape(t.trip_id) in rajin_html
    for c in claims:
        assert f"<strong>{c.claim_id}</strong>" in rajin_html
        assert f'class="verdict-{c.verdict.split()[0]}">{c.verdict}<' in rajin_html
    assert "unbounded" in rajin_html or all(c.upper_bound is not None for c in claims)


def test_latest_observation_draws_the_tile_and_numbers_its_detections(
    rajin_html: str, report_data_dir: Path
) -> None:
    latest = rajin_html[
        rajin_html.index('<section id="latest">') : rajin_html.index('<section id="method">')
    ]
    last = report_times("rajin")[-1]
    assert f"{last:%Y-%m-%d %H:%M} UTC" in latest
    assert (
        'alt="Latest observation of Rajin (Najin) with detections" src="data:image/png;base64,'
        in latest
    )
    with EventStore.open(report_data_dir / STORE, readonly=True) as store:
        dets = [d for d in store.detections("rajin", last, last) if d.detection_id]
    assert dets
    for i, d in enumerate(dets, start=1):
        assert f'<td class="n">{i}</td><td><span class="ids">{d.detection_id}</span>' in latest
    # Chips: the flagged detections with chip files, the reviewed one first.
    assert latest.count('<figure><img alt="chip ') >= 3
    assert "for review: trip evidence; detector: near land" in latest
    assert "confirmed by analyst-1" in latest
    assert "rejected by analyst-1: wave crest (left out of counts)" in latest


def test_method_counts_reviews_and_states_not_observed(rajin_html: str) -> None:
    method = rajin_html[rajin_html.index('<section id="method">') :]
    assert "<strong>2 reviewed by analysts</strong>" in method
    assert "1 confirmed, 1 rejected" in method
    assert "not observed" in method
    # The stack estimates' assumptions, each clause once; partial-yard extrapolations summarised.
    stated = method[method.index("Stated assumptions: ") :].split("</p>", 1)[0]
    assert stated.count("2-3 tiers, 80 % packing") == 1 and stated.count("TEU footprint") == 1
    assert re.search(
        r"\d+ estimates extrapolated from a partly observed yard \(\d+-\d+% observed\)", stated
    )
    assert stated.count("extrapolated") == 1
    assert "report-test / sim-sar" in method and "sentinel-1a" in method
    # The settings each observation recorded, grouped: 11 SAR and 11 optical ok observations.
    assert "detect_sar_vessels (bands vv): 11 observations" in method
    assert "detect_optical_vessels (bands green, nir): 11 observations" in method
    assert "measure_container_stacks: 22 observations" in method
    assert "<dt>pfa_exponent</dt><dd>8.0</dd>" in method
    assert "written before settings were recorded" not in method
    assert "16 of 23 observations were analysed against a pier-side reference" in method


def test_dunai_report_renders(report_data_dir: Path, tmp_path: Path) -> None:
    html, path = _render(report_data_dir, "dunai", tmp_path)
    parsed = parse_report(html)
    assert len(parsed.sentences) == 3
    assert "Dunai (Strelok Bay)" in parsed.sentences[0]
    method = html[html.index('<section id="method">') :]
    assert "(15 observations written before settings were recorded)" in method
    assert "0 of 15 observations were analysed against a pier-side reference" in method
    assert external_urls(parsed) == []
    # No tile cached for Dunai: said so, not an error.
    assert "No cached tile found" in html


def test_port_without_observations_says_so(report_data_dir: Path, tmp_path: Path) -> None:
    html, _ = _render(report_data_dir, "vostochny", tmp_path)
    assert 'id="no-observations"' in html
    assert "No observations of Vostochny between 2023-08-01 and 2023-10-31." in html
    sentences = parse_report(html).sentences
    assert sentences[0].startswith("No observation of Vostochny in the period")
    assert "(observed 0 of 92 days; berths visible in 0 of 0 observations)" in sentences[0]


def test_gap_inside_the_store_span_is_an_empty_report_not_an_error(
    report_data_dir: Path, tmp_path: Path
) -> None:
    # 2023-08-03: between Rajin's observations of 2 and 6 August.
    html, _ = _render(report_data_dir, "rajin", tmp_path, since="2023-08-03", until="2023-08-03")
    assert 'id="no-observations"' in html


def test_period_outside_the_store_is_a_typed_error(report_data_dir: Path, tmp_path: Path) -> None:
    # The store's last run started now, so a far-future period is "covered" by it: use the past.
    with pytest.raises(
        PeriodNotCoveredError,
        match=r"covers 2023-08-02\.\.\d{4}-\d\d-\d\d, not 2019-01-01\.\.2019-03-01",
    ):
        _render(report_data_dir, "rajin", tmp_path, since="2019-01-01", until="2019-03-01")


def test_empty_store_is_not_covered(tmp_path: Path) -> None:
    with EventStore.open(tmp_path / STORE):
        pass
    with pytest.raises(PeriodNotCoveredError, match="holds no observations"):
        _render(tmp_path, "rajin", tmp_path)


def test_store_with_only_a_later_observation_does_not_cover_an_earlier_period(
    tmp_path: Path,
) -> None:
    when = dt.datetime(2023, 9, 7, 2, tzinfo=dt.UTC)
    with EventStore.open(tmp_path / STORE) as store:
        store.write_scene(events_observation("S2_X", acquired_utc=when))
    with pytest.raises(PeriodNotCoveredError):
        _render(tmp_path, "rajin", tmp_path, since="2023-08-01", until="2023-09-06")
    html, _ = _render(tmp_path, "rajin", tmp_path, since="2023-08-01", until="2023-09-07")
    assert "S2_X:rajin" in html


def test_real_data_is_not_labelled_simulated(tmp_path: Path) -> None:
    when = dt.datetime(2023, 9, 7, 2, tzinfo=dt.UTC)
    with EventStore.open(tmp_path / STORE) as store:
        store.write_scene(events_observation("S2_REAL", acquired_utc=when, simulated=False))
    html, _ = _render(tmp_path, "rajin", tmp_path, since="2023-09-01", until="2023-09-30")
    text = " ".join(parse_report(html).text)
    assert "SIMULATED" not in text and 'class="simulated-banner"' not in html
    assert "simulated" not in text.lower()


def test_since_after_until_and_bad_format_are_refused(
    report_data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(PeriodError, match="since=2023-11-01 is after until=2023-08-01"):
        _render(report_data_dir, "rajin", tmp_path, since="2023-11-01", until="2023-08-01")
    with pytest.raises(PeriodError, match="not a date"):
        parse_period("yesterday", "2023-08-01")
    with pytest.raises(ReportFormatError, match="use one of html, pdf"):
        _render(report_data_dir, "rajin", tmp_path, fmt="docx")


def test_missing_chip_and_tile_files_are_skipped(tmp_path: Path) -> None:
    ports = load_ports()
    when = dt.datetime(2023, 9, 7, 2, tzinfo=dt.UTC)
    obs = events_observation("S2_NOFILE", acquired_utc=when, tile_path="tiles/missing.tif")
    from tests.factories import report_detection

    det = dataclasses.replace(
        report_detection(ports["rajin"], "S2_NOFILE", 0, "vessel", "rajin-pier1-e"),
        chip_path="chips/missing.png",
        flags="near_land,review:low_score",
    )
    with EventStore.open(tmp_path / STORE) as store:
        store.write_scene(obs, [det])
    html, _ = _render(tmp_path, "rajin", tmp_path, since="2023-09-01", until="2023-09-30")
    assert "No cached tile found" in html
    assert "S2_NOFILE:rajin:vessel:0" in html
    assert '<img alt="chip' not in html


def test_observed_days_ignores_failed_and_empty_observations() -> None:
    t = dt.datetime(2023, 9, 7, 2, tzinfo=dt.UTC)
    ok = events_observation("A", acquired_utc=t)
    failed = dataclasses.replace(
        ok, scene_id="B", status="failed", acquired_utc=t + dt.timedelta(days=1)
    )
    blind = dataclasses.replace(
        ok, scene_id="C", valid_fraction=0.0, acquired_utc=t + dt.timedelta(days=2)
    )
    assert observed_days([ok, failed, blind]) == {t.date()}


def test_open_store_and_relocated_data_dir(report_data_dir: Path, tmp_path: Path) -> None:
    # The store moved away from its tiles and chips: data_dir says where relative paths live.
    moved = tmp_path / "elsewhere.gpkg"
    moved.write_bytes((report_data_dir / STORE).read_bytes())
    with EventStore.open(moved, readonly=True) as store:
        out = render_port_report(
            store, "rajin", since=REPORT_SINCE, until=REPORT_UNTIL, out_path=tmp_path / "a.html",
            data_dir=report_data_dir,
        )  # fmt: skip
        lost = render_port_report(
            store, "rajin", since=REPORT_SINCE, until=REPORT_UNTIL, out_path=tmp_path / "b.html"
        )
    assert 'alt="Latest observation of Rajin (Najin) with detections"' in out.read_text()
    assert '<img alt="chip' in out.read_text()
    assert "No cached tile found" in lost.read_text()
    assert '<img alt="chip' not in lost.read_text()


def test_only_failed_observations_say_nothing_could_be_seen(tmp_path: Path) -> None:
    when = dt.datetime(2023, 9, 2, 3, tzinfo=dt.UTC)
    with EventStore.open(tmp_path / STORE) as store:
        store.record_failure(
            scene_id="X1", port="rajin", source="t", error="read timeout", acquired_utc=when
        )
    html, _ = _render(tmp_path, "rajin", tmp_path, since="2023-09-01", until="2023-09-30")
    first = " ".join(parse_report(html).sentences[0].split())
    assert first.startswith("Nothing of Rajin (Najin) could be seen in the period")
    assert "(observed 0 of 30 days; berths visible in 0 of 1 observations)" in first
    assert 'class="obs cov-failed"' in html and "read timeout" in html
