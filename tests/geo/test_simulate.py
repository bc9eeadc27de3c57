"""The scene simulator: scenario truth, acquisition plans, clutter statistics, truth vs pixels, CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import ndimage

from flows.cli import cli
from geo.errors import ArchiveExistsError, ArchiveWriteError, SimulationError, UnknownPortError
from geo.simulate import (
    RenderedScene,
    SimulationParams,
    Simulator,
    load_truth,
    simulate_archive,
)
from tests.factories import sim_hull_cover, sim_params

UTC = dt.UTC


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def default_sim() -> Simulator:
    """The default scenario (nothing rendered)."""
    return Simulator(SimulationParams())


@pytest.fixture(scope="module")
def clear_scenes() -> list[tuple[Simulator, RenderedScene]]:
    """Cloud-free scenes of both ports over three days (12 scenes), rendered in memory."""
    sim = Simulator(sim_params(since=dt.date(2023, 9, 6), until=dt.date(2023, 9, 8)))
    return [(sim, sim.render(a)) for a in sim.scenario.acquisitions]


# -- the scenario ------------------------------------------------------------------------------


def test_six_rajin_dunai_trips_by_the_two_shuttle_vessels(default_sim: Simulator) -> None:
    trips = [
        t
        for t in default_sim.scenario.trips
        if (t.from_port, t.to_port) == ("rajin", "dunai")
        and _t("2023-08-20") <= t.depart_utc <= _t("2023-10-16T23:59")
    ]
    assert len(trips) == 6
    by_name = {t.vessel.name: t.vessel.length_m for t in trips}
    assert by_name == {"Angara (sim)": 115.0, "Maria (sim)": 128.0}
    assert sorted(t.vessel.name for t in trips).count("Angara (sim)") == 3
    for t in trips:
        assert dt.timedelta(hours=6) < t.arrive_utc - t.depart_utc < dt.timedelta(hours=24)


def test_shuttle_calls_last_one_to_two_days_and_round_trips_close(default_sim: Simulator) -> None:
    calls = [s for s in default_sim.scenario.stays if s.vessel.id in ("angara-sim", "maria-sim")]
    berth_calls = [s for s in calls if s.kind == "berth"]
    assert len(berth_calls) == 12  # 6 at Rajin, 6 at Dunai
    for s in berth_calls:
        assert dt.timedelta(days=1) <= s.depart_utc - s.arrive_utc <= dt.timedelta(days=2)
    back = [
        t
        for t in default_sim.scenario.trips
        if (t.from_port, t.to_port) == ("dunai", "rajin") and t.arrive_utc <= _t("2023-10-14T23:59")
    ]
    assert len(back) >= 5  # RUSI: at least five round trips by 2023-10-14


def test_loading_of_about_300_teu_at_rajin_on_7_8_september(default_sim: Simulator) -> None:
    (yard,) = [y for y in default_sim.scenario.yards if y.port == "rajin"]
    before = yard.teu_at(_t("2023-09-06T12:00"))
    after = yard.teu_at(_t("2023-09-09T00:00"))
    assert 270 <= before - after <= 330
    (loader,) = [
        s
        for s in default_sim.scenario.stays
        if s.port == "rajin" and s.kind == "berth" and s.arrive_utc < _t("2023-09-07T12:00") < s.depart_utc
        and s.vessel.length_m >= 100
    ]  # fmt: skip
    assert loader.vessel.name == "Angara (sim)"
    assert loader.depart_utc.date() == dt.date(2023, 9, 8)


def test_yard_stocks_stay_realistic(default_sim: Simulator) -> None:
    days = [_t("2023-08-10") + dt.timedelta(hours=6 * i) for i in range(4 * 70)]
    rajin = next(y for y in default_sim.scenario.yards if y.port == "rajin")
    dunai = next(y for y in default_sim.scenario.yards if y.port == "dunai")
    levels = np.array([rajin.teu_at(t) for t in days])
    assert 400 <= levels.min() and levels.max() <= 900
    # Dunai grows while a shuttle unloads there.
    for s in default_sim.scenario.stays:
        if s.port == "dunai" and s.vessel.id in ("angara-sim", "maria-sim"):
            assert dunai.teu_at(s.depart_utc) - dunai.teu_at(s.arrive_utc) > 80


def test_berth_stays_never_overlap(default_sim: Simulator) -> None:
    stays = sorted(
        (s for s in default_sim.scenario.stays if s.kind == "berth"),
        key=lambda s: (s.port, s.zone, s.arrive_utc),
    )
    for a, b in zip(stays, stays[1:], strict=False):
        if (a.port, a.zone) == (b.port, b.zone):
            assert a.depart_utc <= b.arrive_utc, (a.vessel.id, b.vessel.id, a.zone)


# -- acquisition plans -------------------------------------------------------------------------


def test_realistic_plan_revisits(default_sim: Simulator) -> None:
    acqs = default_sim.scenario.acquisitions
    s1_times = {}
    for port in ("rajin", "dunai"):
        s1 = [a.acquired_utc for a in acqs if a.port == port and a.sensor == "sar"]
        s2 = [a.acquired_utc for a in acqs if a.port == port and a.sensor == "optical"]
        assert {b - a for a, b in zip(s1, s1[1:], strict=False)} == {dt.timedelta(days=12)}
        assert {b - a for a, b in zip(s2, s2[1:], strict=False)} == {dt.timedelta(days=5)}
        assert all(1 <= t.hour <= 2 for t in s2)  # ~02:00 UTC
        s1_times[port] = {t.time() for t in s1}
    assert s1_times["rajin"].isdisjoint(s1_times["dunai"])
    clouds = [a.cloud_target for a in acqs if a.sensor == "optical"]
    assert min(clouds) < 0.05 and max(clouds) > 0.7
    assert any(0.1 < c < 0.6 for c in clouds)
    platforms = {a.platform for a in acqs}
    assert platforms == {"sentinel-1a", "sentinel-2a", "sentinel-2b"}


def test_daily_clear_plan_has_one_cloud_free_scene_per_port_per_day() -> None:
    sim = Simulator(sim_params(since=dt.date(2023, 9, 1), until=dt.date(2023, 9, 4)))
    acqs = sim.scenario.acquisitions
    for port in ("rajin", "dunai"):
        for sensor in ("sar", "optical"):
            days = [a.acquired_utc.date() for a in acqs if a.port == port and a.sensor == sensor]
            assert days == [dt.date(2023, 9, d) for d in range(1, 5)]
    assert all(a.cloud_target == 0 and a.nodata_fraction == 0 for a in acqs)


def test_any_port_of_the_file_can_be_simulated() -> None:
    sim = Simulator(sim_params(ports=("vostochny",)))
    scenes = [sim.render(a) for a in sim.scenario.acquisitions]
    assert {s.acquisition.port for s in scenes} == {"vostochny"}
    sar = next(s for s in scenes if s.acquisition.sensor == "sar")
    assert sar.bands["vv"].shape == sim.layout("vostochny").port.grid.shape
    assert not [t for t in sim.scenario.trips]  # no shuttle without Rajin


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"plan": "hourly"}, SimulationError, "plan must be one of"),
        ({"since": dt.date(2023, 9, 9)}, SimulationError, "is after until"),
        ({"ports": ("atlantis",)}, UnknownPortError, "Valid ports"),
    ],
)
def test_bad_parameters_are_refused(
    kw: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Simulator(sim_params(**kw))


# -- Sentinel-1 statistics -----------------------------------------------------------------------


def _open_sea(sim: Simulator, scene: RenderedScene, *, ship_margin_px: int = 12) -> np.ndarray:
    layers = sim.layers(scene.acquisition.port)
    near_ship = np.zeros(layers.water.shape, dtype=bool)
    for v in scene.vessels:
        r, c, m = int(round(v.row)), int(round(v.col)), ship_margin_px + int(v.length_m / 20)
        near_ship[max(r - m, 0) : r + m + 1, max(c - m, 0) : c + m + 1] = True
    return (layers.water >= 1.0) & (layers.shelter < 0.05) & ~near_ship


def test_sea_clutter_statistics(clear_scenes: list[tuple[Simulator, RenderedScene]]) -> None:
    sar = [(sim, s) for sim, s in clear_scenes if s.acquisition.sensor == "sar"]
    assert len(sar) == 6
    for sim, scene in sar:
        sea = _open_sea(sim, scene)
        vv = scene.bands["vv"][sea].astype(np.float64)
        vh = scene.bands["vh"][sea].astype(np.float64)
        assert sea.sum() > 5000
        db = 10 * np.log10(vv)
        nominal = float(scene.conditions["sea_vv_db"])
        assert -24.0 <= nominal <= -12.0  # stated range: -18 +/- 4 dB (wind)
        assert abs(10 * np.log10(vv.mean()) - nominal) < 0.5
        # Gamma speckle (ENL 4.4) in dB: mean 0.5-0.8 dB below the linear mean, spread 2.2-2.6 dB.
        assert 0.4 < 10 * np.log10(vv.mean()) - db.mean() < 0.9
        assert 2.1 < db.std() < 2.7
        # Gamma speckle (ENL 4.4) times K texture (shape 15-60) and wind streaks: ENL 3.0-4.2.
        assert 2.9 < vv.mean() ** 2 / vv.var() < 4.4
        assert abs(10 * np.log10(vh.mean()) - float(scene.conditions["sea_vh_db"])) < 0.5
        assert 5.0 < 10 * np.log10(vv.mean() / vh.mean()) < 10.0


def test_sea_level_varies_with_wind_around_minus_18_db() -> None:
    from geo._sim_draw import rng_for
    from geo._sim_render import sar_conditions

    levels = np.array([sar_conditions(rng_for(1, "w", str(i))).sea_vv_db for i in range(400)])
    assert -19.0 < levels.mean() < -17.0
    assert 1.5 < levels.std() < 3.0
    assert levels.min() >= -24.0 and levels.max() <= -12.0


def test_land_and_piers_brighter_than_sea(
    clear_scenes: list[tuple[Simulator, RenderedScene]],
) -> None:
    sim, scene = next(
        (sim, s) for sim, s in clear_scenes if s.acquisition.scene_id.startswith("sim-s1-rajin")
    )
    layers = sim.layers("rajin")
    vv_db = 10 * np.log10(scene.bands["vv"].astype(np.float64))
    land = ndimage.binary_erosion(layers.land >= 1.0, iterations=2)
    land_median = float(np.median(vv_db[land]))
    assert -9.0 < land_median < -3.0
    pier = ndimage.binary_erosion(layers.pier >= 1.0, iterations=1)
    assert np.median(vv_db[pier]) > float(scene.conditions["sea_vv_db"]) + 8


# -- truth matches pixels ---------------------------------------------------------------------


def _vessels(scene: RenderedScene) -> pd.DataFrame:
    return pd.DataFrame([v.__dict__ for v in scene.vessels])


def test_optical_ships_are_where_the_truth_says(
    clear_scenes: list[tuple[Simulator, RenderedScene]],
) -> None:
    n_open = 0
    for sim, scene in clear_scenes:
        if scene.acquisition.sensor != "optical":
            continue
        layers = sim.layers(scene.acquisition.port)
        nir = scene.bands["nir"] / 1e4
        water_level = float(np.median(nir[layers.water >= 1.0]))
        assert 0.005 < water_level < 0.03
        truth = _vessels(scene)
        # The static scene without ships, blurred like the image, to compare ships against.
        background = water_level * layers.water + 0.21 * layers.pier + 0.14 * layers.yard
        background = ndimage.gaussian_filter(background + layers.land_refl[3] * layers.land, 0.45)
        hulls = np.zeros(nir.shape)
        for v in truth.itertuples():
            cover = sim_hull_cover(v, nir.shape)
            core = (cover >= 0.5 * cover.max()) & (layers.water >= 0.6)
            assert core.any(), v.vessel_id
            # A 20 m boat covers under half a pixel: ask for less where the hull covers less.
            excess = (nir - background)[core]
            assert excess.max() > 0.04 * cover.max(), v.vessel_id
            hulls = np.maximum(hulls, cover)
        # Away from the shore, every bright blob is a truth vessel and every vessel there is a blob.
        open_water = ndimage.binary_erosion(layers.water >= 1.0, iterations=3)
        bright = (nir > water_level + 0.025) & open_water
        labels, n = ndimage.label(bright)
        near_hull = ndimage.binary_dilation(hulls > 0, iterations=2)
        assert not (bright & ~near_hull).any()
        # Along the piers too: whatever stands out of the water is a truth vessel.
        standing_out = (nir - background > 0.03) & (layers.water >= 0.5)
        assert not (standing_out & ~near_hull).any()
        in_open = [
            v for v in truth.itertuples() if open_water[int(round(v.row)), int(round(v.col))]
        ]
        big = [v for v in in_open if v.length_m >= 30]
        hit = {labels[int(round(v.row)), int(round(v.col))] for v in big}
        assert 0 not in hit and len(hit) == len(big)  # one blob per vessel
        assert len(big) <= n <= len(in_open)
        n_open += len(big)
    assert n_open >= 2  # the test saw ships in open water at all


def test_sar_ships_are_where_the_truth_says(
    clear_scenes: list[tuple[Simulator, RenderedScene]],
) -> None:
    for sim, scene in clear_scenes:
        if scene.acquisition.sensor != "sar":
            continue
        layers = sim.layers(scene.acquisition.port)
        port = sim.layout(scene.acquisition.port).port
        vv = scene.bands["vv"].astype(np.float64)
        sea_lin = 10 ** (float(scene.conditions["sea_vv_db"]) / 10)
        hulls = np.zeros(vv.shape)
        for v in _vessels(scene).itertuples():
            cover = sim_hull_cover(v, vv.shape)
            hulls = np.maximum(hulls, cover)
            # Off the piers (whose quay walls are bright too), a ship of 40 m or more stands
            # more than 10 dB over the sea where the truth puts it.
            at_berth = v.zone != "open_water" and port.zone(v.zone).kind == "berth"
            if v.length_m >= 40 and not at_berth:
                core = (cover >= 0.5 * cover.max()) & (layers.water >= 0.99)
                assert vv[core].max() > 10 * sea_lin, v.vessel_id
                # ...and the brightest pixel around it lies on the hull (or its blurred edge).
                around = ndimage.binary_dilation(cover > 0, iterations=6)
                peak = np.unravel_index(np.argmax(np.where(around, vv, 0)), vv.shape)
                assert ndimage.binary_dilation(cover > 0, iterations=1)[peak], v.vessel_id
        sea = _open_sea(sim, scene, ship_margin_px=6)
        assert (vv[sea] < 10**1.5 * sea_lin).mean() > 0.9999  # nothing else +15 dB bright at sea


def test_visibility_follows_clouds_and_nodata(tmp_path: Path) -> None:
    params = sim_params(plan="realistic", since=dt.date(2023, 8, 10), until=dt.date(2023, 9, 20))
    sim = Simulator(params)
    seen = {True: 0, False: 0}
    for acq in sim.scenario.acquisitions:
        if acq.sensor != "optical":
            continue
        scene = sim.render(acq)
        scl = scene.bands["scl"]
        for v in _vessels(scene).itertuples():
            cover = sim_hull_cover(v, scl.shape)
            hull = cover > 0.25 if (cover > 0.25).any() else cover >= cover.max()
            flagged = float(np.isin(scl[hull], (0, 3, 8, 9, 10)).mean())
            # The truth's rule: seen when less than half the hull is flagged (the test's hull is
            # a plain rectangle, the simulator's has a bow: leave the borderline cases out).
            if not 0.35 < flagged < 0.65:
                assert v.visible == (flagged < 0.5), (v.scene_id, v.vessel_id, flagged)
            seen[v.visible] += 1
    assert seen[True] > 0 and seen[False] > 0


def test_yard_truth_matches_container_physics(
    clear_scenes: list[tuple[Simulator, RenderedScene]],
) -> None:
    for _sim, scene in clear_scenes:
        for y in scene.yards:
            assert 1.0 <= y.tiers_mean <= 4.0
            packing = y.containers_teu * 6.06 * 2.44 / (y.stack_area_m2 * y.tiers_mean)
            assert 0.6 < packing < 0.9  # what the TEU estimator assumes
    rajin = [y for _sim, s in clear_scenes for y in s.yards if y.port == "rajin"]
    assert all(400 <= y.containers_teu <= 900 for y in rajin)
    before = next(y for y in rajin if y.acquired_utc.date() == dt.date(2023, 9, 6))
    after = next(y for y in rajin if y.acquired_utc >= _t("2023-09-08T09:00"))
    assert before.containers_teu - after.containers_teu > 200  # the loading is under way


def test_containers_show_in_the_yard(clear_scenes: list[tuple[Simulator, RenderedScene]]) -> None:
    sim, scene = next(
        (sim, s) for sim, s in clear_scenes if s.acquisition.scene_id.startswith("sim-s2-rajin")
    )
    (yard,) = scene.yards
    mask = sim.layout("rajin").port.zone_mask(yard.zone)
    rgb = np.stack([scene.bands[b] / 1e4 for b in ("red", "green", "blue")])
    ground = np.median(rgb[:, mask], axis=1)
    odd = (np.abs(rgb - ground[:, None, None]).max(axis=0) > 0.02) & mask
    # Blocks are 1-2 pixels wide at 10 m: the coloured pixels cover the stacks' footprint
    # together with the pixels they partly fill.
    assert 0.8 < odd.sum() * 100.0 / yard.stack_area_m2 < 3.5


# -- the archive and the command --------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_archives(tmp_path: Path) -> None:
    args = ["simulate", "--seed", "5", "--plan", "daily-clear", "--ports", "rajin"]
    args += ["--since", "2023-09-07", "--until", "2023-09-07"]
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(cli, [*args, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sum(k.endswith(".tif") for k in a) == 7  # S1: vv, vh; S2: 4 bands and scl
    assert a == b
    other = simulate_archive(tmp_path / "c", sim_params(seed=6, ports=("rajin",)))
    c = _files(other.out_dir)
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a if k.endswith("_vv.tif") or k.endswith("_nir.tif"))


def test_truth_round_trips_through_csv(tmp_path: Path) -> None:
    params = sim_params(since=dt.date(2023, 9, 7), until=dt.date(2023, 9, 8))
    summary = simulate_archive(tmp_path / "arch", params)
    truth = load_truth(tmp_path / "arch")
    assert list(truth.scenes["scene_id"]) == list(summary.scene_ids)
    assert truth.scenes["simulated"].all()
    assert str(truth.scenes["acquired_utc"].dt.tz) == "UTC"
    sim = Simulator(params)
    first = sim.render(sim.scenario.acquisitions[0])
    rows = truth.vessels_in(first.acquisition.scene_id)
    assert sorted(rows["vessel_id"]) == sorted(v.vessel_id for v in first.vessels)
    assert set(truth.trips.columns) >= {
        "from_port",
        "to_port",
        "depart_utc",
        "arrive_utc",
        "length_m",
    }
    assert (truth.port_calls["arrive_utc"] < truth.port_calls["depart_utc"]).all()
    assert load_truth(tmp_path / "arch" / "truth").scenes.equals(truth.scenes)


def test_unwritable_output_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        cli, ["simulate", "--out", str(blocker / "out"), "--ports", "rajin"]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the archive" in lines[0]
    with pytest.raises(ArchiveWriteError):
        simulate_archive(blocker / "out", sim_params(ports=("rajin",)))


def test_existing_archive_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "arch"
    params = ["simulate", "--out", str(out), "--ports", "dunai", "--plan", "daily-clear"]
    params += ["--since", "2023-09-07", "--until", "2023-09-07"]
    runner = CliRunner()
    assert runner.invoke(cli, params).exit_code == 0
    (out / "keep.txt").write_text("mine")
    again = runner.invoke(cli, params)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    with pytest.raises(ArchiveExistsError):
        simulate_archive(out, sim_params(ports=("dunai",)))
    assert runner.invoke(cli, [*params, "--overwrite"]).exit_code == 0
    assert (out / "keep.txt").read_text() == "mine"  # only the archive's own files are replaced


def test_bad_options_exit_2() -> None:
    runner = CliRunner()
    r = runner.invoke(
        cli, ["simulate", "--out", "x", "--since", "2023-09-09", "--until", "2023-09-01"]
    )
    assert r.exit_code == 2 and "--since" in r.output
    r = runner.invoke(cli, ["simulate", "--out", "x", "--ports", "atlantis"])
    assert r.exit_code == 2 and "atlantis" in r.stderr
