"""Run the review app with uvicorn."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "is_loopback", "serve"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Return whether *host* only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    data_dir: Path | str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    store_path: Path | str | None = None,
) -> None:
    """Serve the review app on ``host:port`` until interrupted (blocking).

    Binding anything but a loopback address exposes the app to the network; it then logs a
    warning (the app has sign-in and CSRF protection, but no TLS: put it behind an HTTPS proxy).
    """
    import uvicorn

    from review.app import create_app

    if not is_loopback(host):
        logger.warning(
            "review app bound to %s: reachable from the network, without TLS; "
            "prefer 127.0.0.1 or an HTTPS reverse proxy",
            host,
        )
    app = create_app(data_dir, store_path=store_path)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
