"""Print a self-contained HTML report to PDF with Debian's headless Chromium.

WeasyPrint needs system libraries this project does not install; Chromium is already a test
dependency (``make sysdeps``). Chromium runs with networking features off and every host name
mapped to nothing, so printing can never fetch anything.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from report.errors import ChromiumNotFoundError, PdfPrintError

__all__ = ["CHROMIUM_ARGS", "find_chromium", "print_pdf"]

logger = logging.getLogger(__name__)

#: Flags for a headless, offline, profile-less Chromium.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
)
_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
_TIMEOUT_S = 120.0


def find_chromium(executable: str | os.PathLike[str] | None = None) -> Path:
    """Return the Chromium executable: *executable*, else ``/usr/bin/chromium`` or one on ``PATH``.

    Raises
    ------
    ChromiumNotFoundError
        None found; the message says how to install it.
    """
    candidates = (str(executable),) if executable is not None else _CANDIDATES
    for cand in candidates:
        found = shutil.which(cand)
        if found:
            return Path(found)
    tried = ", ".join(candidates)
    raise ChromiumNotFoundError(
        f"PDF output needs Chromium but none was found (tried {tried}); "
        "install it with `apt-get install chromium` (or `make sysdeps`), or use --format html."
    )


def print_pdf(
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str],
    *,
    chromium: str | os.PathLike[str] | None = None,
    timeout_s: float = _TIMEOUT_S,
) -> Path:
    """Print the HTML file *html_path* to *pdf_path* with headless Chromium; return *pdf_path*.

    Raises
    ------
    ChromiumNotFoundError
        No Chromium executable.
    PdfPrintError
        Chromium failed, timed out or wrote no PDF (the message carries its last stderr line).
    """
    exe = find_chromium(chromium)
    src, dst = Path(html_path).resolve(), Path(pdf_path).resolve()
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="berthwatch-chromium-") as profile:
        cmd = [
            str(exe),
            *CHROMIUM_ARGS,
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={dst}",
            src.as_uri(),
        ]
        logger.debug("printing %s to %s", src, dst)
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as err:
            raise PdfPrintError(
                f"Chromium did not print {src} within {timeout_s:g} s; retry, or use --format html."
            ) from err
    if proc.returncode != 0 or not dst.is_file() or dst.stat().st_size == 0:
        last = _last_line(proc.stderr)
        raise PdfPrintError(
            f"Chromium (exit {proc.returncode}) wrote no PDF at {dst} ({last}); "
            "check that Chromium runs headless here, or use --format html."
        )
    return dst


def _last_line(stderr: str) -> str:
    # Chromium logs harmless D-Bus complaints; the useful line is the last non-D-Bus one.
    lines = [ln for ln in stderr.splitlines() if ln.strip() and "dbus" not in ln.lower()]
    return lines[-1].strip() if lines else "no message"
