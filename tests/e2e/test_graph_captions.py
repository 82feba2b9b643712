"""The graph page's drawing is readable (issue 18): every caption, label and number on it is at least
12 px as shown (more in the projector view), and no two texts, nor an edge's label and a box or gate,
overlap at any step, measured on the boxes Chromium lays out."""

from __future__ import annotations

from typing import Any

import pytest

CASES = ("preset=lecture", "preset=sigmoid",
         "expression=x%20*%20x%20%2B%20y&values=x%20%3D%203%2C%20y%20%3D%20-1")  # x·x: two labels, one box
SHOWN = "(step) => document.getElementById('graph-counter').dataset.step == step"
# (font size as shown: the drawing's own size times the projector view's zoom), and clashing boxes
MEASURE = """() => {
  const svg = document.querySelector('.graph-svg');
  const zoom = parseFloat(getComputedStyle(svg).zoom) || 1;
  const texts = [...svg.querySelectorAll('text')].filter(t => !t.closest('.graph-op'))
    .map(t => [t.textContent.trim(), t.getBoundingClientRect(), t.classList.contains('graph-edge-label'),
               parseFloat(getComputedStyle(t).fontSize) * zoom]);
  const shapes = [...svg.querySelectorAll('rect, circle')].map(s => s.getBoundingClientRect());
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
    && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const clashes = [];
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      if (hit(texts[i][1], texts[j][1])) clashes.push(texts[i][0] + ' / ' + texts[j][0]);
    }
    if (!texts[i][2]) continue;
    for (const s of shapes) if (hit(texts[i][1], s)) clashes.push(texts[i][0] + ' / a box or gate');
  }
  return [Math.min(...texts.map(t => t[3])), texts.length, clashes];
}"""


@pytest.mark.parametrize(("view", "smallest"), [("", 12), ("&view=projector", 16)])
def test_the_drawing_s_words_are_readable_and_never_overlap_at_any_step(
    browser: Any, live_server: str, view: str, smallest: float
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        found: dict[str, list[str]] = {}
        for case in CASES:
            page.goto(f"{live_server}/graph?{case}{view}")
            total = int(page.locator("#graph-counter").get_attribute("data-total") or 0)
            assert total > 4
            for step in range(total + 1):
                if step:  # one answer at a time
                    page.locator("#graph-next").click()
                    page.wait_for_function(SHOWN, arg=step)
                size, count, clashes = page.evaluate(MEASURE)
                assert count > 10 and size >= smallest, (case, step, size)
                if clashes:
                    found[f"{case} step {step}"] = clashes
        assert found == {}
    finally:
        context.close()
