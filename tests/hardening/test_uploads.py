"""Hostile CSV uploads: each refused with a precise 4xx (or kept inert), and a 50 MB body never held."""

from __future__ import annotations

import html
import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hardening.conftest import server_process, strict_json

FIFTY_MB = 50 * 1024 * 1024
RSS_GROWTH_LIMIT_KB = 16 * 1024  # far below the 50 MB a server holding the body would grow by


@pytest.fixture
def session_id(open_client: TestClient) -> str:
    created = open_client.post("/api/sessions", json={})
    assert created.status_code == 201
    sid: str = created.json()["id"]
    open_client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 3})
    return sid


def _upload(client: TestClient, sid: str, data: bytes) -> Any:
    return client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("data.csv", data, "text/csv")})


MIXED_LABELS = ["1", "cat", "2.5", "dog", "-3", "x", "7", "y", "1e3", "z", "q", "w"]

# (name, file bytes, status, what the detail must say: the field and a fragment of the message)
REFUSED: list[tuple[str, bytes, int, str, str]] = [
    ("empty", b"", 422, "file", "empty"),
    ("only a header", b"x1,x2,label\n", 422, "file", "data row"),
    ("binary noise", bytes(range(256)) * 40, 422, "file", "UTF-8"),
    ("a PNG image", b"\x89PNG\r\n\x1a\n" + bytes(500), 422, "file", "UTF-8"),
    ("Latin-1 text", "x1,x2,label\n1,2,café\n3,4,thé\n5,6,café\n7,8,thé\n".encode("latin-1"), 422, "file",
     "UTF-8"),
    ("10^5 columns", (",".join(["1"] * 100_000) + "\n").encode(), 422, "file", "data row"),
    ("10^6 columns", (",".join(["1"] * 1_000_000) + "\n").encode(), 413, "body", "larger than"),
    ("mixed label types, 12 of them", b"x1,x2,label\n" + b"".join(
        f"{i},{i},{label}\n".encode() for i, label in enumerate(MIXED_LABELS)), 422, "file", "labels"),
    ("a non-number input", b"x1,x2,label\n1,2,a\n3,abc,b\n5,6,a\n7,8,b\n", 422, "file", "'abc'"),
    ("NaN and inf inputs", b"x1,x2,label\nnan,2,a\n3,inf,b\n5,6,a\n7,8,b\n", 422, "file", "row 2"),
    ("a 1e300 input", b"x1,x2,label\n1e300,2,a\n3,4,b\n5,6,a\n7,8,b\n", 422, "file", "row 2"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[case[0] for case in REFUSED])
def test_bad_upload_gets_a_precise_4xx_and_keeps_the_data(
    open_client: TestClient, session_id: str, case: tuple[str, bytes, int, str, str]
) -> None:
    _name, data, status, field, fragment = case
    before = open_client.get(f"/api/sessions/{session_id}/export").content
    response = _upload(open_client, session_id, data)
    assert response.status_code == status, response.text[:300]
    detail = strict_json(response.content)["detail"]
    assert detail["field"] == field
    assert fragment in detail["message"], detail
    assert open_client.get(f"/api/sessions/{session_id}/export").content == before


def test_upload_without_a_file_part_names_the_file_field(open_client: TestClient, session_id: str) -> None:
    response = open_client.post(f"/api/sessions/{session_id}/data/csv", data={"other": "x"})
    assert response.status_code == 422
    assert ["body", "file"] in [error["loc"] for error in response.json()["detail"]]


INJECTIONS = ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd", "<script>alert(1)</script>"]


def test_csv_injection_strings_stay_inert_class_names(open_client: TestClient, session_id: str) -> None:
    rows = "".join(f'{i},{-i},"{INJECTIONS[i % 4]}"\n' for i in range(1, 13))
    response = _upload(open_client, session_id, ("x1,x2,label\n" + rows).encode())
    assert response.status_code == 200, response.text
    document = open_client.get(f"/api/sessions/{session_id}/export").json()
    # Stored byte for byte as text (sorted: they are not all numbers), never evaluated or rewritten.
    assert document["data"]["class_names"] == sorted(INJECTIONS)
    page = open_client.get(f"/?session={session_id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text  # a label is escaped wherever the page shows it
    if "alert(1)" in page.text:
        assert html.escape("<script>alert(1)</script>") in page.text


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _multipart_head(boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\nx1,x2,label\r\n").encode()


def _send_big(base_url: str, path: str, *, chunked: bool) -> tuple[int, int]:
    """POST ~50 MB, stopping as soon as the server answers; returns (status, bytes the client sent)."""
    host, port = base_url.removeprefix("http://").split(":")
    boundary = "hardening-boundary"
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
            f"Content-Type: multipart/form-data; boundary={boundary}"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {FIFTY_MB}")
    chunk = _multipart_head(boundary) + b"1,2,a\r\n" * (64 * 1024 // 7)
    sent = 0
    reply = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            while sent < FIFTY_MB:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server has answered: stop sending, as a real client would
                piece = chunk[: FIFTY_MB - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection after refusing: the reply is already buffered
        deadline = time.monotonic() + 20
        while b"\r\n" not in reply and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            reply += data
    assert reply.startswith(b"HTTP/1.1 "), f"no HTTP answer after sending {sent} bytes: {reply[:200]!r}"
    return int(reply.split()[1]), sent


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with server_process(tmp_path_factory.mktemp("uploads")) as (base_url, process):
        yield base_url, process.pid


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked-no-length"])
def test_50_mb_upload_is_refused_early_and_server_memory_stays_bounded(
    upload_server: tuple[str, int], chunked: bool
) -> None:
    import urllib.request

    base_url, pid = upload_server
    request = urllib.request.Request(f"{base_url}/api/sessions", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        sid = strict_json(response.read())["id"]
    rss_before = _rss_kb(pid)
    status, sent = _send_big(base_url, f"/api/sessions/{sid}/data/csv", chunked=chunked)
    rss_after = _rss_kb(pid)
    print(f"\n50 MB upload ({'chunked' if chunked else 'Content-Length'}): {status} after the client sent "
          f"{sent / 1e6:.1f} MB; server RSS {rss_before} -> {rss_after} kB")
    assert status == 413
    assert rss_after - rss_before < RSS_GROWTH_LIMIT_KB
    if not chunked:
        assert sent < 10 * 1024 * 1024, "a declared 50 MB body must be refused before it is read"
    with urllib.request.urlopen(f"{base_url}/api/sessions/{sid}", timeout=10) as response:
        assert strict_json(response.read())["config"]["dataset"]["name"] == "circle"
    assert os.path.exists(f"/proc/{pid}")
