"""Import accepts what export writes and refuses the rest in words (Hardening II item 6): an 8 x 64
Adam run on 5,000 uploaded points exports over 2 MB and imports again through the page and the API;
JSON nested 1,000 deep and a file past the import cap are a clear 4xx, never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

from fastapi.testclient import TestClient

BIG = {"hidden": [{"units": 64}] * 8, "optimizer": {"kind": "adam"}, "batch_size": 10,
       "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]}


def big_export(client: TestClient) -> bytes:
    sid = client.post("/api/sessions", json=BIG).json()["id"]
    rows = random.Random(0)
    csv = "x1,x2,label\n" + "".join(
        f"{rows.uniform(-5, 5):.6f},{rows.uniform(-5, 5):.6f},{rows.choice('ab')}\n" for _ in range(5000))
    uploaded = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", csv, "text/csv")})
    assert uploaded.status_code == 200, uploaded.text[:300]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 5})
    exported = client.get(f"/api/sessions/{sid}/export")
    assert exported.status_code == 200
    return exported.content


def test_the_page_and_the_api_import_a_2_mb_export_of_the_server_itself(open_client: TestClient) -> None:
    document = big_export(open_client)
    assert len(document) > 2_000_000
    page = open_client.post("/ui/import", files={"file": ("run.json", document, "application/json")})
    assert page.status_code == 204, page.text[:300]
    assert page.headers["HX-Redirect"].startswith("/?session=")
    api = open_client.post("/api/sessions/import", content=document,
                           headers={"content-type": "application/json"})
    assert api.status_code == 201, api.text[:300]
    original = json.loads(document)
    again = open_client.get(f"/api/sessions/{api.json()['id']}/export").json()
    assert again["state"]["params"] == original["state"]["params"]  # exact, number for number


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def test_json_nested_a_thousand_deep_is_a_clear_4xx_on_the_page_and_the_api(open_client: TestClient) -> None:
    page = open_client.post("/ui/import", files={"file": ("run.json", deep(1000), "application/json")})
    assert page.status_code == 422 and "nested" in page.text
    api = open_client.post("/api/sessions/import", content=deep(1000),
                           headers={"content-type": "application/json"})
    assert api.status_code == 422 and "nested" in api.text


def test_a_file_past_the_import_cap_is_refused_naming_the_cap(open_client: TestClient) -> None:
    cap: Any = open_client.app.state.settings.max_import_bytes  # type: ignore[attr-defined]
    too_big = b'{"pad": "' + b"x" * cap + b'"}'
    page = open_client.post("/ui/import", files={"file": ("run.json", too_big, "application/json")})
    assert page.status_code == 413 and str(cap) in page.text
    api = open_client.post("/api/sessions/import", content=too_big,
                           headers={"content-type": "application/json"})
    assert api.status_code == 413


def test_a_file_that_is_not_json_says_so(open_client: TestClient) -> None:
    page = open_client.post("/ui/import", files={"file": ("run.json", b"\xff\xfe not text", "text/plain")})
    assert page.status_code == 422 and "UTF-8" in page.text
