"""Builds the Stepwise FastAPI application: static files, templates, routers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2_fragments.fastapi import Jinja2Blocks

from app import __version__, access_log, i18n, ownership
from app.backends import Backends
from app.compare import StoredRuns
from app.comparisons import Comparisons
from app.dashboard_fanout import RemoteTiles
from app.limits import BodySizeLimit
from app.live_inspector import LiveInspector
from app.methods import HeadAsGet, add_method_handlers
from app.routes import (
    api,
    api_docs,
    classes,
    compare,
    files,
    graph,
    language,
    lessons,
    pages,
    sharing,
    stream,
)
from app.security import RateLimit, SecurityHeaders
from app.sessions import SessionManager
from app.settings import Settings, get_settings
from engine import history


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return a fresh app; tests pass their own settings (e.g. a temporary data dir)."""
    settings = settings or get_settings()
    # /docs is ours (app/routes/api_docs.py): FastAPI's loads Swagger UI from a CDN with an inline script.
    app = FastAPI(title="Stepwise", version=__version__, lifespan=api.lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    # process-wide, like the memory they bound: every Run made from now on reads them (engine/history.py)
    history.DEFAULT_RUN_BYTES = settings.history_bytes_per_session
    history.SHARED_BUDGET.total_bytes = settings.history_bytes_total
    chosen = Backends(settings)  # SQLite, or PostgreSQL with leases (STEPWISE_DATABASE_URL)
    store = chosen.store
    app.state.sessions = SessionManager(settings, store, leases=chosen.leases)
    # the class dashboard's tiles of runs other processes hold (PostgreSQL only)
    app.state.remote_tiles = None if chosen.bus is None else RemoteTiles(chosen.bus, app.state.sessions)
    ownership.add_owner_checks(app, store)  # every write route checks the run's owner key
    sharing.add_sharing(app, store)  # snapshots behind short codes (/s/CODE)
    classes.add_classes(app, store)  # presenting (/p/CODE), classes, hand-ins
    access_log.install()  # run ids and codes stay out of uvicorn's access log
    app.add_middleware(HeadAsGet)  # innermost: HEAD runs as GET everywhere, its body dropped
    imports = {path: settings.max_import_bytes for path in ("/api/sessions/import", "/ui/import")}
    app.add_middleware(BodySizeLimit, cap=settings.max_body_bytes, larger=imports)
    # Added last = outermost: refusals (413, 429) carry the security headers too.
    app.add_middleware(RateLimit, per_second=settings.requests_per_client_per_second,
                       burst=settings.requests_burst,
                       address_per_second=settings.requests_per_address_per_second,
                       address_burst=settings.requests_address_burst,
                       run_per_second=settings.requests_per_run_per_second,
                       run_burst=settings.requests_run_burst,
                       # the session manager's clock, as its own creation bucket's: a test moves both
                       clock=lambda: app.state.sessions.clock.time())
    # the request's language, for every template and message (a 429's and a 413's words too)
    app.add_middleware(i18n.Language)
    app.add_middleware(SecurityHeaders)
    api.add_error_handlers(app)
    add_method_handlers(app)  # a 405 lists every method of the path
    pages.add_error_handlers(app)  # /ui refusals as HTML fragments, the rest as the API answers them
    # One Jinja environment for full pages and their fragments (jinja2-fragments renders single blocks).
    app.state.templates = Jinja2Blocks(directory=settings.templates_dir)
    i18n.install(app.state.templates.env)
    app.state.templates.env.globals["js_messages"] = i18n.js_messages
    app.state.live_inspector = LiveInspector(app.state.templates)  # the stream carries it while live
    lessons.add_lessons(app, settings, store)  # lessons/ and uploaded ones, progress kept with each run
    app.state.comparisons = Comparisons(store)  # runs pinned side by side, in the store's records
    app.state.compared_runs = StoredRuns()  # each compared run read where it is (app/compare.py)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    api_docs.mount_swagger_files(app)

    @app.get("/healthz", responses={503: {"description": "degraded: the session store cannot be written"}})
    async def healthz() -> JSONResponse:
        """200 {"status": "ok"}; 503 {"status": "degraded", "detail": ...} while saves fail (a full or
        read-only disk), so a container's health check and a load balancer see it."""
        sessions = app.state.sessions
        problem = sessions.store_error
        process = sessions.leases.holder  # which process answered (behind a proxy)
        # what load control sheds now (app/limits.py FrameRate): frames per second of every stream, and
        # the share of its chosen speed every run plays at (1 unless overloaded past the frame floor)
        load = {"frames_per_second": round(sessions.rate.fps, 1),
                "play_speed_share": round(sessions.rate.play_share, 2)}
        if problem is None:
            return JSONResponse({"status": "ok", "version": __version__, "process": process, "load": load})
        return JSONResponse({"status": "degraded", "version": __version__, "process": process, "load": load,
                             "detail": "sessions cannot be saved to disk; changes are kept in memory"},
                            status_code=503)

    # --- routers: one include_router line per routes/ module ---
    app.include_router(pages.router)
    app.include_router(files.router)
    app.include_router(graph.router)
    app.include_router(lessons.router)
    app.include_router(compare.router)
    app.include_router(api.router)
    app.include_router(sharing.router)
    app.include_router(classes.router)
    app.include_router(stream.router)
    app.include_router(api_docs.router)
    app.include_router(language.router)
    # --- end of routers ---

    return app
