"""Node colours a student can read: softmax outputs in their class's colour (the plot's), sigmoid
hidden nodes on 0 … ½ … 1 (½ grey), both from the trace's own numbers."""

from __future__ import annotations

import contextlib
import json
import re
import urllib.request
from typing import Any

CLASS_RGB = [(0xF5, 0x93, 0x22), (0x08, 0x77, 0xBD), (0x2C, 0xA2, 0x5F)]  # the plot's classes 0, 1, 2
NEG, MID, POS = (245, 147, 34), (232, 234, 235), (8, 119, 189)


def _fill(page: Any, node: str) -> tuple[int, ...]:
    text = page.evaluate(f"() => getComputedStyle(document.getElementById('{node}')).fill")
    return tuple(int(v) for v in re.findall(r"\d+", text)[:3])


def _near(shown: tuple[int, ...], want: tuple[float, ...]) -> bool:
    return all(abs(s - w) <= 2 for s, w in zip(shown, want, strict=True))


SETTLED = """([id, want]) => {
  const rgb = (getComputedStyle(document.getElementById(id)).fill.match(/[\\d.]+/g) || []).map(Number);
  return rgb.length >= 3 && want.every((w, i) => Math.abs(rgb[i] - w) <= 2);
}"""


def _settles(page: Any, node: str, want: tuple[float, ...]) -> tuple[int, ...]:
    """The node's fill once its CSS transition (one frame's length) has carried it to `want`, else the
    fill it stopped at: read at once, a transition still under way shows an older colour."""
    with contextlib.suppress(Exception):  # playwright's TimeoutError: the assert says what was shown
        page.wait_for_function(SETTLED, arg=[node, list(want)], timeout=10_000)
    return _fill(page, node)


def test_softmax_outputs_wear_their_class_colour_and_sigmoid_nodes_the_zero_to_one_scale(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/?data=blobs&out=softmax_ce&hidden=3&act=sigmoid")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    sid = page.get_attribute("#page", "data-session")
    page.locator("#step-unit").select_option("epoch")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('c-epoch').textContent === '1'")
    with urllib.request.urlopen(f"{live_server}/api/sessions/{sid}/trace") as response:
        trace = json.loads(response.read())["trace"]
    probabilities = trace["prediction"][0]  # the frame shows sample 0 of the last batch
    for k, p in enumerate(probabilities):
        want = tuple(255 + (c - 255) * p for c in CLASS_RGB[k])
        shown = _settles(page, f"n2_{k}", want)
        assert _near(shown, want), (k, p, shown, want)
    for j, a in enumerate(trace["layers"][0]["activation"][0]):
        v = 2 * a - 1  # sigmoid: 0 orange, ½ grey, 1 blue
        end = NEG if v < 0 else POS
        want = tuple(m + (e - m) * abs(v) for m, e in zip(MID, end, strict=True))
        shown = _settles(page, f"n1_{j}", want)
        assert _near(shown, want), (j, a, shown, want)
    page.locator("#network-panel").screenshot(path="test-results/softmax-sigmoid-nodes.png")
    assert console_errors == []
