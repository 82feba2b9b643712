"""Shared pieces of the hardening suite: a strict JSON parser, server subprocesses, in-process clients."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import ROOT, free_port, server_env, stop_process, wait_for_healthz

# Limits a test can lift: the in-process client is one address that sends far more than a student.
OPEN_LIMITS: dict[str, Any] = {"sessions_per_client_per_minute": 100_000,
                               "requests_per_client_per_second": 100_000.0, "requests_burst": 100_000}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} in JSON")


def strict_json(text: str | bytes) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity (JSON has no such numbers)."""
    return json.loads(text, parse_constant=_refuse_constant)


@pytest.fixture
def open_client(tmp_path: Path) -> Iterator[TestClient]:
    """An in-process client (lifespan running) with the per-client rate limits lifted."""
    with TestClient(create_app(Settings(data_dir=tmp_path, **OPEN_LIMITS))) as client:
        yield client


@contextmanager
def server_process(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m app` on a free loopback port; yields (base URL, process). Stopped with SIGTERM."""
    port = free_port()
    log_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    environment = {**server_env(data_dir), **{f"STEPWISE_{k.upper()}": v for k, v in env.items()}}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)], cwd=ROOT,
                                   env=environment, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_healthz(base_url, 30.0, process)
            except (RuntimeError, TimeoutError) as error:
                log.flush()
                raise RuntimeError(f"{error}\n{log_path.read_text()}") from error
            yield base_url, process
        finally:
            stop_process(process)


def server_log(data_dir: Path) -> str:
    logs = sorted(data_dir.parent.glob(f"{data_dir.name}-server-*.log"))
    return "\n".join(path.read_text(errors="replace") for path in logs)


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse Server-Sent Event lines into {"event", "id", "data"} dicts (comments and pings skipped)."""
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in current:
                yield current
            current = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            joiner = "\n" if name == "data" and name in current else ""
            current[name] = current.get(name, "") + joiner + value
