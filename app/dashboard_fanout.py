"""The class dashboard across processes: tiles of runs that other processes hold, over LISTEN/NOTIFY.

A teacher's dashboard stream is served by any process (its path has no run id), while each student's
run lives in the process that holds its lease. Every second the dashboard's process asks for the runs it
does not hold (NOTIFY stepwise_tiles_want, JSON {"runs": [ids]}); each process that holds one of them
answers with its figures read from the run's newest frame (NOTIFY stepwise_tiles, JSON {"run", "tile"}:
what app/dashboard.py `figures` gives, no engine call), and every process keeps the newest answer per run.
The dashboard shows the answer of the previous second: a tile is at most about two seconds old.

The boundary picture travels when its maps version changed since the holder last sent it, and once in
MAP_EVERY answers anyway (a dashboard opened later gets it); a picture too large for one message (many
classes) travels without its per-class maps. Without PostgreSQL (one process) there is nothing to ask.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio.to_thread

from app.fanout import NOTIFY_MAX, Bus

WANT = "stepwise_tiles_want"
TILES = "stepwise_tiles"
MAP_EVERY = 5
IDS_PER_MESSAGE = 150  # 150 ids of 32 characters fit one message


class RemoteTiles:
    """The newest figures of runs held by other processes, and this process's answers to others."""

    def __init__(self, bus: Bus, sessions: Any) -> None:
        self.bus = bus
        self.sessions = sessions
        self.figures: dict[str, dict[str, Any]] = {}  # run id -> figures (written on the bus thread)
        self._sent_maps: dict[str, int] = {}  # run id -> maps version last sent by this process
        self._answers: dict[str, int] = {}  # run id -> answers sent (every MAP_EVERY-th has the map)
        self._tasks: set[asyncio.Future[None]] = set()
        bus.subscribe(WANT, self._wanted)
        bus.subscribe(TILES, self._arrived)

    async def ask(self, run_ids: list[str]) -> None:
        """Ask the holders of `run_ids` for their figures (answers land in `figures`)."""
        for start in range(0, len(run_ids), IDS_PER_MESSAGE):
            payload = json.dumps({"runs": run_ids[start:start + IDS_PER_MESSAGE]})
            await anyio.to_thread.run_sync(self.bus.notify, WANT, payload)

    def _arrived(self, payload: str) -> None:  # the bus thread
        message = json.loads(payload)
        old = self.figures.get(message["run"], {})
        tile = message["tile"]
        if "map" not in tile and "map" in old:  # unchanged picture: keep the one already here
            tile = {**tile, "map": old["map"], "maps_version": old.get("maps_version")}
        self.figures[message["run"]] = tile

    def _wanted(self, payload: str) -> None:  # the bus thread: answer for the runs held here
        held = [run for run in json.loads(payload)["runs"] if run in self.sessions.sessions]
        loop = self.sessions.loop
        if held and loop is not None:
            loop.call_soon_threadsafe(self._spawn, held)

    def _spawn(self, held: list[str]) -> None:
        task = asyncio.ensure_future(self._answer(held))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, held: list[str]) -> None:
        from app.dashboard import figures  # app.dashboard uses this module

        for run_id in held:
            session = self.sessions.sessions.get(run_id)
            if session is None or session.gone is not None:
                continue
            tile = await figures(self.sessions, session)
            count = self._answers.get(run_id, 0)
            self._answers[run_id] = count + 1
            picture = tile.pop("map", None)
            if picture is not None and (self._sent_maps.get(run_id) != tile["maps_version"]
                                        or count % MAP_EVERY == 0):
                self._sent_maps[run_id] = tile["maps_version"]
                tile["map"] = picture
            await anyio.to_thread.run_sync(self.bus.notify, TILES, fitted(run_id, tile))


def fitted(run_id: str, tile: dict[str, Any]) -> str:
    """The answer as one message: without the per-class maps, then without the picture, if too large."""
    text = json.dumps({"run": run_id, "tile": tile}, separators=(",", ":"), allow_nan=False)
    if len(text.encode()) > NOTIFY_MAX and tile.get("map"):
        tile = {**tile, "map": {**tile["map"], "classes": None}}
        text = json.dumps({"run": run_id, "tile": tile}, separators=(",", ":"), allow_nan=False)
    if len(text.encode()) > NOTIFY_MAX:
        tile = {key: value for key, value in tile.items() if key not in ("map", "maps_version")}
        text = json.dumps({"run": run_id, "tile": tile}, separators=(",", ":"), allow_nan=False)
    return text
