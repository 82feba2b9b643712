"""The `stepwise` command: flags, BLAS limited before numpy loads, and a clean stop on SIGTERM."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from tests.conftest import free_port, server_env, stop_process, wait_for_healthz

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_listen_on_loopback_port_8000() -> None:
    args = cli.parse_args([])
    assert (args.host, args.port, args.open, args.reload) == ("127.0.0.1", 8000, False, False)


def test_out_of_range_port_is_refused() -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(["--port", "70000"])


def test_page_url_points_a_browser_at_loopback_for_wildcard_host() -> None:
    assert cli.page_url("0.0.0.0", 8123) == "http://127.0.0.1:8123/"
    assert cli.page_url("::1", 8000) == "http://[::1]:8000/"


def test_blas_limit_respects_a_thread_count_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cli.limit_blas_threads()
    import os

    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
    assert os.environ["OMP_NUM_THREADS"] == "1"


def test_importing_the_cli_does_not_load_numpy() -> None:
    # If numpy were imported before main() sets OPENBLAS_NUM_THREADS, the limit would be ignored.
    code = "import sys, app.cli, app.__main__; print('numpy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_stepwise_command_serves_healthz_and_stops_on_sigterm_within_5_s(tmp_path: Path) -> None:
    executable = shutil.which("stepwise")
    assert executable is not None, "the `stepwise` console script is not installed (pip install -e .)"
    port = free_port()
    env = server_env(tmp_path)
    env.pop("OPENBLAS_NUM_THREADS")  # the command itself must set it
    process = subprocess.Popen(
        [executable, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_healthz(f"http://127.0.0.1:{port}", 30, process)
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=60)  # it exits by itself; a hang would time out
    finally:
        stop_process(process, grace=1)
        output = process.stdout.read().decode() if process.stdout else ""
    # uvicorn finishes its shutdown, then re-raises SIGTERM so the exit status tells who stopped it.
    assert returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output
    assert f"127.0.0.1:{port}" in output


def test_the_docker_cmd_is_a_valid_stepwise_command_setting_every_connection_limit() -> None:
    import json
    import re

    text = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*?\])", text.replace("\\\n", ""), re.M | re.S).group(1))  # type: ignore[union-attr]
    assert cmd[0] == "stepwise"
    args = cli.parse_args(cmd[1:])
    assert (args.max_header_bytes, args.keep_alive_seconds) == (65536, 5)
    assert (args.head_timeout_seconds, args.body_timeout_seconds) == (10.0, 60.0)
