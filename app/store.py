"""Where sessions live between restarts: a SessionStore protocol and its SQLite implementation."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine import serialize
from engine.run import Run


def finite_tree(tree: Any) -> Any:
    """A JSON tree with every non-finite float replaced by None (a diverged loss may be NaN or inf;
    JSON has no such numbers and the server never sends them)."""
    if isinstance(tree, float):
        return tree if math.isfinite(tree) else None
    if isinstance(tree, dict):
        return {key: finite_tree(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [finite_tree(value) for value in tree]
    return tree


def run_document(run: Run) -> str:
    """The run's export document as compact JSON text (what the store keeps). A document without NaN or
    inf (nearly always) is written as it is: walking the tree for them cost ~30 % of a save."""
    document = serialize.export_run(run)
    try:
        return json.dumps(document, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a diverged loss: JSON has no NaN or inf, the store keeps null
        return json.dumps(finite_tree(document), separators=(",", ":"), allow_nan=False)


STORE_FILE = "sessions.sqlite3"  # inside Settings.data_dir
DAY_SECONDS = 86_400.0
# Every GET / makes a session and saves it; one nobody ever trained is worth nothing after a day (its
# setup is in the page's URL, which rebuilds it).
UNSTEPPED_SECONDS = DAY_SECONDS
PRUNE_EVERY_SECONDS = 3600.0

# 1 when a saved export document (engine/serialize.py) is still at its initial point: no update applied,
# no micro-step in progress, no hand edit. Anything else (a test's plain text) counts as stepped.
_INITIAL = (
    "CASE WHEN json_valid({doc}) THEN coalesce("
    "json_extract({doc}, '$.state.updates') = 0 AND json_extract({doc}, '$.cursor') IS NULL"
    " AND json_extract({doc}, '$.state.kind') = 'start', 0) ELSE 0 END"
)


class StoreUnavailableError(RuntimeError):
    """The store cannot be opened or written at startup; the message names the path and what to do."""


class SessionStore(Protocol):
    """Keeps one export document (JSON text) per session id; a PostgreSQL/Redis store is a new class."""

    def save(self, session_id: str, document: str) -> None: ...
    def load(self, session_id: str) -> str | None: ...
    def delete(self, session_id: str) -> None: ...
    def ids(self) -> list[str]: ...
    def close(self) -> None: ...


class RecordStore(Protocol):
    """Small JSON records beside the sessions (app/ownership.py, snapshots.py, classes.py): a `kind`
    ("owner", "snapshot", "class", ...) and a key unique within it. `put(..., replace=False)` refuses to
    overwrite (an immutable snapshot) and answers whether it wrote."""

    def put_record(self, kind: str, key: str, value: str, *, replace: bool = True) -> bool: ...
    def get_record(self, kind: str, key: str) -> str | None: ...
    def records(self, kind: str, prefix: str = "") -> list[tuple[str, str]]: ...


class SQLiteStore:
    """Stdlib sqlite3 in WAL mode; every write is its own transaction so a kill never half-writes a row.

    One connection shared by the worker threads, serialised by a lock: the writes are small and rare
    (after a manual step, on pause, every few seconds while playing), so a pool would buy nothing.

    Pruning (`prune`): sessions never stepped and untouched for `unstepped_seconds`, and any session
    untouched for `keep_days` (None: kept), are deleted when the store opens (server start) and then
    at most every `prune_every_seconds`, from a save (one indexed DELETE: cheap).
    """

    def __init__(self, path: Path, *, keep_days: float | None = None,
                 unstepped_seconds: float = UNSTEPPED_SECONDS,
                 prune_every_seconds: float = PRUNE_EVERY_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.keep_days = keep_days
        self.unstepped_seconds = unstepped_seconds
        self.prune_every_seconds = prune_every_seconds
        self._clock = clock
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                       timeout=10.0)
            self._open()
        except (sqlite3.Error, OSError) as error:
            raise StoreUnavailableError(
                f"cannot open the session store {path}: {error}. The directory must exist and be writable "
                "by this user; choose another with STEPWISE_DATA_DIR.") from error

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode is durable against application crashes (SIGKILL); only a power loss can
        # drop the last transactions, never corrupt the file.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sessions ("
            " id TEXT PRIMARY KEY, updated_at REAL NOT NULL, document TEXT NOT NULL,"
            " initial INTEGER NOT NULL DEFAULT 0)"
        )
        columns = [str(row[1]) for row in self._db.execute("PRAGMA table_info(sessions)")]
        if "initial" not in columns:  # a store written before pruning existed: mark its rows once
            self._db.execute("ALTER TABLE sessions ADD COLUMN initial INTEGER NOT NULL DEFAULT 0")
            self._db.execute(f"UPDATE sessions SET initial = {_INITIAL.format(doc='document')}")
        self._db.execute("CREATE INDEX IF NOT EXISTS sessions_updated_at ON sessions (updated_at)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " created_at REAL NOT NULL, PRIMARY KEY (kind, key))"
        )
        # a store that opens but cannot be written (a read-only file or directory) fails here, at start,
        # not at the first student's save: BEGIN IMMEDIATE takes the write lock (WAL files included)
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("ROLLBACK")
        self._last_prune = -float("inf")
        self.prune()

    def save(self, session_id: str, document: str) -> None:
        now = self._clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO sessions (id, updated_at, document, initial)"
                    f" VALUES (?1, ?2, ?3, {_INITIAL.format(doc='?3')})"
                    " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
                    " document = excluded.document, initial = excluded.initial",
                    (session_id, now, document),
                )
            except BaseException:
                if self._db.in_transaction:  # SQLITE_FULL has already rolled it back
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        if now - self._last_prune >= self.prune_every_seconds:
            self.prune()

    def prune(self) -> int:
        """Delete the sessions past their keeping time (see the class docstring); returns how many."""
        now = self._clock()
        self._last_prune = now
        idle_cutoff = now - self.keep_days * DAY_SECONDS if self.keep_days is not None else -float("inf")
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM sessions WHERE updated_at < ? OR (initial = 1 AND updated_at < ?)",
                (idle_cutoff, now - self.unstepped_seconds),
            )
            # an owner record (app/ownership.py) goes with its session
            self._db.execute(
                "DELETE FROM records WHERE kind = 'owner' AND key NOT IN (SELECT id FROM sessions)")
        return int(cursor.rowcount)

    def load(self, session_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else str(row[0])

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # ---- records (RecordStore) --------------------------------------------------------------------
    def put_record(self, kind: str, key: str, value: str, *, replace: bool = True) -> bool:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._lock:
            cursor = self._db.execute(
                f"{verb} INTO records (kind, key, value, created_at) VALUES (?, ?, ?, ?)",
                (kind, key, value, self._clock()))
        return int(cursor.rowcount) > 0

    def get_record(self, kind: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return None if row is None else str(row[0])

    def records(self, kind: str, prefix: str = "") -> list[tuple[str, str]]:
        """(key, value) of every record of `kind` whose key starts with `prefix`, oldest first."""
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM records WHERE kind = ? AND key LIKE ? ESCAPE '\\'"
                " ORDER BY created_at, rowid", (kind, like)).fetchall()
        return [(str(key), str(value)) for key, value in rows]

    def ids(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self._db.execute("SELECT id FROM sessions ORDER BY updated_at")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
