"""Connections (Hardening II item 8): every route behind the rate limiter, header and idle caps, streams
that never read, big bodies parsed off the event loop."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.hardening.conftest import server_process


@pytest.mark.parametrize("path", ["/graph", "/graph/view?expr=x1", "/", "/healthz"])
def test_every_route_is_behind_the_rate_limiter(tmp_path: Path, path: str) -> None:
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=0.01, requests_burst=3)
    with TestClient(create_app(settings)) as client:
        statuses = [client.get(path).status_code for _ in range(5)]
        static = client.get("/static/js/stepwise.js").status_code  # the page's own assets are not counted
    assert statuses[-1] == 429
    assert statuses.count(429) >= 2
    assert static == 200


def _closed_by_server(sock: socket.socket, within: float = 30.0) -> bool:
    """True once the server closes the socket (recv gives b"" or a reset), False if it stays open."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def _connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


SHORT = {"request_head_timeout_seconds": "1", "request_body_timeout_seconds": "1", "keep_alive_seconds": "1"}


def test_idle_and_half_sent_connections_are_closed_and_the_server_keeps_serving(tmp_path: Path) -> None:
    with server_process(tmp_path / "data", **SHORT) as (base_url, _):
        silent = _connect(base_url)
        half_head = _connect(base_url)
        half_head.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        half_body = _connect(base_url)
        half_body.sendall(b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100\r\n\r\n{\"seed\":")
        kept_alive = _connect(base_url)
        kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in kept_alive.recv(65536)
        assert [_closed_by_server(s) for s in (silent, half_head, half_body, kept_alive)] == [True] * 4
        assert httpx.get(f"{base_url}/healthz", timeout=30).status_code == 200


def test_a_request_head_past_the_cap_is_refused_without_being_held(tmp_path: Path) -> None:
    with server_process(tmp_path / "data", max_header_bytes="65536") as (base_url, _):
        huge = _connect(base_url)
        huge.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(64):  # 1 MB of headers, 16 KB at a time
                huge.sendall(b"X-Pad: " + b"a" * 16_000 + b"\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server already answered and closed
        huge.settimeout(30)
        try:
            answer = huge.recv(65536)
        except ConnectionResetError:
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
        assert _closed_by_server(huge)
        assert httpx.get(f"{base_url}/healthz", timeout=30).status_code == 200


def _open_unread_stream(base_url: str, sid: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few frames
    sock.connect((host, int(port)))
    sock.sendall(f"GET /api/sessions/{sid}/stream HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def _new_stream_status(base_url: str, sid: str) -> int:
    with httpx.stream("GET", f"{base_url}/api/sessions/{sid}/stream", timeout=30) as response:
        return response.status_code


def _wait_for(condition: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("case", ["playing: sends time out", "idle: streams end at their lifetime"])
def test_streams_that_never_read_give_their_slots_back_without_a_traceback(tmp_path: Path, case: str) -> None:
    env = {"stream_max_per_client": "3", "stream_send_timeout_seconds": "1",
           "stream_max_seconds": "2" if case.startswith("idle") else "600"}
    with server_process(tmp_path / "data", **env) as (base_url, _):
        big = {"hidden": [{"units": 64}] * 6, "dataset": {"name": "spiral"}}
        created = httpx.post(f"{base_url}/api/sessions", json=big, timeout=30).json()
        sid, owner = created["id"], {"Authorization": f"Bearer {created['token']}"}
        if case.startswith("playing"):
            played = httpx.post(f"{base_url}/api/sessions/{sid}/play", json={"unit": "batch", "speed": 50},
                                headers=owner, timeout=30)
            assert played.status_code == 200  # the owner's play: the streams then have frames to send
        sockets = [_open_unread_stream(base_url, sid) for _ in range(3)]
        try:
            assert _wait_for(lambda: _new_stream_status(base_url, sid) == 429, 30)  # all slots taken
            assert _wait_for(lambda: _new_stream_status(base_url, sid) == 200)  # and given back
        finally:
            for sock in sockets:
                sock.close()
    log = next((tmp_path).glob("data-server-*.log")).read_text()
    assert "Traceback" not in log
