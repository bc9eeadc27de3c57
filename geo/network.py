"""Network reads that survive a flaky internet: GDAL settings, retries, S3 signing.

Three kinds of network read happen when berthwatch fetches imagery:

- STAC API searches (pystac-client, ``requests``): retried by urllib3 on 429 and 5xx, POST
  searches included, with exponential back-off and a bounded number of attempts
  (:func:`stac_api_io`).
- Cloud-optimised GeoTIFFs read by GDAL through ``/vsicurl/`` or ``/vsis3/``: GDAL's own retry
  and timeout options (:func:`gdal_options`), plus a bounded outer retry of the whole read in
  :mod:`geo.tiles` (:func:`retry_call`).
- Small side files (Sentinel-1 calibration XML): :func:`fetch_bytes`, over HTTP(S) or signed S3
  (AWS Signature Version 4, :func:`sigv4_headers`), with the same retry rules.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from geo import settings

__all__ = [
    "EMPTY_SHA256",
    "RETRY_STATUS",
    "HttpParams",
    "S3Access",
    "fetch_bytes",
    "gdal_options",
    "gdal_path",
    "retry_call",
    "sigv4_headers",
    "stac_api_io",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: HTTP statuses worth retrying: rate limiting and server-side trouble.
RETRY_STATUS = (429, 500, 502, 503, 504)
#: SHA-256 of an empty body (S3 signs the payload hash even for GET).
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_USER_AGENT = "berthwatch/0.1 (+https://github.com/berthwatch)"


@dataclass(frozen=True)
class HttpParams:
    """How hard to try over the network.

    Attributes
    ----------
    timeout_s : float
        Per-request timeout (connect and read), seconds.
    max_retry : int
        Retries of one request on 429/5xx (GDAL and STAC searches).
    retry_delay_s : float
        First back-off delay, seconds; doubles on each retry.
    attempts : int
        Attempts of a whole tile read before the scene is reported failed.
    """

    timeout_s: float = 30.0
    max_retry: int = 4
    retry_delay_s: float = 1.0
    attempts: int = 3

    @classmethod
    def from_settings(cls) -> HttpParams:
        """Build from the environment (see :mod:`geo.settings`)."""
        s = settings.http_settings()
        return cls(
            timeout_s=s["timeout_s"],
            max_retry=int(s["max_retry"]),
            retry_delay_s=s["retry_delay_s"],
            attempts=int(s["attempts"]),
        )


@dataclass(frozen=True)
class S3Access:
    """How to reach an S3 bucket: AWS itself or an S3-compatible endpoint such as CDSE's.

    ``endpoint`` is a host name (``None`` means AWS); path-style addressing is used for
    non-AWS endpoints. ``requester_pays`` adds the header that bills the reader's account.
    """

    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    region: str = "us-east-1"
    endpoint: str | None = None
    requester_pays: bool = False

    @property
    def signed(self) -> bool:
        """True when credentials are present (requests are signed)."""
        return bool(self.access_key and self.secret_key)

    def url(self, bucket: str, key: str) -> str:
        """Return the HTTPS URL of ``s3://bucket/key``."""
        if self.endpoint:
            return f"https://{self.endpoint}/{bucket}/{quote(key, safe='/~')}"
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{quote(key, safe='/~')}"

    def gdal_options(self) -> dict[str, str]:
        """GDAL configuration options for ``/vsis3/`` reads with this access."""
        opts: dict[str, str] = {"AWS_REGION": self.region}
        if self.endpoint:
            opts |= {"AWS_S3_ENDPOINT": self.endpoint, "AWS_VIRTUAL_HOSTING": "FALSE"}
            opts["AWS_HTTPS"] = "YES"
        if self.signed:
            opts |= {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
            if self.token:
                opts["AWS_SESSION_TOKEN"] = self.token
        else:
            opts["AWS_NO_SIGN_REQUEST"] = "YES"
        if self.requester_pays:
            opts["AWS_REQUEST_PAYER"] = "requester"
        return opts


def gdal_options(params: HttpParams, *, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """GDAL configuration options for reading cloud-optimised GeoTIFFs over HTTP.

    Parameters
    ----------
    params : HttpParams
        Timeouts and retries.
    extra : mapping, optional
        More options (e.g. :meth:`S3Access.gdal_options`); they win over the defaults.

    Returns
    -------
    dict of str to str
        Options for :class:`rasterio.Env`.

    Examples
    --------
    >>> opts = gdal_options(HttpParams(timeout_s=5, max_retry=2))
    >>> opts["GDAL_HTTP_TIMEOUT"], opts["GDAL_HTTP_MAX_RETRY"], opts["GDAL_DISABLE_READDIR_ON_OPEN"]
    ('5', '2', 'EMPTY_DIR')
    """
    opts = {
        "GDAL_HTTP_TIMEOUT": str(max(1, round(params.timeout_s))),
        "GDAL_HTTP_CONNECTTIMEOUT": str(max(1, round(min(params.timeout_s, 10.0)))),
        "GDAL_HTTP_MAX_RETRY": str(params.max_retry),
        "GDAL_HTTP_RETRY_DELAY": f"{params.retry_delay_s:g}",
        # A COG is one file: never list the folder it sits in (one request saved per open).
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF,.jp2,.JP2",
        "GDAL_HTTP_USERAGENT": _USER_AGENT,
        "VSI_CACHE": "TRUE",
    }
    return opts | dict(extra or {})


def gdal_path(href: str) -> str:
    """Return the GDAL path of an asset href (``/vsicurl/`` for HTTP, ``/vsis3/`` for S3).

    Examples
    --------
    >>> gdal_path("https://example.com/a.tif")
    '/vsicurl/https://example.com/a.tif'
    >>> gdal_path("s3://bucket/key/a.tif")
    '/vsis3/bucket/key/a.tif'
    >>> gdal_path("/data/a.tif")
    '/data/a.tif'
    """
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("s3://"):
        return "/vsis3/" + href[len("s3://") :]
    if href.startswith("file://"):
        return urlsplit(href).path
    return href


def retry_call(
    fn: Callable[[], T],
    *,
    attempts: int,
    delay_s: float,
    retry_on: tuple[type[BaseException], ...],
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    before_retry: Callable[[int], None] | None = None,
) -> T:
    """Call *fn* until it succeeds, at most *attempts* times, doubling the delay each time.

    Parameters
    ----------
    fn : callable
        The work; called with no argument.
    attempts : int
        Total calls allowed (>= 1).
    delay_s : float
        Wait before the second call; doubles after each failure (capped at 60 s).
    retry_on : tuple of exception types
        Failures worth another try; anything else propagates at once.
    what : str
        What is being tried, for the log.
    sleep : callable, optional
        Waits (injected by tests).
    before_retry : callable, optional
        Called with the number of the next attempt (2, 3, ...) before it runs.

    Returns
    -------
    The value of *fn*.

    Raises
    ------
    The last exception of *fn* when every attempt failed.

    Examples
    --------
    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise OSError("transient")
    ...     return "ok"
    >>> retry_call(flaky, attempts=3, delay_s=0, retry_on=(OSError,), what="demo")
    'ok'
    """
    delay = delay_s
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return fn()
        except retry_on as err:
            if attempt >= attempts:
                raise
            logger.info("%s failed (attempt %d/%d): %s", what, attempt, attempts, err)
            sleep(delay)
            delay = min(60.0, max(delay * 2, 0.0))
            if before_retry is not None:
                before_retry(attempt + 1)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def stac_api_io(params: HttpParams) -> Any:
    """Return a pystac-client ``StacApiIO`` that retries 429/5xx, POST searches included.

    urllib3 retries ``max_retry`` times with exponential back-off (``retry_delay_s`` doubling,
    honouring ``Retry-After``); the final failing response is returned rather than raised so
    pystac-client reports it as an ``APIError`` naming the status.
    """
    from pystac_client.stac_api_io import StacApiIO
    from urllib3 import Retry

    retry = Retry(
        total=params.max_retry,
        connect=params.max_retry,
        read=params.max_retry,
        status=params.max_retry,
        backoff_factor=params.retry_delay_s,
        backoff_max=60.0,
        status_forcelist=RETRY_STATUS,
        allowed_methods=None,  # None = every method: STAC searches are POSTs and idempotent
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    io = StacApiIO(
        headers={"User-Agent": _USER_AGENT},
        timeout=(min(params.timeout_s, 10.0), params.timeout_s),
        max_retries=retry,
    )
    return io


def sigv4_headers(
    method: str,
    url: str,
    *,
    access: S3Access,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    payload_sha256: str = EMPTY_SHA256,
    service: str = "s3",
) -> dict[str, str]:
    """Return the request headers, ``Authorization`` included, for an AWS SigV4-signed request.

    Parameters
    ----------
    method : str
        HTTP method, e.g. ``"GET"``.
    url : str
        Full URL (host, path, query) exactly as it will be requested.
    access : S3Access
        Credentials and region.
    headers : mapping, optional
        Extra headers to sign (e.g. ``Range``).
    now : datetime, optional
        Signing time (UTC); default the current time.
    payload_sha256 : str, optional
        Hex SHA-256 of the body; default the empty body's.
    service : str, optional
        AWS service name.

    Returns
    -------
    dict of str to str
        Lower-case header names to values.

    References
    ----------
    AWS, "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)",
    Amazon S3 API Reference (its "GET Object" example is one of the tests).
    """
    parts = urlsplit(url)
    when = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    hdrs = {k.lower(): " ".join(str(v).split()) for k, v in (headers or {}).items()}
    hdrs |= {"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256}
    if access.token:
        hdrs["x-amz-security-token"] = access.token
    if access.requester_pays:
        hdrs["x-amz-request-payer"] = "requester"
    names = sorted(hdrs)
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    canonical = "\n".join(
        [
            method.upper(),
            parts.path or "/",
            "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query),
            "".join(f"{n}:{hdrs[n]}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{amz_date[:8]}/{access.region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + access.secret_key).encode()
    for part in (amz_date[:8], access.region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access.access_key}/{scope},"
        f"SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return hdrs


class _RetryableStatus(OSError):
    """A 429/5xx answer, retried by :func:`fetch_bytes`."""


def fetch_bytes(href: str, *, params: HttpParams, s3: S3Access | None = None) -> bytes:
    """Download a small file (an XML annotation) from a path, HTTP(S) URL or ``s3://`` URL.

    Retries 429/5xx answers, timeouts and dropped connections ``max_retry`` times with
    exponential back-off; then raises.

    Parameters
    ----------
    href : str
        Local path, ``file://``, ``http(s)://`` or ``s3://`` URL.
    params : HttpParams
        Timeouts and retries.
    s3 : S3Access, optional
        How to reach ``s3://`` URLs (anonymous AWS when omitted).

    Returns
    -------
    bytes

    Raises
    ------
    OSError
        The file could not be read; the message names the URL and the last status or error.
    """
    if href.startswith("file://"):
        href = urlsplit(href).path
    if not href.startswith(("http://", "https://", "s3://")):
        return Path(href).read_bytes()
    import httpx

    access = s3 or S3Access()
    if href.startswith("s3://"):
        bucket, _, key = href[len("s3://") :].partition("/")
        url = access.url(bucket, key)
    else:
        url = href

    def once() -> bytes:
        headers: dict[str, str] = {"user-agent": _USER_AGENT}
        if href.startswith("s3://") and access.signed:
            headers |= sigv4_headers("GET", url, access=access)
        elif href.startswith("s3://") and access.requester_pays:
            headers["x-amz-request-payer"] = "requester"
        try:
            resp = httpx.get(url, headers=headers, timeout=params.timeout_s, follow_redirects=True)
        except (httpx.TimeoutException, httpx.TransportError) as err:
            raise _RetryableStatus(f"{url}: {type(err).__name__}: {err}") from err
        if resp.status_code in RETRY_STATUS:
            raise _RetryableStatus(f"{url}: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise OSError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}")
        return resp.content

    return retry_call(
        once,
        attempts=params.max_retry + 1,
        delay_s=params.retry_delay_s,
        retry_on=(_RetryableStatus,),
        what=f"GET {url}",
    )
