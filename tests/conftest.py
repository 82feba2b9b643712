"""Shared fixtures: a live server subprocess, Chromium for Playwright, console-error capture, a TestClient."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli import limit_blas_threads

# The test process runs the engine itself: BLAS single-threaded, as `stepwise` runs it (app/cli.py says
# why). The variable counts only if numpy is not loaded yet; threadpoolctl covers a numpy that a pytest
# plugin already imported.
limit_blas_threads()

from fastapi.testclient import TestClient  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

threadpool_limits(1)

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SERVER_START_TIMEOUT = 30.0


def in_ci() -> bool:
    """CI sets CI=true: there, a missing browser or Docker engine is a failure, not a skip."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_healthz(base_url: str, timeout: float, process: subprocess.Popen[Any] | None = None) -> None:
    """Poll GET /healthz until it answers 200; fail early if the server process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            said = process.stdout.read().decode(errors="replace")[-2000:] if process.stdout else ""
            raise RuntimeError(f"server exited with code {process.returncode} before answering /healthz:"
                               f" {said}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url}/healthz did not answer 200 within {timeout} s")


def stop_process(process: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def server_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "STEPWISE_DATA_DIR": str(data_dir), "OPENBLAS_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m app` on a free loopback port with its own data dir; yields "http://127.0.0.1:PORT"."""
    data_dir = tmp_path_factory.mktemp("live-server-data")
    port = free_port()
    log_path = data_dir.parent / f"live-server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "--port", str(port)],
            cwd=ROOT, env=server_env(data_dir), stdout=log, stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_healthz(base_url, SERVER_START_TIMEOUT, process)
            except (RuntimeError, TimeoutError) as error:
                log.flush()
                raise RuntimeError(f"{error}\n--- server log ---\n{log_path.read_text()}") from error
            yield base_url
        finally:
            stop_process(process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Drive Debian's Chromium (never a Playwright-downloaded browser)."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Console errors and uncaught page errors of `page`, collected from the moment the fixture is used.

    Request it before `page.goto(...)`, then `assert console_errors == []` at the end of the test.
    Failed resource loads (a 404 for a script) show up here too, as Chromium logs them as errors.
    """
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(f"console.error: {message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    return errors


@pytest.fixture(autouse=True)
def no_leaked_event_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hide Playwright's event loop from tests that do not drive a browser, for the test's duration.

    pytest-playwright's `playwright` fixture is session-scoped, and its sync API marks its own event loop
    as the main thread's running loop between calls (playwright/_impl/_greenlets.py, wait_for_future:
    the dispatcher greenlet is suspended inside run_until_complete). So once any e2e test has run, every
    later `asyncio.run(...)` in this process fails with "cannot be called from a running event loop".
    That loop is not really running while a plain test executes (the main greenlet is), so unmarking it
    is safe; it is put back before any Playwright code runs again (function fixtures finish before the
    session's `playwright` fixture is torn down, and every sync call marks it again itself).
    """
    if "playwright" in request.fixturenames:
        yield
        return
    leaked = asyncio._get_running_loop()
    if leaked is None:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(leaked)


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def client(tmp_settings: Settings) -> Iterator[TestClient]:
    """An in-process client; the `with` block runs the app's startup and shutdown (lifespan)."""
    with TestClient(create_app(tmp_settings)) as test_client:
        yield test_client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/e2e drives a browser: mark it `e2e` so `-m "not e2e"` skips it."""
    e2e_dir = ROOT / "tests" / "e2e"
    for item in items:
        if e2e_dir in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL for the whole session (tests/pg_server.py); skipped where Debian's binaries are
    missing, a failure under CI=true."""
    from tests.pg_server import PostgresServer, missing

    reason = missing()
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Run a test once against each store: the embedded SQLite and a real PostgreSQL."""
    kind: str = request.param
    return kind


@pytest.fixture
def store_settings(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings keywords that select `store_kind`: SQLite in tmp_path, or a fresh PostgreSQL database."""
    if store_kind == "sqlite":
        return {"data_dir": tmp_path}
    server = request.getfixturevalue("postgres_server")
    return {"data_dir": tmp_path, "database_url": server.database()}
