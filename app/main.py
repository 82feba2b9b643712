"""Builds the Stepwise FastAPI application: static files, templates, routers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2_fragments.fastapi import Jinja2Blocks

from app import __version__, access_log, ownership
from app.limits import BodySizeLimit, InteractiveFirst
from app.live_inspector import LiveInspector
from app.routes import api, api_docs, classes, graph, pages, sharing, stream
from app.security import RateLimit, SecurityHeaders
from app.sessions import SessionManager
from app.settings import Settings, get_settings
from app.store import SQLiteStore


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return a fresh app; tests pass their own settings (e.g. a temporary data dir)."""
    settings = settings or get_settings()
    # /docs is ours (app/routes/api_docs.py): FastAPI's loads Swagger UI from a CDN with an inline script.
    app = FastAPI(title="Stepwise", version=__version__, lifespan=api.lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    store = SQLiteStore(settings.data_dir / "sessions.sqlite3", keep_days=settings.keep_sessions_days)
    app.state.sessions = SessionManager(settings, store)
    ownership.add_owner_checks(app, store)  # every write route checks the run's owner key
    sharing.add_sharing(app, store)  # snapshots behind short codes (/s/CODE)
    classes.add_classes(app, store)  # presenting (/p/CODE), classes, hand-ins
    access_log.install()  # run ids and codes stay out of uvicorn's access log
    app.add_middleware(InteractiveFirst, priority=app.state.sessions.priority)  # play ticks wait for it
    app.add_middleware(BodySizeLimit, cap=settings.max_body_bytes)
    # Added last = outermost: refusals (413, 429) carry the security headers too.
    app.add_middleware(RateLimit, per_second=settings.requests_per_client_per_second,
                       burst=settings.requests_burst,
                       address_per_second=settings.requests_per_address_per_second,
                       address_burst=settings.requests_address_burst)
    app.add_middleware(SecurityHeaders)
    api.add_error_handlers(app)
    pages.add_error_handlers(app)  # /ui refusals as HTML fragments, the rest as the API answers them
    # One Jinja environment for full pages and their fragments (jinja2-fragments renders single blocks).
    app.state.templates = Jinja2Blocks(directory=settings.templates_dir)
    app.state.live_inspector = LiveInspector(app.state.templates)  # the stream carries it while live
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    api_docs.mount_swagger_files(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # --- routers: one include_router line per routes/ module ---
    app.include_router(pages.router)
    app.include_router(graph.router)
    app.include_router(api.router)
    app.include_router(sharing.router)
    app.include_router(classes.router)
    app.include_router(stream.router)
    app.include_router(api_docs.router)
    # --- end of routers ---

    return app
