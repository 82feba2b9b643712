"""A Chinese student imports a bad run file through the page's import control, in Chromium: the refusal
is in Chinese next to the control, names the field as the file spells it, and the page keeps its run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.i18n_messages import english_words

READY = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"
REFUSED = "() => document.querySelector('#import-error')?.textContent.trim().length > 0"


def test_a_chinese_student_importing_a_bad_run_file_reads_the_refusal_in_chinese_next_to_the_control(
    browser: Any, live_server: str, tmp_path: Path
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/?data=xor&hidden=4,2")
        page.wait_for_function(READY)
        sid = page.get_attribute("#page", "data-session")
        document = page.request.get(f"{live_server}/api/sessions/{sid}/export").json()
        document["state"]["params"][1]["weights"] = [[0.5, 0.25]]  # the second layer's are 2 x 4
        bad = tmp_path / "my-run.json"
        bad.write_text(json.dumps(document), encoding="utf-8")
        page.locator("form.import input[type=file]").set_input_files(str(bad))
        page.wait_for_function(REFUSED)
        said = page.locator("#import-error").inner_text()
        assert said == "未导入: state.params[1].weights: 形状应为 (2, 4)，实际为 (1, 2)"
        assert english_words(said, ("state.params[1].weights",)) == []
        # next to the control: on the same row as the import button, just right of it
        button = page.locator("form.import label").bounding_box()
        shown = page.locator("#import-error").bounding_box()
        assert button and shown and abs(shown["y"] - button["y"]) < button["height"]
        assert 0 <= shown["x"] - (button["x"] + button["width"]) < 40
        assert page.get_attribute("#page", "data-session") == sid  # still the run it was, not a new one
        assert f"session={sid}" in page.url
    finally:
        context.close()
