"""Classroom load: N sessions playing with N SSE streams open while other sessions take step requests.

Starts its own server (`python -m app --port <free>`, temp STEPWISE_DATA_DIR) on 127.0.0.1, sweeps
N = 10, 50, 100, 200 for a few seconds each, prints frames/s per client, frame lag, step latency, errors,
server CPU (also per frame received: the figure least disturbed by other load on the machine) and RSS,
and stops the server. Run: OPENBLAS_NUM_THREADS=1 python bench/load_bench.py
(options: --sizes 10 50 --seconds 10 --speed 20 --unit batch --hidden 8,8,8,8,8,8 --profile FILE).

Every client shares 127.0.0.1, so the per-address caps (sessions per minute, requests per second) are
raised for this run; a real classroom spreads over many addresses (or one NAT address: see
app/settings.py). The client runs on the same 2 cores as the server and costs it some CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_TIME = re.compile(rb"-?[0-9][0-9.eE+-]*")  # a frame's "t": the server's publish time
UPDATES = re.compile(rb'"updates":([0-9]+)')  # a frame's batches trained so far
STEP_SESSIONS = 4        # sessions that only take step requests while the others play
STEP_INTERVAL = 0.1      # seconds between step requests on each of them
# an idle pooled connection is dropped before the server or proxy closes it (uvicorn's keep_alive_seconds
# and HAProxy's timeout http-keep-alive are 5 s): reusing one they had just closed failed as
# 'Server disconnected without sending a response' (1-3 DELETEs per round behind HAProxy, none of
# which reached it: its log had every request answered). Browsers retry such a request; httpx does not.
KEEPALIVE_SECONDS = 2.0


@dataclass
class StreamStats:
    arrivals: list[float] = field(default_factory=list)  # client clock, seconds
    lags: list[tuple[float, float]] = field(default_factory=list)  # (arrival, now - the frame's "t")
    updates: list[tuple[float, int]] = field(default_factory=list)  # (arrival, the frame's "updates")
    bytes: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class RoundResult:
    n: int
    fps: list[float]
    gaps_ms: list[float]
    lag_ms: list[float]
    step_ms: list[float]
    frame_bytes: float
    errors: list[str]
    cpu_percent: float
    client_cpu_percent: float
    rss_mb: float
    # batches trained per second by each playing run (from its frames' "updates"): the speed asked for,
    # or less where the server slows play down under overload (app/limits.py FrameRate.play_share)
    play_rate: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nan if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def read_stream(client: httpx.AsyncClient, sid: str, stats: StreamStats, stop: asyncio.Event) -> None:
    """Count SSE frame events until `stop`; the body is only parsed when it carries a server time."""
    try:
        async with client.stream("GET", f"/api/sessions/{sid}/stream") as response:
            if response.status_code != 200:
                stats.errors.append(f"stream {response.status_code}")
                return
            event = ""
            async for line in response.aiter_lines():
                if stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("frame", "snapshot"):
                    now = time.time()
                    stats.arrivals.append(now)
                    stats.bytes += len(line) - 5
                    # the server's publish time is the frame's last key: read it without parsing the rest
                    at = line.rfind('"t":')
                    if at >= 0:
                        with contextlib.suppress(ValueError):
                            stats.lags.append((now, now - float(line[at + 4:].rstrip("}"))))
    except (httpx.HTTPError, asyncio.CancelledError) as error:
        if not stop.is_set():
            stats.errors.append(f"stream {type(error).__name__}")


async def read_stream_raw(base: str, path: str, headers: dict[str, str] | None, stats: StreamStats,
                          stop: asyncio.Event, event_names: tuple[str, ...] = ("frame", "snapshot")) -> None:
    """The same count as read_stream over a bare socket: a client that costs little CPU per frame, so a
    hundred streams measure the server, not this process (httpx's line iterator took most of a core
    for 100 streams at 20 frames/s). Counts `event: frame` / `event: snapshot` in the raw bytes (chunk
    headers never contain them) and reads the lag from the last `"t":` of each read."""
    names = [f"event: {name}".encode() for name in event_names]
    host, port = base.removeprefix("http://").split(":")
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
    except OSError as error:
        stats.errors.append(f"stream {type(error).__name__}")
        return
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            stats.errors.append(f"stream {head[9:12].decode(errors='replace')}")
            return
        tail = b""
        while not stop.is_set():
            chunk = await reader.read(1 << 16)
            if not chunk:
                if not stop.is_set():
                    stats.errors.append("stream closed")
                return
            now = time.time()
            seen = tail + chunk
            count = sum(seen.count(name) - tail.count(name) for name in names)
            stats.arrivals.extend([now] * count)
            stats.bytes += len(chunk)
            at = seen.rfind(b'"t":')
            number = SERVER_TIME.match(seen, at + 4) if count and at >= 0 else None
            if number is not None:
                stats.lags.append((now, now - float(number[0])))
            trained = [int(m[1]) for m in UPDATES.finditer(seen)] if count else []
            if trained:
                stats.updates.append((now, trained[-1]))
            tail = seen[-16:]
    except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError) as error:
        if not stop.is_set():
            stats.errors.append(f"stream {type(error).__name__}")
    finally:
        writer.close()


async def step_loop(client: httpx.AsyncClient, sid: str, latencies: list[float], errors: list[str],
                    stop: asyncio.Event, *, unit: str = "batch", headers: dict[str, str] | None = None,
                    interval: float = STEP_INTERVAL) -> None:
    """Step `sid` by `unit` every `interval` seconds until `stop`, recording each step's latency."""
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await client.post(f"/api/sessions/{sid}/step", json={"unit": unit}, headers=headers)
            if response.status_code != 200:
                errors.append(f"step {response.status_code}")
        except httpx.HTTPError as error:
            errors.append(f"step {type(error).__name__}")
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(interval)


async def gather_ok(label: str, requests: list[Awaitable[httpx.Response]], ok: int,
                    errors: list[str]) -> list[httpx.Response]:
    """The responses with status `ok`; every other outcome (status or exception) is an error."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    good = []
    for answer in answers:
        if isinstance(answer, BaseException):
            errors.append(f"{label} {type(answer).__name__}")
        elif answer.status_code != ok:
            errors.append(f"{label} {answer.status_code}")
        else:
            good.append(answer)
    return good


async def one_round(base: str, pid: int | list[int], n: int, seconds: float, speed: float, unit: str,
                    hidden: list[int], reader: str = "raw") -> RoundResult:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None,
                          keepalive_expiry=KEEPALIVE_SECONDS)
    timeout = httpx.Timeout(30.0)
    errors: list[str] = []
    body = {"hidden": [{"units": units} for units in hidden]}
    # one owner token for every run this bench makes, so it may play, step and delete them (app/ownership.py)
    owner = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout, headers=owner) as client:
        created = await gather_ok("create", [client.post("/api/sessions", json=body)
                                             for _ in range(n + STEP_SESSIONS)], 201, errors)
        ids = [r.json()["id"] for r in created]
        players, steppers = ids[:n], ids[n:]
        stop = asyncio.Event()
        streams = {sid: StreamStats() for sid in players}
        readers = [asyncio.create_task(
            read_stream_raw(base, f"/api/sessions/{sid}/stream", owner, streams[sid], stop) if reader == "raw"
            else read_stream(client, sid, streams[sid], stop)) for sid in players]
        await asyncio.sleep(0.5)  # the snapshots first, so the window below measures steady play
        await gather_ok("play", [client.post(f"/api/sessions/{sid}/play", json={"unit": unit, "speed": speed})
                                 for sid in players], 200, errors)
        await asyncio.sleep(1.0)  # warm-up
        pids = pid if isinstance(pid, list) else [pid]  # several processes behind a proxy: their sum
        window_start, own_start = time.time(), time.process_time()
        cpu_start = sum(proc_cpu_seconds(one) for one in pids)
        latencies: list[float] = []
        steps = [asyncio.create_task(step_loop(client, sid, latencies, errors, stop)) for sid in steppers]
        await asyncio.sleep(seconds)
        window_end, own_end = time.time(), time.process_time()
        cpu_end = sum(proc_cpu_seconds(one) for one in pids)
        rss = sum(proc_rss_mb(one) for one in pids)
        stop.set()
        for task in readers + steps:
            task.cancel()
        await asyncio.gather(*readers, *steps, return_exceptions=True)
        await gather_ok("pause", [client.post(f"/api/sessions/{sid}/pause") for sid in players], 200, errors)
        await gather_ok("delete", [client.delete(f"/api/sessions/{sid}") for sid in ids], 204, errors)

    fps, gaps, lags, total_bytes, frames = [], [], [], 0, 0
    play_rate: list[float] = []
    for stats in streams.values():
        errors += stats.errors
        inside = [t for t in stats.arrivals if window_start <= t <= window_end]
        trained = [(t, u) for t, u in stats.updates if window_start <= t <= window_end]
        if len(trained) >= 2 and trained[-1][0] > trained[0][0]:
            play_rate.append((trained[-1][1] - trained[0][1]) / (trained[-1][0] - trained[0][0]))
        fps.append(len(inside) / (window_end - window_start))
        gaps += [(b - a) * 1e3 for a, b in itertools.pairwise(inside)]
        lags += [lag * 1e3 for at, lag in stats.lags if window_start <= at <= window_end]
        total_bytes += stats.bytes
        frames += len(stats.arrivals)
    return RoundResult(n, fps, gaps, lags, [s * 1e3 for s in latencies], total_bytes / max(frames, 1),
                       errors, 100 * (cpu_end - cpu_start) / (window_end - window_start),
                       100 * (own_end - own_start) / (window_end - window_start), rss, play_rate)


def start_server(port: int, data_dir: str, profile: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "STEPWISE_DATA_DIR": data_dir,
           "STEPWISE_SESSIONS_PER_CLIENT_PER_MINUTE": "100000",
           "STEPWISE_REQUESTS_PER_CLIENT_PER_SECOND": "100000", "STEPWISE_REQUESTS_BURST": "100000",
           "STEPWISE_MAX_SESSIONS_IN_MEMORY": "1000", "STEPWISE_STREAM_MAX_PER_CLIENT": "1000",
           "STEPWISE_STREAM_MAX_TOTAL": "1000"}
    command = (["-m", "app", "--port", str(port)] if profile is None else
               [str(ROOT / "bench" / "profiled_server.py"), "--port", str(port), "--out", profile])
    server = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/sessions/none", timeout=1).status_code in (404, 422):
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=20.0, help="play speed, units per second")
    parser.add_argument("--unit", default="batch")
    parser.add_argument("--hidden", nargs="*", default=["4,2"],
                        help="hidden layer sizes: 8,8,8,8,8,8 or 8 8 8 8 8 8 (default 4,2)")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, stats to FILE")
    parser.add_argument("--reader", choices=["raw", "httpx"], default="raw",
                        help="stream reader: a bare socket (default: little client CPU) or httpx's lines")
    args = parser.parse_args()
    args.hidden = [int(units) for token in args.hidden for units in token.split(",") if units]
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(port, data_dir, args.profile)
        try:
            print(f"server pid {server.pid} on 127.0.0.1:{port}; play {args.unit} at {args.speed}/s on "
                  f"[2,{','.join(map(str, args.hidden))},1]; {args.seconds:.0f} s per round; "
                  f"{STEP_SESSIONS} extra sessions step a batch every {STEP_INTERVAL * 1e3:.0f} ms")
            print(f"{'N':>5}{'fps/client mean':>17}{'p5':>7}{'gap p95 ms':>12}{'lag p95 ms':>12}"
                  f"{'step p50 ms':>13}{'p95':>8}{'B/frame':>9}{'errors':>8}{'server CPU':>12}"
                  f"{'client CPU':>12}{'CPU ms/frame':>14}{'RSS MB':>8}{'load avg':>10}{'batches/s':>11}")
            for n in args.sizes:
                load = os.getloadavg()[0]  # the machine's, before this round (the bench's own included)
                r = asyncio.run(one_round(f"http://127.0.0.1:{port}", server.pid, n, args.seconds,
                                          args.speed, args.unit, args.hidden, args.reader))
                print(f"{r.n:>5}{statistics.fmean(r.fps) if r.fps else 0:>17.1f}{p(r.fps, 0.05):>7.1f}"
                      f"{p(r.gaps_ms, 0.95):>12.0f}{p(r.lag_ms, 0.95):>12.0f}{p(r.step_ms, 0.5):>13.1f}"
                      f"{p(r.step_ms, 0.95):>8.1f}{r.frame_bytes:>9.0f}{len(r.errors):>8}"
                      f"{r.cpu_percent:>11.0f}%{r.client_cpu_percent:>11.0f}%"
                      f"{10 * r.cpu_percent / max(sum(r.fps), 1e-9):>14.2f}{r.rss_mb:>8.0f}{load:>10.1f}"
                      f"{statistics.fmean(r.play_rate) if r.play_rate else 0:>11.1f}", flush=True)
                if r.errors:
                    counts = {e: r.errors.count(e) for e in sorted(set(r.errors))}
                    print("      errors:", ", ".join(f"{e} ×{c}" for e, c in counts.items())[:300])
                if server.poll() is not None:
                    print(f"      the server exited with code {server.returncode}")
                    break
        finally:
            stop_server(server)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the server saves and lets go), then SIGKILL after 10 s."""
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


if __name__ == "__main__":
    main()
