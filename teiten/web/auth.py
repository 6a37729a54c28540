"""Who is asking: sign-in (throttled: :mod:`teiten.web.throttle`) and sign-out, the
session of a request (kept on the server: :mod:`teiten.web.sessions`), the signed-in user
of a page, the roles that may change things, and the bearer tokens of the API
(``teiten incidents token new NAME``).

Roles (docs/incidents.md): ``viewer`` reads; ``handler`` also files reports and records
coordinations; ``admin`` everything. Every form carries the session's CSRF token (the sign-in
form, before there is a session, a token bound to the pre-session cookie). Sign-ins, failed
or not, are in the audit trail (``sign_in``, ``sign_fail``: name and address, never the
password).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from teiten.incidents.audit import record
from teiten.incidents.models import User
from teiten.incidents.users import token_access, verify
from teiten.web.context import WebContext, render, web
from teiten.web.sessions import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    SignedIn,
    end_session,
    find_session,
    login_csrf,
    open_session,
)

__all__ = ["EDITOR_ROLES", "any_token", "api_access", "can_edit", "check_csrf", "csrf_context", "csrf_token", "editor",
           "intake_token", "observer", "page_user", "read_token", "router", "session_user"]

EDITOR_ROLES = ("admin", "handler")

router = APIRouter()


def can_edit(user: User) -> bool:
    """Whether ``user`` may file reports, record coordinations and set statuses."""
    return user.role in EDITOR_ROLES


def _signed_in(request: Request, ctx: WebContext) -> SignedIn | None:
    """The live session of the request's cookie (looked up once per request)."""
    if "signed_in" not in request.scope:
        value = request.cookies.get(SESSION_COOKIE)
        request.scope["signed_in"] = find_session(ctx.db, ctx.sessions, value) if value else None
    got: SignedIn | None = request.scope["signed_in"]
    return got


def session_user(request: Request, ctx: WebContext = Depends(web)) -> User | None:
    """The active user of the request's session, if any."""
    got = _signed_in(request, ctx)
    return got.user if got is not None else None


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
    """The session's CSRF token; signed out, the sign-in form's (bound to the pre-session
    cookie; empty without one)."""
    ctx = web(request)
    got = _signed_in(request, ctx)
    if got is not None:
        return got.csrf
    pre = request.scope.get("presession") or request.cookies.get(PRESESSION_COOKIE)
    return login_csrf(ctx.sessions.key, pre) if pre else ""


def csrf_context(request: Request) -> dict[str, Any]:
    """The templates' context processor: every page gets ``csrf`` for its forms."""
    return {"csrf": csrf_token(request)}


def check_csrf(request: Request, token: str) -> None:
    """403 unless ``token`` (a form's) is the session's."""
    expected = csrf_token(request)
    if not token or not expected or not secrets.compare_digest(token, expected):
        raise HTTPException(403, "form expired: reload the page")


def _address(request: Request) -> str:
    """The client's address as uvicorn resolved it (X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else "-"


def _cookie(request: Request, response: Response, name: str, value: str | None, max_age: int | None = None) -> None:
    """Set (or, for None, delete) cookie ``name``: HttpOnly, SameSite=Strict, Secure as the policy says."""
    secure = web(request).sessions.secure_for(request)
    if value is None:
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
    else:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="strict")


def _sign_in_form(request: Request, status: int, next: str, error: str | None = None) -> Response:
    """The sign-in page, with a new pre-session cookie when the browser has none."""
    made = None
    if not request.cookies.get(PRESESSION_COOKIE):
        made = request.scope["presession"] = secrets.token_urlsafe(32)
    resp = render(request, "login.html.j2", None, status, next=next if _local(next) else "/incidents", error=error)
    if made:
        _cookie(request, resp, PRESESSION_COOKIE, made)
    return resp


def _local(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//") and "\\" not in path


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/incidents") -> Response:
    return _sign_in_form(request, 200, next)


@router.post("/login", include_in_schema=False)
def login(request: Request, name: str = Form(...), password: str = Form(...), next: str = Form("/incidents"),
          token: str = Form(""), ctx: WebContext = Depends(web)) -> Response:
    check_csrf(request, token)
    address = _address(request)
    wait = ctx.throttle.wait(name, address)
    if wait:
        resp = _sign_in_form(request, 429, next, f"too many attempts: try again in {wait} s")
        resp.headers["Retry-After"] = str(wait)
        return resp
    seen = {"name": name[:100], "address": address}
    with ctx.db.session() as s:
        u = verify(s, name, password)
        uid = u.id if u is not None else None
        if u is None:
            record(s, "sign_fail", "users", "-", seen, actor="anonymous")
        else:
            record(s, "sign_in", "users", str(u.id), seen, actor=u.name)
    if uid is None:
        ctx.throttle.failed(name, address)
        return _sign_in_form(request, 401, next, "wrong name or password")
    ctx.throttle.succeeded(name)
    value = open_session(ctx.db, uid, address, replacing=request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse(next if _local(next) else "/incidents", 303)
    _cookie(request, resp, SESSION_COOKIE, value, int(ctx.sessions.max_age.total_seconds()))
    _cookie(request, resp, PRESESSION_COOKIE, None)
    return resp


@router.post("/logout", include_in_schema=False)
def logout(request: Request, token: str = Form(""), ctx: WebContext = Depends(web)) -> RedirectResponse:
    check_csrf(request, token)
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        end_session(ctx.db, value)
    resp = RedirectResponse("/login", 303)
    _cookie(request, resp, SESSION_COOKIE, None)
    return resp


def observer(request: Request, ctx: WebContext = Depends(web)) -> User:
    """The reader of an observation answer: the session's user (any role), else the user of
    a read token (401 without either, 403 for a token without the read scope)."""
    user = session_user(request, ctx)
    if user is not None:
        return user
    return read_token(request, ctx)
