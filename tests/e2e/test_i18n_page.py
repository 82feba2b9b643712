"""The playground in Chinese, in Chromium: no English in its controls or inspector at any phase, the
same numbers and formulas as in English, and a language switch that sticks."""

from __future__ import annotations

import re
from typing import Any

from tests.i18n_messages import KEPT, WORD
from tests.i18n_messages import english_words as _english

READY = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"
PARTS = ("#topbar", "#setup", "#data-panel", "#network-panel", "#output-panel", "#inspector")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _step(page: Any) -> None:
    before = page.locator("#inspector").get_attribute("data-step")
    page.locator("#btn-step").click()
    page.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{before}'")


def test_the_chinese_page_shows_no_english_in_its_controls_or_inspector_at_any_phase(
    browser: Any, live_server: str
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/?data=xor&hidden=3&batch=2")
        page.wait_for_function(READY)
        assert page.get_attribute("html", "lang") == "zh-CN"
        seen: dict[str, list[str]] = {}
        phases = set()
        for _ in range(40):
            for part in PARTS:
                found = _english(page.locator(part).inner_text())
                if found:
                    seen.setdefault(part, []).extend(found)
            _step(page)
            phases.add(page.locator("#inspector").get_attribute("data-phase"))
            if {"forward", "error", "backward", "accumulate", "update"} <= phases:
                break
        assert {"forward", "error", "backward", "update"} <= phases
        assert {part: sorted(set(words)) for part, words in seen.items()} == {}
        # the counters the script writes from each frame are in Chinese too
        assert page.locator("#c-phase").inner_text() in {"前向", "误差", "反向", "累加", "更新"}
        page.locator("#btn-play").click()  # the words while playing come from the catalogue as well
        page.wait_for_function("() => document.getElementById('btn-play').ariaPressed === 'true'")
        page.locator("#step-unit").select_option("epoch")
        assert _english(page.locator("#topbar").inner_text()) == []
        page.locator("#btn-play").click()
    finally:
        context.close()


def test_numbers_and_formulas_are_the_same_in_both_languages(browser: Any, live_server: str) -> None:
    english = browser.new_context(locale="en-US")
    chinese = browser.new_context(locale="zh-CN")
    try:
        page = english.new_page()
        page.goto(f"{live_server}/?data=circle&hidden=4,2")
        page.wait_for_function(READY)
        sid = page.get_attribute("#page", "data-session")
        other = chinese.new_page()
        for steps in range(9):  # forward steps, the error, backward
            _step(page)
            other.goto(f"{live_server}/?session={sid}")  # the same run, read by someone in Chinese
            other.wait_for_function(READY)
            step = page.get_attribute("#inspector", "data-step")
            assert other.get_attribute("#inspector", "data-step") == step
            numbers = [page.locator("#inspector .formula .num").all_inner_texts(),
                       other.locator("#inspector .formula .num").all_inner_texts()]
            assert numbers[0] == numbers[1] and numbers[0], f"step {steps}"
            if page.get_attribute("#inspector", "data-phase") in ("forward", "error", "backward"):
                # these formulas are the same to the character but for the error step's words "loss of this
                # sample L =" (本样本的损失 L =), whose number the .num spans above compare
                formula = [[line for line in side.locator("#inspector .formula").inner_text().split("\n")
                            if not CJK.search(line) and "sample" not in line] for side in (page, other)]
                assert formula[0] == formula[1] and formula[0]
            assert page.locator("#loss-train").inner_text() == other.locator("#loss-train").inner_text()
    finally:
        english.close()
        chinese.close()


def test_the_language_switch_sticks_across_reloads_and_pages(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/?data=xor&hidden=3")
    page.wait_for_function(READY)
    sid = page.get_attribute("#page", "data-session")
    assert page.locator("#lang-en").get_attribute("aria-current") == "true"
    page.locator("#lang-zh-CN").click()
    # during the navigation the switch starts there is briefly no document element: not yet, not an error
    page.wait_for_function("() => document.documentElement?.lang === 'zh-CN'")
    page.wait_for_function(READY)
    assert page.get_attribute("#page", "data-session") == sid  # the same run, now in Chinese
    assert "学习率" in page.locator("#setup").inner_text()
    page.reload()
    page.wait_for_function(READY)
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.goto(f"{live_server}/graph")
    assert page.get_by_role("navigation", name="页面").get_by_role("link", name="演练场").is_visible()
    page.locator("#lang-en").click()
    page.wait_for_function("() => document.documentElement?.lang === 'en'")
    assert "Computation graph" in page.locator(".site-nav").inner_text()


def test_the_graph_page_in_chinese_has_no_english_words_from_start_to_end(
    browser: Any, live_server: str
) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/graph?preset=lecture")
        texts = [page.locator(".graph-page").inner_text()]
        for step in range(1, 6):  # one answer at a time: the next click is on the new panel's button
            page.locator("#graph-next").click()
            page.wait_for_function(f"() => document.getElementById('graph-counter').dataset.step == {step}")
            texts.append(page.locator(".graph-page").inner_text())
        page.wait_for_selector("#graph-result")
        texts.append(page.locator(".graph-page").inner_text())
        assert "∂f/∂x = −4" in texts[-1]  # the numbers as in English
        assert [found for found in map(_english, texts) if found] == []
    finally:
        context.close()


def test_a_refused_expression_on_the_chinese_graph_page_is_said_in_chinese_with_its_numbers(
    browser: Any, live_server: str
) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/graph?preset=lecture")
        page.locator("#graph-expression").fill("log(x) + x ** 12")
        page.locator("#graph-values").fill("x = 2")
        page.locator("#graph-expression").press("Enter")
        error = page.locator(".graph-error")
        error.wait_for()
        text = error.inner_text()
        assert "指数 12 太大；需要 |p| <= 10" in text and "第 15 列" in text  # the engine's numbers
        assert _english(page.locator(".graph-page").inner_text()) == []
    finally:
        context.close()


# Beside KEPT, what the lessons write as the lecture does: f = Wx, MSE / BCE / CE, argmax, the MLP, and a
# calculator's "hyp" key.
LESSON_KEPT = KEPT | {"wx", "mse", "bce", "ce", "argmax", "mlp", "hyp"}
STEP_SHOWN = "(start) => document.querySelector('#lesson-step-title')?.textContent.startsWith(start)"
LESSONS = ("01-perceptron", "02-hidden-layer", "03-activations", "04-computation-graph", "05-forward",
           "06-backward", "07-weight-update", "08-maximum-likelihood", "09-validation")


def test_every_lessons_panel_in_chinese_has_no_english_at_any_step(browser: Any, live_server: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/lessons")
        listed = page.locator("#lesson-list").inner_text()
        assert "感知机" in listed and [w for w in WORD.findall(listed) if w.lower() not in LESSON_KEPT] == []
        found: dict[str, list[str]] = {}
        for slug in LESSONS:
            page.goto(f"{live_server}/lessons/{slug}")
            page.wait_for_selector("#lesson-panel")
            for step in range(1, 31):
                page.wait_for_function(STEP_SHOWN, arg=f"第 {step} 步")
                # every word of the step, hints and options included (text_content reads closed <details>)
                text = page.locator("#lesson-panel").text_content() or ""
                english = [w for w in WORD.findall(text) if w.lower() not in LESSON_KEPT]
                if english:
                    found[f"{slug} step {step}"] = sorted(set(english))
                if page.locator("#lesson-next").count() == 0:
                    break
                page.locator("#lesson-next").click()
        assert found == {}
    finally:
        context.close()


# What a tooltip, a screen reader or a confirm dialog says: the page's words outside its visible text.
SAID_ATTRIBUTES = ("title", "aria-label", "aria-description", "placeholder", "alt", "hx-confirm")
ATTRIBUTE_TEXTS = """(names) => [...document.querySelectorAll('*')].flatMap((e) => names
  .filter((n) => e.getAttribute(n)).map((n) => [e.id || e.tagName.toLowerCase(), n, e.getAttribute(n)]))"""
CLASS_CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}\b")  # a class or snapshot code, the same in any language


def test_tooltips_labels_and_confirmations_are_chinese_on_every_page(browser: Any, live_server: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/class")
        page.locator("#page, body").first.wait_for()
        made = page.request.post(f"{live_server}/class", form={"name": "第六讲"})
        code = re.search(r'id="class-code">([2-9A-Z]{4}-[2-9A-Z]{4})<', made.text())
        assert made.status == 201 and code
        pages = ["/?data=xor&hidden=3&batch=2", "/?data=spiral&hidden=4,4&act=elu,maxout&out=softmax_ce",
                 "/lessons", "/lessons/03-activations", "/class", f"/class/{code.group(1)}",
                 f"/c/{code.group(1)}", "/graph"]
        found: dict[str, list[str]] = {}
        for path in pages:
            page.goto(f"{live_server}{path}")
            if path.startswith("/?") or path.startswith("/lessons/"):
                page.wait_for_function(READY)  # the script's own titles (Back's) are written by then
            else:
                page.wait_for_load_state("load")
            texts = page.evaluate(ATTRIBUTE_TEXTS, list(SAID_ATTRIBUTES))
            assert len(texts) > 3, path  # the page really has its labels
            for where, name, text in texts:
                words = _english(CLASS_CODE.sub(" ", text).replace("K7Q2-9FXA", " "))
                if words:
                    found.setdefault(path, []).append(f"{where} {name}: {' '.join(words)}")
            if "act=" in path:  # and the formula shown beside each layer's activation (ELU's says "if")
                assert "α(eᶻ − 1)" in page.locator("#setup").inner_text()
                assert _english(page.locator("#setup").inner_text()) == []
        assert found == {}
    finally:
        context.close()
