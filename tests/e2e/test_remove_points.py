"""Removing a data point by clicking it on the output plot ("click removes")."""

from __future__ import annotations

from typing import Any

SIZE = {"width": 1280, "height": 900}

# The client position of a drawn training point whose nearest drawn neighbour is more than 6 CSS px away
# (so a click on it cannot mean another point), with its index in the canvas's data-points list.
ISOLATED_POINT = """() => {
  const c = document.getElementById('boundary'), r = c.getBoundingClientRect();
  const [x0, x1, y0, y1] = c.dataset.extent.split(',').map(Number);
  const pts = JSON.parse(c.dataset.points);
  const at = ([px, py]) => [r.left + (px - x0) / (x1 - x0) * r.width,
                            r.top + r.height - (py - y0) / (y1 - y0) * r.height];
  const drawn = pts.map((p, i) => [i, p]).filter(([, p]) => !p[3]);
  for (const [i, p] of drawn) {
    const [x, y] = at(p);
    if (x < r.left + 10 || x > r.right - 10 || y < r.top + 10 || y > r.bottom - 10) continue;
    const crowded = drawn.some(([j, q]) => j !== i && Math.hypot(at(q)[0] - x, at(q)[1] - y) < 6);
    if (!crowded) return {index: i, x, y, point: p, count: pts.length};
  }
  return null;
}"""
COUNT = "() => JSON.parse(document.getElementById('boundary').dataset.points).length"


def test_clicking_a_point_in_remove_mode_removes_exactly_that_point(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size(SIZE)
    page.goto(f"{live_server}/?data=xor&hidden=4,2")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    sid = page.get_attribute("#page", "data-session")
    page.get_by_label("click removes").check()
    target = page.evaluate(ISOLATED_POINT)
    assert target is not None and target["count"] == 500
    before = page.evaluate("() => JSON.parse(document.getElementById('boundary').dataset.points)")

    page.mouse.click(target["x"] + 2, target["y"] - 2)  # a little off centre: within the 8 px reach
    page.wait_for_function(f"() => ({COUNT})() === {target['count'] - 1}", timeout=5000)

    after = page.evaluate("() => JSON.parse(document.getElementById('boundary').dataset.points)")
    index = target["index"]
    assert after == before[:index] + before[index + 1:]
    exported = page.request.get(f"{live_server}/api/sessions/{sid}/export").json()
    assert len(exported["data"]["points"]) == 499
    assert page.get_by_label("click removes").is_checked()  # still removing: the next click removes too
    assert console_errors == []


def test_a_click_on_empty_plane_in_remove_mode_removes_nothing_and_says_why(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size(SIZE)
    page.goto(f"{live_server}/?data=circle&hidden=4,2")  # an empty ring between r = 2.5 and 3.5
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    page.get_by_label("click removes").check()
    box = page.locator("#boundary").bounding_box()
    # x1 = 3 on the horizontal axis: in the gap between the inner disc and the outer ring
    page.mouse.click(box["x"] + box["width"] * (3 + 6) / 12, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('point-error').textContent.includes('No point')")
    assert page.evaluate(COUNT) == 500
    assert console_errors == []
