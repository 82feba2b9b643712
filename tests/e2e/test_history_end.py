"""The page says where the rewind history ends (Hardening II item 3): Back is disabled at the oldest
point kept (here the start), enabled once there is somewhere to go back to, disabled again there."""

from __future__ import annotations

from typing import Any

BACK_DISABLED = "() => document.getElementById('btn-back').disabled"
BACK_ENABLED = "() => !document.getElementById('btn-back').disabled"


def test_back_is_disabled_at_the_oldest_point_kept_and_enabled_after_a_step(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/")
    page.wait_for_function(BACK_DISABLED, timeout=30_000)
    assert "oldest point kept" in page.get_attribute("#btn-back", "title")
    page.click("#btn-step")
    page.wait_for_function(BACK_ENABLED, timeout=30_000)
    page.click("#btn-back")
    page.wait_for_function(BACK_DISABLED, timeout=30_000)
    assert console_errors == []
