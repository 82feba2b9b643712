"""The zh-CN catalogue is complete, and each request gets its language (app/i18n.py).

CI runs this file: a message marked in the code or a template (or an engine title the page shows) without
a Chinese translation fails here, named, with where it is."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app import lesson_text
from app.i18n import CHINESE, choose, lesson_panel_messages, po_path, vocabulary_messages
from tests.conftest import ROOT
from tests.i18n_messages import extracted

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
ZH = "zh-CN,zh;q=0.9,en;q=0.8"


def _catalogue() -> dict[tuple[str | None, str], str | tuple[str, ...]]:
    """(msgctxt, msgid) -> msgstr; a lesson's words have the context "lesson <name>"."""
    with po_path(CHINESE).open("rb") as po:
        return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m.string
                for m in read_po(po) if m.id}


def test_every_marked_message_engine_title_and_lesson_string_has_a_chinese_translation() -> None:
    translated = {k: v for k, v in _catalogue().items() if v and (isinstance(v, str) or all(v))}
    messages = [((context, m if isinstance(m, str) else m[0]), where) for (context, m), where in extracted()]
    messages += [((None, m), [("engine/vocabulary.py", 0)]) for m in vocabulary_messages()]
    messages += [((None, m), [("app/lessons.py", 0)]) for m in lesson_panel_messages()]
    missing = [f"{where[0][0]}:{where[0][1]}: {key[1]!r}" for key, where in messages if key not in translated]
    assert len(messages) > 150  # the extraction really found the page's words
    lesson_strings = [key for key, _ in messages if (key[0] or "").startswith("lesson ")]
    assert len(lesson_strings) > 200 and len({key[0] for key in lesson_strings}) == 9  # and every lesson's
    where = "translations/zh_CN/LC_MESSAGES/messages.po"
    assert missing == [], f"no zh-CN translation in {where}:\n" + "\n".join(missing)


NUMBER = re.compile(r"\d+(?:\.\d+)?")
MATH = re.compile(r"[=+−·×/∂ηθσδαμΠΣŷ₀-₉⁰-⁹²ᵀⱼₖᵢ′←→≥≤±|\[\]]")


def test_a_lesson_in_chinese_keeps_its_numbers_and_formulas_as_written() -> None:
    changed = []
    for (context, msgid), msgstr in _catalogue().items():
        if not (context or "").startswith("lesson ") or not isinstance(msgstr, str):
            continue
        if sorted(NUMBER.findall(msgid)) != sorted(NUMBER.findall(msgstr)) or \
                sorted(MATH.findall(msgid)) != sorted(MATH.findall(msgstr)):
            changed.append(f"{context}: {msgid!r} -> {msgstr!r}")
    assert changed == []


def test_the_lesson_extractor_finds_every_field_a_student_reads(tmp_path: Path) -> None:
    lesson = tmp_path / "77-mine.yaml"
    lesson.write_text("""number: 77
title: My title
summary: My summary
steps:
  - title: Step one
    use: the play button
    link: /graph
    text: |
      First paragraph.

      Second paragraph with f = Wx.
    task:
      kind: choice
      question: Which one?
      options: [option a, option b]
      answer: option a
      hints: [a hint]
      explain: the explanation
""", encoding="utf-8")
    with lesson.open("rb") as file:
        found = [(line, context, text)
                 for line, _, (context, text), _ in lesson_text.extract(file, {}, [], {})]
    assert {context for _, context, _ in found} == {"lesson 77-mine"}
    assert [text for _, _, text in found] == [
        "My title", "My summary", "Step one", "First paragraph.", "Second paragraph with f = Wx.",
        "the play button", "Which one?", "option a", "option b", "a hint", "the explanation"]
    assert found[0][0] == 2 and found[2][0] == 5  # the lines, for the test above to name


def test_translations_keep_every_placeholder_and_add_none() -> None:
    wrong = []
    for (_, msgid), msgstr in _catalogue().items():
        for text in [msgstr] if isinstance(msgstr, str) else msgstr:
            if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append(f"{msgid!r} -> {text!r}")
    assert wrong == []


def test_the_language_is_the_cookie_else_accept_language_else_english() -> None:
    assert choose(None, ZH) == "zh-CN"
    assert choose(None, "zh-Hans") == "zh-CN"
    assert choose(None, "fr-FR, en;q=0.5, zh;q=0.4") == "en"  # the first of ours by quality
    assert choose(None, "en;q=0.3, zh-TW;q=0.8") == "zh-CN"
    assert choose(None, "fr, de") == "en" and choose(None, None) == "en" and choose(None, "zh;q=x") == "en"
    assert choose("en", ZH) == "en"  # the switch wins over the browser
    assert choose("klingon", ZH) == "zh-CN"  # a cookie that is no language of ours is ignored


def test_the_page_follows_accept_language_and_says_so(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": ZH})
    assert page.status_code == 200
    assert page.headers["content-language"] == "zh-CN"
    assert '<html lang="zh-CN"' in page.text
    assert "学习率 η" in page.text and "激活函数" in page.text and "batch size" not in page.text
    english = client.get("/", headers={"Accept-Language": "en-GB"})
    assert '<html lang="en"' in english.text and "learning rate η" in english.text


def test_the_switch_sets_a_cookie_that_sticks_and_only_goes_back_to_this_site(client: TestClient) -> None:
    answer = client.get("/lang/zh-CN", params={"next": "/graph?preset=lecture"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/graph?preset=lecture"
    assert "lang=zh-CN" in answer.headers["set-cookie"] and "Max-Age" in answer.headers["set-cookie"]
    page = client.get("/graph", headers={"Accept-Language": "en"})  # the cookie beats the browser
    assert page.headers["content-language"] == "zh-CN" and "计算图" in page.text
    for elsewhere in ("https://example.org/", "//example.org/x", "/\\example.org"):
        away = client.get("/lang/en", params={"next": elsewhere}, follow_redirects=False)
        assert away.headers["location"] == "/"
    assert client.get("/", headers={"Accept-Language": ZH}).headers["content-language"] == "en"


def test_the_scripts_get_their_words_from_the_page(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": ZH}).text
    block = page.split("data-messages='")[1].split("'>")[0]
    words = json.loads(html.unescape(block))
    assert words["phase_forward"] == "前向" and words["no_point"].startswith("那里没有点")


def test_a_refusal_is_said_in_the_page_language_with_the_field_and_numbers_as_they_are(
    client: TestClient,
) -> None:
    page = client.get("/?hidden=3", headers={"Accept-Language": ZH}).text
    sid = re.search(r'data-session="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    zh = client.post(f"/ui/{sid}/points", data={"x1": "abc", "x2": "0", "label": "0"},
                     headers={"Accept-Language": ZH})
    assert zh.status_code == 422 and "点未添加: x1: 'abc' 不是数字" in html.unescape(zh.text)
    far = client.post(f"/ui/{sid}/points", data={"x1": "50", "x2": "0", "label": "0"},
                      headers={"Accept-Language": ZH})
    assert "x1: 必须不大于 10.0" in far.text
    en = client.post(f"/ui/{sid}/points", data={"x1": "abc", "x2": "0", "label": "0"})
    assert "Point not added: x1: 'abc' is not a number" in html.unescape(en.text)
    back = client.post(f"/ui/{sid}/back", data={"unit": "micro"}, headers={"Accept-Language": ZH})
    assert "无法后退" in back.text  # the start of the run: nothing before it


def _zh_session(client: TestClient, query: str = "hidden=3") -> str:
    page = client.get(f"/?{query}", headers={"Accept-Language": ZH}).text
    return re.search(r'data-session="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_an_engine_refusal_on_a_chinese_page_is_in_chinese_with_the_engines_numbers(
    client: TestClient,
) -> None:
    sid = _zh_session(client)
    gone = client.post(f"/ui/{sid}/points/remove", data={"index": "9999"}, headers={"Accept-Language": ZH})
    assert gone.status_code == 422
    # the engine's SetupError: its template translated, then its own numbers filled in
    found = re.search(r"index: 没有点 9999；数据集的点是 0\.\.(\d+)<", html.unescape(gone.text))
    assert found, gone.text
    english = html.unescape(client.post(f"/ui/{sid}/points/remove", data={"index": "9999"}).text)
    assert f"index: no point 9999; the dataset has points 0..{found.group(1)}<" in english
    graph = client.get("/graph/view", params={"expression": "x ** 20", "values": "x = 1"},
                       headers={"Accept-Language": ZH})
    assert graph.status_code == 422  # the expression parser's ExpressionError, its column and numbers kept
    assert "第 6 列: 指数 20 太大；需要 |p| &lt;= 10</p>" in graph.text
    shown = client.get("/graph/view", params={"expression": "x ** 20", "values": "x = 1"}).text
    assert "column 6: the exponent 20 is too large; |p| &lt;= 10</p>" in shown
    zero = client.get("/graph/view", params={"expression": "1 / (x - 2)", "values": "x = 2"},
                      headers={"Accept-Language": ZH})
    assert "在 1 / (x - 2) 中：÷：除以零" in html.unescape(zero.text)  # a GraphError in an ExpressionError


def test_a_bad_csv_is_refused_in_chinese_naming_its_row_and_column(client: TestClient) -> None:
    sid = _zh_session(client)
    rows = "x1,x2,label\n0,0,0\n1,abc,1\n0.5,0.5,0\n1,1,1\n"
    answer = client.post(f"/ui/{sid}/csv", files={"file": ("p.csv", rows.encode(), "text/csv")},
                         headers={"Accept-Language": ZH})
    assert answer.status_code == 422
    assert "file: 第 3 行，'x2' 列：'abc' 不是数字" in html.unescape(answer.text)


def test_the_json_api_says_engine_refusals_in_the_language_it_is_asked_for_else_english(
    client: TestClient,
) -> None:
    body = {"expression": "log(x)", "values": {"x": -1.5}}
    english = client.post("/api/graph", json=body).json()["detail"]
    assert english["message"] == "in log(x): log: log of -1.5 is undefined (needs a positive number)"
    chinese = client.post("/api/graph", json=body, headers={"Accept-Language": ZH}).json()["detail"]
    assert chinese["message"] == "在 log(x) 中：log：-1.5 的对数无定义（需要正数）"
    assert chinese["column"] == english["column"] == 1


def _opened(client: TestClient, slug: str) -> str:
    answer = client.get(f"/lessons/{slug}", follow_redirects=False, headers={"Accept-Language": ZH})
    assert answer.status_code == 303
    return answer.headers["location"].split("session=")[1]


def test_a_built_in_lesson_is_shown_in_chinese_and_checked_against_its_own_words(client: TestClient) -> None:
    sid = _opened(client, "01-perceptron")
    client.post(f"/ui/{sid}/lesson/step", data={"step": "2"}, headers={"Accept-Language": ZH})
    panel = html.unescape(client.get(f"/ui/{sid}/lesson", headers={"Accept-Language": ZH}).text)
    assert "第 2 步（共 3 步）：在异或数据上训练它" in panel and "w₁x₁ + w₂x₂ + b = 0" in panel
    assert "为什么测试准确率一直远低于 100 %？" in panel and "Why does" not in panel
    # an option is shown in Chinese, sent and checked as the lesson wrote it
    assert 'value="the learning rate is too small"> 学习率太小' in panel
    wrong = client.post(f"/ui/{sid}/lesson/check", data={"answer": "the learning rate is too small"},
                        headers={"Accept-Language": ZH})
    assert "不是“学习率太小”。再看看，换一个试试。" in html.unescape(wrong.text)
    client.post(f"/ui/{sid}/lesson/step", data={"step": "3"}, headers={"Accept-Language": ZH})
    early = html.unescape(client.post(f"/ui/{sid}/lesson/check", headers={"Accept-Language": ZH}).text)
    found = re.search(r"还没有：第 0 轮时测试准确率为 ([\d.]+ %)；目标是至少 95\.0 %", early)
    assert found, early  # the verdict's own numbers, as in English
    english = client.post(f"/ui/{sid}/lesson/check").text
    assert f"Not yet: test accuracy {found.group(1)} at epoch 0; the target is at least 95.0 %" in english


def test_an_uploaded_lesson_is_shown_as_written_on_a_chinese_page(client: TestClient) -> None:
    written = (ROOT / "lessons" / "01-perceptron.yaml").read_bytes()
    added = client.post("/lessons/upload", files={"file": ("my-perceptron.yaml", written, "text/yaml")})
    assert added.status_code == 201
    sid = _opened(client, "my-perceptron")
    panel = html.unescape(client.get(f"/ui/{sid}/lesson", headers={"Accept-Language": ZH}).text)
    assert "The perceptron f = Wx, and what it cannot learn" in panel  # the teacher's words, as written
    assert "第 1 步（共 3 步）：A perceptron is one weighted sum" in panel  # the panel's own words in Chinese
