"""A refused run import in the page's language (engine/serialize.py RunFormatError, app/jsonbody.py
NotJSONError): the page's import control and the JSON API say it in Chinese to a Chinese reader, with
the field path and every number as in English, and import nothing."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.engine.test_serialize import changed
from tests.i18n_messages import english_words

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
NUMBER = re.compile(r"\d+(?:\.\d+)?")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _exported(client: TestClient) -> tuple[str, dict[str, Any]]:
    """A run of a 2-4-2-1 network two batches in, and its export document."""
    sid = client.post("/api/sessions", json={"hidden": [{"units": 4}, {"units": 2}]}).json()["id"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2})
    return sid, client.get(f"/api/sessions/{sid}/export").json()


def _tampered(document: dict[str, Any], path: list[Any], value: Any) -> bytes:
    return json.dumps(changed(document, path, value)).encode()


# (what is changed in the document, what is put there, the field the refusal names, words it says in
# Chinese): a wrong shape, a missing field, a version this server does not read, config values out of
# range (one the config refuses, one the run refuses inside the config: a SetupError within), not JSON
BAD_FILES = [
    (["state", "params", 1, "weights"], [[0.5, 0.25]], "state.params[1].weights",
     "形状应为 (2, 4)，实际为 (1, 2)"),
    (["state", "epoch"], KeyError, "state.epoch", "缺失"),
    (["version"], 7, "version", "本服务器只读取第 1 版"),
    (["config", "batch_size"], 0, "batch_size", "整数"),
    (["config", "hidden", 0, "units"], 0, "config", "units: 每个隐藏层至少需要一个单元"),
    (["state", "updates"], -3, "state.updates", "应为 0 到 9223372036854775807 之间的整数"),
    (None, b'{"format": "stepwise-run", "version": 1,,}', "file", "不是 JSON（第 1 行：此处应有"),
]

NAMED = {"config": ("units",)}  # a field named inside the message: the hidden layer's


def _file(document: dict[str, Any], path: list[Any] | None, value: Any) -> bytes:
    return value if path is None else _tampered(document, path, value)


def _shown(answer: Any) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", answer.text))


@pytest.mark.parametrize(("path", "value", "field", "words"), BAD_FILES)
def test_a_bad_run_file_imported_on_a_chinese_page_is_refused_in_chinese_with_the_same_field_and_numbers(
    client: TestClient, path: list[Any] | None, value: Any, field: str, words: str,
) -> None:
    sid, document = _exported(client)
    shared = client.app.state.sessions  # type: ignore[attr-defined]
    before = set(shared.sessions)
    upload = {"file": ("run.json", _file(document, path, value), "application/json")}
    client.cookies.set("lang", "zh-CN")
    chinese = client.post("/ui/import", files=upload)
    client.cookies.delete("lang")
    english = client.post("/ui/import", files=upload)
    assert chinese.status_code == english.status_code == 422
    zh, en = _shown(chinese), _shown(english)
    assert zh.startswith(f"未导入: {field}: ") and words in zh, zh
    assert en.startswith(f"Not imported: {field}: "), en
    assert english_words(zh, (field, *NAMED.get(field, ()))) == [], zh
    assert CJK.search(en) is None
    assert NUMBER.findall(zh) == NUMBER.findall(en)  # the same numbers, in the same order
    assert f'data-field="{field}"' in chinese.text
    # nothing was imported, and the run the file came from is as it was
    assert set(shared.sessions) == before
    assert client.get(f"/api/sessions/{sid}/export").json()["state"] == document["state"]


def test_the_json_api_refuses_a_bad_import_in_the_language_asked_for_naming_the_same_field(
    client: TestClient,
) -> None:
    _, document = _exported(client)
    for path, value, field, words in BAD_FILES[:6]:
        body = json.loads(_file(document, path, value))
        chinese = client.post("/api/sessions/import", json=body, headers=ZH)
        english = client.post("/api/sessions/import", json=body)
        assert chinese.status_code == english.status_code == 422
        zh, en = chinese.json()["detail"], english.json()["detail"]
        assert zh["field"] == en["field"] == field
        assert words in zh["message"] and english_words(zh["message"], NAMED.get(field, ())) == [], zh
        assert CJK.search(en["message"]) is None and NUMBER.findall(zh["message"]) == NUMBER.findall(
            en["message"])


def test_a_refused_import_keeps_its_english_message_for_callers_that_read_it() -> None:
    from engine.errors import SetupError
    from engine.serialize import RunFormatError

    inner = SetupError("units", "every hidden layer needs at least one unit")
    error = RunFormatError("config", "{name}: {reason}", name=inner.field, reason=inner)
    assert str(error) == "config: units: every hidden layer needs at least one unit"
    assert error.field == "config" and isinstance(error, ValueError)


def test_the_json_api_says_a_body_that_is_not_json_or_has_text_for_a_number_in_the_language_asked_for(
    client: TestClient,
) -> None:
    broken = b'{"format": "stepwise-run",, }'
    english = client.post("/api/sessions/import", content=broken,
                          headers={"Content-Type": "application/json"}).json()["detail"][0]
    chinese = client.post("/api/sessions/import", content=broken,
                          headers={"Content-Type": "application/json", **ZH}).json()["detail"][0]
    assert english["msg"] == "not JSON (Expecting property name enclosed in double quotes at line 1)"
    assert chinese["msg"] == "不是 JSON（第 1 行：此处应有用双引号括起的属性名）"
    assert chinese["loc"] == english["loc"] == ["body"]
    assert chinese["type"] == english["type"] == "json_invalid"
    body = {"batch_size": "ten"}
    english = client.post("/api/sessions", json=body).json()["detail"][0]
    chinese = client.post("/api/sessions", json=body, headers=ZH).json()["detail"][0]
    assert english["msg"] == "must be a whole number (a JSON number, not text or true/false)"
    assert chinese["msg"] == "必须是整数（JSON 数，不能是文本或 true/false）"
    assert chinese["loc"] == english["loc"] == ["body", "batch_size"]
