"""Projector view and hidden controls (issue 18 part 2), in Chromium: large type, high contrast, the
controls a teacher hides, all kept in the address and in "link to setup"."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_layout import PROJECTOR, READY, _inside_window, _step


def _luminance(rgb: str) -> float:
    parts = [float(v) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(page: Any, selector: str) -> float:
    """Contrast ratio of the element's text colour against white (the panels' background)."""
    colour = page.eval_on_selector(selector, "(e) => getComputedStyle(e).color")
    return (1.0 + 0.05) / (_luminance(colour) + 0.05)


def _px(page: Any, selector: str) -> float:
    return float(page.eval_on_selector(selector, "(e) => parseFloat(getComputedStyle(e).fontSize)"))


def test_projector_view_has_large_high_contrast_type_and_still_fits_1280x720(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size(PROJECTOR[0])
    page.goto(f"{live_server}/?data=xor&hidden=3&view=projector")
    page.wait_for_function(READY)
    assert "view=projector" in page.url
    plain_hint = 12.0
    for _ in range(6):  # forward, error and backward lines
        _step(page)
        assert _px(page, "#inspector .formula") >= 20
        assert _px(page, "#inspector h2") >= 20
        for selector in ("#btn-step", "#net", "#inspector .formula"):
            _inside_window(page, selector)
    assert _px(page, "#inspector .note") >= 20
    assert _px(page, ".counters dt") >= 16 > plain_hint
    assert _contrast(page, ".counters dt") >= 7  # WCAG AAA for the greys that were #5f6368 (6.1:1)
    assert _contrast(page, "#inspector .note") >= 7
    # fewer secondary controls: no import/export/CSV upload, no code box
    for hidden in (".share .import", ".share a[download]", "form.csv", ".open-code"):
        assert page.locator(hidden).first.is_hidden(), hidden
    assert page.locator("#share-link").is_visible()  # the teacher hands this out
    assert console_errors == []


def test_the_toggle_turns_projector_view_on_and_off_and_keeps_the_run(page: Any, live_server: str) -> None:
    page.set_viewport_size(PROJECTOR[1])
    page.goto(f"{live_server}/")
    page.wait_for_function(READY)
    _step(page)
    sid = page.get_attribute("#page", "data-session")
    step = page.get_attribute("#inspector", "data-step")
    assert page.get_attribute("#view-toggle", "aria-pressed") == "false"
    page.locator("#view-toggle").click()
    page.wait_for_function("() => document.body.classList.contains('projector')")
    assert "view=projector" in page.url and f"session={sid}" in page.url
    assert page.get_attribute("#inspector", "data-step") == step  # the same run, at the same step
    assert page.get_attribute("#view-toggle", "aria-pressed") == "true"
    page.locator("#view-toggle").click()
    page.wait_for_function("() => !document.body.classList.contains('projector')")
    assert "view=projector" not in page.url


def test_hidden_controls_stay_hidden_across_swaps_and_travel_with_link_to_setup(
    page: Any, live_server: str, context: Any
) -> None:
    page.set_viewport_size(PROJECTOR[0])
    page.goto(f"{live_server}/?hidden=2&hide=setup,share,nonsense")
    page.wait_for_function(READY)
    assert page.locator("#setup").is_hidden() and page.locator(".share").is_hidden()
    assert page.locator("#data-panel").is_visible()
    # a re-render of the whole #page (a new layer) keeps the view in the address bar
    page.get_by_role("button", name="Add a hidden layer").click()
    page.wait_for_function("() => document.getElementById('n2_0') !== null")
    page.wait_for_function("() => location.search.includes('hide=setup,share')")
    assert "nonsense" not in page.url
    assert page.locator("#setup").is_hidden()
    link = page.get_attribute("#share-link", "href") or ""
    assert "hide=setup,share" in link and "session=" not in link
    # a student opens the link: their own new run, the same controls hidden
    student = context.new_page()
    student.goto(f"{live_server}{link}")
    student.wait_for_function(READY)
    assert student.get_attribute("#page", "data-session") != page.get_attribute("#page", "data-session")
    assert student.locator("#setup").is_hidden() and student.locator(".share").is_hidden()
    assert student.locator("#n2_0").count() == 1  # the setup with its new layer


def test_a_teacher_chooses_the_controls_students_see_from_the_page(page: Any, live_server: str) -> None:
    page.set_viewport_size(PROJECTOR[0])
    page.goto(f"{live_server}/?view=projector")
    page.wait_for_function(READY)
    page.locator("#shown-controls summary").click()
    form = page.locator("#shown-controls form")
    form.get_by_label("data panel", exact=False).check()
    form.get_by_label("layer and unit buttons").check()
    form.locator("#hide-apply").click()
    page.wait_for_function("() => document.body.classList.contains('hide-data')")
    page.wait_for_function(READY)
    assert "hide=data" in page.url and "layers" in page.url and "view=projector" in page.url
    assert page.locator("#data-panel").is_hidden()
    assert page.locator(".layer-controls").is_hidden() and page.locator("#net .pm a").first.is_hidden()
    # without the data column the network and inspector take its width
    net = page.locator("#network-panel").bounding_box()
    assert net is not None and net["x"] < 40
