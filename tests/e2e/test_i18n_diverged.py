"""A run that diverges while a Chinese page plays it, in Chromium: the red box's words come with the
stream's frame, and the page says them in Chinese (stepwise.js fills its own template with the frame's
figures) with the engine's numbers; the pause button turns back into play, and pressing it is refused in
Chinese too."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_i18n_page import READY, _english

NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?")
CONFIG = {"output_unit": "linear_mse", "optimizer": {"learning_rate": 10},
          "hidden": [{"units": 8, "activation": "relu"}, {"units": 8, "activation": "relu"}]}


def test_divergence_while_playing_is_said_in_chinese_with_the_engines_numbers(
    browser: Any, live_server: str
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        created = page.request.post(f"{live_server}/api/sessions", data=CONFIG)
        sid = created.json()["id"]
        page.goto(f"{live_server}/?session={sid}")
        page.wait_for_function(READY)
        assert not page.is_visible("#divergence")
        page.locator("#step-unit").select_option("epoch")
        page.locator("#btn-play").click()  # the frame that says it diverged arrives on the stream
        page.wait_for_selector("#divergence", state="visible", timeout=20000)
        shown = page.text_content("#divergence-text") or ""
        english = page.request.get(f"{live_server}/api/sessions/{sid}",
                                   headers={"Accept-Language": "en"}).json()["diverged"]
        assert english.startswith("Training diverged in batch ")
        assert "训练在第" in shown and _english(shown) == []
        assert NUMBER.findall(shown) == NUMBER.findall(english)
        assert _english(page.locator("#divergence").inner_text()) == []
        # play stopped by itself: the button is a play button again, not a pause button
        page.wait_for_function("() => document.getElementById('btn-play').ariaPressed === 'false'")
        assert page.get_attribute("#btn-play", "aria-label") == "播放"
        page.locator("#btn-play").click()  # play again: refused, and said why in Chinese
        page.wait_for_function("() => document.getElementById('play-error').textContent !== ''",
                               timeout=15000)
        assert "请先后退或重置" in (page.text_content("#play-error") or "")
        assert _english(page.text_content("#play-error") or "") == ["play"]  # the field it names
    finally:
        context.close()
