"""Builds the Stepwise FastAPI application: static files, templates, routers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return a fresh app; tests pass their own settings (e.g. a temporary data dir)."""
    settings = settings or get_settings()
    app = FastAPI(title="Stepwise", version=__version__)
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
