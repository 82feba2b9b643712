"""The playground page in Chromium: micro-steps match the API's trace, play animates, keys, errors, reload."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

SHOTS = Path(__file__).resolve().parents[2] / "test-results"
MINUS = "−"


def _open(page: Any, live_server: str, query: str = "") -> str:
    """Open the page (a new session from `query`) and return the session id; skip while unwired."""
    page.goto(f"{live_server}/?{query}")
    page.wait_for_load_state("load")
    if page.locator("#page").count() == 0:
        pytest.skip("the session manager is not wired into the app yet (placeholder page)")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    sid: str = page.locator("#page").get_attribute("data-session")
    return sid


def _trace(live_server: str, sid: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{live_server}/api/sessions/{sid}/trace") as response:
        body: dict[str, Any] = json.loads(response.read())
        return body["trace"]


def _number(text: str) -> float:
    """Parse a printed number: real minus, parentheses, '1.23·10⁻³'."""
    text = text.strip("()").replace(MINUS, "-")
    if "·10" in text:
        mantissa, exponent = text.split("·10")
        exponent = exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
        return float(mantissa) * 10 ** int(exponent)
    return float(text)


def _printed(page: Any, role: str) -> list[float]:
    return [_number(t) for t in page.locator(f"#inspector .num[data-role={role}]").all_inner_texts()]


def _close(printed: float, actual: float) -> bool:
    """Equal to the printed precision: 2 decimals, or 3 significant digits in scientific notation."""
    return abs(printed - actual) <= max(0.0051, abs(actual) * 0.006)


def _step(page: Any, key: str = "ArrowRight") -> None:
    before = int(page.locator("#inspector").get_attribute("data-step") or -1)
    page.keyboard.press(key)
    page.wait_for_function(
        f"() => Number(document.querySelector('#inspector').dataset.step) !== {before}")


def test_micro_steps_through_a_teaching_sequence_print_the_traces_numbers(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server, "data=circle&hidden=3,2&act=tanh,tanh&batch=1&feat=x1,x2")
    page.locator("#step-unit").select_option("micro")
    seen: set[str] = set()
    for _ in range(40):
        _step(page)
        inspector = page.locator("#inspector")
        phase = inspector.get_attribute("data-phase")
        layer, unit, sample = (int(inspector.get_attribute(f"data-{k}") or 0)
                               for k in ("layer", "unit", "sample"))
        trace = _trace(live_server, sid)
        lt = trace["layers"][layer - 1]
        seen.add(phase or "")
        if phase == "forward":
            assert _close(_printed(page, "pre_activation")[0], lt["pre_activation"][sample][unit])
            assert _close(_printed(page, "activation")[0], lt["activation"][sample][unit])
            for printed, weight in zip(_printed(page, "weight"), lt["weights"][unit], strict=True):
                assert _close(printed, weight)
        elif phase in ("backward", "error"):
            assert _close(_printed(page, "delta")[-1], lt["delta"][sample][unit])
            if phase == "backward" and not seen >= {"update"}:
                page.screenshot(path=str(SHOTS / "inspector-backward.png"), full_page=True)
        elif phase == "update":
            for printed, grad in zip(_printed(page, "grad_weight"), lt["grad_weights"][unit], strict=True):
                assert _close(printed, grad)
        if seen >= {"forward", "error", "backward", "update"} and phase == "forward":
            break
    assert seen >= {"forward", "error", "backward", "update"}, seen
    assert console_errors == []


def test_step_back_restores_the_numbers_shown_before(page: Any, live_server: str) -> None:
    _open(page, live_server, "hidden=3,2&batch=1")
    page.locator("#step-unit").select_option("micro")
    for _ in range(3):
        _step(page)
    shown = page.locator("#inspector .formula").inner_text()
    _step(page)
    assert page.locator("#inspector .formula").inner_text() != shown
    _step(page, "ArrowLeft")
    assert page.locator("#inspector .formula").inner_text() == shown


def test_play_on_spiral_with_six_hidden_layers_animates_cheaply(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    SHOTS.mkdir(exist_ok=True)
    _open(page, live_server, "data=spiral&hidden=8,8,8,8,8,8&act=tanh,tanh,tanh,tanh,tanh,tanh&batch=10")
    page.screenshot(path=str(SHOTS / "default-view.png"), full_page=True)
    page.locator("#step-unit").select_option("batch")
    page.locator("#speed").select_option("20")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def metrics() -> dict[str, float]:
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    start_epoch = int(page.locator("#c-epoch").inner_text())
    page.keyboard.press(" ")
    page.wait_for_function(
        "() => document.querySelector('#btn-play').getAttribute('aria-pressed') === 'true'")
    before, applied0 = metrics(), page.evaluate("() => window.Stepwise.stats.framesApplied")
    page.wait_for_timeout(4000)
    after, applied1 = metrics(), page.evaluate("() => window.Stepwise.stats.framesApplied")
    page.screenshot(path=str(SHOTS / "spiral-mid-training.png"), full_page=True)
    page.keyboard.press(" ")
    wall = after["Timestamp"] - before["Timestamp"]
    busy = sum(after[k] - before[k] for k in ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration"))
    rate = (applied1 - applied0) / wall
    print(f"frames applied/s {rate:.1f}, main thread busy {100 * busy / wall:.1f} %")
    assert rate >= 20 * 0.75  # the server sends at most 20/s; allow for start-up jitter in the window
    assert busy / wall < 0.5
    page.wait_for_function(f"() => Number(document.querySelector('#c-epoch').textContent) > {start_epoch}")
    assert int(page.locator("#loss-chart").get_attribute("data-points") or 0) >= 5
    assert console_errors == []


def test_keyboard_shortcuts_step_and_reset(page: Any, live_server: str) -> None:
    _open(page, live_server)
    page.locator("#step-unit").select_option("batch")
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(3):
        _step(page)
    page.wait_for_function("() => Number(document.querySelector('#c-batch').textContent) >= 3"
                           " || Number(document.querySelector('#c-epoch').textContent) >= 1")
    page.keyboard.press("r")
    page.wait_for_function("() => Number(document.querySelector('#c-batch').textContent) === 0"
                           " && Number(document.querySelector('#c-epoch').textContent) === 0")


def test_a_bad_csv_shows_the_servers_message_next_to_the_control(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    _open(page, live_server)
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,oops,1\n")
    page.locator("#csv-file").set_input_files(str(bad))
    page.wait_for_function("() => document.querySelector('#csv-error').textContent.trim().length > 0")
    message = page.locator("#csv-error").inner_text()
    # The parser names where the problem is (row 3 / the bad value), not just "invalid file".
    assert re.search(r"\b3\b|oops", message), message


def test_a_reload_keeps_the_session_and_its_counters(page: Any, live_server: str) -> None:
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("epoch")
    _step(page)
    page.wait_for_function("() => Number(document.querySelector('#c-epoch').textContent) >= 1")
    assert f"session={sid}" in page.url
    page.reload()
    page.wait_for_load_state("load")
    assert page.locator("#page").get_attribute("data-session") == sid
    assert int(page.locator("#c-epoch").inner_text()) >= 1
