"""The computation-graph page in Chromium: step the lecture's (x + y)·z forward and back, read the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

RESULTS = Path(__file__).resolve().parents[2] / "test-results"


def value_box(page: Any, label: str) -> Any:
    return page.locator(f'#graph-svg g.graph-value[data-label="{label}"]')


def click_next(page: Any, expected_step: int) -> None:
    page.click("#graph-next")
    expect(page.locator("#graph-counter")).to_have_attribute("data-step", str(expected_step))


def test_lecture_example_steps_forward_then_backward_with_the_slide_numbers(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size({"width": 1200, "height": 800})
    page.goto(f"{live_server}/graph?preset=sigmoid")
    page.click('a[data-preset="lecture"]')
    expect(page.locator("#graph-expression")).to_have_value("(x + y)*z")
    expect(page.locator("#graph-counter")).to_have_attribute("data-step", "0")
    # Before any step only the inputs are known.
    expect(value_box(page, "x").locator(".graph-data")).to_have_text("−2")
    expect(value_box(page, "x + y").locator(".graph-data")).to_have_text("?")

    click_next(page, 1)
    expect(value_box(page, "x + y").locator(".graph-data")).to_have_text("3")
    expect(value_box(page, "(x + y)*z").locator(".graph-data")).to_have_text("?")
    click_next(page, 2)
    expect(value_box(page, "(x + y)*z").locator(".graph-data")).to_have_text("−12")

    click_next(page, 3)  # seed: ∂f/∂f = 1
    expect(value_box(page, "(x + y)*z").locator(".graph-grad")).to_have_text("1")
    expect(value_box(page, "z").locator(".graph-grad")).to_have_text("")
    click_next(page, 4)  # through ×: the inputs swap
    expect(page.locator(".graph-edge-label")).to_have_text(["1 × −4 = −4", "1 × 3 = 3"])
    expect(value_box(page, "z").locator(".graph-grad")).to_have_text("3")
    expect(value_box(page, "x + y").locator(".graph-grad")).to_have_text("−4")
    expect(page.locator("#graph-explain")).to_contain_text("multiply swaps")
    click_next(page, 5)  # through +: distributes
    expect(page.locator("#graph-explain")).to_contain_text("add distributes")
    expect(page.locator("#graph-next")).to_be_disabled()
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "graph-lecture-end.png"), full_page=True)

    result = page.locator("#graph-result")
    expect(result.locator('[data-variable="x"]')).to_have_text("∂f/∂x = −4")
    expect(result.locator('[data-variable="y"]')).to_have_text("∂f/∂y = −4")
    expect(result.locator('[data-variable="z"]')).to_have_text("∂f/∂z = 3")

    # And back again: one step back hides the + step's gradients for x and y.
    page.click("#graph-prev")
    expect(page.locator("#graph-counter")).to_have_attribute("data-step", "4")
    expect(value_box(page, "x").locator(".graph-grad")).to_have_text("")
    assert console_errors == []


def test_typed_expression_with_an_error_shows_the_column(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.goto(f"{live_server}/graph")
    page.fill("#graph-expression", "x + y.__class__")
    page.fill("#graph-values", "x = 1, y = 2")
    page.click("#graph-form button[type=submit]")
    expect(page.locator(".graph-error")).to_contain_text("column 6: attribute access")  # the dot
    # The page still works after a refusal.
    page.fill("#graph-expression", "max(x, y) * x")
    page.click("#graph-form button[type=submit]")
    page.click("#graph-end")
    expect(page.locator('#graph-result [data-variable="x"]')).to_have_text("∂f/∂x = 2")
    expect(page.locator('#graph-result [data-variable="y"]')).to_have_text("∂f/∂y = 1")
    page.screenshot(path=str(RESULTS / "graph-typed.png"), full_page=True)
    assert [e for e in console_errors if "422" not in e] == []


def test_a_refused_operator_is_pointed_at_under_the_expression(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.goto(f"{live_server}/graph?preset=lecture")
    page.fill("#graph-expression", "x × y % z")
    page.click("#graph-form button[type=submit]")
    expect(page.locator(".graph-error")).to_contain_text("column 7: only + - * / and ** are allowed")
    shown, pointer = page.locator(".graph-caret").inner_text().splitlines()
    assert pointer.index("^") == shown.index("%")
