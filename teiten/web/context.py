"""What every request of the web app reads: the incident database, the server's zone, the
templates, the session policy and the sign-in throttle (one :class:`WebContext` on
``app.state.web``, set by ``create_app``), and ``render``, which shows a template with the
signed-in user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from teiten.incidents.db import IncidentDB
from teiten.incidents.models import User
from teiten.web.observing import Observing
from teiten.web.sessions import SessionPolicy
from teiten.web.throttle import SignInThrottle

__all__ = ["WebContext", "observing_of", "render", "web"]


@dataclass(frozen=True)
class WebContext:
    """The state of one app: ``tz`` is the zone of times entered without one and of the
    statistics when a request names none (``teiten serve --tz``); ``sessions`` how sessions
    and their cookies work; ``throttle`` the sign-in limits; ``observing`` the store the
    observation pages read."""

    db: IncidentDB
    tz: str
    templates: Jinja2Templates
    sessions: SessionPolicy
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    observing: Observing | None = None  # the store of the observation pages (teiten serve --store)


def web(request: Request) -> WebContext:
    """The app's context (a dependency: ``ctx: WebContext = Depends(web)``)."""
    ctx: WebContext = request.app.state.web
    return ctx


def observing_of(request: Request) -> Observing:
    """The store the observation pages and answers read (404 on a server without one)."""
    got = web(request).observing
    if got is None:
        raise HTTPException(404, "no store: this server shows no observation (teiten serve --store)")
    return got


def render(request: Request, name: str, user: User | None, status: int = 200, **values: Any) -> HTMLResponse:
    """The page ``name`` for ``user`` (``None``: signed out); the templates' context
    processor adds the session's CSRF token (:func:`teiten.web.auth.csrf_context`)."""
    return web(request).templates.TemplateResponse(request, name, {"user": user, **values}, status_code=status)
