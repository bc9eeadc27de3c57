"""Fixtures of the review tests: a flagged store built once per module, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review.auth import add_user
from tests.factories import review_build_store

#: Tokens of the test analysts (set with add_user; only their hashes are stored).
REVIEW_TOKENS = {"ana": "ana-token-123456", "bob": "bob-token-654321"}


@pytest.fixture(scope="module")
def review_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A data folder with the flagged review scenario and two analysts (built once per module)."""
    root = tmp_path_factory.mktemp("review-template")
    built = review_build_store(root)
    for name, token in REVIEW_TOKENS.items():
        add_user(root, name, password=token)
    return {"root": root, **built}


@pytest.fixture
def review_data(review_template: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the template data folder, safe to write to."""
    root = tmp_path / "data"
    shutil.copytree(review_template["root"], root)
    return {**review_template, "root": root, "store": root / "events.gpkg"}


def make_test_client(app: Any) -> Any:
    """Starlette's TestClient (its import warns that httpx, not httpx2, is installed: expected)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def client(review_data: dict[str, Any]) -> Iterator[Any]:
    """A TestClient over the app on the private data folder (not signed in)."""
    from review.app import create_app

    with make_test_client(create_app(review_data["root"])) as c:
        yield c


def sign_in(client: Any, name: str = "ana", token: str | None = None) -> str:
    """Sign *name* in through the form; return the session's CSRF token (from a page)."""
    import re

    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={
            "name": name,
            "token": token or REVIEW_TOKENS[name],
            "csrf_token": csrf,
            "next": "/queue",
        },
    )
    assert r.status_code == 303, r.text
    page = client.get("/queue")
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
