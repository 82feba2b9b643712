"""A refused lesson file in the reader's language (app/lessons.py LessonError, said by app/routes/lessons.py
`file_refusal` and lessons.html): uploaded on a Chinese page, listed as refused at startup, or a lesson
name that does not exist, the words are Chinese, the file, line, field path and numbers as in English,
and nothing is added."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.i18n_messages import english_words
from tests.lessons.test_lesson_files import GOOD

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
NUMBER = re.compile(r"\d+(?:\.\d+)?")
CJK = re.compile(r"[\u4e00-\u9fff]")
YAML_SAYS = "mapping values are not allowed here"  # PyYAML's own words: a third party's, kept as written


def _shown(answer: object) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", answer.text))  # type: ignore[attr-defined]


# (the file's text, its name, the status, the Chinese it says, the names written as the file or the
# docs spell them): bad YAML, an unknown field, a value out of range, a step setup that breaks the whole
# setup, a validator's own refusal, a file too large, a name that cannot be a lesson's
BAD_FILES = [
    (GOOD.replace("    text: Look at the data.\n", "    text: Look: at: the data.\n"), "tiny.yaml", 422,
     f"未添加: tiny.yaml, 第 8 行: 不是有效的 YAML：{YAML_SAYS}", (YAML_SAYS, "tiny.yaml")),
    (GOOD.replace("    text: Pick one.\n", "    txt: Pick one.\n"), "tiny.yaml", 422,
     "未添加: tiny.yaml, 第 10 行: steps.1.txt: 未知字段（拼写错误？）；docs/lessons.md 列出了所有字段",
     ("steps.1.txt", "docs/lessons.md", "tiny.yaml")),
    (GOOD.replace("number: 42", "number: -1"), "tiny.yaml", 422,
     "未添加: tiny.yaml, 第 1 行: number: 必须是不小于 1 的整数", ("number", "tiny.yaml")),
    (GOOD.replace("    text: Pick one.\n", "    text: Pick one.\n    setup: {hidden: null}\n"), "tiny.yaml",
     422, "未添加: tiny.yaml, 第 11 行: 第 2 步的设置叠加在课程的设置上之后无效（hidden: 必须是列表）",
     ("hidden", "tiny.yaml")),
    (GOOD.replace("answer: b", "answer: z"), "tiny.yaml", 422,
     "未添加: tiny.yaml, 第 15 行: steps.1.task.answer: 'answer' 必须是 'options' 之一，写法完全相同",
     ("steps.1.task.answer", "answer", "options", "tiny.yaml")),
    ("#" * (64 * 1024 + 1), "big.yaml", 413, "未添加: big.yaml 大于 64 kB。", ("big.yaml", "kB")),
    (GOOD, "my lesson!.yaml", 422,
     "未添加: my lesson!.yaml: 文件名由字母、数字和 '-' 组成（最多 60 个），以 .yaml 结尾",
     ("my lesson!.yaml", ".yaml")),
]


@pytest.mark.parametrize(("text", "name", "status", "chinese", "names"), BAD_FILES)
def test_a_bad_lesson_file_uploaded_on_a_chinese_page_is_refused_in_chinese_with_its_line_and_numbers(
    client: TestClient, text: str, name: str, status: int, chinese: str, names: tuple[str, ...],
) -> None:
    upload = {"file": (name, text.encode(), "text/yaml")}
    zh = client.post("/lessons/upload", files=upload, headers=ZH)
    en = client.post("/lessons/upload", files=upload)
    assert zh.status_code == en.status_code == status
    said, english = _shown(zh), _shown(en)
    assert said == chinese
    assert english_words(said, names) == [], said
    assert english.startswith(f"Not added: {name}") and CJK.search(english) is None, english
    assert NUMBER.findall(said) == NUMBER.findall(english)  # the line and every number, in order
    listed = client.get("/lessons", headers=ZH).text
    assert 'href="/lessons/tiny"' not in listed and "/lessons/big" not in listed  # nothing was added


def test_the_lesson_list_in_chinese_says_why_a_file_was_not_loaded_and_that_a_lesson_does_not_exist(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    (folder / "bad.yaml").write_text(GOOD.replace("title: A tiny lesson", "title: " + "x" * 130))
    (folder / "worse.yaml").write_text(GOOD.replace("  - title: Look\n", "  - title: Look\n    colour: x\n"))
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", lessons_dir=folder))) as client:
        page = client.get("/lessons", headers=ZH)
        refused = _shown(page).split("未能加载的课程文件")[1].split("添加一课")[0]
        assert "bad.yaml, 第 2 行: title: 最多 120 个字符" in refused
        assert "worse.yaml, 第 8 行: steps.0.colour: 未知字段（拼写错误？）" in refused
        assert english_words(refused, ("bad.yaml", "worse.yaml", "title", "steps.0.colour",
                                       "docs/lessons.md")) == [], refused
        english = _shown(client.get("/lessons"))
        assert "bad.yaml, line 2: title: must be at most 120 characters long" in english
        missing = client.get("/lessons/no-such-lesson", headers=ZH)
        assert missing.status_code == 404
        assert "没有名为“no-such-lesson”的课程。" in _shown(missing)
        assert "There is no lesson named “no-such-lesson”." in _shown(client.get("/lessons/no-such-lesson"))
