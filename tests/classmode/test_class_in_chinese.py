"""A class run in Chinese: the words of the class strip, the teacher's tiles and presenting, a refused
nickname or note, and a comparison's link and its gone page are all Chinese (app/routes/classes.py,
app/dashboard.py setup_words, app/routes/compare.py); field names and codes stay as written."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.classes import NOTE_MAX
from app.main import create_app
from app.settings import Settings
from tests.classmode.test_classes import _first_events, _join, _new_class
from tests.i18n_messages import english_words

ZH = {"Accept-Language": "zh-CN"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _text(fragment: str) -> str:
    return re.sub(r"<[^>]+>", "", fragment)


def test_a_chinese_class_hands_in_presents_and_refuses_in_chinese(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app, headers=ZH) as teacher, TestClient(app, headers=ZH) as student:
        code, _key = _new_class(teacher, name="")
        assert "我的课堂" in teacher.get(f"/class/{code}").text  # an unnamed class, named in Chinese
        empty = student.post(f"/c/{code}/join", data={"nickname": "  "})
        assert empty.status_code == 422 and "nickname: 不能为空" in empty.text
        run = _join(student, code, "小明")
        student.post(f"/api/sessions/{run}/step", json={"unit": "epoch", "count": 2})

        long_note = student.post(f"/ui/{run}/handin", data={"note": "好" * (NOTE_MAX + 1)})
        assert long_note.status_code == 422
        assert _text(long_note.text) == f"未提交：note: 最多 {NOTE_MAX} 个字符，这里有 {NOTE_MAX + 1} 个"
        handed = student.post(f"/ui/{run}/handin", data={"note": "两轮"})
        assert handed.status_code == 200
        words = _text(handed.text)
        assert re.fullmatch(r"已于 \d\d:\d\d 提交（快照 [2-9A-Z]{4}-[2-9A-Z]{4}）。", words), words

        tiles = dict(_first_events(teacher, f"/class/{code}/stream", 2))["tiles"]["tiles"]
        assert tiles[0]["setup"].startswith("圆环 · 4-2 tanh · sgd η ")  # the dataset's title in Chinese
        presented = teacher.post(f"/class/{code}/present/{tiles[0]['student']}")
        assert _text(presented.text) == "正在展示 小明 的运行"

        english = TestClient(app)  # the same class read in English keeps the English words
        english.cookies.update(teacher.cookies)
        with english:
            tiles_en = dict(_first_events(english, f"/class/{code}/stream", 2))["tiles"]["tiles"]
            assert tiles_en[0]["setup"].startswith("circle · 4-2 tanh · sgd η ")
            assert tiles_en[0]["setup"].split(" · ")[1:] == tiles[0]["setup"].split(" · ")[1:]


def test_a_comparison_link_and_a_gone_comparison_are_said_in_chinese(client: TestClient) -> None:
    run = client.post("/api/sessions", json={}).json()["id"]
    pinned = client.post(f"/ui/{run}/compare/pin", headers=ZH, follow_redirects=False)
    assert pinned.status_code in (200, 204, 303), pinned.text
    link = client.get(f"/ui/{run}/compare", headers=ZH).text
    assert _text(link) == "比较 2 个运行"
    assert _text(client.get(f"/ui/{run}/compare").text) == "compare 2 runs"
    gone = client.get("/compare/nothing-here", headers=ZH)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
    section = re.search(r'<section[^>]*id="compare-missing".*?</section>', gone.text, re.S)
    assert section is not None
    shown = _text(section.group(0))
    assert "没有这个比较" in shown and CJK.search(shown) and english_words(shown) == []


def test_a_lesson_a_student_follows_is_titled_in_chinese_on_the_teachers_tile(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app, headers=ZH) as teacher, TestClient(app, headers=ZH) as student:
        code, _key = _new_class(teacher)
        _join(student, code, "小红")
        opened = student.get("/lessons/01-perceptron", follow_redirects=False)
        assert opened.status_code == 303
        tile = dict(_first_events(teacher, f"/class/{code}/stream", 1))["tiles"]["tiles"][0]
        title = tile["lesson"]["title"]
        assert CJK.search(title) and "f = Wx" in title  # the lecture's formula as written
        assert english_words(title, ("f = Wx",)) == []
        assert tile["setup"].startswith("异或 · 没有隐藏层 · sgd η ")  # xor, no hidden layer
