"""Which of the project's files one click runs through: docs/architecture.md "Follow one click".

Profiles a micro-step POST /ui/{sid}/step inside a batch (and the first micro-step of a batch) through
the app in process, in every thread, and lists each project file whose code ran. The page's open stream
adds app/routes/stream.py (frames_for; app/broadcast.py is already on the list). Not a speed figure.

    python bench/click_path.py
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import limit_blas_threads  # noqa: E402

limit_blas_threads()

from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

seen: set[str] = set()
recording = False


def profile(frame: FrameType, event: str, arg: Any) -> None:
    if recording and event == "call":
        name = frame.f_code.co_filename
        if name.startswith(str(ROOT)) and os.sep + "tests" + os.sep not in name:
            seen.add(os.path.relpath(name, ROOT))


def files_of_one_click(client: TestClient, sid: str) -> list[str]:
    global recording
    seen.clear()
    recording = True
    response = client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    recording = False
    assert response.status_code == 200, response.text
    return sorted(seen)


def main() -> None:
    threading.setprofile(profile)  # the portal thread and worker threads start after this
    sys.setprofile(profile)
    with tempfile.TemporaryDirectory() as scratch, \
            TestClient(create_app(Settings(data_dir=Path(scratch)))) as client:
        page = client.get("/?hidden=4,2&batch=10").text
        match = re.search(r'data-session="([^"]+)"', page)
        assert match is not None
        sid = match[1]
        first = files_of_one_click(client, sid)  # the batch's trace, update and sequence are computed
        for _ in range(3):
            client.post(f"/ui/{sid}/step", data={"unit": "micro"})
        inside = files_of_one_click(client, sid)
    for title, files in (("a micro-step inside a batch", inside), ("the first micro-step of a batch", first)):
        python = [f for f in files if f.endswith(".py")]
        print(f"{title}: {len(python)} Python files (+ app/routes/stream.py for the stream: "
              f"{len(python) + 1}), {len(files) - len(python)} template(s)")
        for name in files:
            print(f"  {name}")


if __name__ == "__main__":
    main()
