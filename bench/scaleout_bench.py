"""The load sweep of bench/load_bench.py through HAProxy, with 1 and then 2 stepwise processes sharing a
real PostgreSQL (tests/scaleout/cluster.py starts them: deploy/haproxy.cfg, Debian's PostgreSQL 15).

Run: OPENBLAS_NUM_THREADS=1 python bench/scaleout_bench.py [--sizes 100 200 300] [--seconds 10]
Prints per N and per process count: frames/s per client, p95 frame lag, p95 step latency, errors, the
batches each playing run trained per second (asked: 20), the processes' CPU (100 % = one core) and the
2-process figures as ratios of the 1-process ones measured in this same run. The load client, HAProxy
and PostgreSQL share the machine's cores with the servers, and other jobs on the machine change every
figure: the load average is printed beside each round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_bench import RoundResult, one_round, p  # noqa: E402
from tests.pg_server import PostgresServer  # noqa: E402
from tests.scaleout.cluster import Cluster  # noqa: E402

# every client shares 127.0.0.1 (load_bench.py's raised caps), plus what several processes need
BENCH_ENV = {"sessions_per_client_per_minute": "100000", "requests_per_client_per_second": "100000",
             "requests_burst": "100000", "max_sessions_in_memory": "1000", "stream_max_per_client": "1000",
             "stream_max_total": "1000"}


def row(label: str, r: RoundResult, load: float) -> str:
    return (f"{label:>14}{r.n:>5}{statistics.fmean(r.fps) if r.fps else 0:>10.1f}{p(r.fps, 0.05):>7.1f}"
            f"{p(r.lag_ms, 0.95):>12.0f}{p(r.step_ms, 0.95):>13.1f}{len(r.errors):>8}"
            f"{r.cpu_percent:>11.0f}%{r.rss_mb:>9.0f}{load:>10.1f}"
            f"{statistics.fmean(r.play_rate) if r.play_rate else 0:>11.1f}")


def shed(cluster: Cluster) -> str:
    """Each process's frame rate and play-speed share (its /healthz "load", app/limits.py FrameRate)."""
    parts = []
    for name, app in cluster.apps.items():
        try:
            with urllib.request.urlopen(f"{app.url}/healthz", timeout=5) as answer:
                load = json.loads(answer.read())["load"]
            fps, share = load['frames_per_second'], load['play_speed_share']
            parts.append(f"{name} {fps:g} frames/s, speed x{share:g}")
        except (OSError, KeyError, ValueError) as error:
            parts.append(f"{name} ? ({type(error).__name__})")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 300])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    server = PostgresServer()
    server.start()
    results: dict[tuple[int, int], RoundResult] = {}
    try:
        print(f"{'processes':>14}{'N':>5}{'fps/client':>10}{'p5':>7}{'lag p95 ms':>12}{'step p95 ms':>13}"
              f"{'errors':>8}{'server CPU':>12}{'RSS MB':>9}{'load avg':>10}{'batches/s':>11}", flush=True)
        for count in args.processes:
            with tempfile.TemporaryDirectory() as work:
                names = tuple(f"app{i + 1}" for i in range(count))
                cluster = Cluster(Path(work), server.database(), names=names,
                                  env={f"STEPWISE_{k.upper()}": v for k, v in BENCH_ENV.items()})
                cluster.start()
                try:
                    pids = [app.process.pid for app in cluster.apps.values() if app.process is not None]
                    for n in args.sizes:
                        load = os.getloadavg()[0]
                        r = asyncio.run(one_round(cluster.url, pids, n, args.seconds, 20.0, "batch", [4, 2]))
                        results[(count, n)] = r
                        print(row(f"{count} via proxy", r, load), flush=True)
                        print("      load control as the round ended:", shed(cluster), flush=True)
                        if r.errors:
                            kinds = {e: r.errors.count(e) for e in sorted(set(r.errors))}
                            print("      errors:", ", ".join(f"{e} ×{c}" for e, c in kinds.items())[:300])
                finally:
                    cluster.stop()
        base = min(args.processes)
        for count in args.processes:
            if count == base:
                continue
            for n in args.sizes:
                one, more = results.get((base, n)), results.get((count, n))
                if one and more and one.fps and more.fps:
                    print(f"N={n}: {count} processes / {base}: frames/s per client "
                          f"x{statistics.fmean(more.fps) / max(statistics.fmean(one.fps), 1e-9):.2f}, "
                          f"p95 lag x{p(more.lag_ms, 0.95) / max(p(one.lag_ms, 0.95), 1e-9):.2f}, "
                          f"p95 step x{p(more.step_ms, 0.95) / max(p(one.step_ms, 0.95), 1e-9):.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
