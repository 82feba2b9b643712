"""One set of store tests, run against the embedded SQLite store and a real PostgreSQL (tests/conftest.py
`store_kind`): sessions, records (owners, snapshots, classes, hand-ins) and pruning behave alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import lessons
from app.comparisons import Comparisons
from app.lesson_shelf import LessonShelf
from app.main import create_app
from app.settings import ROOT, Settings
from app.store import DAY_SECONDS, SQLiteStore
from app.store_postgres import PostgresStore
from tests.app.test_store_pruning import Clock, _documents
from tests.lessons.test_lesson_files import GOOD

Opener = Callable[..., Any]


@pytest.fixture
def open_store(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Opener:
    """Opens the same store (one SQLite file, or one PostgreSQL database) as often as a test asks."""
    if store_kind == "sqlite":
        return lambda **options: SQLiteStore(tmp_path / "s.sqlite3", **options)
    url = request.getfixturevalue("postgres_server").database()
    return lambda **options: PostgresStore(url, **options)


def test_a_saved_document_is_loaded_back_exactly_after_reopening(open_store: Opener) -> None:
    store = open_store()
    document = '{"x": 1, "text": "naïve ∂L/∂w", "big": ' + "1" * 5000 + "}"
    store.save("abc", document)
    store.close()
    again = open_store()
    assert again.load("abc") == document
    assert again.load("missing") is None
    again.close()


def test_saving_twice_replaces_the_row_and_delete_removes_it(open_store: Opener) -> None:
    store = open_store()
    store.save("abc", "1")
    store.save("abc", "2")
    store.save("def", "3")
    assert store.load("abc") == "2"
    assert sorted(store.ids()) == ["abc", "def"]
    store.delete("abc")
    assert store.load("abc") is None
    assert store.ids() == ["def"]
    store.close()


def test_records_keep_their_kind_refuse_overwrites_when_asked_and_list_oldest_first(
        open_store: Opener) -> None:
    clock = Clock()
    store = open_store(clock=clock)
    assert store.put_record("snapshot", "K7Q29FXA", '{"a": 1}', replace=False) is True
    assert store.put_record("snapshot", "K7Q29FXA", '{"a": 2}', replace=False) is False  # immutable
    assert store.get_record("snapshot", "K7Q29FXA") == '{"a": 1}'
    assert store.get_record("class", "K7Q29FXA") is None  # another kind, same key
    for second, key in enumerate(["C1/b", "C1/a", "C2/a", "C1/c"]):
        clock.now += 1
        store.put_record("member", key, str(second))
    clock.now += 1
    assert store.put_record("member", "C1/b", "again") is True  # replaced: now the newest
    assert store.records("member", "C1/") == [("C1/a", "1"), ("C1/c", "3"), ("C1/b", "again")]
    assert [key for key, _ in store.records("member")] == ["C1/a", "C2/a", "C1/c", "C1/b"]
    store.close()


def test_record_prefixes_are_literal_text_not_patterns(open_store: Opener) -> None:
    store = open_store()
    for key in ("a%/1", "ab/1", "a_/1", "a\\/1"):
        store.put_record("handin", key, key)
    assert store.records("handin", "a%/") == [("a%/1", "a%/1")]
    assert store.records("handin", "a_/") == [("a_/1", "a_/1")]
    assert store.records("handin", "a\\/") == [("a\\/1", "a\\/1")]
    store.close()


def test_a_never_stepped_session_goes_after_a_day_with_its_owner_and_a_stepped_one_stays(
        open_store: Opener) -> None:
    fresh, stepped = _documents()
    clock = Clock()
    store = open_store(clock=clock, keep_days=30)
    store.save("fresh", fresh)
    store.save("stepped", stepped)
    store.save("text", "not json")  # counts as stepped
    store.put_record("owner", "fresh", "digest-1")
    store.put_record("owner", "stepped", "digest-2")
    clock.now += DAY_SECONDS - 60
    assert store.prune() == 0
    clock.now += 120
    assert store.prune() == 1
    assert sorted(store.ids()) == ["stepped", "text"]
    assert store.get_record("owner", "fresh") is None
    assert store.get_record("owner", "stepped") == "digest-2"
    store.close()


def test_any_session_untouched_for_keep_days_goes_and_a_resave_keeps_it(open_store: Opener) -> None:
    _, stepped = _documents()
    clock = Clock()
    store = open_store(clock=clock, keep_days=3)
    store.save("old", stepped)
    store.save("touched", stepped)
    clock.now += 2 * DAY_SECONDS
    store.save("touched", stepped)
    clock.now += 1.5 * DAY_SECONDS
    assert store.prune() == 1
    assert store.ids() == ["touched"]
    store.close()


def test_saves_prune_at_most_once_per_interval(open_store: Opener) -> None:
    fresh, _ = _documents()
    clock = Clock()
    store = open_store(clock=clock, unstepped_seconds=100, prune_every_seconds=3600)
    store.save("a", fresh)
    clock.now += 1000
    store.save("b", fresh)
    assert store.ids() == ["a", "b"]
    clock.now += 2700
    store.save("c", fresh)
    assert store.ids() == ["c"]
    store.close()


def test_a_run_its_owner_a_snapshot_and_a_class_survive_a_restart_of_the_app(
        store_settings: dict[str, Any]) -> None:
    with TestClient(create_app(Settings(**store_settings))) as before:
        created = before.post("/api/sessions", json={"hidden": [{"units": 3}]}).json()
        sid, owner = created["id"], {"X-Stepwise-Token": created["token"]}
        before.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 5}, headers=owner)
        exported = before.get(f"/api/sessions/{sid}/export").json()
        code = before.post(f"/api/sessions/{sid}/share", headers=owner).json()["code"]
        made = before.post("/class", data={"name": "Night class"})
        assert made.status_code == 201
    with TestClient(create_app(Settings(**store_settings))) as after:
        assert after.get(f"/api/sessions/{sid}/export").json() == exported
        assert after.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 1}).status_code == 403
        stepped = after.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 1}, headers=owner)
        assert stepped.status_code == 200
        assert after.get(f"/api/snapshots/{code}").json()["document"] == exported
        forked = after.post(f"/api/snapshots/{code}/fork").json()
        assert after.get(f"/api/sessions/{forked['id']}/export").json() == exported
        assert "Night class" in after.get("/class/" + made.text.split('id="class-code">')[1][:9]).text


def test_an_uploaded_lesson_is_one_record_every_opener_of_the_store_sees(open_store: Opener) -> None:
    built_in = lessons.load_dir(ROOT / "lessons")
    store = open_store()
    shelf = LessonShelf(built_in, store)
    assert asyncio.run(shelf.add("mine", GOOD)) is True
    assert asyncio.run(shelf.add("mine", GOOD.replace("A tiny", "Another"))) is False  # the name is taken
    assert asyncio.run(shelf.add("01-perceptron", GOOD)) is False  # a built-in name cannot be taken
    store.close()
    again = open_store()  # a restart, or the other process behind the proxy
    other = LessonShelf(built_in, again)
    found = asyncio.run(other.lesson("mine"))
    assert found is not None and found.title == "A tiny lesson"
    library = asyncio.run(other.library())
    assert set(library.lessons) == {*built_in.lessons, "mine"}
    assert asyncio.run(other.lesson("theirs")) is None
    again.close()


def test_a_comparison_is_kept_run_by_run_in_order_for_every_opener(open_store: Opener) -> None:
    clock = Clock()
    store = open_store(clock=clock)
    table = Comparisons(store)
    made = asyncio.run(table.pin("run-a"))
    assert made.sessions == ["run-a"]
    for run in ("run-b", "run-c"):
        clock.now += 1
        asyncio.run(table.add(made, run))
    clock.now += 1
    assert asyncio.run(table.pin("run-a")).id == made.id  # pinned again: the same comparison
    store.close()
    other = Comparisons(open_store(clock=clock))
    found = asyncio.run(other.get(made.id))
    assert found is not None and found.sessions == ["run-a", "run-b", "run-c"]
    of_b = asyncio.run(other.of("run-b"))
    assert of_b is not None and of_b.id == made.id
    assert asyncio.run(other.of("run-z")) is None
    assert asyncio.run(other.get("nothing")) is None and asyncio.run(other.get(f"{made.id}/run-a")) is None
    other.records.close()
