"""The page's accuracy line, painted by stepwise.js from the stream's frame, shows train then test as the
metrics JSON has them (tests/app/test_accuracy_values.py recomputes those from the network itself)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

POLL_MS = 60_000  # a poll returns as soon as its condition holds: this is how long a busy machine may take


def test_after_an_epoch_the_page_shows_train_then_test_accuracy_from_the_frame(
    page: Any, live_server: str
) -> None:
    page.goto(f"{live_server}/?data=circle&noise=0.4&hidden=2&batch=10")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0",
                           timeout=POLL_MS)
    sid = page.locator("#page").get_attribute("data-session")
    page.locator("#step-unit").select_option("epoch")
    page.locator("#btn-step").click()
    page.wait_for_function("() => document.querySelector('#c-epoch').textContent === '1'"
                           " && document.querySelector('#acc').textContent.includes('%')", timeout=POLL_MS)
    with urllib.request.urlopen(f"{live_server}/api/sessions/{sid}/metrics") as response:
        last = json.loads(response.read())["history"][-1]
    train, test = last["accuracy"], last["test_accuracy"]
    assert abs(train - test) >= 0.001, (train, test)  # a swap would show
    expected = f"{100 * train:.1f} % / {100 * test:.1f} %"
    page.wait_for_function(f"() => document.querySelector('#acc').textContent === {json.dumps(expected)}",
                           timeout=POLL_MS)
