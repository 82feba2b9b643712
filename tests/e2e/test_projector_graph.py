"""In the projector's view, the inspector's "show this neuron as a computation graph" opens the graph page
in the projector's view too (stepwise.js carries the page's `view`; app/routes/graph.py keeps it)."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_i18n_page import READY, _step


def test_the_neurons_graph_opens_in_the_projectors_view_from_the_projector(
    browser: Any, live_server: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/?data=xor&hidden=2&batch=1&view=projector")
        page.wait_for_function(READY)
        _step(page)  # the first forward micro-step: a hidden neuron to draw
        with context.expect_page() as opened:
            page.locator("#show-graph").click()
        graph = opened.value
        graph.wait_for_load_state()
        assert "view=projector" in graph.url and "/graph?" in graph.url
        assert "projector" in (graph.get_attribute("body", "class") or "")
    finally:
        context.close()
