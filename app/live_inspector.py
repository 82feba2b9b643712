"""The inspector rides the stream: every tab that watches a run sees its inspector without polling.

Playing by micro-step or sample, the inspector shows each event's formula. Each tab used to fetch
GET /ui/{id}/inspector after every newer frame (~10 requests a second per tab, on top of its stream):
behind one school address that exhausted the per-address budget. Now the stream's frames carry the
inspector's HTML as `"inspector"`, built once per run and language per frame however many tabs follow
it (each subscriber's language as its request chose it, app/i18n.py, so a Chinese follower of an English
presenter reads Chinese): the
current event's formula (marked live) while playing by micro-step or sample, the words for play while
playing by batch or epoch, and after every change by hand (a step, back, edit, reset: what a follower
of a presented run must see, the owner already has it from its own request). While playing it is built
at most MAX_PER_SECOND times a second per run, by the first subscriber to ask (the others take the one
built so far instead of queueing for the run's lock), and each subscriber gets each inspector once.
stepwise.js swaps it in when its data-step is newer than the inspector shown.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from app import i18n, views
from app.inspector import PLAYING
from app.routes.pages import LIVE_UNITS  # playing by these, the inspector follows each event's formula

MAX_PER_SECOND = 10.0


@dataclass
class _Built:
    step_id: int
    html: str
    built_at: float
    mode: str
    version: tuple[int, bool] = (-1, False)
    encoded: bytes = b""
    encoded_for: tuple[Any, ...] = ()  # the frame (version, maps, event name, step, mode) `encoded` holds


Key = tuple[str, str]  # (session id, language)


class LiveInspector:
    """Per run and language: the last inspector built and the last frame text it was joined to.
    `builds` counts the inspectors built per (run, language) (tests/app/test_live_languages.py)."""

    MAX_RUNS = 5_000

    def __init__(self, templates: Any) -> None:
        self.templates = templates
        self._built: dict[Key, _Built] = {}
        self.builds: Counter[Key] = Counter()

    async def inspector_for(self, sessions: Any, session: Any, version: tuple[int, bool],
                            seen: tuple[int, str]) -> tuple[bool, tuple[int, str]]:
        """Whether the frame of `version` (the broadcaster's version, with maps or not) should carry the
        run's inspector to a subscriber that was last sent `seen` (its step id and mode; (-1, "") for
        none), and what it has then. Each subscriber gets each inspector once: frames in between stay as
        small as before. Builds the inspector at most once per frame for all subscribers of a language
        (the request's, app/i18n.py current())."""
        playing = session.playing
        mode = "still" if not playing else "live" if session.play_unit in LIVE_UNITS else "playing"
        key = (session.id, i18n.current())
        built = self._built.get(key)
        now = time.monotonic()
        if built is not None and built.version == version:
            pass  # built for this frame already (another subscriber asked first)
        elif mode == "playing":  # the words for play do not change with the step: built once per play
            if built is None or built.mode != "playing":
                context: dict[str, Any] = {"inspector": PLAYING, "step_id": session.run.step_id}
                built = self._build(key, context, now, mode)
        elif built is None or not playing or now - built.built_at >= 1.0 / MAX_PER_SECOND:
            if built is not None:  # claim this frame: the other subscribers take the one built so far
                built.version = version  # meanwhile, rather than queueing up for the run's lock
            context = await sessions.read(session, views.inspector_context)
            if built is None or (context["step_id"], mode) != (built.step_id, built.mode):
                context["live"] = mode == "live"
                built = self._build(key, context, now, mode)
            else:
                built.built_at = now
        assert built is not None
        built.version = version
        now_seen = (built.step_id, built.mode)
        return now_seen != seen, now_seen

    def event(self, session_id: str, b: Any, with_maps: bool, name: str) -> bytes:
        """The broadcaster's latest frame with the run's inspector in the request's language, as one
        Server-Sent Event (as Broadcaster.event), encoded once per frame version for every subscriber of
        that language it goes to."""
        built = self._built[(session_id, i18n.current())]
        key = (b.version, b.maps_version if with_maps else -1, name, built.step_id, built.mode)
        if built.encoded_for != key:
            text = b.text(with_maps)
            built.encoded_for = key
            built.encoded = (f"id: {b.frame['id']}\r\nevent: {name}\r\n"
                             f'data: {text[:-1]},"inspector":{json.dumps(built.html)}}}\r\n\r\n').encode()
        return built.encoded

    def _build(self, key: Key, context: dict[str, Any], now: float, mode: str) -> _Built:
        html = self.templates.get_template("partials/inspector.html").render({**context, "sid": key[0]})
        if len(self._built) >= self.MAX_RUNS:
            self._built.clear()
            self.builds.clear()
        built = self._built[key] = _Built(context["step_id"], html, now, mode)
        self.builds[key] += 1
        return built

