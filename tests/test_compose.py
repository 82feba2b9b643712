"""compose.yaml, as a school's IT would start it: two app replicas behind the HAProxy image, sharing the
PostgreSQL image, every image built here (python:3.12-slim-bookworm is CI's local stand-in:
.ci/docker-engine.sh).

A run made through the proxy is served by the stack, both replicas answer, and the run survives a
restart of every app container (it lives in PostgreSQL's volume, not in a process)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, in_ci
from tests.test_docker import engine_problem

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "stepwise-compose-test"  # one name, so a CI run reuses (and replaces) the last run's images
UP_TIMEOUT = 120.0


def compose_command() -> list[str] | None:
    """Debian's docker-compose (v1, what CI installs), else Docker's compose plugin (v2), else None."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return ["docker", "compose"] if plugin.returncode == 0 else None


def compose(env: dict[str, str], *args: str, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    command = compose_command() or ["docker-compose"]
    result = subprocess.run([*command, "-p", PROJECT, "-f", str(ROOT / "compose.yaml"), *args],
                            capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if check:
        assert result.returncode == 0, f"docker-compose {' '.join(args)}:\n{result.stdout[-3000:]}" \
                                       f"\n{result.stderr[-3000:]}"
    return result


def request(base: str, method: str, path: str, body: dict[str, Any] | None = None,
            token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    ask = urllib.request.Request(f"{base}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(ask, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_until(condition: Any, what: str, logs: Any, timeout: float = UP_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (OSError, urllib.error.URLError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[str, dict[str, str]]]:
    missing = "no docker-compose and no `docker compose` (apt-get install docker-compose)"
    problem = engine_problem() or (None if compose_command() else missing)
    if problem is not None:
        reason = f"the compose test needs Docker and docker-compose: {problem}"
        if in_ci():
            pytest.fail(reason)  # CI installs both and starts its own engine
        pytest.skip(reason)
    port = free_port()
    env = {**os.environ, "STEPWISE_DB_PASSWORD": secrets.token_urlsafe(24), "STEPWISE_PORT": str(port)}
    compose(env, "down", "-v", "--remove-orphans", check=False)  # what an interrupted run left
    try:
        compose(env, "up", "-d", "--build", "--scale", "app=2", timeout=1200)
        yield f"http://127.0.0.1:{port}", env
    finally:
        compose(env, "down", "-v", "--remove-orphans", timeout=180, check=False)


def logs_of(env: dict[str, str]) -> Any:
    return lambda: compose(env, "logs", "--no-color", "--tail", "40", check=False).stdout[-6000:]


def healthz(base: str) -> dict[str, Any] | None:
    status, body = request(base, "GET", "/healthz")
    return body if status == 200 else None


def test_two_replicas_behind_the_proxy_serve_and_keep_a_run_through_a_restart(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, env = stack
    logs = logs_of(env)
    wait_until(lambda: healthz(base), "the proxy to answer /healthz", logs)
    # requests without a run go round robin: both replicas answer (each names its own process)
    processes: set[str] = set()
    wait_until(lambda: processes.add(healthz(base)["process"]) or len(processes) == 2,  # type: ignore[index]
               "both app replicas to answer through the proxy", logs)

    token = secrets.token_urlsafe(32)
    status, created = request(base, "POST", "/api/sessions", {"hidden": [{"units": 3}]}, token)
    assert status == 201, created
    run = created["id"]
    for _ in range(3):
        status, stepped = request(base, "POST", f"/api/sessions/{run}/step", {"unit": "batch"}, token)
        assert status == 200, stepped
    status, before = request(base, "GET", f"/api/sessions/{run}/export", token=token)
    assert status == 200 and before["step_id"] == stepped["step_id"]

    # every app container stopped (SIGTERM: saves and lets the leases go) and started again
    compose(env, "restart", "app", timeout=300)
    wait_until(lambda: request(base, "GET", f"/api/sessions/{run}/export", token=token)[0] == 200,
               "the run to be served again after the restart", logs)
    status, after = request(base, "GET", f"/api/sessions/{run}/export", token=token)
    assert after == before  # bit for bit, from PostgreSQL's volume
    status, again = request(base, "POST", f"/api/sessions/{run}/step", {"unit": "batch"}, token)
    assert status == 200 and again["step_id"] == before["step_id"] + 1
