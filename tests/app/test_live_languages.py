"""The inspector the stream carries is in each subscriber's language (app/live_inspector.py): a Chinese
follower of a run played in English reads Chinese, with the same numbers, and however many tabs of one
language follow a run, each frame's inspector is built once for them.

A real uvicorn server runs in a thread of this process (so the test can read the LiveInspector's build
counts), with real HTTP subscribers in threads of their own."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.settings import Settings
from tests.app.test_stream import read_events

CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r'<span class="num"[^>]*>([^<]*)</span>')
STEP = re.compile(r'data-step="(\d+)"')
WANTED = 6  # inspectors each subscriber reads


@pytest.fixture
def running(tmp_settings: Settings) -> Iterator[tuple[Any, str]]:
    app = create_app(tmp_settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a busy machine starts slowly
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def _follow(url: str, sid: str, language: str, seen: list[tuple[int, str]]) -> None:
    """One subscriber: reads the run's stream until it holds WANTED inspectors (step id, HTML)."""
    headers = {"Accept-Language": language}
    with httpx.stream("GET", f"{url}/api/sessions/{sid}/stream", headers=headers, timeout=60) as answer:
        lines = answer.iter_lines()
        while len(seen) < WANTED:
            events = read_events(lines, 1)
            if not events:
                return
            html = events[0]["data"].get("inspector")
            if html:
                seen.append((int(STEP.search(html).group(1)), html))  # type: ignore[union-attr]


def test_each_language_gets_its_own_inspector_built_once_per_frame_for_all_its_subscribers(
    running: tuple[Any, str],
) -> None:
    app, url = running
    created = httpx.post(f"{url}/api/sessions", json={"hidden": [{"units": 3}]}).json()
    sid, auth = created["id"], {"Authorization": f"Bearer {created['token']}"}
    played = httpx.post(f"{url}/api/sessions/{sid}/play", json={"unit": "micro", "speed": 20}, headers=auth)
    assert played.status_code == 200  # the presenter plays in English (no Accept-Language)
    english: list[tuple[int, str]] = []
    chinese: list[list[tuple[int, str]]] = [[], []]
    followers = [threading.Thread(target=_follow, args=(url, sid, "en-GB", english)),
                 *[threading.Thread(target=_follow, args=(url, sid, "zh-CN,zh;q=0.9", seen))
                   for seen in chinese]]
    for follower in followers:
        follower.start()
    for follower in followers:
        follower.join(120)
    httpx.post(f"{url}/api/sessions/{sid}/pause", headers=auth)
    assert len(english) == WANTED and all(len(seen) == WANTED for seen in chinese)

    assert not any(CJK.search(html) for _, html in english)
    assert all(CJK.search(html) and "检查器" in html for seen in chinese for _, html in seen)
    # the same step in both languages: the same numbers, in the same order
    english_numbers = {step: NUMBER.findall(html) for step, html in english}
    both = [(step, html) for seen in chinese for step, html in seen if step in english_numbers]
    assert all(NUMBER.findall(html) == english_numbers[step] for step, html in both)

    builds = app.state.live_inspector.builds
    first, second = ({step for step, _ in seen} for seen in chinese)
    assert len(first & second) >= 2  # both tabs were sent the same steps' inspectors...
    # ...each built once for Chinese, not once per tab (at most one more per tab: a frame's inspector
    # built as the tab was closing)
    assert len(first | second) <= builds[(sid, "zh-CN")] <= len(first | second) + 2
    assert builds[(sid, "en")] >= WANTED  # and the English one apart
