"""A student follows lesson 1 and lesson 8 in a real Chromium, doing what each step says (its "Use" line),
and the tool checks every task from their run; comparing two runs shows both curves and the table."""

from __future__ import annotations

import re
from typing import Any

POLL_MS = 60_000  # a poll returns as soon as its condition holds: this is how long a busy machine may take
PAINTED = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"


def panel_step(page: Any, title: str) -> None:
    page.wait_for_function(
        "t => (document.querySelector('#lesson-step-title') || {}).textContent?.includes(t)", arg=title,
        timeout=POLL_MS)


def next_step(page: Any, title: str) -> None:
    page.locator("#lesson-next").click()
    panel_step(page, title)


def use_says(page: Any, *words: str) -> None:
    """The step's own instruction names the control the test is about to use."""
    said = page.locator(".lesson-use").inner_text()
    for word in words:
        assert word in said, (word, said)


def play_epochs_until(page: Any, at_least: int) -> None:
    """Step by epoch, play, and pause once the epoch counter reaches `at_least` (the step's instruction)."""
    page.locator("#step-unit").select_option("epoch")
    page.locator("#btn-play").click()
    page.wait_for_function(f"() => Number(document.querySelector('#c-epoch').textContent) >= {at_least}",
                           timeout=POLL_MS)
    page.locator("#btn-play").click()  # pause
    page.wait_for_selector("#btn-play:not(.playing)", timeout=POLL_MS)


def choose(page: Any, option: str) -> None:
    page.locator(".lesson-option", has_text=option).locator("input").check()
    check(page)


def check(page: Any) -> str:
    """Press Check and wait for the new panel's verdict (the old one is marked, the answer replaces it)."""
    page.locator("#lesson-verdict").evaluate("e => e.dataset.stale = '1'")
    page.locator("#lesson-check").click()
    fresh = "#lesson-verdict:not([data-stale])"
    page.wait_for_selector(f"{fresh}.solved, {fresh}.unsolved", timeout=POLL_MS)
    text: str = page.locator("#lesson-verdict").inner_text()
    return text


def solved(page: Any) -> None:
    verdict = page.locator("#lesson-verdict")
    assert "solved" in (verdict.get_attribute("class") or ""), verdict.inner_text()


def curve_height(page: Any) -> float:
    """How high the fitted curve is drawn, on average (SVG y grows downwards: minus the mean y)."""
    height: float = page.evaluate(
        "() => { const ys = document.querySelector('#curve-fit').getAttribute('points').trim().split(' ')"
        ".map(p => Number(p.split(',')[1])); return -ys.reduce((a, b) => a + b, 0) / ys.length; }")
    return height


def open_lesson(page: Any, live_server: str, number: int) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/lessons")
    page.locator("#lesson-list a", has_text=f"{number}. ").first.click()
    page.wait_for_selector("#lesson-panel", timeout=POLL_MS)
    page.wait_for_function(PAINTED, timeout=POLL_MS)


def test_lesson_1_is_completed_by_following_its_steps(page: Any, live_server: str,
                                                       console_errors: list[str]) -> None:
    open_lesson(page, live_server, 1)
    assert page.locator("#lesson-title").inner_text().startswith("The perceptron f = Wx")
    assert page.locator("#network-panel").evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    assert page.locator("text=0 hidden layers").count() == 1  # the setup is the lesson's perceptron
    next_step(page, "Train it on xor")
    use_says(page, "step by", "epoch", "play")
    play_epochs_until(page, 20)
    wrong = page.locator(".lesson-option", has_text="the learning rate is too small").locator("input")
    wrong.check()
    assert "Not “the learning rate is too small”" in check(page)
    choose(page, "no straight line")
    solved(page)
    assert "1 of 2 tasks done" in page.locator("#lesson-score").inner_text()
    next_step(page, "Give the perceptron the product")
    use_says(page, "x₁x₂", "play")
    assert "Not yet" in check(page)  # before the change: the perceptron on x₁, x₂ misses
    page.locator('input[name="features"][value="x1_x2"]').check()
    page.wait_for_function("() => document.querySelector('#c-epoch').textContent === '0'", timeout=POLL_MS)
    play_epochs_until(page, 10)
    assert check(page).startswith("Done: test accuracy")
    solved(page)
    assert "2 of 2 tasks done" in page.locator("#lesson-score").inner_text()
    assert page.locator(".lesson-step-link.solved").count() == 2
    assert console_errors == []


def test_lesson_8_is_completed_by_following_its_steps(page: Any, live_server: str,
                                                       console_errors: list[str]) -> None:
    open_lesson(page, live_server, 8)
    panel_step(page, "Likelihood as the cost")
    # by keyboard: Space picks the option, Tab reaches Check, Space presses it (and does not start play)
    page.locator(".lesson-option", has_text="it turns the product").locator("input").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "lesson-check"
    page.locator("#lesson-verdict").evaluate("e => e.dataset.stale = '1'")
    page.keyboard.press("Space")
    page.wait_for_selector("#lesson-verdict:not([data-stale]).solved", timeout=POLL_MS)
    assert page.evaluate("() => document.activeElement.id") == "lesson-verdict"  # the answer has the focus
    assert not page.locator("#btn-play").evaluate("b => b.classList.contains('playing')")
    next_step(page, "MSE is a Gaussian output")
    use_says(page, "step by", "epoch", "play")
    play_epochs_until(page, 5)
    assert check(page).startswith("Done: test loss")
    next_step(page, "The mean versus the median, seen")
    use_says(page, "Set up for me", "absolute error")
    page.locator("#lesson-setup").click()
    page.wait_for_selector("#curve-view #curve-fit", timeout=POLL_MS)  # the 1-D view joins the panel
    play_epochs_until(page, 20)
    mse_height = curve_height(page)
    page.locator('select[name="output_unit"]').select_option("linear_l1")
    page.wait_for_function("() => document.querySelector('#c-epoch').textContent === '0'", timeout=POLL_MS)
    play_epochs_until(page, 20)
    # the same data, so the same scale: MSE's curve (the mean) sits above L1's (the median)
    assert curve_height(page) < mse_height - 2, (mse_height, curve_height(page))
    page.locator(".lesson-option", has_text="the squared error").locator("input").check()
    assert "Not “the squared error MSE (the mean)”" in check(page)
    choose(page, "the absolute error L1")
    solved(page)
    next_step(page, "The Gaussian's σ")
    page.locator("#lesson-setup").click()
    page.wait_for_selector("#curve-view #curve-band", timeout=POLL_MS)  # μ ± σ shaded
    play_epochs_until(page, 10)
    choose(page, "how far the targets spread")
    solved(page)
    next_step(page, "Two classes, a Bernoulli")
    use_says(page, "Set up for me", "play")
    page.locator("#lesson-setup").click()
    page.wait_for_function("() => document.querySelector('select[name=output_unit]').value === 'sigmoid_bce'",
                           timeout=POLL_MS)
    play_epochs_until(page, 40)
    assert check(page).startswith("Done: test loss")
    next_step(page, "Several classes, a Multinoulli")
    page.locator("#lesson-setup").click()
    page.wait_for_function("() => document.querySelector('select[name=output_unit]').value === 'softmax_ce'",
                           timeout=POLL_MS)
    choose(page, "a Multinoulli")
    solved(page)
    assert "6 of 6 tasks done" in page.locator("#lesson-score").inner_text()
    assert console_errors == []


def step_epochs(page: Any, count: int) -> None:
    """Press the step button `count` times by epoch, each time once the one before has been answered."""
    for done in range(1, count + 1):
        page.locator("#btn-step").click()
        page.wait_for_function(f"() => document.querySelector('#c-epoch').textContent === '{done}'",
                               timeout=POLL_MS)


def test_comparing_two_runs_shows_both_curves_and_the_table(page: Any, live_server: str,
                                                             console_errors: list[str]) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/?data=circle&hidden=4&lr=0.03")
    page.wait_for_function(PAINTED, timeout=POLL_MS)
    first = page.locator("#page").get_attribute("data-session")
    page.locator("#step-unit").select_option("epoch")
    step_epochs(page, 3)
    page.locator("#btn-compare").click()
    page.wait_for_function(f"() => document.querySelector('#page')?.dataset.session !== '{first}'",
                           timeout=POLL_MS)
    assert page.locator("#c-epoch").inner_text() == "0"  # the copy starts from the start
    page.locator("#page").evaluate("e => e.dataset.stale = '1'")
    page.locator('select[name="learning_rate"]').select_option("0.3")
    page.wait_for_selector("#page:not([data-stale])", timeout=POLL_MS)  # the setup's answer is in
    page.locator("#step-unit").select_option("epoch")
    step_epochs(page, 3)
    page.wait_for_selector("#compare-link", timeout=POLL_MS)
    page.locator("#compare-link").click()
    page.wait_for_selector("#compare-table", timeout=POLL_MS)
    rows = page.locator("#compare-table tbody tr")
    assert rows.count() == 2
    assert "optimizer.learning_rate 0.03 → 0.3" in rows.nth(1).inner_text()
    for index in range(2):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[1] == "3"  # epoch
        assert all(re.fullmatch(r"\d+\.\d{3}", value) for value in cells[2:5]), cells
    curves = page.locator("#compare-curves polyline")
    assert curves.count() == 4  # test and train per run
    for index in range(4):
        box = curves.nth(index).bounding_box()
        assert box is not None and box["width"] > 100, box  # drawn across the chart
    assert page.locator("#compare-maps img").count() == 2
    assert page.locator("#compare-maps img").first.evaluate("i => i.complete && i.naturalWidth") == 48
    assert console_errors == []
