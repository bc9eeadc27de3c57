"""`berthwatch schedule` against a real Prefect server: the cron fires and the nightly run lands.

A real `prefect server start` on a free 127.0.0.1 port, the real `berthwatch schedule` process
serving the deployment with an every-minute cron, and the server's own scheduler creating the
run (cron schedules fire only with a real server). About 1.5-2.5 minutes on 2 cores: the server
starts (~20 s, fresh database), then the next minute boundary, then the run itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geo.events import EventStore
from geo.settings import REPO_ROOT

pytestmark = pytest.mark.slow

DEPLOYMENT = "every-minute-test"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(what: str, check: Any, timeout_s: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = check()
        except httpx.TransportError:
            got = None
        if got:
            return got
        time.sleep(1.0)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"{what}: not within {timeout_s:.0f} s\n{tails}")


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BERTHWATCH_"))}
    env |= {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
        try:
            _wait(
                "prefect server health",
                lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200,
                180,
                [log],
            )
            yield {"api": api, "env": env, "log": log}
        finally:
            _stop(proc)


def test_schedule_serves_the_nightly_flow_and_the_cron_fires(
    prefect_server: dict[str, Any], tmp_path: Path
) -> None:
    api, data_dir = prefect_server["api"], tmp_path / "data"
    log = tmp_path / "schedule.log"
    logs = [log, prefect_server["log"]]
    with log.open("w") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows", "schedule", "--cron", "* * * * *", "--ports", "rajin",
             "--source", "local", "--name", DEPLOYMENT, "--data-dir", str(data_dir)],
            env=prefect_server["env"], stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )  # fmt: skip
        try:
            deployment = _wait(
                "the deployment",
                lambda: (
                    r.json()
                    if (
                        r := httpx.get(
                            f"{api}/deployments/name/berthwatch-nightly/{DEPLOYMENT}", timeout=5
                        )
                    ).status_code
                    == 200
                    else None
                ),
                120,
                logs,
            )
            (schedule,) = deployment["schedules"]
            assert schedule["schedule"]["cron"] == "* * * * *"
            assert schedule["schedule"]["timezone"] == "UTC" and schedule["active"]
            assert deployment["parameters"]["params"]["ports"] == ["rajin"]

            def completed_run() -> dict[str, Any] | None:
                runs = httpx.post(
                    f"{api}/flow_runs/filter",
                    json={"deployments": {"id": {"any_": [deployment["id"]]}}},
                    timeout=5,
                ).json()
                done = [r for r in runs if r["state_type"] == "COMPLETED"]
                failed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
                assert not failed, failed[0]["state"]
                return done[0] if done else None

            run = _wait("a scheduled run that completed", completed_run, 240, logs)
            assert run["auto_scheduled"]  # created by the server's scheduler from the cron
        finally:
            _stop(serve)
    # The run wrote to the data folder the deployment was given.
    with EventStore.open(data_dir / "events.gpkg", readonly=True) as store:
        runs = store.runs()
    assert runs and runs[0].status == "finished" and runs[0].note == "nightly"
