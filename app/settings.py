"""Server settings, read from the environment with the prefix STEPWISE_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "stepwise"


class Settings(BaseSettings):
    """Every knob the server has; each can be set as STEPWISE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="STEPWISE_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Field(default_factory=_default_data_dir)
    templates_dir: Path = ROOT / "templates"
    lessons_dir: Path = ROOT / "lessons"  # the built-in lessons (app/lessons.py); uploads go to data_dir
    static_dir: Path = ROOT / "static"

    # Caps (issue 6): past one of these the API answers 429 or 422 and nothing is lost.
    max_sessions_in_memory: int = Field(default=200, ge=1)
    # A classroom behind one NAT address opens ~30 pages at once (each GET / makes a session).
    sessions_per_client_per_minute: int = Field(default=120, ge=1)
    max_hidden_layers: int = Field(default=8, ge=1, le=8)
    max_units: int = Field(default=64, ge=1, le=64)
    max_samples: int = Field(default=5000, ge=10)
    max_upload_bytes: int = Field(default=1_000_000, ge=1024)
    max_body_bytes: int = Field(default=2_000_000, ge=4096)  # any request body but an import
    # An import (page or API) takes what export writes: 8 x 64 maxout units with 4 pieces, Adam and 5,000
    # points export ~5 MB (measured), an 8 x 64 tanh Adam run ~2 MB.
    max_import_bytes: int = Field(default=8_000_000, ge=4096)
    max_step_count: int = Field(default=1000, ge=1)
    # Rewind history (engine/history.py): bytes of exact snapshots one session keeps, and all sessions
    # of the process together; past either the oldest points go (a big network keeps fewer points).
    history_bytes_per_session: int = Field(default=16 * 2**20, ge=2**20)
    history_bytes_total: int = Field(default=512 * 2**20, ge=2**20)
    # Training time one step request may take (the rest of a big count is cut; the state says where).
    step_budget_seconds: float = Field(default=5.0, gt=0)
    # Every /api and /ui request (app/security.py): per client (its owner key, else its address) ...
    requests_per_client_per_second: float = Field(default=100.0, gt=0)
    requests_burst: int = Field(default=400, ge=1)
    # ... and per address as a backstop: 60 students x 2 tabs behind one school address, each tab
    # stepping by hand about 8 times a second at most.
    requests_per_address_per_second: float = Field(default=1000.0, gt=0)
    requests_address_burst: int = Field(default=4000, ge=1)
    # Every client together at one run (its owner, followers, whoever has its link): a run's owner steps
    # and plays well within this; a crowd at one run is refused before it slows the owner down.
    requests_per_run_per_second: float = Field(default=200.0, gt=0)
    requests_run_burst: int = Field(default=800, ge=1)
    idle_ttl_seconds: float = Field(default=1800.0, gt=0)
    # Saved sessions untouched this long are deleted (app/store.py; never-trained ones after a day).
    keep_sessions_days: float = Field(default=30.0, gt=0)
    save_interval_seconds: float = Field(default=5.0, gt=0)
    # Several processes (docs/scaling.md): a PostgreSQL URL (postgresql://user:password@host/db) makes it
    # the shared store instead of the SQLite file in data_dir, and a run is owned by one process at a
    # time through a lease (app/leases.py) renewed every lease_seconds / 4; a process that dies loses
    # its runs to the others after at most lease_seconds.
    database_url: str | None = Field(default=None, pattern=r"^postgres(ql)?://")
    lease_seconds: float = Field(default=10.0, ge=1.0)
    stream_max_fps: float = Field(default=20.0, gt=0, le=60)
    stream_maps_fps: float = Field(default=4.0, gt=0, le=20)
    stream_ping_seconds: float = Field(default=15.0, gt=0)
    stream_send_timeout_seconds: float = Field(default=10.0, gt=0)
    # A stream ends after this long (the page's EventSource reconnects and gets a snapshot: nothing is
    # lost), so a client that opened streams and never reads cannot hold its slots for ever.
    stream_max_seconds: float = Field(default=600.0, gt=0)

    # Connections (app/connections.py, passed to uvicorn by the `stepwise` command): request head size,
    # idle keep-alive, and deadlines to send a request head and a request body.
    max_header_bytes: int = Field(default=64 * 1024, ge=4096)
    keep_alive_seconds: int = Field(default=5, ge=1)
    request_head_timeout_seconds: float = Field(default=10.0, gt=0)
    request_body_timeout_seconds: float = Field(default=60.0, gt=0)
    # Open SSE streams (app/limits.py StreamSlots): past either cap a new stream is a 429 naming it. A
    # class behind one NAT address is 60 students with two tabs each, plus a presented run's followers
    # and the teacher's dashboard (one stream for all its tiles).
    stream_max_per_client: int = Field(default=200, ge=1)
    stream_max_total: int = Field(default=400, ge=1)

    # Adaptive frame rate (app/limits.py FrameRate): every `load_window_seconds` the server measures its
    # own CPU (1.0 = one core) and how late the event loop wakes; over `load_cpu_high` or
    # `load_lag_high_seconds` it lowers every stream's and play tick's rate in proportion (never below
    # `stream_min_fps`), under `load_cpu_low` (and half the lag) it raises it again up to stream_max_fps.
    # Below `load_min_ticks_per_second` play ticks in all, streaming is too small a share to cut.
    stream_min_fps: float = Field(default=10.0, gt=0, le=60)
    load_window_seconds: float = Field(default=1.0, gt=0)
    load_cpu_high: float = Field(default=0.95, gt=0)
    load_cpu_low: float = Field(default=0.75, gt=0)
    load_lag_high_seconds: float = Field(default=0.04, gt=0)
    load_min_ticks_per_second: float = Field(default=200.0, ge=0)
    # Past that, with frames at stream_min_fps and the overload still on, every run plays slower (down to
    # this share of its chosen speed) rather than sending its frames later; clicks stay fast.
    load_min_play_share: float = Field(default=0.5, gt=0, le=1)
    # Play ticks taking this many times their interval (1.25: 25 % behind schedule) count as overload too:
    # a process that gets less than a core (processes and a proxy sharing the cores) falls behind long
    # before its own CPU share reaches load_cpu_high (measured: 87 % of a core, ticks ~1.7x late).
    load_tick_lateness_high: float = Field(default=1.25, gt=1)


def get_settings() -> Settings:
    return Settings()
