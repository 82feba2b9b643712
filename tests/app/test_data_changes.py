"""Data changes through the API and the page: regenerate keeps the network, the upload row limit,
removing a point by index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from engine.csvdata import MAX_ROWS


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        yield c


def new_session(client: TestClient, **config: Any) -> str:
    response = client.post("/api/sessions", json=config)
    assert response.status_code == 201, response.text
    sid: str = response.json()["id"]
    return sid


def csv_rows(n: int) -> bytes:
    """n data rows on a line, two string classes alternating (every row distinct)."""
    body = "".join(f"{(i % 97) / 10:.1f},{i / n * 8 - 4:.4f},{'red' if i % 2 else 'blue'}\n" for i in range(n))
    return ("x1,x2,label\n" + body).encode()


# ---- the upload row limit ---------------------------------------------------------------------------


def test_default_server_accepts_a_csv_of_the_engine_row_limit(client: TestClient) -> None:
    sid = new_session(client)
    done = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", csv_rows(MAX_ROWS))})
    assert done.status_code == 200, done.text
    points = client.get(f"/api/sessions/{sid}/export").json()["data"]["points"]
    assert len(points) == MAX_ROWS == 5000


def test_one_row_over_the_limit_is_refused_naming_the_first_row_past_it(client: TestClient) -> None:
    sid = new_session(client)
    refused = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", csv_rows(MAX_ROWS + 1))})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail["field"] == "file"
    assert detail["row"] == MAX_ROWS + 2  # the header is line 1, so data row 5,001 is line 5,002
    assert "5,000" in detail["message"]
