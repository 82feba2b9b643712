"""A classroom on one server, all from 127.0.0.1 at the DEFAULT settings: a teacher presenting a run
and playing it by micro-step, FOLLOWERS watching it live, PLAYERS students playing their own runs, STEPPERS
students stepping by hand, and the teacher's class dashboard (one stream for every tile).

Each student is its own client (its own owner token, as its own browser would be); they joined a class
first (POST /c/CODE/join), so the dashboard shows all of them. Prints, for a quiet baseline round (the
teacher and one follower) and the full class: frames/s and frame lag (now - the frame's server time)
for followers and players, hand-step latency, dashboard updates/s, errors and refusals (any non-2xx),
server CPU (100 % = one core) and RSS; then the full class as ratios of the baseline.
Run: OPENBLAS_NUM_THREADS=1 python bench/class_bench.py [--followers 100 --players 40 --steppers 10
--seconds 10]. The client runs on the same 2 cores as the server and costs it CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_bench import (
    StreamStats,
    free_port,
    p,
    proc_cpu_seconds,
    proc_rss_mb,
    read_stream_raw,
    step_loop,
    stop_server,
)

STEP_INTERVAL = 0.2  # a student pressing → about five times a second


@dataclass
class Round:
    follower_fps: list[float] = field(default_factory=list)
    follower_lag_ms: list[float] = field(default_factory=list)
    player_fps: list[float] = field(default_factory=list)
    player_lag_ms: list[float] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)
    dashboard_per_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    cpu_percent: float = 0.0
    rss_mb: float = 0.0


def owner() -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}


def ok(answer: httpx.Response, errors: list[str], what: str) -> httpx.Response:
    if answer.status_code >= 400:
        errors.append(f"{what} {answer.status_code}")
    return answer


async def one_round(base: str, pid: int, followers: int, players: int, steppers: int,
                    seconds: float) -> Round:
    result = Round()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(30.0)) as client:
        teacher = owner()
        made = ok(await client.post("/class", data={"name": "bench"}), result.errors, "class")
        code = re.search(r'id="class-code">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
        key = re.search(r'id="teacher-key">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
        dashboard_cookie = {"Cookie": f"stepwise_class_{code.replace('-', '')}={key}"}
        run = ok(await client.post("/api/sessions", json={}, headers=teacher), result.errors, "create").json()
        ok(await client.post(f"/api/sessions/{run['id']}/present", headers=teacher), result.errors, "present")

        students = []
        for i in range(players + steppers):
            auth = owner()
            joined = await client.post(f"/c/{code}/join", data={"nickname": f"s{i}"}, headers=auth)
            if joined.status_code != 303:
                result.errors.append(f"join {joined.status_code}")
                continue
            students.append((joined.headers["location"].rsplit("session=", 1)[1], auth))
        playing, stepping = students[:players], students[players:]

        stop = asyncio.Event()
        follow_stats = [StreamStats() for _ in range(followers)]
        play_stats = [StreamStats() for _ in playing]
        step_streams = [StreamStats() for _ in stepping]
        board = StreamStats()
        # bare-socket readers (load_bench.read_stream_raw): 150 streams measure the server, not this client
        followed = f"/api/sessions/{run['id']}/stream"
        tasks = [asyncio.create_task(read_stream_raw(base, followed, None, s, stop)) for s in follow_stats]
        tasks += [asyncio.create_task(read_stream_raw(base, f"/api/sessions/{sid}/stream", None, s, stop))
                  for (sid, _), s in zip(playing, play_stats, strict=True)]
        tasks += [asyncio.create_task(read_stream_raw(base, f"/api/sessions/{sid}/stream", None, s, stop))
                  for (sid, _), s in zip(stepping, step_streams, strict=True)]
        tasks.append(asyncio.create_task(read_stream_raw(base, f"/class/{code}/stream", dashboard_cookie,
                                                         board, stop, event_names=("tiles",))))
        await asyncio.sleep(1.0)
        ok(await client.post(f"/api/sessions/{run['id']}/play", json={"unit": "micro", "speed": 20},
                             headers=teacher), result.errors, "play")
        for sid, auth in playing:
            played = await client.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 20},
                                       headers=auth)
            ok(played, result.errors, "play")
        await asyncio.sleep(1.0)  # warm-up
        start, cpu0 = time.time(), proc_cpu_seconds(pid)
        latencies: list[float] = []
        tasks += [asyncio.create_task(step_loop(client, sid, latencies, result.errors, stop, unit="micro",
                                                headers=auth, interval=STEP_INTERVAL))
                  for sid, auth in stepping]
        await asyncio.sleep(seconds)
        end, cpu1 = time.time(), proc_cpu_seconds(pid)
        result.rss_mb = proc_rss_mb(pid)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ok(await client.post(f"/api/sessions/{run['id']}/pause", headers=teacher), result.errors, "pause")
        for sid, auth in playing:
            ok(await client.post(f"/api/sessions/{sid}/pause", headers=auth), result.errors, "pause")

    def window(stats: StreamStats) -> tuple[float, list[float]]:
        inside = [t for t in stats.arrivals if start <= t <= end]
        return len(inside) / (end - start), [lag * 1e3 for at, lag in stats.lags if start <= at <= end]

    for stats in follow_stats:
        fps, lags = window(stats)
        result.follower_fps.append(fps)
        result.follower_lag_ms += lags
        result.errors += stats.errors
    for stats in play_stats:
        fps, lags = window(stats)
        result.player_fps.append(fps)
        result.player_lag_ms += lags
        result.errors += stats.errors
    for stats in [*step_streams, board]:
        result.errors += stats.errors
    result.dashboard_per_s = window(board)[0]
    result.step_ms = [s * 1e3 for s in latencies]
    result.cpu_percent = 100 * (cpu1 - cpu0) / (end - start)
    return result


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def show(label: str, r: Round) -> None:
    print(f"{label:<10}{mean(r.follower_fps):>9.1f}{p(r.follower_fps, 0.05):>6.1f}"
          f"{p(r.follower_lag_ms, 0.95):>9.0f}"
          f"{mean(r.player_fps):>9.1f}{p(r.player_fps, 0.05):>6.1f}{p(r.player_lag_ms, 0.95):>9.0f}"
          f"{p(r.step_ms, 0.5):>9.1f}{p(r.step_ms, 0.95):>8.1f}{r.dashboard_per_s:>8.2f}{len(r.errors):>8}"
          f"{r.cpu_percent:>8.0f}%{r.rss_mb:>8.0f}", flush=True)
    if r.errors:
        counts = {e: r.errors.count(e) for e in sorted(set(r.errors))}
        print("          errors:", ", ".join(f"{e} x{c}" for e, c in counts.items())[:300])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--players", type=int, default=40)
    parser.add_argument("--steppers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        # the server's defaults: no STEPWISE_ setting but its data dir
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("STEPWISE_")},
               "OPENBLAS_NUM_THREADS": "1", "STEPWISE_DATA_DIR": data_dir}
        server = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)],
                                  cwd=Path(__file__).resolve().parent.parent, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            print(f"default settings; teacher plays micro-steps at 20/s, players batches at 20/s, "
                  f"steppers a micro-step every {STEP_INTERVAL * 1e3:.0f} ms; {args.seconds:.0f} s per round")
            print(f"{'round':<10}{'foll fps':>9}{'p5':>6}{'lag p95':>9}{'play fps':>9}{'p5':>6}{'lag p95':>9}"
                  f"{'step p50':>9}{'p95':>8}{'dash/s':>8}{'errors':>8}{'CPU':>9}{'RSS MB':>8}")
            quiet = asyncio.run(one_round(base, server.pid, 1, 0, 1, args.seconds))
            show("baseline", quiet)
            full = asyncio.run(one_round(base, server.pid, args.followers, args.players, args.steppers,
                                         args.seconds))
            show("class", full)
            fps = mean(full.follower_fps) / mean(quiet.follower_fps)
            lag = p(full.follower_lag_ms, .95) / p(quiet.follower_lag_ms, .95)
            step = p(full.step_ms, .95) / p(quiet.step_ms, .95)
            print(f"class / baseline: follower fps x{fps:.2f}, follower lag p95 x{lag:.2f}, "
                  f"step p95 x{step:.2f}")
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
