"""The SQLite session store keeps one document per id, survives reopening and stays in WAL mode."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from app.store import SQLiteStore


def test_saved_document_is_loaded_back_after_reopening(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    store.save("abc", '{"x": 1}')
    store.close()
    again = SQLiteStore(tmp_path / "s.sqlite3")
    assert again.load("abc") == '{"x": 1}'
    assert again.load("missing") is None
    again.close()


def test_saving_twice_replaces_the_row_instead_of_adding_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    store.save("abc", "1")
    store.save("abc", "2")
    store.save("def", "3")
    assert store.load("abc") == "2"
    assert sorted(store.ids()) == ["abc", "def"]
    store.delete("abc")
    assert store.load("abc") is None
    assert store.ids() == ["def"]
    store.close()


def test_store_uses_write_ahead_logging(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "s.sqlite3").close()
    mode = sqlite3.connect(tmp_path / "s.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_killed_writer_leaves_every_committed_row_readable(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    script = (
        "import os, sys; from pathlib import Path; from app.store import SQLiteStore\n"
        f"s = SQLiteStore(Path({str(db)!r}))\n"
        "for i in range(50): s.save(f'id{i}', 'x' * 1000 + str(i))\n"
        "os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], check=False)
    assert proc.returncode == -9
    store = SQLiteStore(db)
    assert len(store.ids()) == 50
    assert store.load("id49") == "x" * 1000 + "49"
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
