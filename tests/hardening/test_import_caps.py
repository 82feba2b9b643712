"""Every cap on every path in (Hardening II item 4): class names in an import (API and page) and in an
upload are checked for count, length and content like the CSV reader's own, so an import cannot build
an output layer past the unit cap or put control characters or lone surrogates into the page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

CSV = "x1,x2,label\n" + "".join(f"{i / 10},{-i / 10},{'ab'[i % 2]}\n" for i in range(20))


def csv_export(client: TestClient) -> dict[str, Any]:
    sid = client.post("/api/sessions", json={"output_unit": "softmax_ce"}).json()["id"]
    uploaded = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", CSV, "text/csv")})
    assert uploaded.status_code == 200, uploaded.text
    document: dict[str, Any] = client.get(f"/api/sessions/{sid}/export").json()
    assert document["data"]["class_names"] == ["a", "b"]
    return document


def with_names(document: dict[str, Any], names: list[str]) -> str:
    changed = json.loads(json.dumps(document))
    changed["data"]["class_names"] = names
    return json.dumps(changed)


BAD_NAMES = {
    "20,000 classes": [f"c{i}" for i in range(20_000)],
    "11 classes": [f"c{i}" for i in range(11)],
    "a 100,000-character name": ["a", "b" * 100_000],
    "an empty name": ["a", ""],
    "a control character": ["a", "b\x07"],
    "a newline": ["a\nb", "c"],
    "a lone surrogate": ["a", "\ud800"],
    "a repeated name": ["a", "a"],
}


@pytest.mark.parametrize("case", list(BAD_NAMES))
def test_an_api_import_with_bad_class_names_is_a_422_naming_them_and_creates_nothing(
    open_client: TestClient, case: str
) -> None:
    document = csv_export(open_client)
    held = len(open_client.app.state.sessions.sessions)  # type: ignore[attr-defined]
    body = with_names(document, BAD_NAMES[case])
    response = open_client.post("/api/sessions/import", content=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"]["field"] == "data.class_names"
    assert len(open_client.app.state.sessions.sessions) == held  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["20,000 classes", "a lone surrogate", "a control character"])
def test_a_page_import_with_bad_class_names_is_refused_in_words(open_client: TestClient, case: str) -> None:
    body = with_names(csv_export(open_client), BAD_NAMES[case])
    response = open_client.post("/ui/import", files={"file": ("run.json", body.encode(), "application/json")})
    assert 400 <= response.status_code < 500
    assert "class" in response.text and "Not imported" in response.text


def test_the_exported_names_still_import(open_client: TestClient) -> None:
    document = csv_export(open_client)
    assert open_client.post("/api/sessions/import", json=document).status_code == 201


@pytest.mark.parametrize("label", ["b\x07", "b\u200b"])
def test_an_upload_with_a_control_character_in_a_label_is_refused(
    open_client: TestClient, label: str
) -> None:
    sid = open_client.post("/api/sessions", json={}).json()["id"]
    text = CSV.replace(",b\n", f",{label}\n")
    response = open_client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", text, "text/csv")})
    assert response.status_code == 422, response.text[:300]
