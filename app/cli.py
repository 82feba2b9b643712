"""The `stepwise` console command: parse host/port flags and serve the app with uvicorn."""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import threading
import webbrowser
from collections.abc import Sequence

# OpenBLAS with 2 threads on a 2-vCPU machine is ~80x slower for the thin matrices a small network
# multiplies (measured: 6 ms vs 75 µs per product). The limit only takes effect if it is in the environment
# before numpy is first imported, so nothing here imports numpy or app.main at module level.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# With an SSE stream open, uvicorn waits for it to finish before exiting; cap that wait so SIGTERM
# (docker stop, Ctrl-C) ends the server within a couple of seconds.
GRACEFUL_SHUTDOWN_SECONDS = 2


# flag -> (setting, type, help): the connection limits (app/connections.py); a flag wins over the setting
CONNECTION_FLAGS: dict[str, tuple[str, type, str]] = {
    "--max-header-bytes": ("max_header_bytes", int, "largest request head in bytes"),
    "--keep-alive-seconds": ("keep_alive_seconds", int, "idle seconds before a kept-alive socket closes"),
    "--head-timeout-seconds": ("request_head_timeout_seconds", float, "seconds to send a request head"),
    "--body-timeout-seconds": ("request_body_timeout_seconds", float, "seconds to send a request body"),
}


def limit_blas_threads() -> None:
    """Run BLAS single-threaded unless the user already chose a thread count."""
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


# glibc gives every freed block over 128 kB back to the kernel, so each new array that large costs fresh
# page faults, which are slow on a VM like this one: a chain of five NumPy operations on 147k floats (a
# 64-unit layer's heat-map grid) took 1.5 ms, 0.14 ms with freed memory kept (bench/README.md). Keep it in
# the heap: map new blocks only past 64 MB, trim only past 128 MB (RSS stays at its high-water mark).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, glibc's malloc.h
KEEP_BELOW_BYTES, TRIM_ABOVE_BYTES = 64 << 20, 128 << 20


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse; False (nothing changed) on another libc."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    kept = mallopt(M_MMAP_THRESHOLD, KEEP_BELOW_BYTES)
    return bool(kept) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_ABOVE_BYTES))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="stepwise", description="Serve Stepwise, the step-by-step neural network playground."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument("--reload", action="store_true", help="restart when a source file changes")
    for flag, (setting, kind, what) in CONNECTION_FLAGS.items():
        parser.add_argument(flag, type=kind, default=None, metavar="N",
                            help=f"{what} (default: STEPWISE_{setting.upper()} or the built-in value)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be between 1 and 65535, got {args.port}")
    return args


def page_url(host: str, port: int) -> str:
    """The address a browser on this machine should open (0.0.0.0 is not a place to browse to)."""
    browse_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in browse_host:
        browse_host = f"[{browse_host}]"
    return f"http://{browse_host}:{port}/"


def check_store() -> None:
    """Open the session store once before serving, so a data directory that cannot be written stops the
    command with one line naming it instead of a traceback from the app factory."""
    from app import backends  # pydantic, sqlite3 and psycopg only: numpy is still not imported
    from app.settings import get_settings
    from app.store import StoreUnavailableError

    try:
        backends.check(get_settings())
    except StoreUnavailableError as error:
        print(f"stepwise: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from error


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    limit_blas_threads()
    keep_freed_memory()
    for flag, (setting, _, _) in CONNECTION_FLAGS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:  # through the environment, so a --reload worker process reads it too
            os.environ[f"STEPWISE_{setting.upper()}"] = str(value)
    check_store()
    from app.settings import get_settings

    settings = get_settings()
    import uvicorn  # after the BLAS limit: uvicorn's import of the app factory pulls numpy in

    if args.open:
        # Give the server a moment to bind before the browser asks for the page.
        threading.Timer(1.0, webbrowser.open, args=(page_url(args.host, args.port),)).start()
    print(f"Stepwise on {page_url(args.host, args.port)}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # h11 (not httptools) so the head size is capped; with deadlines for heads and bodies
        http="app.connections:GuardedH11Protocol",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_seconds,
    )
