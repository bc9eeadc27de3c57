"""GDAL's in-memory datasets from several threads: how often rasterio's calls go wrong.

Prefect runs scene tasks in threads. rasterio builds a temporary in-memory dataset for
``rasterize`` (port zone masks), ``shapes`` (stack outlines) and ``reproject`` of arrays (tiles);
this script makes those calls from 4 threads at once, with and without
:data:`geo._gdal.IN_MEMORY_LOCK`, and counts the calls that raised ``NotGeoreferencedWarning``
(turned into an error) or returned a result different from a single-threaded call.

Run: ``.venv/bin/python bench/gdal_threads.py [--calls 2000]`` (~1 min on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo._gdal import IN_MEMORY_LOCK  # noqa: E402
from geo.ports import load_ports  # noqa: E402

THREADS = 4


def _calls() -> dict[str, Callable[[], Any]]:
    from rasterio.crs import CRS
    from rasterio.enums import Resampling
    from rasterio.features import rasterize, shapes
    from rasterio.warp import reproject

    port = load_ports()["rajin"]
    grid = port.grid
    geom = port.to_utm(port.zones_of("berth")[0].geometry)
    blob = np.zeros(grid.shape, np.uint8)
    blob[100:140, 50:90] = 1
    src = np.random.default_rng(0).random(grid.shape, dtype=np.float32)
    crs = CRS.from_user_input(grid.crs.to_wkt())

    def do_rasterize() -> Any:
        return rasterize([geom], out_shape=grid.shape, transform=grid.transform)

    def do_shapes() -> Any:
        return [g for g, v in shapes(blob, mask=blob.astype(bool), transform=grid.transform)]

    def do_reproject() -> Any:
        dst = np.zeros(grid.shape, np.float32)
        reproject(
            src, dst, src_transform=grid.transform, src_crs=crs, dst_transform=grid.transform,
            dst_crs=crs, resampling=Resampling.nearest,
        )  # fmt: skip
        return dst

    return {"rasterize": do_rasterize, "shapes": do_shapes, "reproject": do_reproject}


def _run(call: Callable[[], Any], n: int, lock: Any) -> tuple[int, int]:
    expected = call()
    errors, wrong = [0], [0]

    def worker() -> None:
        for _ in range(n // THREADS):
            try:
                with lock:
                    got = call()
            except Exception:  # noqa: BLE001 - counting every failure is the point
                errors[0] += 1
                continue
            same = np.array_equal(got, expected) if isinstance(got, np.ndarray) else got == expected
            wrong[0] += not same

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors[0], wrong[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000, help="calls per function and mode")
    args = ap.parse_args()
    from rasterio.errors import NotGeoreferencedWarning

    warnings.simplefilter("error", NotGeoreferencedWarning)
    print(
        f"# bench/gdal_threads.py  {time.strftime('%Y-%m-%d')}  {platform.machine()} "
        f"{os.cpu_count()} cores  Python {platform.python_version()}  {THREADS} threads"
    )
    print("| call | calls | without lock: errors / wrong | with IN_MEMORY_LOCK: errors / wrong |")
    print("|---|---|---|---|")
    for name, call in _calls().items():
        free = _run(call, args.calls, contextlib.nullcontext())
        locked = _run(call, args.calls, IN_MEMORY_LOCK)
        print(f"| {name} | {args.calls} | {free[0]} / {free[1]} | {locked[0]} / {locked[1]} |")


if __name__ == "__main__":
    main()
