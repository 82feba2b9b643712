"""The vendored htmx files are exactly npm's htmx.org@4.0.1 (sha384 pinned) and carry their licence."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "htmx"

# Computed from `npm pack htmx.org@4.0.1` (dist/htmx.min.js, dist/ext/hx-sse.js). The sha384 printed in
# the 4.0.1 README does not match its own dist file, so these were computed from the tarball itself.
PINNED_SHA384 = {
    "htmx.min.js": "Qp9rdC8H7EqOoX+nR0P3RPG2Noji+qdwJlGpfzwQJsfOpp3sGwIdSP9xO3+UlEhn",
    "ext/hx-sse.js": "Og4zTkku3HXaz9evNWDKXx9DAvk05Ai1d5pZ4TXKBpyvSO47vDLyIxQRzGbZN+IW",
}


def sha384_base64(path: Path) -> str:
    """The digest in the form a `<script integrity="sha384-...">` attribute uses."""
    return base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode("ascii")


@pytest.mark.parametrize("name", sorted(PINNED_SHA384))
def test_vendored_htmx_file_matches_pinned_sha384(name: str) -> None:
    assert sha384_base64(VENDOR / name) == PINNED_SHA384[name], f"{name} changed; re-vendor from npm"


def test_vendored_htmx_is_version_4_0_1() -> None:
    assert 'this.version="4.0.1"' in (VENDOR / "htmx.min.js").read_text()


def test_htmx_licence_is_vendored_alongside() -> None:
    licence = (VENDOR / "LICENSE").read_text()
    assert "Zero-Clause BSD" in licence
