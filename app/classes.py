"""Class mode's records: presentations (a live run behind a code), classes, members and hand-ins.

Everything is a record in the store (app/store.py RecordStore), so it survives a restart:

    kind "present"     key CODE                value {"session": run id}
    kind "presenting"  key run id              value CODE (the same code each time that run is presented)
    kind "class"       key CODE                value {"name", "teacher": sha256(teacher key), "created_at",
                                                      "presenting": run id or null}
    kind "member"      key CODE/STUDENT        value {"nickname", "session": run id, "joined_at"}
    kind "handin"      key CODE/TIME/STUDENT   value {"nickname", "note", "snapshot": code, "at", figures}
    kind "studentclass" key STUDENT            value CODE (the class this browser joined last)

A member works on one run at a time, the one their tile shows: the run they got when they joined, then
each run they open from a lesson or start to compare (`follow`). Their earlier runs stay theirs
("memberrun"): hand-ins from there still count.

Codes come from app/snapshots.py (8 characters without look-alikes). A class's join code is public (on
the board); its teacher key is a secret (32 random bytes) given once at creation and then kept in the
teacher's browser as a cookie; the server keeps only its digest. Nicknames and notes are plain text,
length-limited here and escaped by Jinja wherever they are shown.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio.to_thread

from app.ownership import digest
from app.snapshots import new_code
from app.store import RecordStore
from engine.errors import SetupError

NICKNAME_MAX = 24
NOTE_MAX = 140
CLASS_NAME_MAX = 60
MAX_MEMBERS = 200


def clean_text(value: Any, field_name: str, limit: int, *, required: bool) -> str:
    """One line of plain text: control characters dropped, spaces collapsed, at most `limit` characters;
    SetupError (a ValueError) naming the field when too long or missing: the routes answer it 422, said in
    the page's language (app/i18n.py `said`)."""
    text = "".join(ch for ch in str(value or "") if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if required and not text:
        raise SetupError(field_name, "must not be empty")
    if len(text) > limit:
        raise SetupError(field_name, "at most {limit} characters, got {length}", limit=limit,
                         length=len(text))
    return text


@dataclass
class ClassRoom:
    code: str
    name: str
    teacher: str  # sha256 of the teacher key
    created_at: float = field(default_factory=time.time)
    presenting: str | None = None


@dataclass
class Member:
    student: str
    nickname: str
    session: str
    joined_at: float = field(default_factory=time.time)


@dataclass
class HandIn:
    student: str
    nickname: str
    note: str
    snapshot: str
    at: float
    figures: dict[str, Any]


class ClassRecords:
    """Reads and writes class mode's records off the event loop (each is one small SQLite statement)."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def _get(self, kind: str, key: str) -> Any:
        text = await anyio.to_thread.run_sync(self.records.get_record, kind, key)
        return None if text is None else json.loads(text)

    async def _put(self, kind: str, key: str, value: Any, *, replace: bool = True) -> bool:
        text = json.dumps(value, separators=(",", ":"))
        written: bool = await anyio.to_thread.run_sync(
            lambda: self.records.put_record(kind, key, text, replace=replace))
        return written

    async def _list(self, kind: str, prefix: str) -> list[tuple[str, Any]]:
        rows = await anyio.to_thread.run_sync(self.records.records, kind, prefix)
        return [(key, json.loads(text)) for key, text in rows]

    async def _fresh_code(self, kind: str, value: Any) -> str:
        while True:
            code = new_code()
            if await self._put(kind, code, value, replace=False):
                return code

    # ---- presentations ---------------------------------------------------------------------------
    async def present(self, session_id: str) -> str:
        """The code that shows this run live (the same one each time it is presented)."""
        code = await self._get("presenting", session_id)
        if isinstance(code, str):
            return code
        code = await self._fresh_code("present", {"session": session_id})
        await self._put("presenting", session_id, code)
        return code

    async def presented(self, code: str) -> str | None:
        """The run a presentation code shows, or None."""
        value = await self._get("present", code)
        return None if value is None else str(value["session"])

    # ---- classes ---------------------------------------------------------------------------------
    async def create_class(self, name: str) -> tuple[ClassRoom, str]:
        """A new class and its teacher key (shown once; only its digest is kept)."""
        key = secrets.token_urlsafe(32)
        room = ClassRoom("", name, digest(key))
        room.code = await self._fresh_code("class", asdict(room))
        await self.save_class(room)
        return room, key

    async def save_class(self, room: ClassRoom) -> None:
        await self._put("class", room.code, asdict(room))

    async def get_class(self, code: str) -> ClassRoom | None:
        value = await self._get("class", code)
        return None if value is None else ClassRoom(**value)

    @staticmethod
    def is_teacher(room: ClassRoom, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(digest(key), room.teacher)

    async def join(self, room: ClassRoom, student: str, nickname: str, session_id: str) -> Member:
        member = Member(student, nickname, session_id)
        await self._put("member", f"{room.code}/{student}", asdict(member))
        await self._put("memberrun", session_id, {"class": room.code, "student": student})
        await self.back_in(room, student)
        return member

    async def back_in(self, room: ClassRoom, student: str) -> None:
        """The student joined `room` (again): the lessons they open from now on count for it."""
        await self._put("studentclass", student, room.code)

    async def follow(self, room: ClassRoom, member: Member, session_id: str) -> None:
        """`session_id` is the member's run now (a lesson they opened, a copy to compare): their tile
        shows it; the runs before stay theirs."""
        member.session = session_id
        await self._put("member", f"{room.code}/{member.student}", asdict(member))
        await self._put("memberrun", session_id, {"class": room.code, "student": member.student})

    async def follow_student(self, key: str | None, session_id: str) -> None:
        """A run this browser (owner `key`) just made for a lesson becomes its member's run in the class
        it joined last; nothing for a browser in no class."""
        if key is None:
            return
        student = student_of(key)
        code = await self._get("studentclass", student)
        room = await self.get_class(code) if isinstance(code, str) else None
        member = await self.member(room, student) if room is not None else None
        if room is not None and member is not None:
            await self.follow(room, member, session_id)

    async def carry_on(self, session_id: str, copy_id: str) -> None:
        """A copy made from the member's run (to compare) is their run from now on."""
        found = await self.member_of_run(session_id)
        if found is not None and found[1].session == session_id:
            await self.follow(found[0], found[1], copy_id)

    async def member_of_run(self, session_id: str) -> tuple[ClassRoom, Member] | None:
        """The class and member whose own run this is, or None."""
        found = await self._get("memberrun", session_id)
        if found is None:
            return None
        room = await self.get_class(found["class"])
        member = await self.member(room, found["student"]) if room else None
        return None if room is None or member is None else (room, member)

    async def member(self, room: ClassRoom, student: str) -> Member | None:
        value = await self._get("member", f"{room.code}/{student}")
        return None if value is None else Member(**value)

    async def members(self, room: ClassRoom) -> list[Member]:
        """In the order they joined (a member who moved to another run keeps their place)."""
        found = [Member(**value) for _, value in await self._list("member", f"{room.code}/")]
        return sorted(found, key=lambda member: member.joined_at)

    async def hand_in(self, room: ClassRoom, hand_in: HandIn) -> None:
        key = f"{room.code}/{hand_in.at:017.6f}/{hand_in.student}"
        await self._put("handin", key, asdict(hand_in))

    async def hand_ins(self, room: ClassRoom) -> list[HandIn]:
        return [HandIn(**value) for _, value in await self._list("handin", f"{room.code}/")]


def student_of(key: str | None) -> str:
    """A student's id in a class: a digest of their browser's owner key (the same browser, the same one)."""
    return digest(key or "")[:20]


class Attempts:
    """At most `limit` attempts per `window` seconds per address (join attempts, teacher keys): a wrong
    code or key costs an attempt, so guessing is slow, while a class of 60 behind one address joins."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, list[float]] = {}

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        stamps = [t for t in self._seen.get(client, []) if now - t < self.window]
        allowed = len(stamps) < self.limit
        if allowed:
            stamps.append(now)
        self._seen[client] = stamps
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.window}
        return allowed
