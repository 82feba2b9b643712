"""The Docker image: builds from the repo, turns healthy, serves the page read-only and stops fast."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, in_ci, wait_for_healthz

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "stepwise:test"
HEALTHY_TIMEOUT = 60.0


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def engine_problem() -> str | None:
    """Why Docker cannot be used here, or None when a client and a running engine are both present."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        result = docker("version", "--format", "{{.Server.Version}}", timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 20 s"
    if result.returncode != 0:
        return f"no Docker engine reachable ({result.stderr.strip().splitlines()[-1:]})"
    return None


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem is not None:
        reason = f"Docker test needs a Docker engine: {problem}"
        if in_ci():
            pytest.fail(reason)  # CI starts its own dockerd; not reaching it is a real failure
        pytest.skip(reason)
    # No --pull: python:3.12-slim-bookworm may be a locally built stand-in (see .ci/docker-engine.sh).
    build = docker("build", "-t", IMAGE, str(ROOT), timeout=900, check=False)
    assert build.returncode == 0, f"docker build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return IMAGE


def start_container(image: str) -> tuple[str, str]:
    """Run the image read-only (only the /data volume writable); return (container id, base URL)."""
    port = free_port()
    run = docker("run", "-d", "--read-only", "-p", f"127.0.0.1:{port}:8000", image)
    return run.stdout.strip(), f"http://127.0.0.1:{port}"


def remove_container(container: str) -> None:
    docker("rm", "-f", "-v", container, check=False)


def logs(container: str) -> str:
    result = docker("logs", container, check=False)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[tuple[str, str]]:
    container, base_url = start_container(image)
    try:
        yield container, base_url
    finally:
        remove_container(container)


def health_status(container: str) -> str:
    state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
    status: str = state.get("Health", {}).get("Status", "none")
    return status


def test_container_answers_healthz_and_becomes_healthy(container: tuple[str, str]) -> None:
    container_id, base_url = container
    try:
        wait_for_healthz(base_url, HEALTHY_TIMEOUT)
    except TimeoutError as error:
        raise AssertionError(f"{error}\n--- container log ---\n{logs(container_id)}") from error
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as response:
        assert json.loads(response.read())["status"] == "ok"
    deadline = time.monotonic() + HEALTHY_TIMEOUT
    status = health_status(container_id)
    while status != "healthy" and time.monotonic() < deadline:
        assert status in ("starting", "healthy"), f"health {status}:\n{logs(container_id)}"
        time.sleep(0.5)
        status = health_status(container_id)
    assert status == "healthy"


def test_container_serves_the_page_and_vendored_htmx(container: tuple[str, str]) -> None:
    # Catches an image that lost templates/ or static/ (they live beside the app package).
    _, base_url = container
    wait_for_healthz(base_url, HEALTHY_TIMEOUT)
    with urllib.request.urlopen(f"{base_url}/", timeout=5) as response:
        assert response.status == 200
        assert "/static/vendor/htmx/htmx.min.js" in response.read().decode()
    with urllib.request.urlopen(f"{base_url}/static/vendor/htmx/htmx.min.js", timeout=5) as response:
        assert b'this.version="4.0.1"' in response.read()


def test_container_runs_as_non_root_with_writable_data_volume(container: tuple[str, str]) -> None:
    container_id, base_url = container
    wait_for_healthz(base_url, HEALTHY_TIMEOUT)
    assert docker("exec", container_id, "id", "-u").stdout.strip() != "0"
    # The root filesystem is read-only; the data volume must still take the session store.
    probe = docker("exec", container_id, "python", "-c",
                   "import pathlib; pathlib.Path('/data/probe').write_text('ok')", check=False)
    assert probe.returncode == 0, probe.stderr


def test_docker_stop_ends_the_server_by_sigterm_not_by_kill(image: str) -> None:
    container_id, base_url = start_container(image)
    try:
        wait_for_healthz(base_url, HEALTHY_TIMEOUT)
        # docker sends SIGTERM, then SIGKILL after 60 s: exit code 137 would mean uvicorn never saw it
        docker("stop", "--time", "60", container_id)
        exit_code = int(docker("inspect", "--format", "{{.State.ExitCode}}", container_id).stdout)
        assert exit_code != 137, "the container was killed, not stopped"
    finally:
        remove_container(container_id)
