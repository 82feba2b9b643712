"""What a student-eyes audit found on the playground: deep nets fit, refusals say why, play while diverged."""

from __future__ import annotations

from typing import Any

import pytest

SMALL = {"width": 1024, "height": 768}
READY = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"


@pytest.mark.parametrize("hidden", ["8,8,8,8,8,8", "16,16,16,16,16,16"])
def test_the_deepest_page_networks_fit_their_panel_at_1024_px(
    page: Any, live_server: str, console_errors: list[str], hidden: str
) -> None:
    page.set_viewport_size(SMALL)
    page.goto(f"{live_server}/?data=spiral&hidden={hidden}")
    page.wait_for_function(READY)
    panel = page.locator("#network-panel").bounding_box()
    output = page.locator("#n7_0").bounding_box()  # 6 hidden layers: the output is layer 7
    assert panel is not None and output is not None
    assert panel["x"] <= output["x"] and output["x"] + output["width"] <= panel["x"] + panel["width"]
    assert panel["y"] <= output["y"]
    label = page.locator("#net .node.output .node-label").bounding_box()
    assert label is not None and label["x"] + label["width"] <= panel["x"] + panel["width"]
    # nothing hides behind a sideways scroll
    assert page.evaluate("() => { const p = document.getElementById('network-panel');"
                         " return p.scrollWidth <= p.clientWidth; }")
    # the node labels stay at least ~8 px on screen although the drawing is about half size
    assert float(page.get_attribute("#net", "data-scale") or "1") < 0.6
    height = page.locator("#net .node-label").first.bounding_box()
    assert height is not None and height["height"] >= 8
    assert console_errors == []


@pytest.mark.parametrize("value", ["100000", "-3"])
def test_a_bad_batch_size_shows_the_servers_message_next_to_the_control(
    page: Any, live_server: str, value: str
) -> None:
    page.set_viewport_size(SMALL)
    page.goto(f"{live_server}/?data=xor&hidden=4,2")
    page.wait_for_function(READY)
    box = page.locator("input[name=batch_size]")
    box.fill(value)
    box.press("Tab")  # the change posts the setup form
    page.wait_for_function("() => document.getElementById('setup-error').textContent.includes('batch_size')",
                           timeout=5000)
    assert "Not changed" in page.text_content("#setup-error")


def test_play_while_diverged_is_refused_with_a_message_and_the_button_stays_play(
    page: Any, live_server: str
) -> None:
    config = {"output_unit": "linear_mse", "optimizer": {"learning_rate": 10},
              "hidden": [{"units": 8, "activation": "relu"}, {"units": 8, "activation": "relu"}]}
    sid = page.request.post(f"{live_server}/api/sessions", data=config).json()["id"]
    state = page.request.post(f"{live_server}/api/sessions/{sid}/step",
                              data={"unit": "epoch", "count": 20}).json()
    assert state["diverged"] is not None
    page.set_viewport_size(SMALL)
    page.goto(f"{live_server}/?session={sid}")
    page.wait_for_function(READY)
    assert page.is_visible("#divergence")
    epoch, batch = page.text_content("#c-epoch"), page.text_content("#c-batch")
    # the message names the batch that failed as the inspector would: the one after those done
    words = f"in batch {int(batch or 0) + 1} of epoch {int(epoch or 0) + 1}"
    assert words in (page.text_content("#divergence") or "")

    page.keyboard.press(" ")
    page.wait_for_function("() => document.getElementById('play-error').textContent.includes('Go back')",
                           timeout=5000)
    assert page.get_attribute("#btn-play", "aria-label") == "Play"
    assert "Playing" not in page.text_content("#inspector-title")
    # the refusal points at the red box, which is brought into view under the (sticky) run controls
    box, controls = page.locator("#divergence").bounding_box(), page.locator("#topbar").bounding_box()
    assert box is not None and controls is not None
    assert controls["y"] + controls["height"] <= box["y"]
    assert box["y"] + box["height"] <= SMALL["height"] + 0.5
    assert page.locator("#play-error").is_visible()
    assert page.request.get(f"{live_server}/api/sessions/{sid}").json()["playing"] is False

    page.keyboard.press("ArrowLeft")  # back: the run recovers and the refusal's reason goes away
    page.wait_for_function("() => document.getElementById('play-error').textContent === ''", timeout=5000)
    assert not page.is_visible("#divergence")


def test_play_that_diverges_before_the_page_hears_back_still_ends_as_a_play_button(
    page: Any, live_server: str
) -> None:
    """On a busy server the diverged frame can come on the stream before the answer to the play click
    (the pause button): the answer is held here until the red box shows, then let through."""
    config = {"output_unit": "linear_mse", "optimizer": {"learning_rate": 10},
              "hidden": [{"units": 8, "activation": "relu"}, {"units": 8, "activation": "relu"}]}
    sid = page.request.post(f"{live_server}/api/sessions", data=config).json()["id"]
    page.goto(f"{live_server}/?session={sid}")
    page.wait_for_function(READY)
    held: list[tuple[Any, Any]] = []
    page.route("**/ui/*/play", lambda route: held.append((route, route.fetch())))  # reaches the server
    page.locator("#step-unit").select_option("epoch")
    page.locator("#btn-play").click()
    page.wait_for_selector("#divergence", state="visible", timeout=20000)
    assert page.get_attribute("#btn-play", "aria-pressed") == "false"  # the answer is still held
    route, answer = held[0]
    assert 'aria-pressed="true"' in answer.text()  # it brings a pause button: play had begun
    page.evaluate("() => { document.getElementById('btn-play').dataset.held = 'yes'; }")
    route.fulfill(response=answer)
    # the held answer's pause button is swapped in, and turns back into a (new) play button
    page.wait_for_function("() => { const b = document.getElementById('btn-play');"
                           " return !b.dataset.held && b.ariaPressed === 'false'"
                           " && b.getAttribute('hx-post').endsWith('/play'); }")
    assert page.request.get(f"{live_server}/api/sessions/{sid}").json()["playing"] is False

