"""compose.yaml, as a school's IT would start it: two app replicas behind the HAProxy image, sharing the
PostgreSQL image, every image built here (python:3.12-slim-bookworm is CI's local stand-in:
.ci/docker-engine.sh).

A run made through the proxy is served by the stack, both replicas answer, and the run survives a
restart of every app container (it lives in PostgreSQL's volume, not in a process)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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


def wait_until(condition: Any, what: str, logs: Any, timeout: float = UP_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (httpx.HTTPError, ValueError):  # not up yet: refused, reset or not JSON
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


def healthz(client: httpx.Client) -> dict[str, Any] | None:
    answer = client.get("/healthz")
    return answer.json() if answer.status_code == 200 else None  # type: ignore[no-any-return]


def test_two_replicas_behind_the_proxy_serve_and_keep_a_run_through_a_restart(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, env = stack
    logs = logs_of(env)
    token = secrets.token_urlsafe(32)
    with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
        wait_until(lambda: healthz(client), "the proxy to answer /healthz", logs)
        # requests without a run go round robin: both replicas answer (each names its own process)
        processes: set[str] = set()
        wait_until(lambda: processes.add(healthz(client)["process"]) or len(processes) == 2,  # type: ignore[index]
                   "both app replicas to answer through the proxy", logs)

        created = client.post("/api/sessions", json={"hidden": [{"units": 3}]})
        assert created.status_code == 201, created.text
        run = created.json()["id"]
        for _ in range(3):
            stepped = client.post(f"/api/sessions/{run}/step", json={"unit": "batch"})
            assert stepped.status_code == 200, stepped.text
        before = client.get(f"/api/sessions/{run}/export")
        assert before.status_code == 200 and before.json()["step_id"] == stepped.json()["step_id"]

        # every app container stopped (SIGTERM: saves and lets the leases go) and started again
        compose(env, "restart", "app", timeout=300)
        wait_until(lambda: client.get(f"/api/sessions/{run}/export").status_code == 200,
                   "the run to be served again after the restart", logs)
        after = client.get(f"/api/sessions/{run}/export")
        assert after.json() == before.json()  # bit for bit, from PostgreSQL's volume
        again = client.post(f"/api/sessions/{run}/step", json={"unit": "batch"})
        assert again.status_code == 200 and again.json()["step_id"] == before.json()["step_id"] + 1
