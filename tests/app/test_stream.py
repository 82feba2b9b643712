"""SSE against a real uvicorn process: snapshot first, frames in order, Last-Event-ID, prompt SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("engine.stepper")
pytest.importorskip("engine.serialize")

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


def new_run(url: str) -> tuple[str, dict[str, str]]:
    """A new run and the header that changes it (its owner token, app/ownership.py)."""
    created = httpx.post(f"{url}/api/sessions", json={}).json()
    return created["id"], {"Authorization": f"Bearer {created['token']}"}


def start_server(data_dir: Path, **settings: str) -> Server:
    """uvicorn on a free port with its own data dir (and STEPWISE_<name> settings); returns once /healthz
    answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "STEPWISE_DATA_DIR": str(data_dir), "OPENBLAS_NUM_THREADS": "1",
           **{f"STEPWISE_{name.upper()}": value for name, value in settings.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a busy machine starts a server slowly; this returns once it answers
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return Server(url, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait(5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    stop_server(running)


def read_events(source: httpx.Response | Iterator[str], wanted: int) -> list[dict[str, Any]]:
    """Parse SSE lines into {event, id, data} until `wanted` events (pings are comments, skipped). Pass
    one `response.iter_lines()` iterator to read a stream in several calls."""
    lines = source.iter_lines() if isinstance(source, httpx.Response) else source
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) >= wanted:
                    return events
            current = {}
        elif line.startswith("event:"):
            current["event"] = line[6:].strip()
        elif line.startswith("id:"):
            current["id"] = int(line[3:].strip())
        elif line.startswith("data:"):
            current["data"] = json.loads(line[5:].strip())
    return events


def test_stream_starts_with_a_snapshot_and_frames_come_in_step_order(server: Server) -> None:
    sid, auth = new_run(server.url)
    httpx.post(f"{server.url}/api/sessions/{sid}/play", json={"unit": "batch", "speed": 100}, headers=auth)
    with httpx.stream("GET", f"{server.url}/api/sessions/{sid}/stream", timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response, 12)
    assert events[0]["event"] == "snapshot" and events[0]["data"]["maps"] is not None
    assert all(e["event"] == "frame" for e in events[1:])
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and ids[-1] > ids[0]
    assert all(e["data"]["id"] == e["id"] for e in events)
    assert "NaN" not in json.dumps([e["data"] for e in events])


def test_reconnect_with_last_event_id_gets_a_snapshot_then_newer_frames(server: Server) -> None:
    sid, auth = new_run(server.url)
    with httpx.stream("GET", f"{server.url}/api/sessions/{sid}/stream", timeout=10) as response:
        first = read_events(response, 1)[0]
    for _ in range(3):
        httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"unit": "micro", "count": 1}, headers=auth)
    headers = {"Last-Event-ID": str(first["id"])}
    with httpx.stream("GET", f"{server.url}/api/sessions/{sid}/stream", headers=headers, timeout=10) as r:
        lines = r.iter_lines()
        again = read_events(lines, 1)[0]
        state = httpx.get(f"{server.url}/api/sessions/{sid}").json()
        # ... then it continues: the steps made after the snapshot arrive as frames, newer ids only.
        for _ in range(2):
            httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"unit": "micro", "count": 1},
                       headers=auth)
            after = read_events(lines, 1)[0]
            assert after["event"] == "frame" and after["id"] > again["id"]
    assert again["event"] == "snapshot"
    assert again["id"] == state["step_id"] > first["id"]
    assert again["data"]["phase"] == state["phase"]
    assert after["id"] == again["id"] + 2  # each step's frame, none missing (one step apart, not conflated)


def test_frames_stay_small_for_the_default_network(server: Server) -> None:
    sid, auth = new_run(server.url)
    httpx.post(f"{server.url}/api/sessions/{sid}/play", json={"unit": "micro", "speed": 50}, headers=auth)
    with httpx.stream("GET", f"{server.url}/api/sessions/{sid}/stream", timeout=10) as response:
        events = read_events(response, 10)
    without_maps = [e for e in events[1:] if e["data"]["maps"] is None]
    assert without_maps
    # playing by micro-step, a frame may carry the inspector's HTML (app/live_inspector.py: the page used
    # to fetch it with a request of its own): the frame itself stays small, and so does the inspector
    frames = [{k: v for k, v in e["data"].items() if k != "inspector"} for e in without_maps]
    assert max(len(json.dumps(f, separators=(",", ":"))) for f in frames) <= 2048
    inspectors = [e["data"]["inspector"] for e in events if "inspector" in e["data"]]
    assert inspectors and all('id="inspector"' in html and len(html) <= 4096 for html in inspectors)
    # each inspector once per stream: never the same step's twice
    steps = [re.search(r'data-step="(\d+)"', html).group(1) for html in inspectors]  # type: ignore[union-attr]
    assert len(steps) == len(set(steps))


def test_sigterm_with_open_streams_shuts_down_cleanly(tmp_path: Path) -> None:
    """Open streams do not hold the shutdown: the process exits by itself, not by the test's kill (the
    seconds it takes are bench/play_bench.py's figure)."""
    running = start_server(tmp_path)
    try:
        sid, auth = new_run(running.url)
        httpx.post(f"{running.url}/api/sessions/{sid}/play", json={"unit": "batch", "speed": 20},
                   headers=auth)
        clients = [httpx.Client(timeout=10) for _ in range(3)]
        streams = [c.stream("GET", f"{running.url}/api/sessions/{sid}/stream") for c in clients]
        for s in streams:
            read_events(s.__enter__(), 1)
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(60) in (0, -signal.SIGTERM)  # it exited; a hang would time out
        for c in clients:
            c.close()
    finally:
        stop_server(running)


def test_restarted_server_process_continues_the_session(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        sid, auth = new_run(first.url)
        httpx.post(f"{first.url}/api/sessions/{sid}/step", json={"unit": "batch", "count": 4}, headers=auth)
        saved = httpx.get(f"{first.url}/api/sessions/{sid}/export").json()
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(5)
    finally:
        stop_server(first)
    second = start_server(tmp_path)
    try:
        loaded = httpx.get(f"{second.url}/api/sessions/{sid}/export").json()
        assert loaded["state"] == saved["state"]
        stepped = httpx.post(f"{second.url}/api/sessions/{sid}/step", json={"unit": "batch"}, headers=auth)
        assert stepped.status_code == 200
    finally:
        stop_server(second)


def test_a_fast_play_is_conflated_to_the_newest_state_per_frame(server: Server) -> None:
    """Play at 1000 micro-steps a second: each frame is the newest state, not one frame per micro-step.
    (The frames per second a stream gets is bench/play_bench.py's figure, not a test's.)"""
    sid, auth = new_run(server.url)
    httpx.post(f"{server.url}/api/sessions/{sid}/play", json={"unit": "micro", "speed": 1000}, headers=auth)
    with httpx.stream("GET", f"{server.url}/api/sessions/{sid}/stream", timeout=60) as response:
        lines = response.iter_lines()
        read_events(lines, 1)
        events = read_events(lines, 30)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
    # 30 frames of one micro-step each would not finish one batch (~157 events): play ran at its own
    # speed and the stream showed only the newest state of each tick
    first, last = events[0]["data"], events[-1]["data"]
    batches_per_epoch = 25  # 250 training points, batch 10
    done = (last["epoch"] - first["epoch"]) * batches_per_epoch + last["batch"] - first["batch"]
    assert done >= 3


def test_an_idle_stream_gets_pings(tmp_path: Path) -> None:
    running = start_server(tmp_path, stream_ping_seconds="1")
    try:
        sid, _auth = new_run(running.url)
        # a stream with nothing to send gets a ping; without one the read would time out and fail
        with httpx.stream("GET", f"{running.url}/api/sessions/{sid}/stream", timeout=60) as response:
            lines = response.iter_lines()
            read_events(lines, 1)
            pinged = False
            for line in lines:
                if line.startswith(":"):  # an SSE comment: the keep-alive ping
                    pinged = True
                    break
            assert pinged
    finally:
        stop_server(running)
