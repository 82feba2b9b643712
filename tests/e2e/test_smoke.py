"""The first page opens in a real Chromium with htmx 4 loaded from static/vendor and no console errors."""

from __future__ import annotations

from typing import Any


def test_index_loads_vendored_htmx_4_without_console_errors(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    response = page.goto(f"{live_server}/")
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    version = page.evaluate("() => window.htmx && window.htmx.version")
    assert isinstance(version, str) and version.startswith("4."), f"htmx version on the page: {version!r}"
    # The script is served by this server, not a CDN: the page has to work offline and in Docker.
    sources = page.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")
    assert any(src.startswith(f"{live_server}/static/vendor/htmx/") for src in sources), sources
    assert all(src.startswith(live_server) for src in sources), f"script from another origin: {sources}"
    assert console_errors == []
