"""One lock for GDAL work on in-memory datasets (reproject, rasterize, shapes).

rasterio 1.4.4 (GDAL 3.10) builds a temporary in-memory dataset for ``reproject`` of arrays and
for ``rasterize`` and ``shapes`` with a transform. From several threads at once these race:
``bench/gdal_threads.py`` (4 threads) saw ``rasterize`` raise ``NotGeoreferencedWarning`` on
a fully georeferenced grid about once in 2,000-8,000 calls, and ``reproject`` about once in
1,200 in an earlier run; with the lock, never. The pixels returned were right, but the warning
alarms users and is an error under the test suite's ``filterwarnings = error``. Prefect runs
tasks in threads, so these calls take turns; they are short next to reading the pixels.
"""

from __future__ import annotations

import threading

__all__ = ["IN_MEMORY_LOCK"]

IN_MEMORY_LOCK = threading.RLock()
