"""The figures the tests no longer assert (tests/ count events; bench/ says how fast), each printed against a
reference measured in the same run:

- play in process (SessionManager, stream_max_fps 20, stream_maps_fps 4, default network, batch at 20/s):
  frames per wall second unwatched and watched, map builds per second watched, and the ticks' and a small
  call's measured CPU against sessions.INLINE_TICK_SECONDS / INLINE_CALL_SECONDS (the inline choice);
- shutdown of 30 changed sessions (each saved): seconds, and per session against one save measured here;
- a server process (python -m app): frames per second a stream gets from play at 1000 micro-steps/s
  (against the 20 fps cap), how soon an idle stream is pinged (against stream_ping_seconds 1), and how
  long SIGTERM takes to end it with three streams open, and `docker stop`'s budget is 10 s for the same.

    OPENBLAS_NUM_THREADS=1 python bench/play_bench.py [--seconds 3]

The browser's frames per second and main-thread share are bench/browser_bench.py's; a tick's CPU broken
down is bench/tick_bench.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from load_bench import free_port, start_server  # noqa: E402  (the same server start-up)

from app import sessions  # noqa: E402
from app.sessions import SessionManager  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.store import SQLiteStore, run_document  # noqa: E402
from engine.stepper import Run, RunConfig  # noqa: E402

MAX_FPS, MAPS_FPS = 20, 4


async def _play(data_dir: Path, seconds: float) -> dict[str, float]:
    manager = SessionManager(Settings(data_dir=data_dir, stream_max_fps=MAX_FPS, stream_maps_fps=MAPS_FPS),
                             SQLiteStore(data_dir / "play.sqlite3"))
    session = await manager.create(lambda: Run(RunConfig()), "bench")
    b = session.broadcaster
    await manager.play(session, "batch", 20)
    await asyncio.sleep(0.5)  # past the first, unmeasured tick
    f0, m0, t0 = b.version, b.maps_version, time.monotonic()
    await asyncio.sleep(seconds)
    f1, m1, t1 = b.version, b.maps_version, time.monotonic()
    session.subscribers += 1
    await asyncio.sleep(seconds)
    f2, m2, t2 = b.version, b.maps_version, time.monotonic()
    session.subscribers -= 1
    tick = session.tick_seconds
    await manager.pause(session)
    await manager.call(session, lambda run: run.step("batch", 1), small=True)
    call = session.call_seconds
    await manager.shutdown()
    return {"unwatched fps": (f1 - f0) / (t1 - t0), "unwatched maps": m1 - m0,
            "watched fps": (f2 - f1) / (t2 - t1), "maps per s": (m2 - m1) / (t2 - t1),
            "tick s": tick, "call s": call}


async def _shutdown(data_dir: Path, n: int) -> tuple[float, float]:
    store = SQLiteStore(data_dir / "shutdown.sqlite3")
    manager = SessionManager(Settings(data_dir=data_dir), store)
    for k in range(n):
        session = await manager.create(lambda: Run(RunConfig()), f"client{k}")
        await manager.call(session, lambda run: run.step("batch", 2), save=False)
    one = Run(RunConfig())
    one.step("batch", 2)
    started = time.monotonic()
    store.save("reference", run_document(one))
    one_save = time.monotonic() - started
    started = time.monotonic()
    await manager.shutdown()
    return time.monotonic() - started, one_save


def _events(lines: object, count: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for line in lines:  # type: ignore[attr-defined]
        if line.startswith("data:"):
            events.append(json.loads(line[5:]))
            if len(events) == count:
                break
    return events


def _server_figures(data_dir: str, frames: int) -> dict[str, float]:
    port = free_port()
    os.environ["STEPWISE_STREAM_PING_SECONDS"] = "1"
    server = start_server(port, data_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        sid = httpx.post(f"{url}/api/sessions", json={}).json()["id"]
        httpx.post(f"{url}/api/sessions/{sid}/play", json={"unit": "micro", "speed": 1000})
        with httpx.stream("GET", f"{url}/api/sessions/{sid}/stream", timeout=60) as response:
            lines = response.iter_lines()
            _events(lines, 1)
            started = time.monotonic()
            _events(lines, frames)
            fps = frames / (time.monotonic() - started)
        httpx.post(f"{url}/api/sessions/{sid}/pause")
        idle = httpx.post(f"{url}/api/sessions", json={}).json()["id"]
        with httpx.stream("GET", f"{url}/api/sessions/{idle}/stream", timeout=60) as response:
            lines = response.iter_lines()
            _events(lines, 1)
            started = time.monotonic()
            for line in lines:
                if line.startswith(":"):
                    break
            ping = time.monotonic() - started
        httpx.post(f"{url}/api/sessions/{sid}/play", json={"unit": "batch", "speed": 20})
        clients = [httpx.Client(timeout=60) for _ in range(3)]
        streams = [c.stream("GET", f"{url}/api/sessions/{sid}/stream") for c in clients]
        for s in streams:
            _events(s.__enter__().iter_lines(), 1)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        sigterm = time.monotonic() - started
        for c in clients:
            c.close()
    finally:
        if server.poll() is None:
            server.kill()
        os.environ.pop("STEPWISE_STREAM_PING_SECONDS", None)
    return {"stream fps": fps, "ping s": ping, "sigterm s": sigterm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="wall seconds per play phase")
    parser.add_argument("--frames", type=int, default=60, help="stream frames to time")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as scratch:
        play = asyncio.run(_play(Path(scratch), args.seconds))
        took, one_save = asyncio.run(_shutdown(Path(scratch), 30))
        server = _server_figures(scratch, args.frames)
    inline_tick = getattr(sessions, "INLINE_TICK_SECONDS", None)
    inline_call = getattr(sessions, "INLINE_CALL_SECONDS", None)
    print(f"play, unwatched: {play['unwatched fps']:.1f} frames/s "
          f"({play['unwatched fps'] / MAX_FPS:.2f}x the {MAX_FPS} fps cap), "
          f"{play['unwatched maps']:.0f} maps")
    print(f"play, watched:   {play['watched fps']:.1f} frames/s, {play['maps per s']:.2f} map builds/s "
          f"({play['maps per s'] / MAPS_FPS:.2f}x the {MAPS_FPS}/s cap)")
    for name, seconds, limit in (("tick", play["tick s"], inline_tick),
                                 ("small call", play["call s"], inline_call)):
        against = f" = {seconds / limit:.2f}x the inline limit {limit * 1e3:.1f} ms" if limit else ""
        print(f"{name} CPU: {seconds * 1e3:.2f} ms{against}")
    print(f"shutdown saving 30 sessions: {took:.3f} s = {took / 30 / one_save:.2f}x one save "
          f"({one_save * 1e3:.1f} ms) per session")
    print(f"server: a stream of play at 1000 micro-steps/s gets {server['stream fps']:.1f} frames/s "
          f"({server['stream fps'] / MAX_FPS:.2f}x the cap); an idle stream's ping after "
          f"{server['ping s']:.2f} s ({server['ping s']:.2f}x the 1 s period); SIGTERM with 3 streams open "
          "ends it in "
          f"{server['sigterm s']:.2f} s ({server['sigterm s'] / 10:.2f}x docker stop's 10 s)")


if __name__ == "__main__":
    main()
