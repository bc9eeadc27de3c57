"""Real servers on 127.0.0.1 for the tests: a range-capable file server with fault injection, and
a STAC API (stac-fastapi-static) over a static catalogue.

Both run in threads of the test process and stop when their ``with`` block ends. GDAL reaches the
file server through ``/vsicurl/`` (libcurl), pystac-client reaches the API through ``requests``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from RangeHTTPServer import RangeRequestHandler

__all__ = ["Fault", "FileServer", "serve_files", "serve_stac_api"]


@dataclass
class Fault:
    """What the file server does wrong for one path (URL path, e.g. ``/a/b.tif``).

    ``kind`` is ``"status"`` (answer ``status`` to the first ``times`` requests, then serve),
    ``"stall"`` (hold every request ``stall_s`` seconds before answering anything) or ``"cut"``
    (announce the full length but send only half the bytes of any range past the first 16 KiB,
    then hang up).
    """

    kind: str
    times: int = 2
    status: int = 503
    stall_s: float = 30.0


@dataclass
class FileServer:
    """A running file server: ``url`` to prefix paths with, ``hits`` counts requests per path."""

    url: str
    root: Path
    faults: dict[str, Fault]
    hits: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    def href(self, path: Path) -> str:
        """URL of a file under ``root``."""
        return f"{self.url}/{path.relative_to(self.root).as_posix()}"


class _Handler(RangeRequestHandler):
    state: FileServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet

    def _fault(self) -> Fault | None:
        path = self.path.split("?", 1)[0]
        self.state.hits[path] += 1
        return self.state.faults.get(path)

    def _answer_fault(self, fault: Fault) -> bool:
        """Apply a status or stall fault; True when the request was answered (or dropped)."""
        path = self.path.split("?", 1)[0]
        if fault.kind == "status" and self.state.hits[path] <= fault.times:
            self.send_response(fault.status)
            self.send_header("Content-Length", "0")
            self.send_header("Retry-After", "0")
            self.end_headers()
            return True
        if fault.kind == "stall":
            self.state.stop.wait(fault.stall_s)
            self.close_connection = True
            return True
        return False

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        fault = self._fault()
        if fault is not None and self._answer_fault(fault):
            return
        super().do_HEAD()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fault = self._fault()
        if fault is not None and self._answer_fault(fault):
            return
        if fault is not None and fault.kind == "cut":
            self._cut_short()
            return
        super().do_GET()

    def _cut_short(self) -> None:
        first, last = 0, None
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes="):
            a, _, b = rng[len("bytes=") :].partition("-")
            first, last = int(a), (int(b) if b else None)
        data = Path(self.translate_path(self.path)).read_bytes()
        last = len(data) - 1 if last is None else min(last, len(data) - 1)
        body = data[first : last + 1]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if last < 16384:
            self.wfile.write(body)  # the header block is served whole
            return
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


@contextmanager
def serve_files(root: Path, faults: dict[str, Fault] | None = None) -> Iterator[FileServer]:
    """Serve *root* over HTTP with Range support on 127.0.0.1 (a free port)."""
    state = FileServer(url="", root=Path(root), faults=dict(faults or {}))
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


class _FailFirst:
    """ASGI middleware: answer 503 to the next *left* requests under *prefix*.

    ``GET /__fail__/N`` arms it for N more requests; ``GET /__seen__`` returns the request counts.
    """

    def __init__(self, app: Any, prefix: str) -> None:
        self.app, self.prefix, self.left = app, prefix, 0
        self.seen: Counter[str] = Counter()

    async def _reply(self, send: Any, status: int, body: bytes = b"") -> None:
        headers = [(b"content-length", str(len(body)).encode()), (b"retry-after", b"0")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith("/__fail__/"):
                self.left = int(path.rsplit("/", 1)[1])
                await self._reply(send, 200)
                return
            if path == "/__seen__":
                await self._reply(send, 200, json.dumps(self.seen).encode())
                return
            self.seen[f"{scope['method']} {path}"] += 1
            if path.startswith(self.prefix) and self.left > 0:
                self.left -= 1
                await self._reply(send, 503)
                return
        await self.app(scope, receive, send)


def _patch_stac_fastapi_cors() -> None:
    """stac-fastapi 5.2's CORS middleware passes Starlette's options by position, and Starlette
    1.x inserted ``allow_private_network`` among them (max_age lands in expose_headers, start-up
    fails). Pass them by name."""
    from stac_fastapi.api import middleware
    from starlette.middleware.cors import CORSMiddleware as Starlette

    def init(
        self: Any,
        app: Any,
        allow_origins: Any = ("*",),
        allow_methods: Any = ("OPTIONS", "POST", "GET"),
        allow_headers: Any = ("Content-Type",),
        allow_credentials: bool = False,
        allow_origin_regex: Any = None,
        expose_headers: Any = (),
        max_age: int = 600,
    ) -> None:
        Starlette.__init__(
            self, app, allow_origins=allow_origins, allow_methods=allow_methods,
            allow_headers=allow_headers, allow_credentials=allow_credentials,
            allow_origin_regex=allow_origin_regex, expose_headers=expose_headers, max_age=max_age,
        )  # fmt: skip

    middleware.CORSMiddleware.__init__ = init  # type: ignore[method-assign]


def _run_stac_api(catalog_json: str) -> None:
    """Entry point of the server process: print ``PORT <n>`` once listening."""
    import uvicorn
    from stac_fastapi.static.api import Settings, make_api

    _patch_stac_fastapi_cors()
    settings = Settings(catalog_href=catalog_json, reload=False, log_level="warning")
    app = _FailFirst(make_api(settings).app, "/search")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets=sockets)
        print(f"PORT {sock.getsockname()[1]}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


@dataclass
class StacApi:
    """A running STAC API in its own process: ``url`` (landing page)."""

    url: str

    def fail_next(self, n: int) -> None:
        """Make the next *n* requests under ``/search`` answer 503."""
        urllib.request.urlopen(f"{self.url}__fail__/{n}", timeout=10).read()

    def seen(self) -> Counter[str]:
        """Requests seen so far, e.g. ``{"POST /search": 3}``."""
        with urllib.request.urlopen(f"{self.url}__seen__", timeout=10) as resp:
            return Counter(json.loads(resp.read()))


@contextmanager
def serve_stac_api(catalog_json: Path) -> Iterator[StacApi]:
    """Serve a static catalogue as a STAC API (stac-fastapi-static) on 127.0.0.1.

    It runs in a child process: the server's own deprecation warnings stay out of the tests'
    warnings-as-errors, and it is a real server over a real socket.
    """
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers", "stac-api", str(catalog_json)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(proc, timeout_s=60)
        if not line.startswith("PORT "):
            raise RuntimeError(
                f"STAC API test server failed: {line} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield StacApi(url=f"http://127.0.0.1:{int(line.split()[1])}/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _first_line(proc: subprocess.Popen[str], *, timeout_s: float) -> str:
    out: list[str] = []
    reader = threading.Thread(
        target=lambda: out.append(proc.stdout.readline() if proc.stdout else "")
    )
    reader.daemon = True
    reader.start()
    reader.join(timeout_s)
    return out[0].strip() if out else "(no answer in time)"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "stac-api":
        _run_stac_api(sys.argv[2])
    else:
        raise SystemExit("usage: python -m tests.servers stac-api CATALOG_JSON")
