"""Keeps run ids and share/class codes out of uvicorn's access log (it prints each request's path).

A run id in a log line is enough to watch that run, and a class code enough to join the class; an
operator reading logs needs neither. The filter rewrites the path argument of uvicorn's access record.
"""

from __future__ import annotations

import logging
import re

# run ids: 32 URL-safe characters (app/sessions.py); any longer token too (owner keys never travel in
# URLs, but a client might put one there by mistake); codes after /s/, /c/, /p/ (app/snapshots.py).
_ID = re.compile(r"[A-Za-z0-9_-]{32,}")
_CODE = re.compile(r"(/(?:s|c|p|class|present)/)[A-Za-z0-9-]+")


def redact(path: str) -> str:
    return _CODE.sub(r"\1…", _ID.sub("…", path))


class RedactPaths(logging.Filter):
    """uvicorn.access records are ('%s - "%s %s HTTP/%s" %d', client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once (create_app may run several times in a process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactPaths) for f in logger.filters):
        logger.addFilter(RedactPaths())
