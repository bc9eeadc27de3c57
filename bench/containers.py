"""Container stacks on simulated archives and synthetic VHR yards, against known truth.

For every yard observation of each SIMULATED archive (``truth/yards.csv``: TEU per yard per
scene) it reads the tiles with rasterio, runs ``detection.containers.measure_container_stacks``
with its default parameters and assumptions, and prints:

* per sensor and overall, for yards observed (>= 90 % of the yard seen): how often the true TEU
  lies inside the interval (low, high), the median |central / truth - 1| and the median
  central / truth (bias), the median interval width (high / low);
* the same for partly observed yards (50-90 %: the extrapolated interval), and how many yard
  observations were "not observed" (< 50 %: no whole-yard figure, by design);
* the Rajin loading of ~300 TEU on 2023-09-07/08: the last observation before and the first
  after, compared with ``compare_yards`` (removed / net TEU intervals against the true drop);
  and the change between every pair of consecutive observations of a yard (does the net
  interval contain the true change?);
* VHR: synthetic 0.3-1.5 m yards (``tests.factories.containers_vhr_yard``: touching rows,
  rotation, noise), count and TEU errors of ``count_containers_vhr``;
* real Sentinel-2 port scenes (Genoa, Valencia, Durban; no container labels): footprint and TEU
  interval inside hand-drawn terminal boxes, with quicklooks written to ``--work`` for eyeballing.

Archives: ``sample_tiles/`` (seed 0, realistic plan) plus, unless ``--no-extra``, two more seeds
of the realistic plan simulated into ``--work`` (reused on later runs). It asserts nothing.

Usage::

    .venv/bin/python bench/containers.py [--work DIR] [--extra-seeds 1,2] [--no-extra]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection.containers import (  # noqa: E402
    YardStacks,
    compare_yards,
    count_containers_vhr,
    measure_container_stacks,
)
from geo.archive import asset_path  # noqa: E402
from geo.ports import load_ports  # noqa: E402
from geo.simulate import SimulationParams, load_truth, simulate_archive  # noqa: E402
from tests.factories import containers_vhr_yard  # noqa: E402

SCL_NOT_OBSERVED = (0, 3, 8, 9, 10)
COLLECTIONS = {"sar": "berthwatch-sim-s1", "optical": "berthwatch-sim-s2"}
OBSERVED, PARTLY = 0.9, 0.5
LOADING = (dt.datetime(2023, 9, 7, tzinfo=dt.UTC), dt.datetime(2023, 9, 9, tzinfo=dt.UTC))
#: Hand-drawn container-terminal boxes (row0, row1, col0, col1) in the real S2 scenes.
REAL_YARDS = {
    "valencia": (565, 735, 235, 470),
    "genoa": (130, 250, 190, 440),
    "durban": (505, 595, 515, 660),
}


@dataclass(frozen=True)
class Obs:
    """One yard in one scene: truth and measurement."""

    archive: str
    scene_id: str
    port: str
    zone: str
    sensor: str
    acquired_utc: dt.datetime
    truth_teu: float
    result: YardStacks
    seconds: float


def main() -> None:
    """Run every section and print the figures."""
    args = _args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    archives = {"sample_tiles (seed 0)": ROOT / "sample_tiles"}
    if not args.no_extra:
        for seed in (int(s) for s in args.extra_seeds.split(",") if s):
            archives[f"seed {seed}"] = _simulated(work, seed)
    print(
        f"# Container stacks benchmark ({dt.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()})"
    )
    print(
        "All archives are SIMULATED (berthwatch simulate, realistic plan, Rajin + Dunai, "
        "2023-08-10 to 2023-10-20).\n"
    )
    observations = [o for name, path in archives.items() for o in _measure(name, path)]
    if args.verbose:
        _list(observations)
    _accuracy(observations)
    _loading(observations)
    _consecutive(observations)
    _vhr()
    _real(work)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--work", default=str(Path(tempfile.gettempdir()) / "berthwatch-bench-containers")
    )
    p.add_argument("--extra-seeds", default="1,2")
    p.add_argument("--no-extra", action="store_true")
    p.add_argument("--verbose", action="store_true", help="print every yard observation")
    return p.parse_args()


def _simulated(work: Path, seed: int) -> Path:
    out = work / f"sim-seed{seed}"
    if not (out / "truth" / "yards.csv").exists():
        t0 = time.perf_counter()
        simulate_archive(out, SimulationParams(seed=seed), overwrite=True)
        print(f"(simulated seed {seed} into {out} in {time.perf_counter() - t0:.0f} s)")
    return out


def _measure(name: str, root: Path) -> list[Obs]:
    truth = load_truth(root)
    ports = load_ports()
    sensors = dict(zip(truth.scenes["scene_id"], truth.scenes["sensor"], strict=True))
    out = []
    for row in truth.yards.itertuples(index=False):
        port = ports[row.port]
        sensor = sensors[row.scene_id]
        bands, invalid = _read(root, row.scene_id, sensor)
        t0 = time.perf_counter()
        res = measure_container_stacks(
            bands,
            sensor="sentinel-1" if sensor == "sar" else "sentinel-2",
            pixel_size_m=port.grid.pixel_size_m,
            yard_mask=port.zone_mask(row.zone),
            invalid_mask=invalid,
            zone=row.zone,
        )
        seconds = time.perf_counter() - t0
        out.append(
            Obs(
                name,
                row.scene_id,
                row.port,
                row.zone,
                sensor,
                row.acquired_utc.to_pydatetime(),
                float(row.containers_teu),
                res,
                seconds,
            )
        )
    return out


def _read(root: Path, scene_id: str, sensor: str) -> tuple[dict[str, Any], Any]:
    collection = COLLECTIONS[sensor]
    names = ("vv", "vh") if sensor == "sar" else ("blue", "green", "red", "nir", "scl")
    bands = {}
    for band in names:
        with rasterio.open(asset_path(root, collection, scene_id, band)) as ds:
            bands[band] = ds.read(1)
    if sensor == "sar":
        return bands, ~np.isfinite(bands["vv"])
    scl = bands.pop("scl")
    return bands, np.isin(scl, SCL_NOT_OBSERVED)


def _list(obs: list[Obs]) -> None:
    print("| archive | scene | observed | truth TEU | low / central / high | area m2 |")
    print("|---|---|---|---|---|---|")
    for o in obs:
        e = o.result.teu_extrapolated
        est = f"{e.low:.0f} / {e.central:.0f} / {e.high:.0f}" if e else "(none)"
        print(
            f"| {o.archive} | {o.scene_id} | {100 * o.result.observed_fraction:.0f} % | "
            f"{o.truth_teu:.0f} | {est} | {o.result.area_m2:.0f} |"
        )
    print()


def _accuracy(obs: list[Obs]) -> None:
    print("## Yard TEU against truth\n")
    print(
        "| sensor | yards | n | truth inside interval | median abs error of central | "
        "median central/truth | median high/low |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, lo, hi in (
        ("observed >= 90 %", OBSERVED, 1.01),
        ("partly 50-90 %", PARTLY, OBSERVED),
    ):
        for sensor in ("optical", "sar", "all"):
            rows = [
                o
                for o in obs
                if (sensor == "all" or o.sensor == sensor)
                and lo <= o.result.observed_fraction < hi
                and o.result.teu_extrapolated
            ]
            if rows:
                print(
                    _row(
                        f"{'S2' if sensor == 'optical' else 'S1' if sensor == 'sar' else 'both'}",
                        label,
                        rows,
                    )
                )
    hidden = [o for o in obs if o.result.observed_fraction < PARTLY]
    print(
        f"\nNot observed (< 50 % of the yard seen: no whole-yard figure): {len(hidden)} of "
        f"{len(obs)} yard observations ({sum(o.sensor == 'optical' for o in hidden)} S2)."
    )
    secs = [o.seconds for o in obs]
    print(
        f"Time per yard observation (241 x 301 px tile): median {statistics.median(secs):.3f} s, "
        f"max {max(secs):.3f} s.\n"
    )


def _row(sensor: str, label: str, rows: list[Obs]) -> str:
    ests = [o.result.teu_extrapolated for o in rows]
    inside = sum(e.contains(o.truth_teu) for e, o in zip(ests, rows, strict=True) if e)
    errs = [abs(e.central / o.truth_teu - 1) for e, o in zip(ests, rows, strict=True) if e]
    ratio = [e.central / o.truth_teu for e, o in zip(ests, rows, strict=True) if e]
    width = [e.high / e.low for e in ests if e and e.low > 0]
    w = f"{statistics.median(width):.1f}" if width else "inf"
    return (
        f"| {sensor} | {label} | {len(rows)} | {inside}/{len(rows)} ({100 * inside / len(rows):.0f} %) "
        f"| {100 * statistics.median(errs):.0f} % | {statistics.median(ratio):.2f} | {w} |"
    )


def _loading(obs: list[Obs]) -> None:
    print("## The Rajin loading (~300 TEU, 2023-09-07/08)\n")
    for archive in sorted({o.archive for o in obs}):
        rajin = sorted(
            (
                o
                for o in obs
                if o.archive == archive
                and o.port == "rajin"
                and o.result.observed_fraction >= OBSERVED
            ),
            key=lambda o: o.acquired_utc,
        )
        before = [o for o in rajin if o.acquired_utc < LOADING[0]]
        after = [o for o in rajin if o.acquired_utc >= LOADING[1]]
        if not before or not after:
            print(f"- {archive}: no observed scene on one side of the loading")
            continue
        b, a = before[-1], after[0]
        ch = compare_yards(b.result, a.result)
        drop = b.truth_teu - a.truth_teu
        rem, net = ch.removed, ch.net
        print(
            f"- {archive}: {b.scene_id} -> {a.scene_id} ({', '.join(ch.flags) or 'same sensor'}); "
            f"true drop {drop:.0f} TEU; removed {rem.low:.0f} / {rem.central:.0f} / {rem.high:.0f} TEU "
            f"(300 inside: {rem.contains(300)}, true drop inside: {rem.contains(drop)}); "
            f"net {net.low:.0f} / {net.central:.0f} / {net.high:.0f} "
            f"(-300 inside: {net.contains(-300)})"
        )
    print()


def _consecutive(obs: list[Obs]) -> None:
    print("## Change between consecutive observations of a yard (observed >= 90 %)\n")
    rows = []
    keys = sorted({(o.archive, o.zone) for o in obs})
    for key in keys:
        seq = sorted(
            (
                o
                for o in obs
                if (o.archive, o.zone) == key and o.result.observed_fraction >= OBSERVED
            ),
            key=lambda o: o.acquired_utc,
        )
        for b, a in zip(seq, seq[1:], strict=False):
            ch = compare_yards(b.result, a.result)
            rows.append((b.sensor == a.sensor, a.truth_teu - b.truth_teu, ch.net))
    for label, same in (("same sensor", True), ("S1 <-> S2", False)):
        sel = [r for r in rows if r[0] == same]
        if not sel:
            continue
        inside = sum(n.contains(d) for _, d, n in sel)
        big = [(d, n) for _, d, n in sel if abs(d) >= 100]
        sign = sum((n.central < 0) == (d < 0) for d, n in big)
        print(
            f"- {label}: {len(sel)} pairs; true change inside the net interval in {inside} "
            f"({100 * inside / len(sel):.0f} %); changes of >= 100 TEU with the right sign: "
            f"{sign}/{len(big)}"
        )
    print()


def _vhr() -> None:
    print(
        "## VHR box counting (synthetic yards, 4 blocks x 6 rows x 10 bays, 12 % empty slots, "
        "40 % 40-ft, random angle)\n"
    )
    print(
        "| pixel | noise | yards | median |count error| | max |count error| | within 5 % | "
        "median |TEU error| | count in interval | s per yard |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for px in (0.3, 0.5, 1.0, 1.5):
        for noise in (0.02, 0.03):
            errs, terrs, inside, secs = [], [], 0, []
            for seed in range(20):
                rng = np.random.default_rng(1000 + seed)
                img, n, teu = containers_vhr_yard(
                    rng, angle_deg=float(rng.uniform(0, 180)), pixel_size_m=px, noise=noise
                )
                t0 = time.perf_counter()
                res = count_containers_vhr(img, pixel_size_m=px)
                secs.append(time.perf_counter() - t0)
                errs.append(abs(res.count - n) / n)
                terrs.append(abs(res.teu - teu) / teu)
                inside += res.count_low <= n <= res.count_high
            print(
                f"| {px} m | {noise} | 20 | {100 * statistics.median(errs):.1f} % | "
                f"{100 * max(errs):.1f} % | {sum(e <= 0.05 for e in errs)}/20 | "
                f"{100 * statistics.median(terrs):.1f} % | {inside}/20 | "
                f"{statistics.median(secs):.2f} |"
            )
    print()


def _real(work: Path) -> None:
    data = Path("/work/shared/data/s2_ports")
    if not data.exists():
        return
    print("## Real Sentinel-2 terminals (no container labels: sanity check only)\n")
    from skimage import io
    from skimage.segmentation import find_boundaries

    for city, (r0, r1, c0, c1) in REAL_YARDS.items():
        bands = {}
        for band in ("blue", "green", "red", "nir"):
            with rasterio.open(data / city / f"{band}.tif") as ds:
                bands[band] = ds.read(1)
                # EPSG:3857 pixels: 10 m in projection units, 10 m x cos(latitude) on the ground.
                px = abs(ds.transform.a) * np.cos(np.deg2rad(_lat(ds)))
        yard = np.zeros(bands["red"].shape, bool)
        yard[r0:r1, c0:c1] = True
        res = measure_container_stacks(bands, sensor="sentinel-2", pixel_size_m=px, yard_mask=yard)
        teu = res.teu
        if teu is None:
            print(f"- {city}: not observed")
            continue
        print(
            f"- {city} (pixel {px:.2f} m, box {res.yard_area_m2 / 1e4:.0f} ha): stacks "
            f"{res.area_m2 / 1e4:.1f} ha, observed {100 * res.observed_fraction:.0f} %, TEU "
            f"{teu.low:.0f} / {teu.central:.0f} / {teu.high:.0f}"
        )
        rgb = np.dstack([bands[b] for b in ("red", "green", "blue")])[r0:r1, c0:c1] / 3000.0
        rgb = np.clip(rgb, 0, 1)
        over = rgb.copy()
        over[find_boundaries(res.mask[r0:r1, c0:c1], mode="inner")] = (1.0, 0.0, 0.0)
        hidden = (yard & ~res.observed_mask)[r0:r1, c0:c1]
        over[hidden] = over[hidden] * 0.5 + (0.5, 0.0, 0.5)
        big = np.concatenate([rgb, over], axis=1).repeat(3, 0).repeat(3, 1)
        path = work / f"real-{city}.png"
        io.imsave(path, (big * 255).astype(np.uint8), check_contrast=False)
        print(f"  quicklook: {path}")
    print()


def _lat(ds: Any) -> float:
    from pyproj import Transformer

    x, y = ds.xy(ds.height // 2, ds.width // 2)
    return float(Transformer.from_crs(ds.crs, 4326, always_xy=True).transform(x, y)[1])


if __name__ == "__main__":
    main()
