"""geo.network: GDAL options for COGs over HTTP, bounded retries, S3 signing, small downloads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from geo.errors import SettingsError
from geo.network import (
    HttpParams,
    S3Access,
    fetch_bytes,
    gdal_options,
    gdal_path,
    retry_call,
    sigv4_headers,
)
from tests.servers import Fault, serve_files


def test_gdal_options_cover_cog_reads_over_http() -> None:
    opts = gdal_options(HttpParams(timeout_s=7, max_retry=3, retry_delay_s=0.5))
    assert opts["GDAL_HTTP_TIMEOUT"] == "7"
    assert opts["GDAL_HTTP_MAX_RETRY"] == "3" and opts["GDAL_HTTP_RETRY_DELAY"] == "0.5"
    assert opts["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert opts["GDAL_HTTP_MERGE_CONSECUTIVE_RANGES"] == "YES"
    assert ".tif" in opts["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"].split(",")
    extra = gdal_options(HttpParams(), extra={"AWS_REQUEST_PAYER": "requester"})
    assert extra["AWS_REQUEST_PAYER"] == "requester"


def test_gdal_paths() -> None:
    assert gdal_path("https://h/a.tif?sig=1") == "/vsicurl/https://h/a.tif?sig=1"
    assert gdal_path("s3://sentinel-s1-l1c/GRD/x.tiff") == "/vsis3/sentinel-s1-l1c/GRD/x.tiff"
    assert gdal_path("file:///data/a.tif") == "/data/a.tif"


def test_http_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTHWATCH_HTTP_TIMEOUT_S", "5")
    monkeypatch.setenv("BERTHWATCH_READ_ATTEMPTS", "4")
    params = HttpParams.from_settings()
    assert (params.timeout_s, params.attempts, params.max_retry) == (5.0, 4, 4)
    monkeypatch.setenv("BERTHWATCH_HTTP_MAX_RETRY", "lots")
    with pytest.raises(SettingsError, match=r"\$BERTHWATCH_HTTP_MAX_RETRY must be a number"):
        HttpParams.from_settings()


def test_retry_call_backs_off_exponentially_and_gives_up() -> None:
    waits: list[float] = []
    calls = []

    def always_fails() -> None:
        calls.append(1)
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        retry_call(
            always_fails,
            attempts=4,
            delay_s=0.5,
            retry_on=(OSError,),
            what="test",
            sleep=waits.append,
        )
    assert len(calls) == 4 and waits == [0.5, 1.0, 2.0]


def test_retry_call_does_not_retry_other_errors() -> None:
    calls = []

    def bad_input() -> None:
        calls.append(1)
        raise ValueError("not transient")

    with pytest.raises(ValueError):
        retry_call(bad_input, attempts=5, delay_s=0, retry_on=(OSError,), what="t", sleep=print)
    assert calls == [1]


def test_sigv4_matches_the_aws_documentation_example() -> None:
    # Amazon S3 API Reference, "Signature Calculations for the Authorization Header", GET Object.
    access = S3Access(
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
    )
    headers = sigv4_headers(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        access=access,
        headers={"Range": "bytes=0-9"},
        now=dt.datetime(2013, 5, 24, tzinfo=dt.UTC),
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_s3_access_for_aws_and_cdse() -> None:
    aws = S3Access("K", "S", region="eu-central-1", requester_pays=True)
    assert aws.url("sentinel-s1-l1c", "GRD/a b.xml") == (
        "https://sentinel-s1-l1c.s3.eu-central-1.amazonaws.com/GRD/a%20b.xml"
    )
    assert aws.gdal_options()["AWS_REQUEST_PAYER"] == "requester"
    cdse = S3Access("K", "S", region="default", endpoint="eodata.dataspace.copernicus.eu")
    assert cdse.url("eodata", "Sentinel-1/x.tiff") == (
        "https://eodata.dataspace.copernicus.eu/eodata/Sentinel-1/x.tiff"
    )
    opts = cdse.gdal_options()
    assert opts["AWS_S3_ENDPOINT"] == "eodata.dataspace.copernicus.eu"
    assert opts["AWS_VIRTUAL_HOSTING"] == "FALSE" and "AWS_NO_SIGN_REQUEST" not in opts
    assert S3Access().gdal_options()["AWS_NO_SIGN_REQUEST"] == "YES"


def test_fetch_bytes_retries_then_names_the_url(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text("<calibration/>")
    fast = HttpParams(timeout_s=2, max_retry=2, retry_delay_s=0.01)
    with serve_files(tmp_path, {"/a.xml": Fault("status", times=2)}) as server:
        assert fetch_bytes(f"{server.url}/a.xml", params=fast) == b"<calibration/>"
        assert server.hits["/a.xml"] == 3
    with serve_files(tmp_path, {"/a.xml": Fault("status", times=99)}) as server:
        with pytest.raises(OSError, match=rf"{server.url}/a.xml: HTTP 503"):
            fetch_bytes(f"{server.url}/a.xml", params=fast)
        assert server.hits["/a.xml"] == 3  # bounded
        with pytest.raises(OSError, match="HTTP 404"):
            fetch_bytes(f"{server.url}/missing.xml", params=fast)
        assert server.hits["/missing.xml"] == 1  # a 404 is not retried
    assert fetch_bytes(str(tmp_path / "a.xml"), params=fast) == b"<calibration/>"
