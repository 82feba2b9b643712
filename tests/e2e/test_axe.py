"""axe-core (static/vendor/axe-core, pinned in tests/test_vendor.py) over every page and state of the
site: 0 serious or critical violations. Plus what axe cannot see: the drawing as text, visible focus,
the keyboard, reduced motion and a pause control in view while playing."""

from __future__ import annotations

from typing import Any

import pytest

READY = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"
PLAYING = "() => document.querySelector('#btn-play').getAttribute('aria-pressed') === 'true'"
PAUSED = "() => document.querySelector('#btn-play').getAttribute('aria-pressed') === 'false'"
AXE = "/static/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")
POLL_MS = 60_000


def violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line per element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE)  # from our own origin: the CSP (script-src 'self') allows it
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" "))}))""")
    return [f"{v['id']} ({v['impact']}): {node}"
            for v in found if v["impact"] in BLOCKING for node in v["nodes"]]


def _step(page: Any) -> None:
    before = page.locator("#inspector").get_attribute("data-step")
    page.locator("#btn-step").click()
    page.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{before}'")


@pytest.mark.parametrize("size", [{"width": 1280, "height": 720}, {"width": 390, "height": 844}],
                         ids=["1280x720", "390x844"])
def test_the_playground_paused_at_every_phase_and_playing_has_no_serious_violation(
    page: Any, live_server: str, size: dict[str, int]
) -> None:
    page.set_viewport_size(size)
    page.goto(f"{live_server}/?data=xor&hidden=3&batch=2")
    page.wait_for_function(READY)
    found: dict[str, list[str]] = {"ready": violations(page)}
    page.locator("#net-values summary").click()  # the drawing as text, open
    for _ in range(60):  # through forward, error, backward, accumulate and update
        _step(page)
        phase = page.locator("#inspector").get_attribute("data-phase") or "between batches"
        if phase not in found:
            found[phase] = violations(page)
        if "update" in found:
            break
    assert {"forward", "error", "backward", "update"} <= set(found), set(found)
    page.locator("#btn-play").click()
    page.wait_for_function(PLAYING)
    frames = page.evaluate("() => window.Stepwise.stats.framesApplied")
    page.wait_for_function(f"() => window.Stepwise.stats.framesApplied > {frames + 3}", timeout=POLL_MS)
    found["playing"] = violations(page)
    page.locator("#btn-play").click()
    page.wait_for_function(PAUSED)
    assert {state: v for state, v in found.items() if v} == {}


def test_projector_view_hidden_controls_and_someone_elses_run_have_no_serious_violation(
    page: Any, live_server: str, browser: Any
) -> None:
    page.goto(f"{live_server}/?view=projector&hide=data")
    page.wait_for_function(READY)
    _step(page)
    page.locator("#shown-controls summary").click()
    assert violations(page) == []
    sid = page.get_attribute("#page", "data-session")
    other = browser.new_context()  # not the owner: the read-only view
    try:
        watcher = other.new_page()
        watcher.goto(f"{live_server}/?session={sid}")
        watcher.wait_for_function(READY)
        assert watcher.locator("#page.readonly").count() == 1
        assert violations(watcher) == []
    finally:
        other.close()


def test_error_states_have_no_serious_violation(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/?data=xor&hidden=3")
    page.wait_for_function(READY)
    box = page.locator("input[name=batch_size]")
    box.fill("100000")
    box.press("Tab")
    page.wait_for_function("() => document.getElementById('setup-error').textContent.length > 0")
    page.locator("#click-removes").check()
    page.locator("#boundary").click(position={"x": 3, "y": 3})  # no point there: the page says so
    page.wait_for_function("() => document.getElementById('point-error').textContent.length > 0")
    assert violations(page) == []
    page.goto(f"{live_server}/?data=plane&out=tanh_mse&hidden=3")  # a setup the engine refuses (422)
    assert page.locator("#refused-message").is_visible()
    assert violations(page) == []
    page.goto(f"{live_server}/go?code=ZZZZ-ZZZZ")  # an unknown code
    assert violations(page) == []


def test_the_graph_page_the_docs_and_the_class_pages_have_no_serious_violation(
    page: Any, live_server: str
) -> None:
    page.goto(f"{live_server}/graph?preset=lecture")
    assert violations(page) == []
    for step in range(1, 5):  # one answer at a time: a click before the swap landed asks for the same step
        page.locator("#graph-next").click()
        page.wait_for_function(f"() => document.querySelector('#graph-counter').dataset.step === '{step}'")
    assert violations(page) == []
    page.fill("#graph-expression", "x × y % z")
    page.click("#graph-form button[type=submit]")
    page.wait_for_selector(".graph-error")
    assert violations(page) == []
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock")
    page.locator(".opblock-summary-control").first.click()
    page.wait_for_selector(".opblock-body")
    assert violations(page) == []
    page.goto(f"{live_server}/class")
    assert violations(page) == []


def test_the_drawing_has_a_role_a_name_and_a_text_alternative_with_this_steps_values(
    page: Any, live_server: str
) -> None:
    page.goto(f"{live_server}/?data=xor&hidden=3")
    page.wait_for_function(READY)
    net = page.locator("#net")
    assert net.get_attribute("role") == "group" and "network" in (net.get_attribute("aria-label") or "")
    _step(page)
    _step(page)
    page.locator("#net-values summary").click()
    # the details' toggle event (a task of its own) fills the list: wait for it
    page.wait_for_function("() => document.querySelectorAll('#net-values-list li').length > 0")
    lines = page.locator("#net-values-list li").all_inner_texts()
    assert len(lines) == 2 + 3 + 1  # x₁, x₂; three hidden neurons; ŷ
    # each line is what hover shows for that neuron: its label and the frame's value
    for node in ("n0_0", "n1_0", "n1_1"):
        page.locator(f"#{node}").hover()
        assert page.locator("#hover-value").inner_text() in lines
    # the next step changes the text: it follows the frame
    before = lines
    for _ in range(3):
        _step(page)
    page.wait_for_function("(b) => [...document.querySelectorAll('#net-values-list li')]"
                           ".map((e) => e.textContent).join('|') !== b", arg="|".join(before))


def test_the_keyboard_reaches_and_presses_the_step_button_with_a_visible_focus_ring(
    page: Any, live_server: str
) -> None:
    page.goto(f"{live_server}/?data=xor&hidden=3")
    page.wait_for_function(READY)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "btn-step":
            break
    else:
        pytest.fail("Tab never reached the step button")
    ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                         " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert ring[0] != "none" and ring[1] >= 2
    before = page.locator("#inspector").get_attribute("data-step")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{before}'")
    # the drawing's own +/- are reachable too, and say what they do
    page.locator("#net .pm a").first.focus()
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')").startswith("Add a unit")


def test_reduced_motion_stops_the_transitions_and_playing_shows_a_pause_button_in_view(
    page: Any, live_server: str
) -> None:
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{live_server}/?data=xor&hidden=3")
    page.wait_for_function(READY)
    durations = page.evaluate("""() => ['.link', '.node-box', '.bias'].map((s) =>
        getComputedStyle(document.querySelector(s)).transitionDuration)""")
    assert all(float(d.rstrip("s")) == 0 for d in durations), durations
    page.locator("#btn-play").click()
    button = page.locator("#btn-play")
    page.wait_for_function(PLAYING)
    assert button.get_attribute("aria-label") == "Pause" and button.is_visible()
    box = button.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720
    page.locator("#btn-play").click()
    page.wait_for_function(PAUSED)
    page.emulate_media(reduced_motion="no-preference")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.link')).transitionDuration") != "0s"
