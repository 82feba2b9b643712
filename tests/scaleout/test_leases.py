"""Leases in a real PostgreSQL (app/store_postgres.py PostgresLeases): one holder per run, a live holder
is asked to hand over, an expired one is taken over, the play state travels with the lease, and saves
are fenced so a process that lost a run never writes it again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.fanout import Bus
from app.store_postgres import LeaseLostError, PostgresLeases, PostgresStore

TIMEOUT = 30.0


def wait_until(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Poll `condition` until it is truthy (no fixed sleep); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Process:
    """What one stepwise process holds: its store (fenced by its leases), its leases and its bus."""

    def __init__(self, url: str, name: str, seconds: float) -> None:
        self.bus = Bus(url, every=seconds / 4)
        self.leases = PostgresLeases(url, self.bus, seconds, holder=name)
        self.store = PostgresStore(url, holder=name)
        self.asked: list[str] = []
        self.lost: list[set[str]] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        def asked(run_id: str) -> None:
            with self._lock:
                self.asked.append(run_id)

        def lost(run_ids: set[str]) -> None:
            with self._lock:
                self.lost.append(run_ids)

        self.leases.start(asked, lost)

    def close(self) -> None:
        self.leases.close()
        self.store.close()


@pytest.fixture
def url(postgres_server: Any) -> str:
    database: str = postgres_server.database()
    PostgresStore(database).close()  # the schema
    return database


@pytest.fixture
def two(url: str) -> Iterator[tuple[Process, Process]]:
    a, b = Process(url, "A", seconds=30), Process(url, "B", seconds=30)
    a.start()
    b.start()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_a_live_holder_keeps_its_run_and_is_asked_to_hand_it_over(two: tuple[Process, Process]) -> None:
    a, b = two
    assert a.leases.take("run1") == (True, None)
    assert a.leases.take("run1") == (True, None)  # its own again: kept
    assert b.leases.take("run1") == (False, None)
    assert b.leases.held_elsewhere(["run1", "run2"]) == {"run1"}
    b.leases.ask_release("run1")
    wait_until(lambda: a.asked == ["run1"], "A to be asked for run1")
    assert b.asked == []  # the message names its holder: only A answers


def test_a_released_lease_goes_to_the_next_process_with_the_play_state(two: tuple[Process, Process]) -> None:
    a, b = two
    a.leases.take("run1")
    a.leases.note_play("run1", {"unit": "batch", "speed": 20.0})
    a.store.save("run1", '{"step": 7}')
    a.leases.release("run1")
    assert b.leases.take("run1") == (True, {"unit": "batch", "speed": 20.0})
    b.store.save("run1", '{"step": 8}')
    with pytest.raises(LeaseLostError):
        a.store.save("run1", '{"step": 7}')  # A let it go: its old copy cannot overwrite B's
    assert b.store.load("run1") == '{"step": 8}'
    b.leases.note_play("run1", None)  # paused
    b.leases.release("run1")
    assert a.leases.take("run1") == (True, None)


def test_a_new_run_cannot_be_saved_without_its_lease(two: tuple[Process, Process]) -> None:
    a, b = two
    a.leases.take("run1")
    with pytest.raises(LeaseLostError):
        b.store.save("run1", "{}")
    assert a.store.load("run1") is None
    a.store.save("run1", "{}")
    assert a.store.load("run1") == "{}"


def test_the_lease_of_a_process_that_stopped_renewing_expires_and_its_run_is_taken_over(url: str) -> None:
    dead = PostgresLeases(url, Bus(url, every=1.0), seconds=1.0, holder="dead")  # never started
    b = Process(url, "B", seconds=30)
    b.start()
    try:
        assert dead.take("run1") == (True, None)
        assert b.leases.take("run1") == (False, None)
        wait_until(lambda: b.leases.take("run1")[0], "the dead holder's lease to expire")
        assert b.leases.held_elsewhere(["run1"]) == set()
        dead.renew()  # a stalled process that wakes up finds the run gone
        assert dead._held == set()
    finally:
        b.close()


def test_renewal_reports_the_runs_another_process_took(url: str) -> None:
    a = Process(url, "A", seconds=1.0)
    a.leases.take("run1")  # not started: A stalls and renews nothing
    b = Process(url, "B", seconds=30)
    b.start()
    try:
        wait_until(lambda: b.leases.take("run1")[0], "A's lease to expire")
        a.start()  # A wakes up: its first renewal finds run1 gone
        wait_until(lambda: a.lost == [{"run1"}], "A to learn it lost run1")
    finally:
        a.close()
        b.close()
