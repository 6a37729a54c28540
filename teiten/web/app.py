"""The web UI and JSON API of the incident database (``teiten serve``): FastAPI with
server-rendered Jinja2 templates (autoescaped: report text is shown as text) and a
stylesheet shipped with teiten (no CDN).

``create_app`` holds the settings, the session policy (:mod:`teiten.web.sessions`), the
templates and the error pages; the routes are in :mod:`teiten.web.auth` (sign-in, sign-out),
:mod:`teiten.web.views.incidents` (the pages) and :mod:`teiten.web.views.api` (the API),
and read the database through :func:`teiten.web.context.web`. docs/incidents.md has the
pages, the roles and the API.
"""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from teiten.engine.choice import EngineChoice
from teiten.incidents.db import IncidentDB, open_db
from teiten.incidents.taxonomy import (
    BRAND_ORIGINS,
    CATEGORIES,
    CHANNELS,
    COORDINATION_STATUSES,
    INCIDENT_STATUSES,
    category,
)
from teiten.web import auth, guards
from teiten.web.context import WebContext, render, web
from teiten.web.observing import Observing
from teiten.web.sessions import SessionPolicy, check_secret
from teiten.web.views import api, incidents, observe_api, observe_findings, observe_pages, schema

__all__ = ["create_app"]


def create_app(db: IncidentDB | str, *, secret: str | None = None, tz: str = "UTC",
               secure_cookies: bool | None = None, store: Path | None = None,
               engine: EngineChoice | None = None) -> FastAPI:
    """The app over ``db`` (an open database or its URL). ``secret``, at least 32 random
    bytes as hex or URL-safe base64 (SettingError otherwise), signs the sign-in form's CSRF
    token (default: random, so a sign-in page opened before a restart must be reloaded);
    ``tz`` is the zone of times entered without one and of the statistics when a request
    names none; ``secure_cookies`` makes the cookies Secure (None: unless a request comes
    over plain HTTP to a loopback address); ``store`` the store whose observation the
    dashboard shows. The session timeouts are the settings ``session_idle_minutes`` and
    ``session_max_hours``."""
    policy = SessionPolicy.from_settings(check_secret(secret) if secret is not None else secrets.token_bytes(32),
                                         secure_cookies)
    app = FastAPI(title="teiten incidents", docs_url=None, redoc_url=None, openapi_url=None)  # views.schema serves it
    app.state.web = WebContext(db=open_db(db) if isinstance(db, str) else db, tz=tz, templates=_templates(),
                               sessions=policy, observing=Observing(store, engine) if store is not None else None)
    app.mount("/static", StaticFiles(directory=str(resources.files("teiten.web") / "static")), name="static")
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(RequestValidationError)(_invalid)
    app.include_router(auth.router)
    app.include_router(incidents.router)
    app.include_router(api.router)
    app.include_router(schema.router)
    app.include_router(observe_findings.router)
    app.include_router(observe_api.router)
    app.include_router(observe_pages.router)
    guards.install(app)  # security headers and body limits, outside every other middleware
    return app


def _templates() -> Jinja2Templates:
    # autoescape everywhere: the default picks it by the file's suffix, and ours end in .j2
    templates = Jinja2Templates(env=Environment(
        loader=FileSystemLoader(str(resources.files("teiten.web") / "templates")), autoescape=True),
        context_processors=[auth.csrf_context])
    templates.env.globals.update(categories=CATEGORIES, statuses=INCIDENT_STATUSES, channels=CHANNELS,
                                 origins=BRAND_ORIGINS, coordination_statuses=COORDINATION_STATUSES,
                                 category_name=lambda code: category(code).name_en)
    return templates


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc[1:]) or str(loc[0]) if loc else "request"


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """422 for a parameter or body that does not fit (FastAPI's validation), as the other
    errors are written: which field and why, never the value sent back."""
    said = sorted({f"{_field(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in exc.errors()})
    return await _http_error(request, HTTPException(422, "; ".join(said)[:500]))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """A redirect for 303 (to sign in), ``{"error": ...}`` under /api/, else the error page."""
    if exc.status_code == 303 and exc.headers:
        return RedirectResponse(exc.headers["Location"], 303)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)
    return render(request, "error.html.j2", auth.session_user(request, web(request)), exc.status_code,
                  message=exc.detail)
