"""What the page shows about how it steps and draws (step by, speed, test data, discretize, click mode)
survives setup changes and reloads; the keys step after a dropdown; reset asks; every click adds a point."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

SIZE = {"width": 1280, "height": 720}
PLAYING = "() => document.getElementById('btn-play').getAttribute('aria-pressed') === '{}'"
COUNT = "() => JSON.parse(document.getElementById('boundary').dataset.points).length"


def _open(page: Any, server: str, query: str = "") -> str:
    page.set_viewport_size(SIZE)
    page.goto(f"{server}/?{query}")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    sid: str = page.get_attribute("#page", "data-session")
    return sid


def _api(server: str, sid: str) -> Any:
    with urllib.request.urlopen(f"{server}/api/sessions/{sid}") as response:
        return json.loads(response.read())


def _mark_page(page: Any) -> None:
    """Tag the current #page so a test can wait for the server's re-rendered one."""
    page.evaluate("() => { document.getElementById('page').dataset.old = '1'; }")


def _wait_rerendered(page: Any) -> None:
    page.wait_for_function("() => { const p = document.getElementById('page'); return p && !p.dataset.old; }")


def _view(page: Any) -> dict[str, Any]:
    return {
        "step": page.locator("#step-unit").input_value(), "speed": page.locator("#speed").input_value(),
        "test": page.locator("#show-test").is_checked(), "disc": page.locator("#discretize").is_checked(),
        "removes": page.locator("#click-removes").is_checked(),
    }


CHOSEN = {"step": "epoch", "speed": "20", "test": True, "disc": True, "removes": True}


def _choose_view(page: Any) -> None:
    page.locator("#step-unit").select_option("epoch")
    page.locator("#speed").select_option("20")
    page.locator("#show-test").check()
    page.locator("#discretize").check()
    page.locator("#click-removes").check()


def test_view_settings_survive_a_learning_rate_change_a_dataset_change_and_a_reload(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server)
    _choose_view(page)
    _mark_page(page)
    page.locator("select[name=learning_rate]").select_option("0.1")
    _wait_rerendered(page)
    assert _view(page) == CHOSEN
    assert _api(live_server, sid)["config"]["optimizer"]["learning_rate"] == 0.1

    _mark_page(page)
    page.locator("label.thumb:has(input[value=xor])").click()
    _wait_rerendered(page)
    assert _api(live_server, sid)["config"]["dataset"]["name"] == "xor"
    assert _view(page) == CHOSEN

    page.reload()
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    assert _view(page) == CHOSEN
    # and "step by epoch" is what → does: one whole epoch, not a micro-step
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('c-epoch').textContent === '1'")
    state = _api(live_server, sid)
    assert (state["epoch"], state["batch"], state["phase"]) == (1, 0, None)
    assert console_errors == []


def test_while_playing_a_live_change_keeps_the_play_unit_and_speed_on_screen(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("epoch")
    page.locator("#speed").select_option("2")
    page.keyboard.press(" ")
    page.wait_for_function(PLAYING.format("true"))
    _mark_page(page)
    page.locator("select[name=learning_rate]").select_option("0.1")
    _wait_rerendered(page)
    assert _api(live_server, sid)["playing"] is True  # a live change: play goes on
    assert (page.locator("#step-unit").input_value(), page.locator("#speed").input_value()) == ("epoch", "2")
    # a new speed while playing restarts play at it: the control never shows another speed than the server's
    page.locator("#speed").select_option("5")
    page.wait_for_function(PLAYING.format("true"))
    page.reload()
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    assert (page.locator("#step-unit").input_value(), page.locator("#speed").input_value()) == ("epoch", "5")
    page.keyboard.press(" ")
    page.wait_for_function(PLAYING.format("false"))
    assert _api(live_server, sid)["playing"] is False
    assert console_errors == []


def test_after_using_a_dropdown_the_right_arrow_steps_instead_of_changing_it(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("batch")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('c-batch').textContent === '1'")
    assert page.locator("#step-unit").input_value() == "batch"
    _mark_page(page)
    page.locator("select[name=optimizer]").select_option("momentum")
    _wait_rerendered(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('c-batch').textContent === '2'")
    assert _api(live_server, sid)["config"]["optimizer"]["kind"] == "momentum"
    assert page.locator("select[name=optimizer]").input_value() == "momentum"
    assert console_errors == []


def test_reset_by_key_asks_first_and_a_no_keeps_the_run(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("epoch")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('c-epoch').textContent === '1'")
    asked: list[str] = []

    def say_no(dialog: Any) -> None:  # runs while the press waits for the page's confirm to close
        asked.append(dialog.message)
        dialog.dismiss()
    page.once("dialog", say_no)
    page.keyboard.press("r")
    page.wait_for_function("() => true")  # one round trip: the page is free again
    assert asked and "Reset the run?" in asked[0]
    # the run is untouched: a step still goes on from epoch 1
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('c-epoch').textContent === '2'")
    assert _api(live_server, sid)["epoch"] == 2

    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("r")
    page.wait_for_function("() => document.getElementById('c-epoch').textContent === '0'")
    assert _api(live_server, sid)["epoch"] == 0
    assert console_errors == []


def test_fifteen_quick_clicks_on_the_plot_add_fifteen_points(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server, "data=gauss&hidden=2")
    before = page.evaluate(COUNT)
    box = page.locator("#boundary").bounding_box()
    for k in range(15):  # one row across the plot, no waiting between clicks
        page.mouse.click(box["x"] + 20 + k * (box["width"] - 40) / 14, box["y"] + box["height"] * 0.2)
    # each click's answer re-draws the page, one after another: at load 19 fifteen took over a minute
    page.wait_for_function(f"() => ({COUNT})() === {before + 15}", timeout=240_000)
    with urllib.request.urlopen(f"{live_server}/api/sessions/{sid}/export") as response:
        document = json.loads(response.read())
    assert len(document["data"]["points"]) == before + 15
    assert console_errors == []


def test_hovering_a_weight_in_a_backward_step_says_its_gradient_is_the_batchs(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    _open(page, live_server, "hidden=2&batch=5")
    for _ in range(5):  # 2 hidden forward, the output forward, error, then the first backward
        before = page.get_attribute("#page", "data-step")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.getElementById('page').dataset.step !== '{before}'")
    page.wait_for_function("() => document.getElementById('c-phase').textContent === 'backward'")
    # the event itself, on the link: a pointer moved there can miss it while the inspector's swap
    # shifts the layout (seen on a machine at load 19)
    page.locator("#w2_0_0").dispatch_event("mouseover")
    page.wait_for_function("() => document.getElementById('hover-value').textContent.includes('∂L/∂w')")
    text = page.locator("#hover-value").inner_text()
    assert "the batch's ∂L/∂w (mean over its samples) = " in text, text
    assert console_errors == []
