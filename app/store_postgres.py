"""The shared store for several processes: PostgreSQL (psycopg 3) behind the SessionStore and RecordStore
protocols of app/store.py, chosen by STEPWISE_DATABASE_URL=postgresql://..., and the leases that make
each run one process's (app/leases.py says how they work; `PostgresLeases` here).

The same two tables as SQLiteStore (one export document per run, small JSON records beside them) and the
same pruning rules, so everything the store keeps (runs, owners, snapshots, classes, members, hand-ins)
behaves alike on both; tests/app/test_store_contract.py runs one set of tests against each. Times are the
store's `clock` (epoch seconds, like SQLite's REAL column), so a test can move it by hand.

Saves are fenced by the run's lease (app/leases.py) when `holder` is given: a row is written only while
this process holds the run's lease, so a process that lost a run (stalled past its lease, another took
over) can never overwrite the newer state with an older one. A refused save raises LeaseLostError.

One connection shared by the worker threads and serialised by a lock, as in SQLiteStore: writes are a
few kB and rare (a manual step, pause, every save interval while playing). A connection that breaks (the
database restarted) is opened again at the next call; until then calls raise DatabaseError, which is an
OSError so the session manager treats it like a full disk: kept in memory, retried, /healthz degraded.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from app.fanout import Bus
from app.leases import Play
from app.store import DAY_SECONDS, PRUNE_EVERY_SECONDS, UNSTEPPED_SECONDS, StoreUnavailableError

# true when a saved export document is still at its initial point (no update applied, no micro-step in
# progress, no hand edit): the same test as app/store.py's _INITIAL, in PostgreSQL's JSON; text that is
# not JSON (a test's plain string) counts as stepped
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id text PRIMARY KEY, updated_at double precision NOT NULL, document text NOT NULL,
    initial boolean NOT NULL DEFAULT false);
CREATE INDEX IF NOT EXISTS sessions_updated_at ON sessions (updated_at);
CREATE TABLE IF NOT EXISTS records (
    kind text NOT NULL, key text NOT NULL, value text NOT NULL, created_at double precision NOT NULL,
    seq bigserial, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS leases (
    run_id text PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL, play text);
CREATE INDEX IF NOT EXISTS leases_holder ON leases (holder);
CREATE OR REPLACE FUNCTION stepwise_initial(doc text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE parsed jsonb;
BEGIN
    parsed := doc::jsonb;
    RETURN coalesce((parsed #>> '{state,updates}')::numeric = 0
                    AND coalesce(parsed -> 'cursor', 'null'::jsonb) = 'null'::jsonb
                    AND parsed #>> '{state,kind}' = 'start', false);
EXCEPTION WHEN others THEN
    RETURN false;
END $$;
"""
# the schema is made once per database even when several processes start at the same moment
SCHEMA_LOCK = 7_284_011
CHANNEL = "stepwise_leases"  # "HOLDER RUN": please hand RUN over

log = logging.getLogger("stepwise.leases")


class DatabaseError(OSError):
    """The database could not be reached or refused a statement (the message says which)."""


class LeaseLostError(DatabaseError):
    """A save refused because another process holds the run's lease now (this copy is stale)."""


class PostgresStore:
    """SessionStore + RecordStore on one PostgreSQL database (see the module docstring)."""

    def __init__(self, url: str, *, keep_days: float | None = None,
                 unstepped_seconds: float = UNSTEPPED_SECONDS,
                 prune_every_seconds: float = PRUNE_EVERY_SECONDS,
                 clock: Callable[[], float] = time.time, holder: str | None = None) -> None:
        self.url = url
        self.keep_days = keep_days
        self.unstepped_seconds = unstepped_seconds
        self.prune_every_seconds = prune_every_seconds
        self.holder = holder
        self._clock = clock
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        try:
            with self._connection() as db, db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                db.execute(SCHEMA)
        except DatabaseError as error:
            raise StoreUnavailableError(
                f"cannot open the session store at {safe_url(url)}: {error}. Check STEPWISE_DATABASE_URL "
                "(host, port, database, user) and that PostgreSQL is running.") from error
        self._last_prune = -float("inf")
        self.prune()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The shared connection under the lock, opened (again) if needed; psycopg errors -> DatabaseError."""
        with self._lock:
            try:
                if self._db is None or self._db.closed or self._db.broken:
                    self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                yield self._db
            except psycopg.Error as error:
                if self._db is not None and self._db.broken:
                    self._db.close()
                raise DatabaseError(str(error).strip()) from error

    def save(self, session_id: str, document: str) -> None:
        now = self._clock()
        # fenced: written only while this process holds the run's lease (the module docstring)
        fence = ("" if self.holder is None else
                 " WHERE EXISTS (SELECT 1 FROM leases WHERE run_id = %(id)s AND holder = %(holder)s)")
        with self._connection() as db:
            cursor = db.execute(
                "INSERT INTO sessions (id, updated_at, document, initial)"
                " SELECT %(id)s, %(now)s, %(doc)s, stepwise_initial(%(doc)s)" + fence +
                " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at,"
                " document = excluded.document, initial = excluded.initial",
                {"id": session_id, "now": now, "doc": document, "holder": self.holder})
            written = cursor.rowcount
        if written == 0:
            raise LeaseLostError(f"run {session_id[:6]}… is held by another process now; not saved here")
        if now - self._last_prune >= self.prune_every_seconds:
            self.prune()

    def prune(self) -> int:
        """Delete the sessions past their keeping time (SQLiteStore.prune's rules); returns how many."""
        now = self._clock()
        self._last_prune = now
        idle_cutoff = now - self.keep_days * DAY_SECONDS if self.keep_days is not None else -float("inf")
        with self._connection() as db, db.transaction():
            cursor = db.execute(
                "DELETE FROM sessions WHERE updated_at < %s OR (initial AND updated_at < %s)",
                (idle_cutoff, now - self.unstepped_seconds))
            # an owner record (app/ownership.py) goes with its session
            db.execute("DELETE FROM records r WHERE kind = 'owner'"
                       " AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = r.key)")
            # leases let go (or expired) a day ago: nobody will resume those runs' play any more
            db.execute("DELETE FROM leases WHERE expires_at < now() - interval '1 day'")
        return int(cursor.rowcount)

    def load(self, session_id: str) -> str | None:
        with self._connection() as db:
            row = db.execute("SELECT document FROM sessions WHERE id = %s", (session_id,)).fetchone()
        return None if row is None else str(row[0])

    def delete(self, session_id: str) -> None:
        with self._connection() as db, db.transaction():
            db.execute("DELETE FROM sessions WHERE id = %s", (session_id,))
            db.execute("DELETE FROM leases WHERE run_id = %s", (session_id,))

    def ids(self) -> list[str]:
        with self._connection() as db:
            return [str(r[0]) for r in db.execute("SELECT id FROM sessions ORDER BY updated_at, id")]

    # ---- records (RecordStore) --------------------------------------------------------------------
    def put_record(self, kind: str, key: str, value: str, *, replace: bool = True) -> bool:
        # a replaced record counts as new (SQLite's INSERT OR REPLACE gives it a new rowid): seq and
        # created_at are the new row's, so `records` lists it last
        conflict = ("DO UPDATE SET value = excluded.value, created_at = excluded.created_at,"
                    " seq = excluded.seq" if replace else "DO NOTHING")
        with self._connection() as db:
            cursor = db.execute(
                "INSERT INTO records (kind, key, value, created_at) VALUES (%s, %s, %s, %s)"
                f" ON CONFLICT (kind, key) {conflict}", (kind, key, value, self._clock()))
            return int(cursor.rowcount) > 0

    def get_record(self, kind: str, key: str) -> str | None:
        with self._connection() as db:
            row = db.execute("SELECT value FROM records WHERE kind = %s AND key = %s", (kind, key)).fetchone()
        return None if row is None else str(row[0])

    def records(self, kind: str, prefix: str = "") -> list[tuple[str, str]]:
        """(key, value) of every record of `kind` whose key starts with `prefix`, oldest first."""
        with self._connection() as db:
            rows = db.execute(
                "SELECT key, value FROM records WHERE kind = %s AND starts_with(key, %s)"
                " ORDER BY created_at, seq", (kind, prefix)).fetchall()
        return [(str(key), str(value)) for key, value in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()


def safe_url(url: str) -> str:
    """The database URL without its password (for messages and logs)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in info.items())


class PostgresLeases:
    """Leases in PostgreSQL (the module docstring); every method but `start` runs in a worker thread."""

    def __init__(self, url: str, bus: Bus, seconds: float, holder: str | None = None) -> None:
        self.url = url
        self.bus = bus
        self.seconds = seconds
        self.holder = holder or secrets.token_hex(8)
        self._held: set[str] = set()
        self._lock = threading.Lock()  # the connection and _held
        self._db: psycopg.Connection[Any] | None = None
        self._on_lost: Callable[[set[str]], None] = lambda ids: None

    def _execute(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None or self._db.closed or self._db.broken:
                self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            cursor = self._db.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def take(self, run_id: str) -> tuple[bool, Play | None]:
        """Take (or keep) the run's lease unless a live other process holds it; with its play state."""
        rows = self._execute(
            "INSERT INTO leases (run_id, holder, expires_at) VALUES (%(id)s, %(me)s,"
            " now() + make_interval(secs => %(ttl)s))"
            " ON CONFLICT (run_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at < now()"
            " RETURNING play", {"id": run_id, "me": self.holder, "ttl": self.seconds})
        if not rows:
            return False, None
        with self._lock:
            self._held.add(run_id)
        play = rows[0][0]
        return True, None if play is None else json.loads(play)

    def ask_release(self, run_id: str) -> None:
        """Ask the live holder, if any, to hand the run over (it answers by letting the lease go)."""
        self._execute("SELECT pg_notify(%s, holder || ' ' || run_id) FROM leases"
                      " WHERE run_id = %s AND holder <> %s AND expires_at > now()",
                      (CHANNEL, run_id, self.holder))

    def note_play(self, run_id: str, play: Play | None) -> None:
        self._execute("UPDATE leases SET play = %s WHERE run_id = %s AND holder = %s",
                      (None if play is None else json.dumps(play), run_id, self.holder))

    def release(self, run_id: str) -> None:
        """Let the lease go now (expired at once); a row that says nothing (not playing) goes entirely."""
        with self._lock:
            self._held.discard(run_id)
        self._execute("DELETE FROM leases WHERE run_id = %s AND holder = %s AND play IS NULL",
                      (run_id, self.holder))
        self._execute("UPDATE leases SET expires_at = now() WHERE run_id = %s AND holder = %s",
                      (run_id, self.holder))

    def held_elsewhere(self, run_ids: list[str]) -> set[str]:
        """Those of `run_ids` whose lease a live other process holds."""
        rows = self._execute("SELECT run_id FROM leases WHERE run_id = ANY(%s) AND holder <> %s"
                             " AND expires_at > now()", (run_ids, self.holder))
        return {str(row[0]) for row in rows}

    def start(self, on_release: Callable[[str], None], on_lost: Callable[[set[str]], None]) -> None:
        """Renew from the bus thread; `on_release(run_id)` when another process asks for a run of ours,
        `on_lost(run_ids)` when a renewal finds runs no longer ours (both called on the bus thread)."""
        self._on_lost = on_lost

        def asked(payload: str) -> None:
            holder, _, run_id = payload.partition(" ")
            if holder == self.holder:
                on_release(run_id)

        self.bus.subscribe(CHANNEL, asked)
        self.bus.periodically(self.renew)
        self.bus.start()

    def renew(self) -> None:
        with self._lock:  # only runs whose lease row was written before this renewal can be lost by it
            before = set(self._held)
        rows = self._execute("UPDATE leases SET expires_at = now() + make_interval(secs => %s)"
                             " WHERE holder = %s AND expires_at > now() RETURNING run_id",
                             (self.seconds, self.holder))
        kept = {str(row[0]) for row in rows}
        with self._lock:
            lost = (before - kept) & self._held
            self._held -= lost
        if lost:
            log.warning("lost the lease of %d run(s) to another process; letting them go", len(lost))
            self._on_lost(lost)

    def close(self) -> None:
        """Let every lease go (SIGTERM: the session manager saved every run first)."""
        try:
            self._execute("DELETE FROM leases WHERE holder = %s AND play IS NULL", (self.holder,))
            self._execute("UPDATE leases SET expires_at = now() WHERE holder = %s", (self.holder,))
        except psycopg.Error as error:
            log.error("could not let the leases go (%s); they expire in %.0f s", error, self.seconds)
        self.bus.close()
        with self._lock:
            self._held.clear()
            if self._db is not None:
                self._db.close()
