"""/docs draws the JSON API's reference in Chromium from our own origin: no CDN, no CSP violation."""

from __future__ import annotations

from typing import Any


def test_api_reference_renders_every_operation_offline_under_the_csp(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="JSON API").click()
    page.wait_for_url("**/docs")
    page.wait_for_selector(".opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(p.strip() == "/api/sessions/{session_id}/step" for p in paths)
    assert not any(p.startswith("/ui") for p in paths)  # the page's own routes are not the API
    assert [url for url in requested if not url.startswith(live_server) and not url.startswith("data:")] == []
    assert console_errors == []
