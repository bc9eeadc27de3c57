"""Analysts, their hashed tokens, and signed session cookies, with the standard library only.

Users live in ``<data_dir>/review-users.json``: one entry per analyst with a per-user random salt
and the scrypt hash of their token (never the token itself). Sessions are cookies of the form
``<base64url(json payload)>.<hex HMAC-SHA256>``, signed with a random secret kept in
``<data_dir>/review-secret`` (created on first use, mode 0600). Each session carries its own CSRF
token, which every state-changing request must echo back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review.errors import UserExistsError, UsersFileError

__all__ = [
    "SESSION_TTL_S",
    "Session",
    "add_user",
    "check_password",
    "list_users",
    "load_secret",
    "new_csrf_token",
    "sign_session",
    "user_epoch",
    "users_path",
    "verify_session",
]

logger = logging.getLogger(__name__)

#: How long a sign-in lasts (seconds): one working day.
SESSION_TTL_S = 12 * 3600
#: scrypt cost: n=2**14, r=8, p=1 (16 MiB, ~50 ms): the standard interactive-login setting.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_USERS_FILE = "review-users.json"
_SECRET_FILE = "review-secret"


@dataclass(frozen=True)
class Session:
    """A signed-in analyst: ``user`` name, ``csrf`` token, and expiry (Unix seconds)."""

    user: str
    csrf: str
    expires_s: float
    epoch: str = ""


def users_path(data_dir: Path) -> Path:
    """Return the users file of a data folder, ``<data_dir>/review-users.json``."""
    return Path(data_dir) / _USERS_FILE


def _hash(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=params["n"],
        r=params["r"],
        p=params["p"],
        maxmem=128 * 1024 * 1024,
        dklen=32,
    )


def _read_users(data_dir: Path) -> dict[str, dict[str, Any]]:
    path = users_path(data_dir)
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsersFileError(
            f"{path}: not readable as JSON ({err}); fix it or delete it and add the users again."
        ) from err
    users = doc.get("users") if isinstance(doc, dict) else None
    if not isinstance(users, dict):
        raise UsersFileError(f"{path}: has no 'users' object; delete it and add the users again.")
    return users


def _write_private(path: Path, text: str) -> None:
    """Write *text* to *path* atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def add_user(
    data_dir: Path, name: str, *, password: str | None = None, overwrite: bool = False
) -> str:
    """Add (or with *overwrite*, reset) an analyst and return their token.

    Parameters
    ----------
    data_dir : Path
        The data folder; the users file is ``<data_dir>/review-users.json``.
    name : str
        Analyst name: letters, digits and ``._@-``, 1 to 64 characters.
    password : str, optional
        The password to set (at least 8 characters). Default: a new random token.
    overwrite : bool
        Replace an existing user's token instead of refusing.

    Returns
    -------
    str
        The password or token, to hand to the analyst (only its salted scrypt hash is stored).

    Raises
    ------
    ValueError
        A bad name or a password shorter than 8 characters.
    UserExistsError
        *name* exists and *overwrite* is False.
    """
    if not _NAME_RE.match(name):
        raise ValueError(
            f"Analyst name must be 1-64 letters, digits or ._@- (starting with a letter or digit). Got {name!r}."
        )
    token = password if password is not None else secrets.token_urlsafe(18)
    if len(token) < 8:
        raise ValueError("A review password must have at least 8 characters; choose a longer one.")
    users = _read_users(data_dir)
    if name in users and not overwrite:
        raise UserExistsError(
            f"Analyst {name!r} already exists in {users_path(data_dir)}; pass --overwrite to reset the token."
        )
    salt = secrets.token_bytes(16)
    users[name] = {
        "salt": salt.hex(),
        "scrypt": _hash(token, salt, _SCRYPT).hex(),
        "params": dict(_SCRYPT),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _write_private(users_path(data_dir), json.dumps({"users": users}, indent=1, sort_keys=True))
    logger.info("review user %s written to %s", name, users_path(data_dir))
    return token


def list_users(data_dir: Path) -> list[str]:
    """Return the analyst names, sorted."""
    return sorted(_read_users(data_dir))


def check_password(data_dir: Path, name: str, password: str) -> bool:
    """Return whether *password* is *name*'s token (constant-time; False for unknown names)."""
    users = _read_users(data_dir)
    entry = users.get(name)
    if entry is None:
        # Hash anyway, so an unknown name takes as long as a wrong password.
        _hash(password, b"\0" * 16, _SCRYPT)
        return False
    try:
        salt = bytes.fromhex(entry["salt"])
        want = bytes.fromhex(entry["scrypt"])
        params = {k: int(entry.get("params", _SCRYPT)[k]) for k in ("n", "r", "p")}
    except (KeyError, TypeError, ValueError) as err:
        raise UsersFileError(
            f"{users_path(data_dir)}: entry {name!r} is malformed; reset it with "
            f"`berthwatch review add-user {name} --overwrite`."
        ) from err
    return hmac.compare_digest(_hash(password, salt, params), want)


def load_secret(data_dir: Path) -> bytes:
    """Return the session-signing secret, creating ``<data_dir>/review-secret`` on first use."""
    path = Path(data_dir) / _SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_hex(32))
    try:
        secret = bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError) as err:
        raise UsersFileError(
            f"{path}: not a hex secret ({err}); delete it (every analyst signs in again)."
        ) from err
    if len(secret) < 16:
        raise UsersFileError(f"{path}: secret too short; delete it (every analyst signs in again).")
    return secret


def new_csrf_token() -> str:
    """Return a fresh random CSRF token."""
    return secrets.token_urlsafe(24)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode("ascii"), hashlib.sha256).hexdigest()


def user_epoch(data_dir: Path, name: str) -> str | None:
    """A short fingerprint of *name*'s stored hash (None for unknown names).

    Sessions carry it, so resetting a token (``add-user --overwrite``) ends the old sessions.
    """
    entry = _read_users(data_dir).get(name)
    if entry is None:
        return None
    return hashlib.sha256(str(entry.get("scrypt", "")).encode()).hexdigest()[:16]


def sign_session(
    secret: bytes, user: str, *, ttl_s: float = SESSION_TTL_S, epoch: str = ""
) -> tuple[str, Session]:
    """Return a signed cookie value for *user* and the :class:`Session` it encodes."""
    expires = float(int(time.time() + ttl_s))
    session = Session(user=user, csrf=new_csrf_token(), expires_s=expires, epoch=epoch)
    payload = {"u": user, "c": session.csrf, "e": int(expires), "p": epoch}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_sign(secret, body)}", session


def verify_session(secret: bytes, cookie: str | None) -> Session | None:
    """Return the :class:`Session` in a cookie value, or None if unsigned, tampered or expired."""
    if not cookie or cookie.count(".") != 1:
        return None
    body, sig = cookie.split(".")
    try:
        if not hmac.compare_digest(_sign(secret, body), sig):
            return None
        payload = json.loads(_unb64(body))
        session = Session(
            user=str(payload["u"]),
            csrf=str(payload["c"]),
            expires_s=float(payload["e"]),
            epoch=str(payload.get("p", "")),
        )
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    return session if session.expires_s > time.time() else None
