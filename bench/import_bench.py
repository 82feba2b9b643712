"""Many big imports at once (Hardening II item 8): server memory, and how long another user's GET waits.

    OPENBLAS_NUM_THREADS=1 python bench/import_bench.py [--clients 40] [--path /api/sessions/import]

Starts `uvicorn app.main:create_app` on a free port (rate limits raised: this measures memory, not the
limiter), builds one export document of an 8 x 64 Adam run on 5,000 points (about 2 MB, what the issue
measured), then `--clients` clients import it at once while one more client GETs /healthz in a loop.
Prints the server's resident memory before and at its peak (VmHWM), the slowest /healthz answer during the
imports against the median one before them (a ratio, same process, same machine), and the statuses.
Issue 19's figures before the fix: 40 concurrent 2 MB imports took the server from 114 to 704 MB and
stalled another user's GET for 3.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data import DataConfig  # noqa: E402
from engine.network import LayerConfig  # noqa: E402
from engine.optim import OptimizerConfig  # noqa: E402
from engine.serialize import export_run  # noqa: E402
from engine.stepper import Run, RunConfig  # noqa: E402
from tests.app.test_stream import start_server, stop_server  # noqa: E402


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def document() -> bytes:
    run = Run(RunConfig(dataset=DataConfig(name="circle", n_samples=5000),
                        hidden=tuple(LayerConfig(64) for _ in range(8)),
                        optimizer=OptimizerConfig(kind="adam", learning_rate=0.001)))
    run.step("batch", 3)
    return json.dumps(export_run(run)).encode()


async def measure(url: str, body: bytes, clients: int, path: str) -> tuple[list[int | str], float, float]:
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        quiet = []
        for _ in range(20):
            started = time.perf_counter()
            await http.get("/healthz")
            quiet.append(time.perf_counter() - started)
        done = False
        slowest = 0.0

        async def probe() -> None:
            nonlocal slowest
            while not done:
                started = time.perf_counter()
                await http.get("/healthz")
                slowest = max(slowest, time.perf_counter() - started)
                await asyncio.sleep(0.05)

        async def one(k: int) -> int | str:
            async with httpx.AsyncClient(base_url=url, timeout=300) as own:
                try:
                    if path == "/ui/import":
                        upload = {"file": ("run.json", body, "application/json")}
                        response = await own.post(path, files=upload)
                    else:
                        response = await own.post(path, content=body,
                                                  headers={"content-type": "application/json"})
                except httpx.HTTPError as error:
                    return type(error).__name__
                return response.status_code

        prober = asyncio.create_task(probe())
        statuses = await asyncio.gather(*(one(k) for k in range(clients)))
        done = True
        await prober
        return list(statuses), statistics.median(quiet), slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--path", default="/ui/import", choices=["/ui/import", "/api/sessions/import"])
    args = parser.parse_args()
    body = document()
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch), sessions_per_client_per_minute="100000",
                              requests_per_client_per_second="100000", requests_burst="100000",
                              requests_per_address_per_second="100000", requests_address_burst="100000")
        try:
            pid = server.process.pid
            before = status_kib(pid, "VmRSS")
            statuses, quiet, slowest = asyncio.run(measure(server.url, body, args.clients, args.path))
            peak = status_kib(pid, "VmHWM")
            after = status_kib(pid, "VmRSS")
        finally:
            stop_server(server)
    counts = {code: statuses.count(code) for code in sorted(set(statuses), key=str)}
    print(f"{args.clients} imports of {len(body) / 1e6:.2f} MB at once to {args.path}; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  server memory: {before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB, "
          f"{after / 1024:.0f} MB after (+{(peak - before) / 1024:.0f} MB at the peak)")
    print(f"  another user's GET /healthz: median {quiet * 1e3:.1f} ms before, slowest during "
          f"{slowest * 1e3:.0f} ms ({slowest / quiet:.0f}x)")
    print(f"  statuses: {counts}")


if __name__ == "__main__":
    main()
