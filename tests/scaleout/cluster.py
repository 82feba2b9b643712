"""A school in miniature for tests/scaleout: a real PostgreSQL database, N real `python -m app` processes
on free loopback ports sharing it, and the real HAProxy (/usr/sbin/haproxy) in front of them running
deploy/haproxy.cfg (only its bind and server lines are changed to these ports)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import ROOT, free_port, wait_for_healthz

HAPROXY = Path(os.environ.get("STEPWISE_HAPROXY", "/usr/sbin/haproxy"))
CONFIG = ROOT / "deploy" / "haproxy.cfg"
START_TIMEOUT = 60.0


def haproxy_missing() -> str | None:
    if HAPROXY.exists():
        return None
    return f"the scale-out tests need HAProxy at {HAPROXY} (apt-get install haproxy)"


def proxy_config(port: int, servers: dict[str, int]) -> str:
    """deploy/haproxy.cfg with its bind on `port` and one server line per process (name -> port)."""
    lines = []
    for line in CONFIG.read_text().splitlines():
        if "# tests/scaleout: bind" in line:
            lines.append(f"    bind 127.0.0.1:{port}")
        elif "# tests/scaleout: servers" in line:
            lines.extend(f"    server {name} 127.0.0.1:{p}" for name, p in servers.items())
        elif "# tests/scaleout: drop" not in line:
            lines.append(line)
    return "\n".join(lines) + "\n"


class App:
    """One stepwise process: its port, its log and its process id (the healthz's `process`)."""

    def __init__(self, name: str, workdir: Path, database_url: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.data_dir = workdir / f"{name}-data"
        self.env = {**os.environ, "STEPWISE_DATA_DIR": str(self.data_dir), "OPENBLAS_NUM_THREADS": "1",
                    "STEPWISE_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.holder = ""

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "app", "--port", str(self.port)],
                                            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_healthz(self.url, START_TIMEOUT, self.process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\n--- {self.name} log ---\n{self.log()}") from error
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as answer:
            self.holder = json.loads(answer.read())["process"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9: no shutdown, no save, no lease let go."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for the process to end by itself; its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Cluster:
    """PostgreSQL database + apps + HAProxy; `url` is the proxy's."""

    def __init__(self, workdir: Path, database_url: str, names: tuple[str, ...] = ("app1", "app2"),
                 env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.apps = {name: App(name, workdir, database_url, env or {}) for name in names}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proxy: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        for app in self.apps.values():
            app.start()
        config = self.workdir / "haproxy.cfg"
        config.write_text(proxy_config(self.port, {name: app.port for name, app in self.apps.items()}))
        with (self.workdir / "haproxy.log").open("ab") as log:
            self.proxy = subprocess.Popen([str(HAPROXY), "-db", "-f", str(config)], stdout=log,
                                          stderr=subprocess.STDOUT)
        self.wait_for(lambda: self._answers(), "HAProxy to answer /healthz")
        self.wait_for(lambda: self.up() == set(self.apps), "HAProxy to see every process up")

    def _answers(self) -> bool:
        assert self.proxy is not None
        if self.proxy.poll() is not None:
            raise RuntimeError(f"haproxy exited ({self.proxy.returncode}):\n{self.logs()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def up(self) -> set[str]:
        """The processes whose own /healthz answers (what HAProxy's checks look at)."""
        alive = set()
        for name, app in self.apps.items():
            try:
                with urllib.request.urlopen(f"{app.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        alive.add(name)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
        return alive

    def holders(self) -> dict[str, str]:
        """Run id -> the name of the app that holds its lease now (live leases only)."""
        by_holder = {app.holder: name for name, app in self.apps.items()}
        with psycopg.connect(self.database_url) as db:
            rows = db.execute("SELECT run_id, holder FROM leases WHERE expires_at > now()").fetchall()
        return {str(run): by_holder.get(str(holder), str(holder)) for run, holder in rows}

    def saved_step_id(self, run_id: str) -> int | None:
        """The step id of the run as the store has it now (None: not saved)."""
        with psycopg.connect(self.database_url) as db:
            row = db.execute("SELECT document FROM sessions WHERE id = %s", (run_id,)).fetchone()
        return None if row is None else int(json.loads(row[0])["step_id"])

    @staticmethod
    def wait_for(condition: Any, what: str, timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def logs(self) -> str:
        parts = [f"--- {name} ---\n{app.log()}" for name, app in self.apps.items()]
        proxy_log = self.workdir / "haproxy.log"
        parts.append(f"--- haproxy ---\n{proxy_log.read_text(errors='replace')[-3000:]}"
                     if proxy_log.exists() else "")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            self.proxy.wait(timeout=20)
        for app in self.apps.values():
            app.stop()
        for app in self.apps.values():
            shutil.rmtree(app.data_dir, ignore_errors=True)
