"""Layouts that fit, measured in Chromium: a projector's 1280x720 and 1024x768, a tablet's 768x1024 and
a phone's 390x844 (issue 18). Every check reads element boxes (bounding_box) or the document's scroll
extents, so a rule in screens.css that stops holding fails here with the box that broke it."""

from __future__ import annotations

from typing import Any

import pytest

from engine import vocabulary

PROJECTOR = [{"width": 1280, "height": 720}, {"width": 1024, "height": 768}]
TOUCH = [{"width": 768, "height": 1024}, {"width": 390, "height": 844}]
READY = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"
FINGER = 44  # px: the smallest touch target (WCAG 2.5.5)
# Everything a finger presses on the playground: buttons, links drawn as buttons, fields, the labels of
# check boxes and radio buttons (the label is what one taps), dataset and feature tiles, the page tabs.
TARGETS = ("button, a.button, label.button, select, input[type=number], input[type=text], .site-nav a,"
           " label.compact, label.thumb, label.feature, input[type=range], #show-graph, #net-values summary,"
           " .lang-switch a")


def _open(page: Any, server: str, query: str = "") -> None:
    page.goto(f"{server}/?{query}")
    page.wait_for_function(READY)


def _step(page: Any) -> None:
    before = page.locator("#inspector").get_attribute("data-step")
    page.locator("#btn-step").click()
    page.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{before}'")


def _inside_window(page: Any, selector: str) -> None:
    """The element's whole box is inside the window as it is (no scrolling)."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["y"] >= 0, f"{selector} starts outside the window: {box}"
    assert box["x"] + box["width"] <= size["width"] + 0.5, f"{selector} ends right of the window: {box}"
    assert box["y"] + box["height"] <= size["height"] + 0.5, f"{selector} ends below the window: {box}"


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth,"
                          " document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width[0]} px of content in {width[1]} px"


@pytest.mark.parametrize("size", PROJECTOR, ids=lambda s: f"{s['width']}x{s['height']}")
def test_on_a_projector_the_step_buttons_the_network_and_the_formula_are_in_view_at_every_phase(
    page: Any, live_server: str, console_errors: list[str], size: dict[str, int]
) -> None:
    page.set_viewport_size(size)
    _open(page, live_server, "data=circle&hidden=4,2&batch=2")
    phases = set()
    for _ in range(12):  # forward, error, backward, accumulate and update of a batch of 2
        _step(page)
        phases.add(page.locator("#inspector").get_attribute("data-phase"))
        assert page.evaluate("() => window.scrollY") == 0
        for selector in ("#btn-back", "#btn-play", "#btn-step", "#step-unit", "#net", "#inspector .formula"):
            _inside_window(page, selector)
        _no_sideways_scroll(page)
    assert len(phases) >= 3, f"the steps went through {phases} only"
    assert console_errors == []


def test_the_run_controls_stay_in_view_when_the_page_is_scrolled_down(page: Any, live_server: str) -> None:
    page.set_viewport_size(PROJECTOR[0])
    _open(page, live_server)
    page.mouse.wheel(0, 600)
    page.wait_for_function("() => window.scrollY > 200")
    _inside_window(page, "#btn-step")
    _inside_window(page, "#btn-play")
    before = page.locator("#inspector").get_attribute("data-step")
    page.locator("#btn-step").click()  # pressable where it is: nothing lies over it
    page.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{before}'")


def test_a_wide_network_formula_wraps_instead_of_hiding_its_result_sideways(
    page: Any, live_server: str
) -> None:
    page.set_viewport_size(PROJECTOR[1])
    _open(page, live_server, "hidden=8,8,8,8,8,8")
    for _ in range(4):  # into the second hidden layer: 8 inputs in one sum
        _step(page)
    formula = page.locator("#inspector .formula")
    assert page.evaluate("(f) => f.scrollWidth <= f.clientWidth", formula.element_handle())
    last = page.locator("#inspector .formula .num").last.bounding_box()
    box = formula.bounding_box()
    assert last is not None and box is not None and last["x"] + last["width"] <= box["x"] + box["width"]


@pytest.mark.parametrize("size", TOUCH, ids=lambda s: f"{s['width']}x{s['height']}")
def test_on_a_tablet_or_phone_nothing_scrolls_sideways_and_every_panel_is_within_the_width(
    page: Any, live_server: str, console_errors: list[str], size: dict[str, int]
) -> None:
    page.set_viewport_size(size)
    _open(page, live_server)
    _step(page)
    _no_sideways_scroll(page)
    for panel in ("#topbar", "#setup", "#network-panel", "#inspector", "#output-panel", "#data-panel",
                  ".share", ".site-nav"):
        box = page.locator(panel).bounding_box()
        assert box is not None and box["width"] > 0, f"{panel} is not shown"
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5, f"{panel}: {box}"
        page.locator(panel).scroll_into_view_if_needed()
        assert page.locator(panel).is_visible()
    # the whole drawing is inside its panel, not behind a scroll of its own
    assert page.evaluate("() => { const p = document.getElementById('network-panel');"
                         " return p.scrollWidth <= p.clientWidth; }")
    assert console_errors == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_on_a_phone_every_activation_with_its_parameter_and_formula_fits_the_width(
    browser: Any, live_server: str, locale: str
) -> None:
    """Each layer's activation, its α or k and its formula sit on one row at a desk; on a phone they wrap
    (ELU's formula beside its α was 15-32 px wider than 390 px, the page scrolled sideways)."""
    context = browser.new_context(locale=locale, viewport=TOUCH[1], has_touch=True)
    try:
        page = context.new_page()
        for name in vocabulary.ACTIVATIONS:
            _open(page, live_server, f"hidden=4,4&act={name},{name}")
            assert page.locator(".act-formula").first.inner_text() != ""
            _no_sideways_scroll(page)
    finally:
        context.close()


@pytest.mark.parametrize("size", TOUCH, ids=lambda s: f"{s['width']}x{s['height']}")
def test_every_touch_target_is_at_least_44_px_square(
    page: Any, live_server: str, size: dict[str, int]
) -> None:
    page.set_viewport_size(size)
    _open(page, live_server)
    _step(page)  # the inspector's graph link is there from the first forward step
    small = page.evaluate(
        """([selector, finger]) => [...document.querySelectorAll(selector)]
            .filter((e) => e.getClientRects().length && !e.closest("[hidden]"))
            .map((e) => [e.id || e.getAttribute("aria-label") || e.textContent.trim().slice(0, 30),
                         e.getBoundingClientRect()])
            .filter(([, r]) => r.width < finger - 0.5 || r.height < finger - 0.5)
            .map(([name, r]) => `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        [TARGETS, FINGER],
    )
    assert small == []
    # a phone shows no projector controls (a teacher presents from a wide screen)
    assert page.locator("#view-toggle").is_visible() == (size["width"] > 600)
    # the drawing's own +/- (small when the drawing shrinks) give way to full-size buttons
    assert page.locator("#net .pm a").first.is_hidden()
    assert page.get_by_role("button", name="Add a unit to layer 1").is_visible()


@pytest.mark.parametrize("size", TOUCH, ids=lambda s: f"{s['width']}x{s['height']}")
def test_a_tap_shows_what_hover_shows_and_the_unit_buttons_work_by_touch(
    browser: Any, live_server: str, size: dict[str, int]
) -> None:
    context = browser.new_context(viewport=size, has_touch=True, is_mobile=size["width"] < 500)
    try:
        page = context.new_page()
        _open(page, live_server, "hidden=3")
        page.locator("#n1_0").tap()
        label = page.get_attribute("#n1_0", "data-label") or "?"
        assert page.locator("#hover-value").inner_text().startswith(label)
        assert " = " in page.locator("#hover-value").inner_text()
        page.get_by_role("button", name="Add a unit to layer 1").tap()
        page.wait_for_function("() => document.getElementById('n1_3') !== null")
        _no_sideways_scroll(page)
    finally:
        context.close()


def test_pinch_zoom_is_allowed_on_every_page(page: Any, live_server: str) -> None:
    for path in ("/", "/graph", "/docs", "/class"):
        page.goto(f"{live_server}{path}")
        content = (page.get_attribute("meta[name=viewport]", "content") or "").replace(" ", "").lower()
        assert "width=device-width" in content
        assert "user-scalable=no" not in content and "user-scalable=0" not in content
        assert "maximum-scale=1" not in content


@pytest.mark.parametrize("path", ["/", "/graph?preset=neuron", "/class", "/docs"])
def test_browser_zoom_to_200_percent_reflows_instead_of_scrolling_sideways(page: Any, live_server: str,
                                                                         path: str) -> None:
    # 200 % zoom of a 1280x720 window lays the page out in 640x360 CSS pixels (and a phone's 390 px)
    for size in ({"width": 640, "height": 360}, TOUCH[1]):
        page.set_viewport_size(size)
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("load")
        if path == "/":
            page.wait_for_function(READY)
        _no_sideways_scroll(page)


@pytest.mark.parametrize("size", TOUCH, ids=lambda s: f"{s['width']}x{s['height']}")
def test_a_lesson_on_a_tablet_or_phone_sits_above_the_playground_and_nothing_scrolls_sideways(
    page: Any, live_server: str, size: dict[str, int]
) -> None:
    page.set_viewport_size(size)
    page.goto(f"{live_server}/lessons/01-perceptron")
    page.wait_for_function(READY)
    page.wait_for_selector("#lesson-panel")
    _no_sideways_scroll(page)
    lesson = page.locator("#lesson-panel").bounding_box()
    for panel in ("#lesson-panel", "#topbar", "#network-panel", "#inspector", "#output-panel"):
        box = page.locator(panel).bounding_box()
        assert box is not None and box["x"] >= 0, (panel, box)
        assert box["x"] + box["width"] <= size["width"] + 0.5, (panel, box)
    network = page.locator("#network-panel").bounding_box()
    assert lesson is not None and network is not None and lesson["y"] + lesson["height"] <= network["y"]
