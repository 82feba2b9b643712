"""The Gaussian output on the plane in Chromium (μ and σ² drawn, the error step's numbers, a loss chart
that may go below 0), the inspector following play by micro-step, and the graph page keeping the
current node of a wide expression in view."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

SHOTS = Path(os.environ.get("STEPWISE_SHOTS", "/tmp/shots"))
WIDE = {"width": 1440, "height": 900}
PRESSED = "() => document.querySelector('#btn-play').getAttribute('aria-pressed') === '{}'"
POLL_MS = 60_000  # a poll returns as soon as its condition holds: this is how long a busy machine may take


def _open(page: Any, server: str, query: str) -> str:
    page.goto(f"{server}/?{query}")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    sid: str = page.locator("#page").get_attribute("data-session")
    return sid


def _step(page: Any) -> None:
    before = page.locator("#inspector").get_attribute("data-step")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{before}'")


def _number(text: str) -> float:
    return float(text.strip().strip("()").replace("−", "-"))


def test_gaussian_output_on_the_plane_shows_mu_sigma_and_the_error_step(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    sid = _open(page, live_server, "data=plane&out=gaussian_nll&hidden=4,2&batch=10")
    assert page.locator("select[name=output_unit]").input_value() == "gaussian_nll"
    labels = page.locator("#net .node.output .node-label").all_text_contents()
    assert labels == ["μ", "σ²"]
    page.locator("#step-unit").select_option("micro")
    page.locator("body").click(position={"x": 2, "y": 2})
    while page.locator("#inspector").get_attribute("data-phase") != "error":
        _step(page)
    # the node maps come with the step's frame
    page.wait_for_function("() => window.Stepwise.stats.lastId >= "
                           "Number(document.querySelector('#inspector').dataset.step)", timeout=POLL_MS)
    page.screenshot(path=str(SHOTS / "gaussian-plane-error-step.png"), full_page=True)
    trace = json.loads(urllib.request.urlopen(f"{live_server}/api/sessions/{sid}/trace").read())["trace"]
    deltas = [_number(t) for t in page.locator("#inspector .num[data-role=delta]").all_inner_texts()]
    assert len(deltas) == 2
    for shown, actual in zip(deltas, trace["layers"][-1]["delta"][0], strict=True):
        assert abs(shown - actual) <= max(0.0051, abs(actual) * 0.006), (shown, actual)
    assert "σ²" in page.locator("#inspector").inner_text()
    # A few epochs: the loss chart draws (a Gaussian NLL may go below 0) and nothing reads NaN.
    page.locator("#step-unit").select_option("epoch")
    page.locator("body").click(position={"x": 2, "y": 2})
    for _ in range(3):
        _step(page)
    page.wait_for_function("() => Number(document.querySelector('#loss-chart').dataset.points) >= 2")
    text = page.locator("#page").inner_text()
    assert all(word not in text for word in ("NaN", "Infinity", "undefined"))
    page.screenshot(path=str(SHOTS / "gaussian-plane-trained.png"), full_page=True)
    assert console_errors == []


def test_playing_by_micro_step_keeps_the_inspector_on_the_current_formula(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    _open(page, live_server, "hidden=3,2&batch=2")
    page.locator("#step-unit").select_option("micro")
    page.locator("#speed").select_option("5")
    page.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press(" ")
    page.wait_for_function(PRESSED.format("true"))
    seen: set[tuple[str | None, str | None]] = set()
    inspector = page.locator("#inspector")
    for _ in range(4):  # the formula moves on with the run: wait for each next step, however slow
        steps = json.dumps([step for step, _ in seen])
        page.wait_for_function(f"() => !{steps}.includes(document.querySelector('#inspector').dataset.step)",
                               timeout=POLL_MS)
        assert "Playing" not in page.locator("#inspector-title").inner_text()
        seen.add((inspector.get_attribute("data-step"), inspector.get_attribute("data-phase")))
    page.keyboard.press(" ")
    page.wait_for_function(PRESSED.format("false"))
    assert len(seen) >= 4, seen  # the formula moved on with the run
    # each is a micro-step's formula, or the moment between two batches (no phase) that play passes through
    phases = [phase for _, phase in seen]
    assert set(phases) <= {"forward", "error", "backward", "accumulate", "update", ""}, seen
    assert sum(1 for phase in phases if phase) >= 3, seen
    assert console_errors == []


def test_the_graph_page_scrolls_the_current_node_of_a_wide_expression_into_view(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size({"width": 800, "height": 800})
    expression = "tanh(sigmoid(exp(tanh(a*b + c)) * d + e) * f + g) * h"
    page.goto(f"{live_server}/graph?expression={quote(expression)}"
              "&values=a=1,b=2,c=3,d=0.5,e=1,f=2,g=0.1,h=3")
    box = page.locator(".graph-scroll")
    wide = ("() => { const b = document.querySelector('.graph-scroll');"
            " return b.scrollWidth > b.clientWidth + 100; }")
    assert page.evaluate(wide), "the graph must be wider than its panel for this test to mean anything"
    total = int(page.locator("#graph-counter").get_attribute("data-total"))
    for step in range(1, total + 1):
        page.click("#graph-next")
        page.wait_for_function(f"() => document.querySelector('#graph-counter').dataset.step === '{step}'")
        current = page.locator(".graph-value.current")
        if current.count() == 0:
            continue
        node, panel = current.first.bounding_box(), box.bounding_box()
        assert node["x"] >= panel["x"] - 1 and node["x"] + node["width"] <= panel["x"] + panel["width"] + 1, (
            step, node, panel)
    assert console_errors == []
