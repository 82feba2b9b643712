"""The app's own refusals and a diverged run's words in the page's language (app/sessions.py SessionError,
app/refusals.py detail_said, engine/divergence.py DIVERGED): on a zh-CN request no English word is left
but the field the refusal names, and its numbers are the English answer's, digit for digit."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.frames import build_frame
from app.i18n import CHINESE, catalogue
from app.main import create_app
from app.settings import Settings
from engine import divergence
from tests.clock import ManualClock
from tests.i18n_messages import english_words

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _both(client: TestClient, method: str, url: str, headers: dict[str, str] | None = None,
          **kwargs: object) -> tuple[dict | str, dict | str]:
    """The same request in English and in Chinese: each answer's detail (JSON) or text (a fragment)."""
    answers = []
    for language in ({}, ZH):
        response = client.request(method, url, headers={**(headers or {}), **language},
                                  **kwargs)  # type: ignore[arg-type]
        assert 400 <= response.status_code < 500, response.text
        is_json = response.headers["content-type"].startswith("application/json")
        answers.append(response.json()["detail"] if is_json else html.unescape(response.text))
    return answers[0], answers[1]


def _said_alike(english: str, chinese: str, *kept: str) -> None:
    """Chinese words, no English left but the names in `kept` (a field, an HTTP header), and the same
    numbers in the same order."""
    assert CJK.search(chinese), chinese
    assert english_words(chinese, kept) == [], chinese
    assert NUMBER.findall(chinese) == NUMBER.findall(english), (english, chinese)


def _session(client: TestClient, config: dict | None = None) -> str:
    created = client.post("/api/sessions", json=config or {})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_an_unknown_run_is_refused_in_the_language_asked_for(client: TestClient) -> None:
    english, chinese = _both(client, "GET", "/api/sessions/" + "A" * 32)
    assert english == "unknown session" and chinese == "没有这个会话"


def test_a_batch_larger_than_the_training_set_is_refused_in_chinese_with_the_same_count(
    client: TestClient,
) -> None:
    sid = _session(client, {"dataset": {"name": "xor", "n_samples": 40}})
    before = client.get(f"/api/sessions/{sid}/export").json()
    english, chinese = _both(client, "PATCH", f"/api/sessions/{sid}/config", json={"batch_size": 39})
    assert isinstance(english, dict) and isinstance(chinese, dict)
    assert english["field"] == chinese["field"] == "batch_size"
    assert english["message"].startswith("a whole number from 1 to ")
    _said_alike(english["message"], chinese["message"])
    assert client.get(f"/api/sessions/{sid}/export").json() == before  # refused: nothing changed


def test_the_pages_layer_cap_is_said_in_chinese_next_to_the_control(client: TestClient) -> None:
    page = client.get("/?hidden=8,8,8,8,8,8", headers=ZH).text
    sid = re.search(r'data-session="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    english, chinese = _both(client, "POST", f"/ui/{sid}/layers/add")
    assert isinstance(english, str) and isinstance(chinese, str)
    assert "Not changed: hidden: The page offers up to 6 hidden layers of 16 units." in english
    words = re.search(r'data-field="hidden">([^<]*)<', chinese).group(1)  # type: ignore[union-attr]
    assert words.endswith("hidden: 页面最多提供 6 个隐藏层，每层 16 个单元。")
    assert english_words(words, ("hidden",)) == []


def test_a_class_code_and_a_share_code_nobody_has_are_refused_in_chinese(client: TestClient) -> None:
    for url, field in (("/class/ZZZZZZ/results.csv", "code"), ("/api/snapshots/ZZZZZZ", "code")):
        english, chinese = _both(client, "GET", url)
        assert isinstance(english, dict) and isinstance(chinese, dict)
        assert english["field"] == chinese["field"] == field
        assert english["message"].startswith("no ") and CJK.search(chinese["message"])
        assert english_words(chinese["message"]) == []


def test_someone_elses_run_is_refused_in_chinese_on_the_page_and_in_the_api(client: TestClient,
                                                                            tmp_settings: Settings) -> None:
    sid = _session(client)
    with TestClient(create_app(tmp_settings)) as stranger:  # another browser: no owner cookie
        english, chinese = _both(stranger, "POST", f"/ui/{sid}/step", data={"unit": "micro"})
        assert isinstance(english, str) and isinstance(chinese, str)
        assert "belongs to someone else" in english and "属于别人" in chinese
        assert english_words(re.sub(r"<[^>]+>", "", chinese)) == []
        english_api, chinese_api = _both(stranger, "POST", f"/api/sessions/{sid}/step",
                                         json={"unit": "micro"})
        assert isinstance(chinese_api, dict) and chinese_api["field"] == "token"
        # what the API client must send is spelled as it is sent; the rest is Chinese
        kept = ("'Authorization: Bearer <token>'", "'X-Stepwise-Token: <token>'",
                "POST /api/sessions/{id}/fork", "POST /api/sessions", "'token'")
        _said_alike(english_api["message"], chinese_api["message"], *kept)  # type: ignore[index]


def test_a_body_too_large_and_too_many_requests_are_refused_in_chinese(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=0.5, requests_burst=8,
                        max_body_bytes=4096)
    app = create_app(settings)
    app.state.sessions.clock = ManualClock()  # the limiter's clock stands still: no token comes back
    with TestClient(app) as client:
        sid = _session(client)
        big = {"unit": "micro", "count": 1, "pad": "x" * 5000}
        english, chinese = _both(client, "POST", f"/api/sessions/{sid}/step", content=json.dumps(big),
                                 headers={"content-type": "application/json"})
        assert isinstance(english, dict) and isinstance(chinese, dict)
        assert english == {"field": "body", "message": "the request body is larger than 4096 bytes"}
        assert chinese == {"field": "body", "message": "请求内容超过 4096 字节"}
        answers = [client.get(f"/api/sessions/{sid}", headers=ZH) for _ in range(10)]
        refused = [a for a in answers if a.status_code == 429]
        assert refused, [a.status_code for a in answers]
        assert refused[0].json()["detail"]["message"] == "这个浏览器或地址发来的请求太多；请放慢速度"
        assert refused[0].headers["content-language"] == CHINESE


def _diverged(client: TestClient) -> str:
    relu = {"units": 8, "activation": "relu"}
    sid = _session(client, {"output_unit": "linear_mse", "optimizer": {"learning_rate": 10},
                            "hidden": [relu, relu]})
    state = client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 20}).json()
    assert state["diverged"] is not None
    return sid


def test_a_diverged_run_is_said_in_chinese_with_the_engines_figures(client: TestClient) -> None:
    sid = _diverged(client)
    english = client.get(f"/api/sessions/{sid}").json()["diverged"]
    chinese = client.get(f"/api/sessions/{sid}", headers=ZH).json()["diverged"]
    assert english.startswith("Training diverged in batch ")
    _said_alike(english, chinese)
    # the batch and epoch swap places in Chinese word order; the loss and both rates stay as printed
    batch, epoch = re.search(r"batch (\d+) of epoch (\d+)", english).groups()  # type: ignore[union-attr]
    assert f"第 {epoch} 轮的第 {batch} 批" in chinese and "例如用 1 代替 10" in chinese
    page = html.unescape(client.get(f"/?session={sid}", headers=ZH).text)
    shown = re.search(r'id="divergence-text">([^<]*)<', page).group(1)  # type: ignore[union-attr]
    assert shown == chinese


def test_the_frame_carries_figures_the_pages_own_words_turn_into_the_same_sentence(
    client: TestClient,
) -> None:
    """stepwise.js fills the page's template (js_messages "diverged") with the frame's figures: done here
    the same way, it is the sentence the server says, in either language."""
    sid = _diverged(client)
    session = client.app.state.sessions.sessions[sid]  # type: ignore[attr-defined]
    figures = build_frame(session.run)["divergence"]
    assert figures is not None and set(figures) == {"batch", "epoch", "loss", "smaller", "rate"}
    for language, headers in (("en", {}), (CHINESE, ZH)):
        template = catalogue(language).gettext(divergence.DIVERGED)
        filled = {**figures, "loss": figures["loss"] if figures["loss"] is not None
                  else catalogue(language).gettext(divergence.NOT_FINITE)}
        said = client.get(f"/api/sessions/{sid}", headers=headers).json()["diverged"]
        assert template.format_map({k: str(v) for k, v in filled.items()}) == said


def test_play_while_diverged_is_refused_in_chinese_on_the_page_and_in_the_api(client: TestClient) -> None:
    sid = _diverged(client)
    english, chinese = _both(client, "POST", f"/ui/{sid}/play", data={"unit": "batch", "speed": "10"})
    assert "Go back or reset first" in str(english) and "请先后退或重置" in str(chinese)
    english_api, chinese_api = _both(client, "POST", f"/api/sessions/{sid}/play",
                                     json={"unit": "batch", "speed": 10})
    assert isinstance(chinese_api, dict) and chinese_api["field"] == "play"
    _said_alike(english_api["message"], chinese_api["message"])  # type: ignore[index]
    assert client.get(f"/api/sessions/{sid}").json()["playing"] is False


def test_a_run_exported_before_divergence_kept_its_rate_imports_and_shows_its_english_words(
    client: TestClient,
) -> None:
    sid = _diverged(client)
    document = client.get(f"/api/sessions/{sid}/export").json()
    assert document["diverged"]["learning_rate"] == 10
    del document["diverged"]["learning_rate"]  # as an older server wrote it
    copy = client.post("/api/sessions/import", json=document, headers=ZH)
    assert copy.status_code == 201, copy.text
    state = client.get(f"/api/sessions/{copy.json()['id']}", headers=ZH).json()
    assert state["diverged"] == document["diverged"]["message"]  # its words as written, not lost
