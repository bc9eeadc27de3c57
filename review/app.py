"""The analysts' review web app (FastAPI): sign-in, queue, detail, decisions, and a JSON API.

Security model, all with the standard library:

- Every page and API call needs a signed-in analyst: a session cookie (HMAC-signed, HttpOnly,
  SameSite=Strict) for the browser, or ``Authorization: Bearer <name>:<token>`` for tools.
- Every state-changing request made with the cookie carries the session's CSRF token (form
  field ``csrf_token`` or header ``X-CSRF-Token``) and, when the browser sends one, a same-host
  ``Origin``; the sign-in form uses a double-submit token.
- Templates autoescape; a Content-Security-Policy allows only this origin's scripts and styles.
- Chips are served only from ``<data_dir>/chips`` (resolved path checked to stay inside).
- OpenAPI is served as ``/openapi.json`` to signed-in users; no docs page (it would load a CDN).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from review import auth
from review.errors import DecisionError, ReviewError, UnknownDetectionError
from review.flagging import FLAG_REASONS
from review.queue import (
    DECISIONS,
    LABELS,
    MAX_NOTE_CHARS,
    STATUSES,
    QueueFilter,
    detail_to_json,
    item_to_json,
    load_detail,
    load_queue,
    neighbours,
    record_decision,
)

__all__ = ["SESSION_COOKIE", "create_app"]

logger = logging.getLogger(__name__)

SESSION_COOKIE = "bw_session"
_LOGIN_COOKIE = "bw_login_csrf"
_HERE = Path(__file__).resolve().parent
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: Failed sign-ins allowed per name or client within the window before refusing (429).
_MAX_FAILURES, _FAILURE_WINDOW_S = 10, 900.0


class _LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


@dataclass
class _State:
    data_dir: Path
    store_path: Path
    secret: bytes
    env: jinja2.Environment
    failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    @contextmanager
    def store(self, *, write: bool = False) -> Iterator[Any]:
        from geo.events import EventStore

        with EventStore.open(self.store_path, create=False, readonly=not write) as store:
            yield store

    def throttled(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            q = self.failures[key]
            while q and now - q[0] > _FAILURE_WINDOW_S:
                q.popleft()
            if len(q) >= _MAX_FAILURES:
                return True
        return False

    def fail(self, *keys: str) -> None:
        for key in keys:
            self.failures[key].append(time.monotonic())


# --- API models (documented in /openapi.json) ------------------------------------------------


class DecisionIn(BaseModel):
    """One decision about one detection."""

    detection_id: str = Field(min_length=1, max_length=500)
    decision: Literal["confirmed", "rejected", "unsure"]
    label: Literal["", "cargo", "tanker", "naval", "other"] = ""
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)


class ReviewOut(BaseModel):
    """A decision as stored (append-only audit trail)."""

    detection_id: str
    analyst: str
    decision: str
    label: str
    note: str
    decided_utc: dt.datetime


class CountsOut(BaseModel):
    """Flagged detections matching the filters, by status."""

    pending: int
    decided: int
    total: int


class QueueItemOut(BaseModel):
    """One flagged detection in the queue."""

    detection_id: str
    port: str
    scene_id: str
    kind: str
    index: int
    zone: str
    acquired_utc: dt.datetime | None
    sensor: str
    length_m: float | None
    width_m: float | None
    score: float | None
    reasons: list[str]
    priority: float
    chip_path: str
    status: str
    decision: str
    analyst: str
    n_reviews: int
    simulated: bool


class QueueOut(BaseModel):
    """A page of the queue, highest priority first."""

    counts: CountsOut
    total: int
    offset: int
    items: list[QueueItemOut]


# --- helpers ---------------------------------------------------------------------------------


def _filter(
    port: str | None, day: str | None, reason: str | None, status: str | None
) -> QueueFilter:
    try:
        parsed_day = dt.date.fromisoformat(day) if day else None
    except ValueError as err:
        raise DecisionError(f"day must be YYYY-MM-DD. Got {day!r}.") from err
    return QueueFilter(
        port=port or None, day=parsed_day, reason=reason or None, status=status or "pending"
    )


def _filter_query(f: QueueFilter) -> str:
    pairs = {
        "port": f.port or "",
        "day": f.day.isoformat() if f.day else "",
        "reason": f.reason or "",
        "status": f.status,
    }
    return urlencode({k: v for k, v in pairs.items() if v})


def _detail_url(detection_id: str, f: QueueFilter) -> str:
    query = _filter_query(f)
    return f"/detections/{quote(detection_id, safe=':')}" + (f"?{query}" if query else "")


def _chip_url(path: str) -> str:
    """URL of a chip stored as a path relative to the data folder (``chips/…``); '' otherwise."""
    if not path or not path.startswith("chips/"):
        return ""
    return "/chips/" + quote(path[len("chips/") :])


def _safe_next(url: str | None) -> str:
    """Only same-site relative paths: never ``//host`` or ``https://…`` (open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/queue"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "/queue"
    return url


def _fmt_utc(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _fmt_num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value):.{digits}f}"


def _detector_flags(flags: str) -> str:
    """The detector's own flags, without the review reasons stored beside them."""
    own = [t.strip() for t in flags.split(",") if t.strip() and not t.strip().startswith("review:")]
    return ", ".join(own) or "—"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,  # every value is HTML-escaped unless marked safe (nothing is)
        undefined=jinja2.StrictUndefined,
    )
    env.filters["utc"] = _fmt_utc
    env.filters["num"] = _fmt_num
    env.filters["chip_url"] = _chip_url
    env.filters["detector_flags"] = _detector_flags
    return env


def _render(state: _State, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    html = state.env.get_template(name).render(**ctx)
    return HTMLResponse(html, status_code=status)


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "Cross-origin request refused.")


def _check_csrf(session: auth.Session, token: str | None) -> None:
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(403, "Missing or wrong CSRF token; reload the page and try again.")


# --- the app ---------------------------------------------------------------------------------


def create_app(data_dir: Path | str, *, store_path: Path | str | None = None) -> FastAPI:
    """Build the review app over a data folder.

    Parameters
    ----------
    data_dir : Path or str
        The data folder: event store (``events.gpkg``), ``chips/``, ``review-users.json`` and the
        session secret ``review-secret`` (created on first use).
    store_path : Path or str, optional
        The event store; default ``<data_dir>/events.gpkg``.

    Returns
    -------
    fastapi.FastAPI
        Serve it with uvicorn (see :func:`review.server.serve`).
    """
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    state = _State(
        data_dir=root,
        store_path=Path(store_path) if store_path is not None else root / "events.gpkg",
        secret=auth.load_secret(root),
        env=_environment(),
    )
    app = FastAPI(
        title="berthwatch review",
        description="Analysts' review of flagged detections. Sign in with a session cookie "
        "(browser) or `Authorization: Bearer <name>:<token>` (tools).",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind sign-in
    )
    app.state.review = state
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    _install_handlers(app, state)
    _install_pages(app, state)
    _install_api(app, state)
    return app


def _session_of(state: _State, request: Request) -> auth.Session | None:
    session = auth.verify_session(state.secret, request.cookies.get(SESSION_COOKIE))
    # The user must still exist with the same token (a reset ends the old sessions).
    if session is None or auth.user_epoch(state.data_dir, session.user) != session.epoch:
        return None
    return session


def _install_handlers(app: FastAPI, state: _State) -> None:
    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # "no-referrer" would make browsers send `Origin: null` on form posts, failing the check.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(_LoginRequired)
    async def to_login(request: Request, exc: _LoginRequired) -> Response:
        return RedirectResponse(f"/login?{urlencode({'next': exc.next_url})}", status_code=303)

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError) -> Response:
        code = 404 if isinstance(exc, LookupError) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=code)
        return _render(state, "error.html", code, message=str(exc), user=None, csrf="")

    from geo.errors import GeoError

    @app.exception_handler(GeoError)
    async def geo_error(request: Request, exc: GeoError) -> Response:
        from geo.errors import StoreNotFoundError

        code = (
            503
            if isinstance(exc, StoreNotFoundError)
            else 404
            if isinstance(exc, LookupError)
            else 400
        )
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=code)
        return _render(state, "error.html", code, message=str(exc), user=None, csrf="")


def _page_session(request: Request) -> auth.Session:
    state: _State = request.app.state.review
    session = _session_of(state, request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise _LoginRequired(target)
    return session


PageSession = Annotated[auth.Session, Depends(_page_session)]


@dataclass(frozen=True)
class _Caller:
    user: str
    session: auth.Session | None  # None: bearer token (no ambient credentials, no CSRF needed)


def _api_caller(request: Request) -> _Caller:
    state: _State = request.app.state.review
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        name, _, token = header[7:].strip().partition(":")
        key = f"api:{request.client.host if request.client else '?'}"
        if not state.throttled(key, f"user:{name}") and name and token:
            if auth.check_password(state.data_dir, name, token):
                return _Caller(name, None)
            state.fail(key, f"user:{name}")
    else:
        session = _session_of(state, request)
        if session is not None:
            return _Caller(session.user, session)
    raise HTTPException(
        401,
        "Sign in: a session cookie, or Authorization: Bearer <name>:<token>.",
        headers={"WWW-Authenticate": 'Bearer realm="berthwatch-review"'},
    )


ApiCaller = Annotated[_Caller, Depends(_api_caller)]


def _install_pages(app: FastAPI, state: _State) -> None:
    @app.get("/login", include_in_schema=False)
    def login_form(next: str = "/queue", error: str = "") -> Response:
        token = auth.new_csrf_token()
        response = _render(
            state, "login.html", next=_safe_next(next), csrf=token, error=error, user=None
        )
        response.set_cookie(_LOGIN_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
        return response

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=64)],
        token: Annotated[str, Form(max_length=256)],
        csrf_token: Annotated[str, Form(max_length=256)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/queue",
    ) -> Response:
        _check_origin(request)
        expected = request.cookies.get(_LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
            raise HTTPException(
                403, "Missing or wrong sign-in form token; reload the sign-in page."
            )
        client = f"login:{request.client.host if request.client else '?'}"
        if state.throttled(client, f"user:{name}"):
            raise HTTPException(429, "Too many failed sign-ins; wait 15 minutes.")
        if not auth.check_password(state.data_dir, name, token):
            state.fail(client, f"user:{name}")
            logger.warning("failed sign-in for %r", name)
            fresh = auth.new_csrf_token()
            page = _render(
                state, "login.html", 401, next=_safe_next(next), csrf=fresh,
                error="Unknown name or wrong token.", user=None,
            )  # fmt: skip
            page.set_cookie(_LOGIN_COOKIE, fresh, httponly=True, samesite="strict", max_age=3600)
            return page
        cookie, _ = auth.sign_session(
            state.secret, name, epoch=auth.user_epoch(state.data_dir, name) or ""
        )
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, cookie, httponly=True, samesite="strict", max_age=auth.SESSION_TTL_S,
            secure=request.url.scheme == "https",
        )  # fmt: skip
        response.delete_cookie(_LOGIN_COOKIE)
        logger.info("%s signed in", name)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(
        request: Request, session: PageSession, csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        _check_origin(request)
        _check_csrf(session, csrf_token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", include_in_schema=False)
    def home(session: PageSession) -> Response:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/queue", include_in_schema=False)
    def queue_page(
        session: PageSession,
        port: str = "",
        day: str = "",
        reason: str = "",
        status: str = "pending",
    ) -> Response:
        f = _filter(port, day, reason, status)
        with state.store() as store:
            items, counts = load_queue(store, f)
            ports = sorted({o.port for o in store.observations()})
        return _render(
            state, "queue.html", user=session.user, csrf=session.csrf, items=items[:500],
            shown=min(len(items), 500), n_items=len(items), counts=counts, f=f, ports=ports,
            reasons=FLAG_REASONS, statuses=STATUSES,
            detail_url=lambda i: _detail_url(i.detection_id, f),
        )  # fmt: skip

    @app.get("/detections/{detection_id:path}", include_in_schema=False)
    def detail_page(
        session: PageSession,
        detection_id: str,
        port: str = "",
        day: str = "",
        reason: str = "",
        status: str = "pending",
    ) -> Response:
        f = _filter(port, day, reason, status)
        with state.store() as store:
            detail = load_detail(store, detection_id, data_dir=state.data_dir)
            items, counts = load_queue(store, f)
        prev_id, next_id = neighbours(items, detection_id)
        return _render(
            state, "detail.html", user=session.user, csrf=session.csrf, d=detail, f=f,
            counts=counts, labels=LABELS, decisions=DECISIONS,
            prev_url=_detail_url(prev_id, f) if prev_id else "",
            next_url=_detail_url(next_id, f) if next_id else "",
            queue_url="/queue" + (f"?{_filter_query(f)}" if _filter_query(f) else ""),
        )  # fmt: skip

    @app.post("/decide", include_in_schema=False)
    def decide_form(
        request: Request,
        session: PageSession,
        detection_id: Annotated[str, Form(max_length=500)],
        decision: Annotated[str, Form(max_length=32)],
        csrf_token: Annotated[str, Form(max_length=256)] = "",
        label: Annotated[str, Form(max_length=32)] = "",
        note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
        port: Annotated[str, Form()] = "",
        day: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        status: Annotated[str, Form()] = "pending",
    ) -> Response:
        _check_origin(request)
        _check_csrf(session, csrf_token)
        f = _filter(port, day, reason, status)
        with state.store(write=True) as store:
            items, _ = load_queue(store, f)
            _, next_id = neighbours(items, detection_id)
            record_decision(
                store, detection_id, analyst=session.user, decision=decision, label=label, note=note
            )
        logger.info("%s decided %s: %s", session.user, detection_id, decision)
        if next_id:
            return RedirectResponse(_detail_url(next_id, f), status_code=303)
        query = _filter_query(f)
        return RedirectResponse("/queue" + (f"?{query}" if query else ""), status_code=303)

    @app.get("/chips/{path:path}", include_in_schema=False)
    def chip(session: PageSession, path: str) -> Response:
        return FileResponse(_chip_file(state.data_dir, path), media_type="image/png")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(caller: ApiCaller) -> Response:
        return JSONResponse(app.openapi())


def _chip_file(data_dir: Path, path: str) -> Path:
    """Resolve a chip path under ``<data_dir>/chips``; 403 when it escapes, 404 when missing."""
    chips = (data_dir / "chips").resolve()
    try:
        target = (chips / path).resolve()
    except (OSError, RuntimeError, ValueError) as err:  # symlink loops, NUL bytes
        raise HTTPException(404, "No such chip.") from err
    if not target.is_relative_to(chips) or target == chips:
        raise HTTPException(403, "Chip paths must stay inside the data folder's chips/.")
    if target.suffix.lower() != ".png" or not target.is_file():
        raise HTTPException(404, "No such chip.")
    return target


def _install_api(app: FastAPI, state: _State) -> None:
    @app.get("/api/detections", response_model=QueueOut, tags=["review"])
    def api_queue(
        caller: ApiCaller,
        port: str | None = None,
        day: Annotated[dt.date | None, Query(description="UTC acquisition date")] = None,
        reason: str | None = Query(None, description=f"one of {', '.join(FLAG_REASONS)}"),
        status: Literal["pending", "decided", "all"] = "pending",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Mapping[str, Any]:
        """List flagged detections, highest priority first, with pending/decided counts."""
        f = QueueFilter(port=port, day=day, reason=reason or None, status=status)
        with state.store() as store:
            items, counts = load_queue(store, f)
        return {
            "counts": {"pending": counts.pending, "decided": counts.decided, "total": counts.total},
            "total": len(items),
            "offset": offset,
            "items": [item_to_json(i) for i in items[offset : offset + limit]],
        }

    @app.get("/api/detections/{detection_id:path}", tags=["review"])
    def api_detail(caller: ApiCaller, detection_id: str) -> Mapping[str, Any]:
        """One detection: attributes, scene, chips, position, supported evidence, decisions."""
        with state.store() as store:
            return detail_to_json(load_detail(store, detection_id, data_dir=state.data_dir))

    @app.post("/api/decisions", response_model=ReviewOut, status_code=201, tags=["review"])
    def api_decide(request: Request, caller: ApiCaller, body: DecisionIn) -> Any:
        """Append a decision (confirmed / rejected / unsure) to the audit trail.

        With a session cookie, send the page's CSRF token in ``X-CSRF-Token``.
        """
        if caller.session is not None:
            _check_origin(request)
            _check_csrf(caller.session, request.headers.get("x-csrf-token"))
        with state.store(write=True) as store:
            try:
                review = record_decision(
                    store, body.detection_id, analyst=caller.user, decision=body.decision,
                    label=body.label, note=body.note,
                )  # fmt: skip
            except UnknownDetectionError as err:
                raise HTTPException(404, str(err)) from err
        return review
