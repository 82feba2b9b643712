"""The header's tabs take a student between the playground and the computation graph, and back."""

from __future__ import annotations

from typing import Any


def test_header_tabs_switch_between_playground_and_computation_graph(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.goto(f"{live_server}/")
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.locator("[aria-current=page]").inner_text() == "Playground"
    nav.get_by_role("link", name="Computation graph").click()
    page.wait_for_url("**/graph")
    assert page.locator("#graph-svg").is_visible()
    assert nav.locator("[aria-current=page]").inner_text() == "Computation graph"
    page.go_back()
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    assert "session=" in page.url  # back where the student was, same session
    assert console_errors == []
