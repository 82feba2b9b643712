"""A student's page in a real Chromium, through HAProxy, while its process is killed: the page's stream
reconnects by itself (EventSource, Last-Event-ID) to the other process, which took the run over and
plays it on; the page keeps counting and says it is live again."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.scaleout.test_proxy import make_cluster

__all__ = ["make_cluster"]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_playing_page_carries_on_when_its_process_is_killed(make_cluster: Any, page: Any,
                                                                tmp_path: Any) -> None:
    cluster = make_cluster(lease_seconds="4", save_interval_seconds="1")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{cluster.url}/")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.lastId >= 0")
    sid = page.url.split("session=", 1)[1].split("&", 1)[0]
    played = page.request.post(f"{cluster.url}/api/sessions/{sid}/play", data={"unit": "batch", "speed": 20})
    assert played.status == 200, played.text()
    page.wait_for_function("() => window.Stepwise.stats.lastId >= 10", timeout=60_000)
    victim = cluster.holders()[sid]
    survivor = next(name for name in cluster.apps if name != victim)
    seen = page.evaluate("() => window.Stepwise.stats.lastId")

    cluster.apps[victim].kill()

    # the page gets frames again, newer than any it had, from the process that took the run
    page.wait_for_function(f"() => window.Stepwise.stats.lastId > {seen} + 10", timeout=90_000)
    assert cluster.holders()[sid] == survivor
    page.wait_for_function("() => document.getElementById('stream-status').hidden", timeout=30_000)
    shot = os.environ.get("STEPWISE_SCREENSHOTS")
    if shot:
        page.screenshot(path=f"{shot}/failover-1280.png")
    state = page.request.get(f"{cluster.url}/api/sessions/{sid}").json()
    assert state["playing"] is True
