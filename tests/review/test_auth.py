"""Analysts' tokens (salted scrypt hashes) and signed session cookies."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from review import auth
from review.errors import UserExistsError, UsersFileError


def test_tokens_are_stored_hashed_with_a_salt_per_user(tmp_path: Path) -> None:
    t1 = auth.add_user(tmp_path, "ana")
    t2 = auth.add_user(tmp_path, "bob", password="same-password")
    t3 = auth.add_user(tmp_path, "cy", password="same-password")
    text = auth.users_path(tmp_path).read_text()
    assert t1 not in text and "same-password" not in text
    users = json.loads(text)["users"]
    assert users["bob"]["salt"] != users["cy"]["salt"]
    assert users["bob"]["scrypt"] != users["cy"]["scrypt"]  # same password, different hashes
    assert stat.S_IMODE(auth.users_path(tmp_path).stat().st_mode) == 0o600
    assert len(t1) >= 20 and t2 == t3 == "same-password"
    assert auth.check_password(tmp_path, "ana", t1)
    assert not auth.check_password(tmp_path, "ana", t1 + "x")
    assert not auth.check_password(tmp_path, "bob", t1)
    assert not auth.check_password(tmp_path, "nobody", t1)
    assert auth.list_users(tmp_path) == ["ana", "bob", "cy"]


def test_add_user_rules(tmp_path: Path) -> None:
    auth.add_user(tmp_path, "ana", password="first-password")
    with pytest.raises(UserExistsError, match="already exists.*--overwrite"):
        auth.add_user(tmp_path, "ana")
    new = auth.add_user(tmp_path, "ana", overwrite=True)
    assert auth.check_password(tmp_path, "ana", new)
    assert not auth.check_password(tmp_path, "ana", "first-password")
    with pytest.raises(ValueError, match="at least 8 characters"):
        auth.add_user(tmp_path, "bob", password="short")
    for bad in ("", "../x", "a b", "<script>", "x" * 65):
        with pytest.raises(ValueError, match="Analyst name"):
            auth.add_user(tmp_path, bad)


def test_broken_users_file(tmp_path: Path) -> None:
    auth.users_path(tmp_path).write_text("{not json")
    with pytest.raises(UsersFileError, match="not readable as JSON"):
        auth.check_password(tmp_path, "ana", "whatever-token")


def test_sessions_are_signed_and_expire(tmp_path: Path) -> None:
    secret = auth.load_secret(tmp_path)
    assert auth.load_secret(tmp_path) == secret  # kept in the data folder
    assert stat.S_IMODE((tmp_path / "review-secret").stat().st_mode) == 0o600
    cookie, session = auth.sign_session(secret, "ana")
    assert auth.verify_session(secret, cookie) == session
    body, sig = cookie.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    assert auth.verify_session(secret, f"{forged_body}.{sig}") is None
    assert auth.verify_session(secret, f"{body}.{'0' * len(sig)}") is None
    assert auth.verify_session(b"another secret of 32 bytes......", cookie) is None
    for junk in (None, "", "x", "a.b.c", "é.é"):
        assert auth.verify_session(secret, junk) is None
    old, _ = auth.sign_session(secret, "ana", ttl_s=-1)
    assert auth.verify_session(secret, old) is None
    assert session.expires_s > time.time() + auth.SESSION_TTL_S - 60
    # Each session has its own CSRF token.
    assert auth.sign_session(secret, "ana")[1].csrf != session.csrf
