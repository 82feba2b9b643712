"""A refused stream tells the user why and comes back by itself once a slot is free."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, server_env, stop_process, wait_for_healthz


@pytest.fixture
def one_stream_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**server_env(tmp_path), "STEPWISE_STREAM_MAX_PER_CLIENT": "1"}
    process = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_healthz(f"http://127.0.0.1:{port}", 30, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def test_a_refused_stream_says_why_and_retries_until_it_gets_one(
        browser: Any, one_stream_server: str) -> None:
    context = browser.new_context()
    try:
        first, second = context.new_page(), context.new_page()
        first.goto(f"{one_stream_server}/")
        first.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
        second.goto(first.url)
        status = second.locator("#stream-status")
        status.wait_for(state="visible")
        assert "streams open" in status.inner_text() and "Trying again" in status.inner_text()
        assert second.evaluate("() => window.Stepwise.stats.framesApplied") == 0
        first.close()  # its stream's slot comes free: the second tab gets live updates by itself
        second.wait_for_function("() => window.Stepwise.stats.framesApplied > 0", timeout=30_000)
        second.wait_for_function("() => document.querySelector('#stream-status').hidden")
    finally:
        context.close()
