"""Benchmark of the vessel detectors (issue 3): accuracy on real and simulated data, speed, memory.

Run: ``.venv/bin/python bench/detection.py`` (all sections, ~3-5 min on 2 cores), or pick with
``--only dev,sim,speed,memory``. Prints markdown tables; asserts nothing.

* **dev** - the real labelled data in ``/work/shared/data`` (``--data``): Sentinel-2 ports
  (sen2ships boxes), Sentinel-1 / Gaofen-3 SAR chips (boxes), OpenSARShip chips (ship at the
  centre, AIS length), the unlabelled Los Angeles S1 scene (counts, time). Each item is scored
  for the project's detectors and, side by side, for ESA SNAP's two-parameter CFAR with its
  published defaults (on the NIR band for optical, with the same per-scene NDWI water mask).
* **sim** - the SIMULATED sample archive (``sample_tiles/``, truth in ``truth/vessels.csv``), on
  the fixed port grids with the static water mask of the port zones, with and without a
  reference (median of up to 5 earlier scenes of the same port and sensor).
* **speed** - megapixels/s of the SAR detector on a 5,000 x 5,000 simulated scene against one
  numpy pass over the same array, and against an obvious sliding-window CFAR.
* **memory** - peak memory of block-wise detection over a full-scene-sized (25,000 x 17,000)
  generated raster, in a fresh process (tracemalloc peak and maximum resident set size).
* **optmemory** - ``berthwatch detect --sensor optical`` on a GENERATED full Sentinel-2 tile
  (10,980 x 10,980, four uint16 bands and an SCL band written as GeoTIFFs), in a fresh process:
  time and maximum resident set size of the block-wise path (not run by default: ~4 min).

Scoring follows the data README: a detection hits a labelled box when its (row, col) lies inside
the box grown on every side by ``max(2 px, 0.2 * max(h, w))`` (edges at +-0.5 px of the extreme
pixel centres), one-to-one by Hungarian matching; precision, recall and F1 per dataset. A label
is *near-pier* when its box, grown by 50 m, touches land (NDWI land for Sentinel-2, the zones
for the simulated ports, the detector's own land estimate for SAR chips, said so).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection import (  # noqa: E402
    OpticalParams,
    SarParams,
    Vessel,
    build_reference,
    detect_optical_vessels,
    detect_sar_vessels,
    detect_snap_cfar,
)
from detection.cfar import cell_size_px, cell_stats  # noqa: E402
from detection.intensity import to_intensity  # noqa: E402
from detection.land import estimate_land_cells  # noqa: E402
from detection.optical import to_reflectance, water_from_ndwi  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("BERTHWATCH_BENCH_DATA", "/work/shared/data"))
NEAR_PIER_M = 50.0

Box = tuple[float, float, float, float]  # row_min, col_min, row_max, col_max (inclusive)


# ----------------------------------------------------------------------------- scoring


def grown(box: Box) -> Box:
    """The scorer's acceptance box: grown by max(2, 0.2 * max(h, w)), edges at +-0.5 px."""
    r0, c0, r1, c1 = box
    g = max(2.0, 0.2 * max(r1 - r0 + 1, c1 - c0 + 1))
    return r0 - 0.5 - g, c0 - 0.5 - g, r1 + 0.5 + g, c1 + 0.5 + g


def match(dets: Sequence[tuple[float, float]], boxes: Sequence[Box]) -> list[tuple[int, int]]:
    """One-to-one Hungarian matching of detection centres to boxes; returns (det, box) pairs."""
    if not dets or not boxes:
        return []
    cost = np.full((len(dets), len(boxes)), 1e9)
    for j, box in enumerate(boxes):
        g0, g1, g2, g3 = grown(box)
        cr, cc = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
        for i, (r, c) in enumerate(dets):
            if g0 <= r <= g2 and g1 <= c <= g3:
                cost[i, j] = math.hypot(r - cr, c - cc)
    ri, ci = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(ri, ci, strict=True) if cost[i, j] < 1e9]


@dataclass
class Score:
    """Counts for precision/recall/F1, split by near-pier and open water."""

    tp: int = 0
    det: int = 0
    lab: int = 0
    near_tp: int = 0
    near_lab: int = 0
    near_det: int = 0
    near_det_tp: int = 0
    lengths: list[tuple[float, float]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Score) -> None:
        for k in ("tp", "det", "lab", "near_tp", "near_lab", "near_det", "near_det_tp"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.lengths += other.lengths
        self.seconds += other.seconds

    @staticmethod
    def prf(tp: int, det: int, lab: int) -> tuple[float, float, float]:
        p = tp / det if det else float("nan")
        r = tp / lab if lab else float("nan")
        f = 2 * p * r / (p + r) if det and lab and (p + r) > 0 else 0.0
        return p, r, f

    def row(self) -> str:
        p, r, f = self.prf(self.tp, self.det, self.lab)
        open_tp, open_lab = self.tp - self.near_tp, self.lab - self.near_lab
        open_det = self.det - self.near_det
        open_det_tp = self.tp - self.near_det_tp
        return (
            f"{p:.3f} | {r:.3f} | **{f:.3f}** | {self.tp}/{self.det}/{self.lab} | "
            f"{_frac(self.near_tp, self.near_lab)} | {_frac(open_tp, open_lab)} | "
            f"{_frac(self.near_det_tp, self.near_det)} | {_frac(open_det_tp, open_det)}"
        )


def _frac(a: int, b: int) -> str:
    return f"{a / b:.2f} ({a}/{b})" if b else "-"


def score_item(
    vessels: Sequence[Vessel],
    boxes: Sequence[Box],
    near_label: Sequence[bool],
    near_point: Callable[[float, float], bool],
) -> Score:
    dets = [(v.row, v.col) for v in vessels]
    pairs = match(dets, boxes)
    s = Score(tp=len(pairs), det=len(dets), lab=len(boxes))
    s.near_lab = int(sum(near_label))
    s.near_tp = sum(1 for _, j in pairs if near_label[j])
    near_det = [near_point(r, c) for r, c in dets]
    s.near_det = int(sum(near_det))
    s.near_det_tp = sum(1 for i, _ in pairs if near_det[i])
    return s


HEADER = (
    "| data | detector | precision | recall | F1 | tp/det/lab | near-pier recall | "
    "open-water recall | near-pier precision | open-water precision |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


# ----------------------------------------------------------------------------- reading


def _read(path: Path) -> Any:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return ds.read(1), ds.read_masks(1) > 0


def _near_fn(land: np.ndarray, reach_px: float) -> tuple[Callable[[float, float], bool], Any]:
    """Point test and mask: within *reach_px* of land."""
    if not land.any():
        return (lambda r, c: False), np.zeros(land.shape, bool)
    dist = ndimage.distance_transform_edt(~land)
    near = dist <= reach_px

    def point(r: float, c: float) -> bool:
        ri = int(min(max(round(r), 0), land.shape[0] - 1))
        ci = int(min(max(round(c), 0), land.shape[1] - 1))
        return bool(near[ri, ci])

    return point, near


def _near_boxes(boxes: Sequence[Box], near: np.ndarray) -> list[bool]:
    out = []
    for r0, c0, r1, c1 in boxes:
        sl = (slice(max(int(r0), 0), int(r1) + 1), slice(max(int(c0), 0), int(c1) + 1))
        out.append(bool(near[sl].any()))
    return out


# ----------------------------------------------------------------------------- dev data


def dev_sar(
    data: Path, params: SarParams, near_params: SarParams | None = None
) -> dict[str, dict[str, Score]]:
    manifest = json.loads((data / "manifest.json").read_text())
    out: dict[str, dict[str, Score]] = {}
    for it in manifest["items"]:
        if it["sensor"] != "sar" or it["label_type"] == "none":
            continue
        image, valid = _read(data / it["image"])
        px = float(it["pixel_size_m"])
        boxes, lengths = _sar_labels(it)
        land = _sar_land(image, valid, px, near_params)
        near_point, near = _near_fn(land, NEAR_PIER_M / px)
        near_lab = _near_boxes(boxes, near)
        ds = "opensarship" if it["dataset"] == "opensarship" else it["dataset"]
        for name, fn in (("berthwatch", _ours_sar(params)), ("SNAP CFAR", _snap_sar)):
            t0 = time.perf_counter()
            vs = fn(image, px, valid)
            dt = time.perf_counter() - t0
            s = score_item(vs, boxes, near_lab, near_point)
            s.seconds = dt
            if lengths is not None and boxes:
                pairs = match([(v.row, v.col) for v in vs], boxes)
                for i, _ in pairs:
                    s.lengths.append((vs[i].length_m, lengths))
            out.setdefault(ds, {}).setdefault(name, Score()).add(s)
    return out


def _sar_labels(it: dict[str, Any]) -> tuple[list[Box], float | None]:
    if it["label_type"] == "boxes":
        return [tuple(map(float, b)) for b in it["boxes"]], None  # type: ignore[misc]
    # OpenSARShip: the ship is at the chip centre; its box is a square of the AIS length (or
    # 3 px when AIS gave none), so the scorer's tolerance follows the ship's size.
    cr, cc = it["centre"]
    length = it.get("ais_length_m")
    side = max((length or 30.0) / it["pixel_size_m"], 3.0)
    h = side / 2.0
    return [(cr - h + 0.5, cc - h + 0.5, cr + h - 0.5, cc + h - 0.5)], length


def _sar_land(
    image: np.ndarray, valid: np.ndarray, px: float, p: SarParams | None = None
) -> np.ndarray:
    x, ok, _ = to_intensity(image, valid=None if valid.all() else valid)
    p = p or SarParams()
    c = cell_size_px(p.cell_m, px)
    cells = estimate_land_cells(
        cell_stats(x, ok, None, c),
        cell_m=c * px,
        params=p,
        image=x,
        # As detect_sar_vessels: an integer image's 0 is a clipped floor, not a sea level.
        valid=_above_zero(x, ok) if image.dtype.kind in "iu" and p.clipped_zero_background else ok,
        cell_px=c,
    )
    return np.kron(cells, np.ones((c, c), bool))[: image.shape[0], : image.shape[1]]


def _above_zero(x: np.ndarray, ok: np.ndarray | None) -> np.ndarray:
    return x > 0 if ok is None else ok & (x > 0)


def _ours_sar(params: SarParams) -> Callable[[np.ndarray, float, np.ndarray], list[Vessel]]:
    def run(image: np.ndarray, px: float, valid: np.ndarray) -> list[Vessel]:
        return detect_sar_vessels(
            image, pixel_size_m=px, valid_mask=None if valid.all() else valid, params=params
        )

    return run


def _snap_sar(image: np.ndarray, px: float, valid: np.ndarray) -> list[Vessel]:
    return detect_snap_cfar(image, pixel_size_m=px, valid_mask=None if valid.all() else valid)


def clutter_calibration(data: Path) -> list[str]:
    """Pixels of the empty LS-SSDD sea chips above the seed threshold, per clutter model and PFA.

    A well-fit model puts ``N * 10**-e`` pixels above the 10^-e threshold.
    """
    from dataclasses import replace

    from detection.sar import _level, _thresholds  # the detector's own background model

    manifest = json.loads((data / "manifest.json").read_text())
    chips = [
        it
        for it in manifest["items"]
        if it["dataset"] == "ls_ssdd"
        and not it["boxes"]
        and it["id"].endswith(("_2", "_3", "_4", "_5", "_6", "_7"))
    ]
    exps = (4.0, 5.0, 6.0, 6.5, 8.0)
    counts = {m: dict.fromkeys(exps, 0) for m in ("gaussian (SNAP)", "gamma", "k")}
    total = 0
    for it in chips:
        image, _ = _read(data / it["image"])
        x, _, _ = to_intensity(image)
        px = float(it["pixel_size_m"])
        total += x.size
        for model in counts:
            p = replace(SarParams(), clutter_model="k" if model == "k" else "gamma")
            c = cell_size_px(p.cell_m, px)
            # The detector's own background (bright cells left out at its default PFA); only
            # the final test level varies.
            _, _, fit = _thresholds(cell_stats(x, None, None, c), c, px, p)
            for e in exps:
                if model.startswith("gaussian"):
                    from scipy import special

                    t = float(special.ndtri(1.0 - 10.0**-e))
                    hi = fit.mean * (1.0 + t / np.sqrt(fit.looks))  # mean + t * std
                else:
                    hi = _level(fit, e, p)
                full = np.repeat(np.repeat(hi, c, 0), c, 1)[: x.shape[0], : x.shape[1]]
                counts[model][e] += int((x > full).sum())
    rows = [
        f"| expected (N x PFA, N = {total / 1e6:.1f} Mpx) | "
        + " | ".join(f"{total * 10**-e:.1f}" for e in exps)
        + " |"
    ]
    for model, per in counts.items():
        rows.append(f"| {model} | " + " | ".join(str(per[e]) for e in exps) + " |")
    head = "| model | " + " | ".join(f"10^-{e:g}" for e in exps) + " |\n|---|" + "---|" * len(exps)
    return [head, *rows]


def dev_la(data: Path, params: SarParams) -> list[str]:
    path = data / "s1_scenes" / "port_la_longbeach_S1_VV_dB_2021-01-05.tif"
    if not path.exists():
        return []
    image, valid = _read(path)
    rows = []
    for name, fn in (("berthwatch", _ours_sar(params)), ("SNAP CFAR", _snap_sar)):
        t0 = time.perf_counter()
        vs = fn(image, 30.0, valid)
        rows.append(
            f"| LA/Long Beach S1 (unlabelled) | {name} | {len(vs)} detections | "
            f"{time.perf_counter() - t0:.2f} s |"
        )
    return rows


def dev_optical(data: Path, params: OpticalParams) -> dict[str, dict[str, Score]]:
    manifest = json.loads((data / "manifest.json").read_text())
    out: dict[str, dict[str, Score]] = {}
    for it in manifest["items"]:
        if it["sensor"] != "optical":
            continue
        bands, valid = {}, None
        for name, rel in it["bands"].items():
            arr, ok = _read(data / rel)
            bands[name] = arr
            valid = ok if valid is None else valid & ok
        px = float(it["pixel_size_m"])
        boxes = [tuple(map(float, b)) for b in it["boxes"]]
        g, n = to_reflectance(bands["green"]), to_reflectance(bands["nir"])
        water = ndimage.binary_fill_holes(water_from_ndwi(g, n, pixel_size_m=px))
        near_point, near = _near_fn(~water, NEAR_PIER_M / px)
        near_lab = _near_boxes(boxes, near)
        city = it["meta"]["city"]
        for name in ("berthwatch", "SNAP CFAR (NIR)"):
            t0 = time.perf_counter()
            if name == "berthwatch":
                vs = detect_optical_vessels(bands, pixel_size_m=px, params=params)
            else:
                vs = detect_snap_cfar(n, pixel_size_m=px, water_mask=water, scale="linear")
            s = score_item(vs, boxes, near_lab, near_point)
            s.seconds = time.perf_counter() - t0
            out.setdefault(f"S2 {city}", {})[name] = s
    return out


# ----------------------------------------------------------------------------- simulated


def simulated(
    archive: Path, sar_p: SarParams, opt_p: OpticalParams, *, history: int = 5
) -> dict[str, dict[str, Score]]:
    """Score on the simulated archive: truth vessels (visible) as oriented-hull boxes."""
    from geo.ports import get_port

    truth = list(csv.DictReader((archive / "truth" / "vessels.csv").open()))
    scenes = list(csv.DictReader((archive / "truth" / "scenes.csv").open()))
    by_scene: dict[str, list[dict[str, str]]] = {}
    for row in truth:
        if row["visible"] == "true":
            by_scene.setdefault(row["scene_id"], []).append(row)
    out: dict[str, dict[str, Score]] = {}
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for sc in sorted(scenes, key=lambda s: s["acquired_utc"]):
        sid, port_id, sensor = sc["scene_id"], sc["port"], sc["sensor"]
        tile = _sim_tile(archive, sid, sensor)
        if tile is None:
            continue
        port = get_port(port_id)
        water = port.water_mask()
        if water.shape != tile["valid"].shape:
            continue
        labels = by_scene.get(sid, [])
        boxes = [_hull_box(v, 10.0) for v in labels]
        near_lab = [v["zone"] != "open_water" for v in labels]
        near_point, _ = _near_fn(~water, NEAR_PIER_M / 10.0)
        earlier = seen.setdefault((port_id, sensor), [])
        for with_ref in (False, True):
            ref = _sim_reference(earlier[-history:], sensor) if with_ref else None
            if with_ref and ref is None:
                continue
            vs = _sim_detect(tile, sensor, water, ref, sar_p, opt_p)
            key = f"SIM {sensor} " + ("with reference" if with_ref else "no reference")
            out.setdefault(key, {}).setdefault("berthwatch", Score()).add(
                score_item(vs, boxes, near_lab, near_point)
            )
        earlier.append(tile)
    return out


def _sim_tile(archive: Path, sid: str, sensor: str) -> dict[str, Any] | None:
    folder = archive / ("berthwatch-sim-s1" if sensor == "sar" else "berthwatch-sim-s2") / sid
    if not folder.is_dir():
        return None
    bands: dict[str, np.ndarray] = {}
    valid = None
    for tif in sorted(folder.glob("*.tif")):
        name = tif.stem.rsplit("_", 1)[-1]
        arr, ok = _read(tif)
        if name == "scl":
            bad = np.isin(arr, (0, 1, 3, 8, 9, 10))
            valid = ~bad if valid is None else valid & ~bad
            continue
        bands[name] = arr
        ok = ok & (np.isfinite(arr) if arr.dtype.kind == "f" else True)
        valid = ok if valid is None else valid & ok
    return {"bands": bands, "valid": valid}


def _sim_reference(tiles: list[dict[str, Any]], sensor: str) -> dict[str, np.ndarray] | None:
    if len(tiles) < 2:
        return None
    names = ["vv"] if sensor == "sar" else ["blue", "green", "red", "nir"]
    ref = {}
    for name in names:
        stack = [t["bands"][name].astype(np.float32) for t in tiles if name in t["bands"]]
        valid = [t["valid"] for t in tiles if name in t["bands"]]
        if len(stack) < 2:
            return None
        ref[name] = build_reference(stack, valid=valid)
    return ref


def _sim_detect(
    tile: dict[str, Any],
    sensor: str,
    water: np.ndarray,
    ref: dict[str, np.ndarray] | None,
    sar_p: SarParams | None = None,
    opt_p: OpticalParams | None = None,
) -> list[Vessel]:
    sar_p = sar_p or SarParams()
    opt_p = opt_p or OpticalParams()
    if sensor == "sar":
        return detect_sar_vessels(
            tile["bands"]["vv"],
            pixel_size_m=10.0,
            water_mask=water,
            valid_mask=tile["valid"],
            reference=None if ref is None else ref["vv"],
            params=sar_p,
        )
    return detect_optical_vessels(
        tile["bands"],
        pixel_size_m=10.0,
        water_mask=water,
        invalid_mask=~tile["valid"],
        reference=ref,
        params=opt_p,
    )


def _hull_box(v: dict[str, str], px: float) -> Box:
    r, c = float(v["row"]), float(v["col"])
    L, W = float(v["length_m"]) / px, float(v["width_m"]) / px  # noqa: N806
    t = math.radians(float(v["heading_deg"]))
    dr = 0.5 * (abs(L * math.cos(t)) + abs(W * math.sin(t)))
    dc = 0.5 * (abs(L * math.sin(t)) + abs(W * math.cos(t)))
    return (r - dr + 0.5, c - dc + 0.5, r + dr - 0.5, c + dc - 0.5)


# ----------------------------------------------------------------------------- speed


def sim_sar_scene(n: int, seed: int = 0, ships: int = 200) -> np.ndarray:
    """SIMULATED K-distributed sea (4.4 looks, texture shape 8) with *ships* bright hulls."""
    rng = np.random.default_rng(seed)
    sea = rng.gamma(4.4, 0.01 / 4.4, size=(n, n)).astype(np.float32)
    sea *= (
        rng.gamma(8.0, 1 / 8.0, size=(n // 50 + 1, n // 50 + 1))
        .astype(np.float32)
        .repeat(50, 0)
        .repeat(50, 1)[:n, :n]
    )
    for _ in range(ships):
        r, c = rng.integers(20, n - 40, 2)
        sea[r : r + 3, c : c + rng.integers(3, 30)] += np.float32(10 ** rng.uniform(-1.5, 0.5))
    return sea


def speed(n: int = 5000) -> list[str]:
    a = sim_sar_scene(n)
    buf = np.empty_like(a)

    def best(f: Callable[[], Any], k: int = 3) -> float:
        f()
        ts = []
        for _ in range(k):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    t_sum = best(lambda: a.sum())
    t_copy = best(lambda: np.multiply(a, 2, out=buf))
    t_det = best(lambda: detect_sar_vessels(a, pixel_size_m=10.0), 3)
    t_snap_crop = best(lambda: detect_snap_cfar(a[:1000, :1000], pixel_size_m=10.0), 1)
    t_naive = _naive_cfar_seconds_per_px(a) * a.size
    mpx = a.size / 1e6
    found = len(detect_sar_vessels(a, pixel_size_m=10.0))
    return [
        f"| one numpy pass: `a.sum()` (read) | {t_sum * 1e3:.1f} ms | {mpx / t_sum:.0f} Mpx/s | 1 |",
        f"| one numpy pass: `multiply(a, 2, out=b)` (read+write) | {t_copy * 1e3:.1f} ms | "
        f"{mpx / t_copy:.0f} Mpx/s | {t_copy / t_sum:.1f} |",
        f"| berthwatch SAR detector ({found} detections) | {t_det * 1e3:.0f} ms | "
        f"{mpx / t_det:.1f} Mpx/s | {t_det / t_sum:.0f} (x{t_det / t_copy:.0f} read+write) |",
        f"| SNAP CFAR, integral images (1000x1000 crop, scaled) | "
        f"{t_snap_crop * 25 * 1e3:.0f} ms | {1.0 / t_snap_crop:.1f} Mpx/s | "
        f"{t_snap_crop * 25 / t_sum:.0f} |",
        f"| obvious sliding-window CFAR (per-pixel ring, extrapolated) | {t_naive:.0f} s | "
        f"{mpx / t_naive:.3f} Mpx/s | {t_naive / t_sum:.0f} (berthwatch x{t_naive / t_det:.0f} "
        "faster) |",
    ]


def _naive_cfar_seconds_per_px(a: np.ndarray, n_px: int = 400) -> float:
    """Per-pixel cost of the obvious CFAR: cut the window, mask the guard, mean and std."""
    p = SarParams()
    rb = int(p.background_m / 10.0) // 2
    rg = int(p.guard_m / 10.0) // 2
    ring = np.ones((2 * rb + 1, 2 * rb + 1), bool)
    ring[rb - rg : rb + rg + 1, rb - rg : rb + rg + 1] = False
    rng = np.random.default_rng(1)
    rows = rng.integers(rb, a.shape[0] - rb, n_px)
    cols = rng.integers(rb, a.shape[1] - rb, n_px)
    t0 = time.perf_counter()
    hits = 0
    for r, c in zip(rows, cols, strict=True):
        w = a[r - rb : r + rb + 1, c - rb : c + rb + 1][ring]
        hits += int(a[r, c] > w.mean() + 5.0 * w.std())
    return (time.perf_counter() - t0) / n_px


# ----------------------------------------------------------------------------- memory


class GeneratedScene:
    """A SIMULATED full Sentinel-1 scene generated window by window (never all in memory)."""

    def __init__(self, shape: tuple[int, int], tile: int = 1024, seed: int = 0) -> None:
        self.shape = shape
        self.dtype = np.dtype(np.float32)
        self.tile = tile
        self.seed = seed

    def _tile(self, ti: int, tj: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, ti, tj])
        h = min(self.tile, self.shape[0] - ti * self.tile)
        w = min(self.tile, self.shape[1] - tj * self.tile)
        t = rng.gamma(4.4, 0.01 / 4.4, size=(h, w)).astype(np.float32)
        for _ in range(3):  # a few ships per tile
            r, c = rng.integers(5, max(h - 30, 6)), rng.integers(5, max(w - 30, 6))
            t[r : r + 3, c : c + 20] += np.float32(0.5)
        return t

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        r0, r1, _ = key[0].indices(self.shape[0])
        c0, c1, _ = key[1].indices(self.shape[1])
        out = np.empty((r1 - r0, c1 - c0), np.float32)
        T = self.tile  # noqa: N806
        for ti in range(r0 // T, (r1 - 1) // T + 1):
            for tj in range(c0 // T, (c1 - 1) // T + 1):
                t = self._tile(ti, tj)
                rs = slice(max(r0, ti * T), min(r1, ti * T + t.shape[0]))
                cs = slice(max(c0, tj * T), min(c1, tj * T + t.shape[1]))
                out[rs.start - r0 : rs.stop - r0, cs.start - c0 : cs.stop - c0] = t[
                    rs.start - ti * T : rs.stop - ti * T, cs.start - tj * T : cs.stop - tj * T
                ]
        return out


def memory_child(rows: int, cols: int, block_px: int) -> None:
    """Run in a fresh process: block-wise detection over a generated scene, print JSON."""
    import tracemalloc

    from detection.blocks import detect_sar_vessels_in_blocks

    src = GeneratedScene((rows, cols))
    tracemalloc.start()
    t0 = time.perf_counter()
    found = detect_sar_vessels_in_blocks(src, pixel_size_m=10.0, scale="linear", block_px=block_px)
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": dt,
                "tracemalloc_peak_mb": peak / 2**20,
                "max_rss_mb": rss_kb / 1024,
                "detections": len(found),
            }
        )
    )


def memory(rows: int = 25000, cols: int = 17000, block_px: int = 4096) -> list[str]:
    proc = subprocess.run(
        [sys.executable, __file__, "--memory-child", f"{rows},{cols},{block_px}"],
        capture_output=True,
        text=True,
        check=True,
    )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        f"| {rows} x {cols} px ({rows * cols / 1e6:.0f} Mpx), blocks of {block_px} px | "
        f"{res['seconds']:.0f} s ({rows * cols / 1e6 / res['seconds']:.1f} Mpx/s, incl. "
        f"generating the pixels) | {res['tracemalloc_peak_mb']:.0f} MB | {res['max_rss_mb']:.0f} MB "
        f"| {res['detections']} |"
    ]


# ----------------------------------------------------------------------------- optical memory


def write_optical_tile(folder: Path, n: int = 10980, tile: int = 1024, seed: int = 0) -> None:
    """Write a GENERATED n x n Sentinel-2-like tile (B02, B03, B04, B08 uint16, SCL) window by
    window: land above a straight quay with hulls alongside, a mole, a marina comb, an island
    with a lake, a few thousand hulls at sea, and clouds in the SCL band."""
    import rasterio
    from affine import Affine
    from skimage.draw import polygon

    levels = {  # (water, land, hull) reflectance, as tests/factories.det_optical_scene
        "blue": (0.06, 0.10, 0.12),
        "green": (0.05, 0.11, 0.12),
        "red": (0.03, 0.12, 0.14),
        "nir": (0.015, 0.25, 0.24),
    }
    profile = {
        "driver": "GTiff", "height": n, "width": n, "count": 1, "crs": "EPSG:32633",
        "transform": Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 4500000.0),
        "tiled": True, "blockxsize": 512, "blockysize": 512,
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    dss = {
        name: rasterio.open(
            folder / f"{name}.tif", "w", dtype="uint8" if name == "scl" else "uint16", **profile
        )
        for name in (*levels, "scl")
    }
    quay = n // 5
    try:
        for r0 in range(0, n, tile):
            for c0 in range(0, n, tile):
                rng = np.random.default_rng([seed, r0, c0])
                h, w = min(tile, n - r0), min(tile, n - c0)
                rr, cc = np.ogrid[r0 : r0 + h, c0 : c0 + w]
                land = np.broadcast_to(rr < quay, (h, w)).copy()
                land |= (rr < quay + 500) & (cc >= n // 2) & (cc < n // 2 + 4)  # mole
                land |= (rr < quay + 6) & (cc >= n // 3) & (cc < n // 3 + 300) & (cc % 6 == 0)
                d2 = (rr - 0.7 * n) ** 2 + (cc - 0.3 * n) ** 2
                land |= (d2 < 400**2) & (d2 >= 60**2)  # island with a lake
                hull = np.zeros((h, w), dtype=bool)
                for _ in range(25):
                    r, c = rng.uniform(0, h), rng.uniform(0, w)
                    if r0 + r < quay + 50:
                        continue
                    t, length, beam = rng.uniform(0, np.pi), rng.uniform(4, 25), rng.uniform(2, 4)
                    u, v = (-np.cos(t), np.sin(t)), (-np.sin(t), -np.cos(t))
                    pts = [
                        (r + a * length / 2 * u[0] + b * beam / 2 * v[0],
                         c + a * length / 2 * u[1] + b * beam / 2 * v[1])
                        for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))
                    ]  # fmt: skip
                    pr, pc = polygon([p[0] for p in pts], [p[1] for p in pts], shape=(h, w))
                    hull[pr, pc] = True
                for cq in range(200, n, 400):  # hulls alongside the quay, 200 m x 30 m
                    if c0 <= cq < c0 + w and r0 <= quay < r0 + h:
                        hull[quay - r0 : quay - r0 + 3, cq - c0 : min(cq - c0 + 20, w)] = True
                win = ((r0, r0 + h), (c0, c0 + w))
                for name, (wl, gl, hl) in levels.items():
                    band = rng.normal(wl, 0.003, size=(h, w))
                    band[land] = rng.normal(gl, 0.03, size=int(land.sum()))
                    band[hull] = rng.normal(hl, 0.02, size=int(hull.sum()))
                    dss[name].write((band.clip(0, 1) * 10000).round().astype(np.uint16), 1,
                                    window=win)  # fmt: skip
                scl = np.where(land, 5, 6).astype(np.uint8)
                for cr, ccl in ((0.5, 0.8), (0.85, 0.55)):  # two clouds, 1.5 km across
                    scl[(rr - cr * n) ** 2 + (cc - ccl * n) ** 2 < 75**2] = 9
                dss["scl"].write(scl, 1, window=win)
    finally:
        for ds in dss.values():
            ds.close()


def optmemory_child(folder: str, block_px: int) -> None:
    """Run in a fresh process: ``berthwatch detect --sensor optical`` on the tile, print JSON."""
    import flows.commands.detect as detect_module
    from flows.cli import cli

    detect_module._OPTICAL_BLOCK_PX = block_px
    args = ["detect", "--sensor", "optical"]
    for name in ("blue", "green", "red", "nir", "scl"):
        args += ["--band", f"{name}={folder}/{name}.tif"]
    out = Path(folder) / "vessels.geojson"
    t0 = time.perf_counter()
    cli.main([*args, "--out", str(out)], standalone_mode=False)
    dt = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = json.loads(out.read_text())["features"]
    print(json.dumps({"seconds": dt, "max_rss_mb": rss_kb / 1024, "detections": len(found)}))


def optmemory(n: int = 10980, block_px: int = 2048) -> list[str]:
    """Write the tile, then run the CLI twice in fresh processes: with berthwatch's own cap on
    GDAL's block cache (``geo.images.READ_CACHE_MB``; GDAL's default is 5 % of the machine's
    RAM) and with ``GDAL_CACHEMAX=64`` (MB), which separates GDAL's cache from the detector's
    own memory."""
    import tempfile

    from geo.images import READ_CACHE_MB

    rows = []
    with tempfile.TemporaryDirectory(prefix="berthwatch-optmem-") as tmp:
        t0 = time.perf_counter()
        write_optical_tile(Path(tmp), n)
        gen_s = time.perf_counter() - t0
        for cache in (None, "64"):
            env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}
            if cache is not None:
                env["GDAL_CACHEMAX"] = cache
            proc = subprocess.run(
                [sys.executable, __file__, "--optmemory-child", f"{tmp},{block_px}"],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(
                f"| {n} x {n} px ({n * n / 1e6:.0f} Mpx) x 4 bands + SCL, GeoTIFF uint16, "
                f"blocks of {block_px} px | GDAL cache {cache or READ_CACHE_MB} MB"
                f"{'' if cache else ' (berthwatch default)'} | "
                f"{res['seconds']:.0f} s ({n * n / 1e6 / res['seconds']:.2f} Mpx/s; writing the "
                f"files {gen_s:.0f} s) | {res['max_rss_mb']:.0f} MB | {res['detections']} |"
            )
    return rows


# ----------------------------------------------------------------------------- main


def _print_scores(title: str, scores: dict[str, dict[str, Score]]) -> None:
    print(f"\n### {title}\n")
    print(HEADER)
    for ds in sorted(scores):
        for name, s in scores[ds].items():
            print(f"| {ds} | {name} | {s.row()} |")
    for ds in sorted(scores):
        for name, s in scores[ds].items():
            if s.lengths:
                e = np.array(s.lengths)
                err = e[:, 0] - e[:, 1]
                print(
                    f"\nLength vs AIS, {ds}, {name}: n={len(e)}, median error {np.median(err):+.0f} m, "
                    f"MAE {np.mean(np.abs(err)):.0f} m, median relative error "
                    f"{np.median(np.abs(err) / e[:, 1]):.2f}"
                )


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--archive", type=Path, default=ROOT / "sample_tiles")
    ap.add_argument("--only", default="dev,sim,speed,memory")
    ap.add_argument(
        "--sar", default="", help="SarParams overrides, e.g. 'pfa_exponent=7,cell_m=80'"
    )
    ap.add_argument("--optical", default="", help="OpticalParams overrides")
    ap.add_argument(
        "--near-sar",
        default="",
        help="SarParams overrides of the land estimate that decides which SAR labels are "
        "near-pier (default: all defaults), e.g. 'land_max_dark_share=1.0' for the labels of "
        "the estimate without the sea-dark test",
    )
    ap.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--optmemory-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--optmemory-px", type=int, default=10980, help="side of the optmemory tile")
    args = ap.parse_args(argv)
    if args.memory_child:
        memory_child(*map(int, args.memory_child.split(",")))
        return
    if args.optmemory_child:
        folder, block = args.optmemory_child.rsplit(",", 1)
        optmemory_child(folder, int(block))
        return
    only = set(args.only.split(","))
    sar_p = _override(SarParams(), args.sar)
    opt_p = _override(OpticalParams(), args.optical)
    print(
        f"Measured {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    if only & {"dev", "devsar"} and (args.data / "manifest.json").exists():
        scores = _with_total(
            dev_sar(args.data, sar_p, _override(SarParams(), args.near_sar)),
            "SAR all labelled chips",
        )
        _print_scores("SAR, real data (DEV split)", scores)
        print("\nClutter model fit: pixels of 6 empty LS-SSDD sea chips above the threshold\n")
        print("\n".join(clutter_calibration(args.data)))
        rows = dev_la(args.data, sar_p)
        if rows:
            print("\n| scene | detector | result | time |\n|---|---|---|---|")
            print("\n".join(rows))
    if only & {"dev", "devopt"} and (args.data / "manifest.json").exists():
        _print_scores(
            "Optical, real data (DEV split, sen2ships)",
            _with_total(dev_optical(args.data, opt_p), "S2 all four ports"),
        )
    if "sim" in only and (args.archive / "truth" / "vessels.csv").exists():
        _print_scores("SIMULATED archive (sample_tiles)", simulated(args.archive, sar_p, opt_p))
    if "speed" in only:
        print("\n### Throughput, 5,000 x 5,000 SIMULATED SAR scene\n")
        print("| what | time | throughput | x one read pass |\n|---|---|---|---|")
        print("\n".join(speed()))
    if "memory" in only:
        print("\n### Peak memory, full-scene-sized GENERATED raster, block-wise\n")
        print("| raster | time | tracemalloc peak | max RSS | detections |\n|---|---|---|---|---|")
        print("\n".join(memory()))
    if "optmemory" in only:
        print("\n### `berthwatch detect --sensor optical`, GENERATED full Sentinel-2 tile\n")
        print("| raster | GDAL cache | time | max RSS | detections |\n|---|---|---|---|---|")
        print("\n".join(optmemory(args.optmemory_px)))


def _override(params: Any, spec: str) -> Any:
    """``replace(params, **{k: literal})`` from ``'k=v,k2=v2'`` (numbers, booleans, strings)."""
    import ast
    from dataclasses import replace

    if not spec:
        return params
    kw = {}
    for item in spec.split(","):
        k, _, v = item.partition("=")
        try:
            kw[k.strip()] = ast.literal_eval(v.strip())
        except (ValueError, SyntaxError):
            kw[k.strip()] = v.strip()
    return replace(params, **kw)


def _with_total(scores: dict[str, dict[str, Score]], label: str) -> dict[str, dict[str, Score]]:
    total: dict[str, Score] = {}
    for per in scores.values():
        for name, s in per.items():
            total.setdefault(name, Score()).add(s)
    scores[label] = total
    return scores


if __name__ == "__main__":
    main()
