"""A real PostgreSQL for the tests: Debian's binaries, a cluster initdb'd in a temporary directory, run as
an unprivileged user (PostgreSQL refuses to run as root), on a free loopback port; one fresh database per
test that asks for one."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

PG_BIN = Path(os.environ.get("STEPWISE_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 60.0
USER = "stepwise"


def missing() -> str | None:
    """Why no PostgreSQL can be started here (None: it can)."""
    for tool in ("initdb", "postgres", "pg_isready"):
        if not (PG_BIN / tool).exists():
            return f"the PostgreSQL tests need {PG_BIN / tool} (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, the PostgreSQL tests need a 'postgres' user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """initdb + postgres in a temporary directory; `database()` makes a new empty database's URL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="stepwise-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:  # PostgreSQL will not run as root: run it as the postgres user
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "cwd": self.root}

    def start(self) -> None:
        subprocess.run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True, **self._as)
        log = (self.root / "server.log").open("wb")
        # fsync off: a test database need not survive a power cut, and the shared disk is slow
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
             "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, **self._as)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited ({self.process.returncode}):\n{self.log()}")
            ready = subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                                    "-U", USER, "-d", "postgres"], capture_output=True, check=False)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"PostgreSQL did not accept connections within {START_TIMEOUT} s:\n{self.log()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown (SIGTERM would wait for every client to leave)
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
