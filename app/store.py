"""Where sessions live between restarts: a SessionStore protocol and its SQLite implementation."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol


class SessionStore(Protocol):
    """Keeps one export document (JSON text) per session id; a PostgreSQL/Redis store is a new class."""

    def save(self, session_id: str, document: str) -> None: ...
    def load(self, session_id: str) -> str | None: ...
    def delete(self, session_id: str) -> None: ...
    def ids(self) -> list[str]: ...
    def close(self) -> None: ...


class SQLiteStore:
    """Stdlib sqlite3 in WAL mode; every write is its own transaction so a kill never half-writes a row.

    One connection shared by the worker threads, serialised by a lock: the writes are small and rare
    (after a manual step, on pause, every few seconds while playing), so a pool would buy nothing.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode is durable against application crashes (SIGKILL); only a power loss can
        # drop the last transactions, never corrupt the file.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sessions ("
            " id TEXT PRIMARY KEY, updated_at REAL NOT NULL, document TEXT NOT NULL)"
        )

    def save(self, session_id: str, document: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO sessions (id, updated_at, document) VALUES (?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
                    " document = excluded.document",
                    (session_id, time.time(), document),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def load(self, session_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else str(row[0])

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def ids(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self._db.execute("SELECT id FROM sessions ORDER BY updated_at")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
