"""`python -m app` under cProfile, for bench/load_bench.py --profile: stats written when the server stops.

uvicorn re-raises the signal that stopped it once it has shut down, which would end the process before
cProfile writes anything; this server just stops on SIGTERM/SIGINT and returns, so the stats get written.
Only the event-loop thread is profiled (play ticks and small calls run there; worker-thread work shows as
the time the loop waited for it). Times are the loop thread's CPU time (time.thread_time).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cli import keep_freed_memory, limit_blas_threads  # after the path: the repository's app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, help="file for the pstats data")
    args = parser.parse_args()
    limit_blas_threads()
    keep_freed_memory()
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            def stop(*_: object) -> None:
                self.should_exit = True

            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, stop)
            yield

    config = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1", port=args.port,
                            log_level="warning", timeout_graceful_shutdown=2)
    profiler = cProfile.Profile(time.thread_time)  # CPU time: waits for the GIL or a core do not count
    profiler.enable()
    try:
        Server(config).run()
    finally:
        profiler.disable()
        profiler.dump_stats(args.out)


if __name__ == "__main__":
    main()
