"""Which store and leases a process uses, from its settings: the SQLite file in data_dir (one process,
the default that needs nothing), or PostgreSQL shared by several processes (STEPWISE_DATABASE_URL)."""

from __future__ import annotations

from typing import Any

from app.leases import Leases, LocalLeases
from app.settings import Settings
from app.store import STORE_FILE, SQLiteStore


class Backends:
    """The store (SessionStore + RecordStore), the leases and, with PostgreSQL, the message bus."""

    def __init__(self, settings: Settings) -> None:
        self.bus: Any = None  # app.fanout.Bus with PostgreSQL
        self.store: Any  # SQLiteStore or app.store_postgres.PostgresStore
        self.leases: Leases
        url = settings.database_url
        if url is None:
            self.store = SQLiteStore(settings.data_dir / STORE_FILE, keep_days=settings.keep_sessions_days)
            self.leases = LocalLeases()
            return
        # psycopg is imported only here: `pip install -e .` (no PostgreSQL extra) runs with SQLite
        from app.fanout import Bus
        from app.store_postgres import PostgresLeases, PostgresStore

        self.bus = Bus(url, every=settings.lease_seconds / 4)
        self.leases = PostgresLeases(url, self.bus, settings.lease_seconds)
        self.store = PostgresStore(url, keep_days=settings.keep_sessions_days, holder=self.leases.holder)


def check(settings: Settings) -> None:
    """Open the store once and close it (StoreUnavailableError names what is wrong)."""
    if settings.database_url is None:
        SQLiteStore(settings.data_dir / STORE_FILE).close()
    else:
        from app.store_postgres import PostgresStore

        PostgresStore(settings.database_url).close()
