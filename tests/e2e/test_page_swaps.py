"""Re-rendering the page (a setup change, regenerate, a CSV upload) keeps the network drawn and the CSP quiet.

Found by hand: after any of these the network's nodes and links went grey until the next step (the
server's frame for the change arrived before htmx swapped the new drawing in), and htmx's settle step
logged one CSP error per element whose style it copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SIZE = {"width": 1280, "height": 900}
# Every link's stroke and every hidden node's heat map are set by the stream's frames, never by the template.
PAINTED = """() => {
  const maps = [...document.querySelectorAll('#net image.node-map')];
  const links = [...document.querySelectorAll('#net path[id^="w"]')];
  return maps.length > 0 && links.length > 0
    && maps.every((e) => (e.getAttribute('href') || '').startsWith('data:image/png'))
    && links.every((e) => e.style.stroke !== '');
}"""


def _wait_painted(page: Any) -> None:
    page.wait_for_function(PAINTED, timeout=5000)


def test_network_stays_painted_and_csp_quiet_across_setup_regenerate_and_upload(
    page: Any, live_server: str, console_errors: list[str], tmp_path: Path
) -> None:
    page.set_viewport_size(SIZE)
    page.goto(f"{live_server}/?data=circle&hidden=4,2")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    _wait_painted(page)
    first_net = page.evaluate_handle("document.getElementById('net')")

    page.select_option("select[aria-label='activation of hidden layer 1']", "relu")
    page.wait_for_function("(old) => document.getElementById('net') !== old", arg=first_net)
    _wait_painted(page)

    second_net = page.evaluate_handle("document.getElementById('net')")
    page.get_by_role("button", name="regenerate").click()
    page.wait_for_function("(old) => document.getElementById('net') !== old", arg=second_net)
    _wait_painted(page)

    csv = tmp_path / "points.csv"
    rows = [f"{i % 7 - 3},{(i * 3) % 11 - 5},{'cat' if i % 2 else 'dog'}" for i in range(60)]
    csv.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    third_net = page.evaluate_handle("document.getElementById('net')")
    page.set_input_files("#csv-file", str(csv))
    page.wait_for_function("(old) => document.getElementById('net') !== old", arg=third_net)
    _wait_painted(page)
    assert page.locator("#point-class").inner_text().count("cat") == 1  # the upload really landed

    assert console_errors == []
