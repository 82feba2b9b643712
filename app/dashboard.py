"""The class dashboard's figures: one tile per student, and the class's results as CSV.

A tile is read from the student's run as the stream last showed it (its broadcaster's newest frame:
no engine call), plus its setup in words; the small boundary picture is the frame's output heat map
(48x48 bytes, base64) and travels only when it changed since the dashboard's last update. A student
following a lesson has its progress on the tile too (app/progress.py `summary`: lesson, step, tasks
solved / tried), read from the store, so it is the same whichever process holds the run.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread

from app.classes import ClassRecords, ClassRoom, HandIn, Member
from app.convert import config_dict
from app.dashboard_fanout import RemoteTiles
from app.i18n import N_, gettext, lesson_words
from app.sessions import Session, SessionError, SessionManager
from engine.vocabulary import DATASETS

CSV_WAIT_SECONDS = 3.0  # for the figures of runs other processes hold (app/dashboard_fanout.py)
CSV_COLUMNS = ("nickname", "joined", "setup", "epoch", "train_loss", "test_loss", "train_accuracy",
               "test_accuracy", "hand_ins", "last_hand_in", "last_note", "last_snapshot", "lesson",
               "lesson_step", "tasks_solved", "tasks_tried", "tasks")
# run ids -> the lesson summary of each run that follows one (app/progress.py ProgressBook.summaries)
NO_HIDDEN = N_("no hidden layer")
Lessons = Callable[[list[str]], Awaitable[dict[str, dict[str, Any]]]]


def setup_words(config: dict[str, Any]) -> str:
    """circle · 4-2 tanh · sgd η 0.03 (what a teacher reads on a tile): the dataset's title and "no hidden
    layer" in the request's language (圆环 · 4-2 tanh · sgd η 0.03). Activation and optimizer names are
    the lecture's own, written the same in both languages."""
    hidden = config.get("hidden", [])
    units = "-".join(str(layer["units"]) for layer in hidden) or gettext(NO_HIDDEN)
    activations = sorted({layer["activation"] for layer in hidden})
    optimizer = config.get("optimizer", {})
    name = config["dataset"]["name"]
    dataset = gettext(DATASETS[name].title) if name in DATASETS else name
    network = f"{units} {'/'.join(activations)}" if activations else units
    return f"{dataset} · {network} · {optimizer.get('kind', 'sgd')} η {optimizer.get('learning_rate', '?')}"


def setup_of(config: dict[str, Any]) -> dict[str, Any]:
    """What setup_words reads of a config: a tile carries it (JSON, from whichever process holds the run)
    and is said in its viewer's language where it is shown (`tile`)."""
    return {"dataset": {"name": config["dataset"]["name"]},
            "hidden": [{"units": layer["units"], "activation": layer["activation"]}
                       for layer in config.get("hidden", [])],
            "optimizer": {key: value for key, value in config.get("optimizer", {}).items()
                          if key in ("kind", "learning_rate")}}


def _round(value: Any, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


async def figures(sessions: SessionManager, session: Session) -> dict[str, Any]:
    """A run's figures for a tile, from its newest frame (no engine call but the setup's words); `map`
    is the frame's boundary picture and `maps_version` says which one it is."""
    b = session.broadcaster
    if b.frame is None or b.maps is None:
        await sessions.snapshot(session)
    frame = b.frame or {}
    config = await sessions.read(session, config_dict)
    loss, acc = frame.get("loss") or {}, frame.get("acc") or {}
    out: dict[str, Any] = {
        "setup_of": setup_of(config),  # worded by `tile`, in its reader's language
        "epoch": frame.get("epoch"), "batch": frame.get("batch"),
        "train_loss": _round(loss.get("train")), "test_loss": _round(loss.get("test")),
        "train_accuracy": _round(acc.get("train")), "test_accuracy": _round(acc.get("test")),
        "playing": session.playing, "diverged": frame.get("diverged") is not None,
        "maps_version": b.maps_version,
    }
    if b.maps is not None:
        out["map"] = {key: b.maps.get(key) for key in ("res", "out", "classes")}
    return out


async def tile(sessions: SessionManager, member: Member, sent_maps: dict[str, int],
               remote: dict[str, Any] | None = None) -> dict[str, Any]:
    """One student's tile; `sent_maps` (student -> maps version) says which pictures the page has.
    `remote`: the figures another process sent for a run it holds (app/dashboard_fanout.py); None
    reads the run here (loaded from the store if no process holds it). A run held elsewhere whose
    figures have not arrived yet is a tile with the nickname only."""
    base = {"student": member.student, "nickname": member.nickname}
    if remote is None:
        try:
            session = await sessions.get(member.session)
        except SessionError:
            return {**base, "gone": True}
        found = await figures(sessions, session)
    else:
        found = dict(remote)
    picture = found.pop("map", None)
    version = found.pop("maps_version", None)
    out = {**base, **found}
    if "setup_of" in out:  # the setup in the words of whoever reads the tile (teacher, CSV)
        out["setup"] = setup_words(out.pop("setup_of"))
    if picture is not None and sent_maps.get(member.student) != version:
        sent_maps[member.student] = version
        out["map"] = picture
    return out


async def tiles(sessions: SessionManager, members: list[Member], sent_maps: dict[str, int],
                remote: RemoteTiles | None, *, wait: float = 0.0,
                lessons: Lessons | None = None) -> list[dict[str, Any]]:
    """Every member's tile: runs held by another process (PostgreSQL) through `remote` (never taken
    from it: its student's page keeps its process), the rest here. `wait`: seconds to wait for the
    figures of runs held elsewhere that have none yet (the CSV; the dashboard shows them next second).
    `lessons`: the lesson progress of the members' runs, put on each tile as "lesson" (None: none)."""
    elsewhere: set[str] = set()
    others = [m.session for m in members if m.session not in sessions.sessions]
    if remote is not None and others:
        elsewhere = await anyio.to_thread.run_sync(sessions.leases.held_elsewhere, others)
        if elsewhere:
            await remote.ask(sorted(elsewhere))
            deadline = asyncio.get_running_loop().time() + wait
            while (any(run not in remote.figures for run in elsewhere)
                   and asyncio.get_running_loop().time() < deadline):
                await asyncio.sleep(0.05)
    followed = await lessons([m.session for m in members]) if lessons is not None else {}
    return [{**await tile(sessions, member, sent_maps,
                          (remote.figures.get(member.session, {}) if remote is not None else {})
                          if member.session in elsewhere else None),
             "lesson": _lesson_said(followed.get(member.session))}
            for member in members]


def _lesson_said(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """A lesson summary (app/progress.py) with its title in the reader's language (a built-in lesson's;
    an uploaded one's as written)."""
    if summary is None:
        return None
    return {**summary, "title": lesson_words(str(summary["title"]), str(summary["slug"]))}


def hand_in_row(item: HandIn) -> dict[str, Any]:
    return {"nickname": item.nickname, "note": item.note, "snapshot": item.snapshot,
            "at": time.strftime("%H:%M:%S", time.localtime(item.at)), **item.figures}


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would start a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def results_csv(sessions: SessionManager, classes: ClassRecords, room: ClassRoom,
                      remote: RemoteTiles | None = None, lessons: Lessons | None = None) -> str:
    members = await classes.members(room)
    figures_of = await tiles(sessions, members, {}, remote, wait=CSV_WAIT_SECONDS, lessons=lessons)
    hand_ins = await classes.hand_ins(room)
    by_student: dict[str, list[HandIn]] = {}
    for item in hand_ins:
        by_student.setdefault(item.student, []).append(item)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for member, figures in zip(members, figures_of, strict=True):
        mine = by_student.get(member.student, [])
        last = mine[-1] if mine else None
        lesson = figures.get("lesson") or {}
        writer.writerow([_cell(v) for v in (
            member.nickname, time.strftime("%Y-%m-%d %H:%M", time.localtime(member.joined_at)),
            figures.get("setup"), figures.get("epoch"), figures.get("train_loss"), figures.get("test_loss"),
            figures.get("train_accuracy"), figures.get("test_accuracy"), len(mine),
            time.strftime("%H:%M:%S", time.localtime(last.at)) if last else "",
            last.note if last else "", f"/s/{last.snapshot}" if last else "", lesson.get("title"),
            lesson.get("step"), lesson.get("solved"), lesson.get("tried"), lesson.get("tasks"))])
    return buffer.getvalue()
