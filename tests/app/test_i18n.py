"""The zh-CN catalogue is complete, and each request gets its language (app/i18n.py).

CI runs this file: a message marked in the code or a template (or an engine title the page shows) without
a Chinese translation fails here, named, with where it is."""

from __future__ import annotations

import html
import json
import re

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app.i18n import CHINESE, choose, po_path, vocabulary_messages
from tests.i18n_messages import extracted

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
ZH = "zh-CN,zh;q=0.9,en;q=0.8"


def _catalogue() -> dict[str, str | tuple[str, ...]]:
    with po_path(CHINESE).open("rb") as po:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(po) if m.id}


def test_every_marked_message_and_engine_title_has_a_chinese_translation() -> None:
    translated = {k: v for k, v in _catalogue().items() if v and (isinstance(v, str) or all(v))}
    messages = [(m if isinstance(m, str) else m[0], where) for m, where in extracted()]
    messages += [(m, [("engine/vocabulary.py", 0)]) for m in vocabulary_messages()]
    missing = [f"{where[0][0]}:{where[0][1]}: {message!r}"
               for message, where in messages if message not in translated]
    assert len(messages) > 150  # the extraction really found the page's words
    where = "translations/zh_CN/LC_MESSAGES/messages.po"
    assert missing == [], f"no zh-CN translation in {where}:\n" + "\n".join(missing)


def test_translations_keep_every_placeholder_and_add_none() -> None:
    wrong = []
    for msgid, msgstr in _catalogue().items():
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
