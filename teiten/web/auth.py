"""Who is asking: sign-in and sign-out, the signed session cookie (``teiten_session``,
holding the user's id and the CSRF token), the signed-in user of a page, the roles that
may change things, and the bearer tokens of the API (``teiten incidents token new NAME``).

Roles (docs/incidents.md): ``viewer`` reads; ``handler`` also files reports and records
coordinations; ``admin`` everything. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from teiten.incidents.models import User
from teiten.incidents.users import token_access, verify
from teiten.web.context import WebContext, render, web

__all__ = ["EDITOR_ROLES", "any_token", "api_access", "can_edit", "check_csrf", "csrf_context", "csrf_token", "editor",
           "intake_token", "page_user", "read_token", "router", "session_user"]

EDITOR_ROLES = ("admin", "handler")

router = APIRouter()


def can_edit(user: User) -> bool:
    """Whether ``user`` may file reports, record coordinations and set statuses."""
    return user.role in EDITOR_ROLES


def session_user(request: Request, ctx: WebContext = Depends(web)) -> User | None:
    """The active user the session cookie names, if any."""
    uid = request.session.get("uid")
    if uid is None:
        return None
    with ctx.db.session() as s:
        u = s.get(User, uid)
        return u if u is not None and u.active else None


def page_user(request: Request, user: User | None = Depends(session_user)) -> User:
    """The signed-in user of a page; without one, a redirect to the sign-in page and back."""
    if user is None:
        raise HTTPException(303, headers={"Location": "/login?" + urlencode({"next": request.url.path})})
    return user


def editor(request: Request, user: User = Depends(page_user)) -> User:
    """The signed-in user of a page that changes something (403 for viewers)."""
    if not can_edit(user):
        raise HTTPException(403, "viewers cannot change anything")
    return user


def api_access(scope: str | None) -> Callable[[Request, WebContext], User]:
    """A dependency: the user of the request's ``Authorization: Bearer <token>`` when the
    token may do ``scope`` (``intake``, ``read``; None: any). 401 without a valid token
    (unknown, expired, revoked, or its user disabled); 403 when its scope lacks ``scope``."""

    def token_holder(request: Request, ctx: WebContext = Depends(web)) -> User:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise HTTPException(401, "Authorization: Bearer <token> required", headers={"WWW-Authenticate": "Bearer"})
        with ctx.db.session() as s:
            got = token_access(s, auth[7:].strip())
        if got is None:
            raise HTTPException(401, "unknown, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
        user, scopes = got
        if scope is not None and scope not in scopes:
            raise HTTPException(403, f"this token's scope is {','.join(sorted(scopes))}: it needs {scope}")
        return user

    return token_holder


#: The API's dependencies: a token that may file reports, one that may read, any valid one.
intake_token, read_token, any_token = api_access("intake"), api_access("read"), api_access(None)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    tok = request.session.get("csrf")
    if not tok:
        tok = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(tok)


def csrf_context(request: Request) -> dict[str, Any]:
    """The templates' context processor: every page gets ``csrf`` for its forms."""
    return {"csrf": csrf_token(request)}


def check_csrf(request: Request, token: str) -> None:
    """403 unless ``token`` (a form's) is the session's."""
    if not token or not secrets.compare_digest(token, str(request.session.get("csrf") or "")):
        raise HTTPException(403, "form expired: reload the page")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/incidents") -> HTMLResponse:
    return render(request, "login.html.j2", None, next=next if next.startswith("/") else "/incidents")


@router.post("/login", include_in_schema=False)
def login(request: Request, name: str = Form(...), password: str = Form(...), next: str = Form("/incidents"),
          token: str = Form(""), ctx: WebContext = Depends(web)) -> Response:
    check_csrf(request, token)
    with ctx.db.session() as s:
        u = verify(s, name, password)
        uid = u.id if u is not None else None
    if uid is None:
        return render(request, "login.html.j2", None, 401, next=next, error="wrong name or password")
    request.session.clear()
    request.session["uid"] = uid
    return RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/incidents", 303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, token: str = Form("")) -> RedirectResponse:
    check_csrf(request, token)
    request.session.clear()
    return RedirectResponse("/login", 303)
