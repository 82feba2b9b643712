"""Security headers on every kind of response, no inline script or style, and no CSP violation in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import ROOT

REQUIRED_DIRECTIVES = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                       "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]


def _assert_headers(response: Any, what: str) -> None:
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    for directive in REQUIRED_DIRECTIVES:
        assert directive in policy.split("; "), f"{what}: CSP lacks {directive!r}: {policy!r}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, f"{what}: {policy}"
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") in ("no-referrer", "same-origin"), what


def test_every_kind_of_response_carries_the_security_headers(tmp_path: Path) -> None:
    # every route but /static takes from the bucket: 13 requests below before the loop that drains it
    settings = Settings(data_dir=tmp_path, requests_burst=16, requests_per_client_per_second=0.5,
                        max_body_bytes=4096, max_import_bytes=4096)
    with TestClient(create_app(settings)) as client:
        created = client.post("/api/sessions", json={})
        sid = created.json()["id"]
        answers = {
            "page /": client.get("/"),
            "page /graph": client.get("/graph"),
            "htmx fragment": client.post(f"/ui/{sid}/step", data={"unit": "micro"}),
            "static css": client.get("/static/css/stepwise.css"),
            "static js": client.get("/static/js/stepwise.js"),
            "vendored htmx": client.get("/static/vendor/htmx/htmx.min.js"),
            "missing static file": client.get("/static/nope.js"),
            "healthz": client.get("/healthz"),
            "openapi": client.get("/openapi.json"),
            "API 201": created,
            "API 200": client.get(f"/api/sessions/{sid}"),
            "API 204": client.delete(f"/api/sessions/{client.post('/api/sessions', json={}).json()['id']}"),
            "API 404": client.get("/api/sessions/unknown"),
            "API 422": client.post("/api/sessions", json={"batch_size": -1}),
            "API 413": client.post("/api/sessions/import", content=b"{" + b" " * 10_000 + b"}",
                                   headers={"content-type": "application/json"}),
            "unknown route 404": client.get("/no/such/page"),
        }
        while (limited := client.get(f"/api/sessions/{sid}")).status_code != 429:
            pass
        answers["API 429"] = limited
    expected = {"API 201": 201, "API 204": 204, "API 404": 404, "API 422": 422, "API 413": 413,
                "missing static file": 404, "unknown route 404": 404, "API 429": 429}
    for what, response in answers.items():
        assert response.status_code == expected.get(what, 200), f"{what}: {response.status_code}"
        _assert_headers(response, what)
    script_type = answers["static js"].headers["content-type"]
    assert script_type.startswith(("text/javascript", "application/javascript"))


def test_the_stream_carries_the_security_headers(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        sid = http.post("/api/sessions", json={}).json()["id"]
        with http.stream("GET", f"/api/sessions/{sid}/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            _assert_headers(stream, "SSE stream")
        http.delete(f"/api/sessions/{sid}")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted((ROOT / "templates").rglob("*.html")),
                         ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_templates_hold_no_inline_script_handler_or_style(template: Path) -> None:
    # CSP would block them in the browser; catching them here names the template.
    text = JINJA_COMMENT.sub("", template.read_text())
    assert not INLINE_SCRIPT.search(text), "inline <script>"
    assert not INLINE_HANDLER.search(text), "inline on*= handler"
    assert not INLINE_STYLE.search(text), "inline <style> or style= attribute (style-src is 'self')"


RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.mark.e2e
def test_pages_run_in_chromium_without_any_csp_violation(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(f"{live_server}/")
    assert response is not None and response.status == 200
    _assert_headers(_Headers(response.all_headers()), "page in browser")
    page.wait_for_load_state("networkidle")
    # Exercise the swaps and the stream: fragments and frames must obey the policy too.
    for button in ("#btn-step", "#btn-step", "#btn-back"):
        page.locator(button).click()
        page.wait_for_load_state("networkidle")
    page.locator("#btn-play").click()
    page.wait_for_timeout(800)
    page.locator("#btn-play").click()
    violations = page.evaluate("() => window.__cspViolations")
    page.goto(f"{live_server}/graph?preset=lecture")
    page.wait_for_load_state("networkidle")
    violations += page.evaluate("() => window.__cspViolations")
    assert violations == []
    assert console_errors == []


class _Headers:
    """Playwright's header dict seen through the `.headers` attribute _assert_headers reads."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


@pytest.mark.e2e
def test_the_violation_recorder_does_see_an_inline_style_when_one_is_added(
    page: Any, live_server: str
) -> None:
    # Proves the test above can fail: the policy really is enforced and the listener really records.
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server}/graph")
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert "style-src" in page.evaluate("() => window.__cspViolations[0]")
