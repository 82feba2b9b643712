"""The vendored htmx file is exactly npm's htmx.org@4.0.1 (sha384 pinned) and carries its licence."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "htmx"

# Computed from `npm pack htmx.org@4.0.1` (dist/htmx.min.js). The sha384 printed in the 4.0.1 README does
# not match its own dist file, so this was computed from the tarball itself. Only what a page loads is
# vendored (the stream's frames are JSON that static/js/stepwise.js applies, so no hx-sse extension).
PINNED_SHA384 = {
    "htmx.min.js": "Qp9rdC8H7EqOoX+nR0P3RPG2Noji+qdwJlGpfzwQJsfOpp3sGwIdSP9xO3+UlEhn",
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


def test_every_vendored_script_is_loaded_by_a_template() -> None:
    """A vendored file no page loads is dead weight with a hash pin to keep up (hx-sse.js was one)."""
    pages = Path(__file__).resolve().parent.parent / "templates"
    loaded = "".join(path.read_text() for path in pages.rglob("*.html"))
    scripts = sorted(path.relative_to(VENDOR).as_posix() for path in VENDOR.rglob("*.js"))
    assert scripts and [name for name in scripts if f"/static/vendor/htmx/{name}" not in loaded] == []


# axe-core, for the accessibility tests only (tests/e2e/test_axe.py loads it into the page; no template
# does). From `npm pack axe-core@4.14.1` (its sha512 matched the registry's dist.integrity,
# FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==); the files
# are the tarball's package/axe.min.js, LICENSE (MPL-2.0) and LICENSE-3RD-PARTY.txt, unmodified.
AXE = VENDOR.parent / "axe-core"
AXE_SHA256 = {
    "axe.min.js": "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c",
    "LICENSE": "af175b9d96ee93c21a036152e1b905b0b95304d4ae8c2c921c7609100ba8df7e",
}


@pytest.mark.parametrize("name", sorted(AXE_SHA256))
def test_vendored_axe_core_files_match_their_pinned_sha256(name: str) -> None:
    assert hashlib.sha256((AXE / name).read_bytes()).hexdigest() == AXE_SHA256[name], f"{name} changed"


def test_vendored_axe_core_is_4_14_1_under_the_mpl_with_its_licences() -> None:
    assert (AXE / "axe.min.js").read_text()[:40].startswith("/*! axe v4.14.1")
    assert "Mozilla Public License" in (AXE / "LICENSE").read_text()
    assert (AXE / "LICENSE-3RD-PARTY.txt").stat().st_size > 0
    tests = Path(__file__).resolve().parent / "e2e" / "test_axe.py"
    assert "/static/vendor/axe-core/axe.min.js" in tests.read_text()  # what uses it
