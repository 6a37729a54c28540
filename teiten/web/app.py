"""The web UI and JSON API of the incident database (``teiten serve``): FastAPI with
server-rendered Jinja2 templates (autoescaped: report text is shown as text) and a
stylesheet shipped with teiten (no CDN).

Pages: sign-in, incidents (filters by category, status, text), an incident with its
reports, targets and coordinations (handlers record coordinations and set the status),
a report, the intake form (web, e-mail or FAX entered by hand), the statistics of a period.
Roles: ``viewer`` reads; ``handler`` also files reports and records coordinations;
``admin`` everything. Every form carries the session's CSRF token.

API (``Authorization: Bearer <token>``, ``teiten incidents token NAME``): ``POST
/api/reports`` takes a report in the JSON of an import line; ``GET /api/incidents/{id}``;
``GET /api/stats?period=2017Q4&tz=Asia/Tokyo``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import func, or_, select
from starlette.middleware.sessions import SessionMiddleware

from teiten.errors import InputError, TeitenError
from teiten.incidents.db import IncidentDB, open_db
from teiten.incidents.intake import parse_report, record
from teiten.incidents.models import Coordination, Incident, Report, Target, User
from teiten.incidents.stats import period_stats
from teiten.incidents.taxonomy import (
    BRAND_ORIGINS,
    CATEGORIES,
    CHANNELS,
    COORDINATION_STATUSES,
    INCIDENT_STATUSES,
    category,
)
from teiten.incidents.users import token_user, verify

__all__ = ["create_app"]

_CAN_EDIT = ("admin", "handler")


def create_app(db: IncidentDB | str, *, secret: str | None = None, tz: str = "UTC") -> FastAPI:
    """The app over ``db`` (an open database or its URL); ``secret`` signs the session
    cookie (default: random, so sessions end when the server does)."""
    database = open_db(db) if isinstance(db, str) else db
    app = FastAPI(title="teiten incidents", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.add_middleware(SessionMiddleware, secret_key=secret or secrets.token_hex(32), same_site="strict",
                       https_only=False, session_cookie="teiten_session")
    app.mount("/static", StaticFiles(directory=str(resources.files("teiten.web") / "static")), name="static")
    # autoescape everywhere: the default picks it by the file's suffix, and ours end in .j2
    templates = Jinja2Templates(env=Environment(
        loader=FileSystemLoader(str(resources.files("teiten.web") / "templates")), autoescape=True))
    templates.env.globals.update(categories=CATEGORIES, statuses=INCIDENT_STATUSES, channels=CHANNELS,
                                 origins=BRAND_ORIGINS, coordination_statuses=COORDINATION_STATUSES,
                                 category_name=lambda code: category(code).name_en)

    def session_user(request: Request) -> User | None:
        uid = request.session.get("uid")
        if uid is None:
            return None
        with database.session() as s:
            u = s.get(User, uid)
            return u if u is not None and u.active else None

    def page_user(request: Request) -> User:
        u = session_user(request)
        if u is None:
            raise HTTPException(303, headers={"Location": "/login?" + urlencode({"next": request.url.path})})
        return u

    def editor(request: Request, user: User = Depends(page_user)) -> User:
        if user.role not in _CAN_EDIT:
            raise HTTPException(403, "viewers cannot change anything")
        return user

    def csrf(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = secrets.token_urlsafe(24)
        return str(tok)

    def check_csrf(request: Request, token: str) -> None:
        if not token or not secrets.compare_digest(token, str(request.session.get("csrf") or "")):
            raise HTTPException(403, "form expired: reload the page")

    def render(request: Request, name: str, user: User | None, status: int = 200, **ctx: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"user": user, "csrf": csrf(request), **ctx},
                                          status_code=status)

    def api_user(request: Request) -> User:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise HTTPException(401, "Authorization: Bearer <token> required", headers={"WWW-Authenticate": "Bearer"})
        with database.session() as s:
            u = token_user(s, auth[7:].strip())
        if u is None:
            raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
        return u

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 303 and exc.headers:
            return RedirectResponse(exc.headers["Location"], 303)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)
        return render(request, "error.html.j2", session_user(request), exc.status_code, message=exc.detail)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/incidents", 303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/incidents") -> HTMLResponse:
        return render(request, "login.html.j2", None, next=next if next.startswith("/") else "/incidents")

    @app.post("/login", include_in_schema=False)
    def login(request: Request, name: str = Form(...), password: str = Form(...), next: str = Form("/incidents"),
              token: str = Form("")) -> Response:
        check_csrf(request, token)
        with database.session() as s:
            u = verify(s, name, password)
            uid = u.id if u is not None else None
        if uid is None:
            return render(request, "login.html.j2", None, 401, next=next, error="wrong name or password")
        request.session.clear()
        request.session["uid"] = uid
        return RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/incidents", 303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, token: str = Form("")) -> RedirectResponse:
        check_csrf(request, token)
        request.session.clear()
        return RedirectResponse("/login", 303)

    @app.get("/incidents", response_class=HTMLResponse, include_in_schema=False)
    def incidents(request: Request, user: User = Depends(page_user), category: str = "", status: str = "",
                  q: str = "", page: int = 1) -> HTMLResponse:
        per = 50
        with database.session() as s:
            stmt = select(Incident)
            if category:
                stmt = stmt.where(Incident.category == category)
            if status:
                stmt = stmt.where(Incident.status == status)
            if q:
                like = f"%{q.lower()}%"
                stmt = stmt.where(or_(func.lower(Incident.ref).like(like), func.lower(Incident.brand).like(like),
                                      Incident.id.in_(select(Target.incident_id)
                                                      .where(Target.normalised.like(like)))))
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(Incident.id.desc()).offset((max(page, 1) - 1) * per).limit(per)).all()
            items = [{"id": i.id, "ref": i.ref, "category": i.category, "status": i.status, "brand": i.brand,
                      "targets": [t.value for t in i.targets][:3], "reports": len(i.reports)} for i in rows]
        return render(request, "incidents.html.j2", user, items=items, total=total, page=max(page, 1), per=per,
                      f={"category": category, "status": status, "q": q})

    @app.get("/incidents/{iid}", response_class=HTMLResponse, include_in_schema=False)
    def incident(request: Request, iid: int, user: User = Depends(page_user)) -> HTMLResponse:
        with database.session() as s:
            inc = s.get(Incident, iid)
            if inc is None:
                raise HTTPException(404, f"no incident {iid}")
            data = _incident_json(inc)
        return render(request, "incident.html.j2", user, inc=data, can_edit=user.role in _CAN_EDIT)

    @app.post("/incidents/{iid}/coordinations", include_in_schema=False)
    def add_coordination(request: Request, iid: int, user: User = Depends(editor), token: str = Form(""),
                         party: str = Form(...), domestic: str = Form("yes"), method: str = Form("email"),
                         sent_at: str = Form(""), status: str = Form("sent"), note: str = Form("")) -> Response:
        check_csrf(request, token)
        if status not in COORDINATION_STATUSES or not party.strip():
            raise HTTPException(400, "a coordination needs a party and a known status")
        with database.session(user.name) as s:
            inc = s.get(Incident, iid)
            if inc is None:
                raise HTTPException(404, f"no incident {iid}")
            when = _form_time(sent_at, tz) if sent_at else (datetime.now().astimezone() if status != "draft"
                                                             else None)
            inc.coordinations.append(Coordination(party=party.strip(), domestic=domestic == "yes", method=method,
                                                  sent_at=when, status=status, note=note or None))
            if inc.status == "new":
                inc.status = "coordinating"
        return RedirectResponse(f"/incidents/{iid}", 303)

    @app.post("/incidents/{iid}/status", include_in_schema=False)
    def set_status(request: Request, iid: int, user: User = Depends(editor), token: str = Form(""),
                   status: str = Form(...)) -> Response:
        check_csrf(request, token)
        if status not in INCIDENT_STATUSES:
            raise HTTPException(400, f"unknown status {status!r}")
        with database.session(user.name) as s:
            inc = s.get(Incident, iid)
            if inc is None:
                raise HTTPException(404, f"no incident {iid}")
            inc.status = status
        return RedirectResponse(f"/incidents/{iid}", 303)

    @app.get("/reports/new", response_class=HTMLResponse, include_in_schema=False)
    def new_report(request: Request, user: User = Depends(editor)) -> HTMLResponse:
        return render(request, "report_form.html.j2", user, values={}, error=None)

    @app.post("/reports", include_in_schema=False)
    async def file_report(request: Request, user: User = Depends(editor)) -> Response:
        form = await request.form()
        values = {k: str(v) for k, v in form.items()}
        check_csrf(request, values.get("token", ""))
        try:
            obj = _form_report(values, tz)
            r = parse_report(obj)
            with database.session(user.name) as s:
                out = record(s, r)
                shown = [*out.new_incidents, *out.linked_incidents]
                first = shown[0] if shown else None
        except (InputError, TeitenError) as e:
            return render(request, "report_form.html.j2", user, 400, values=values, error=str(e))
        return RedirectResponse(f"/incidents/{first}" if first else f"/reports/{out.report_id}", 303)

    @app.get("/reports/{rid}", response_class=HTMLResponse, include_in_schema=False)
    def report(request: Request, rid: int, user: User = Depends(page_user)) -> HTMLResponse:
        with database.session() as s:
            rep = s.get(Report, rid)
            if rep is None:
                raise HTTPException(404, f"no report {rid}")
            data = _report_json(rep)
        return render(request, "report.html.j2", user, rep=data)

    @app.get("/stats", response_class=HTMLResponse, include_in_schema=False)
    def stats_page(request: Request, user: User = Depends(page_user), period: str = "", tz_: str = tz) -> HTMLResponse:
        st = None
        error = None
        if period:
            try:
                st = period_stats(database, period, tz_)[1]
            except TeitenError as e:
                error = str(e)
        return render(request, "stats.html.j2", user, st=st, period=period, tz=tz_, error=error)

    @app.post("/api/reports", status_code=201)
    async def api_report(request: Request, user: User = Depends(api_user)) -> JSONResponse:
        if user.role not in _CAN_EDIT:
            raise HTTPException(403, "viewer tokens cannot file reports")
        try:
            obj = await request.json()
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None
        try:
            r = parse_report(obj)
            with database.session(user.name) as s:
                out = record(s, r)
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        code = 200 if out.status == "duplicate" else 201
        return JSONResponse({"status": out.status, "report": out.report_id, "incidents": out.new_incidents,
                             "linked": out.linked_incidents, "coordinations": out.coordinations,
                             "proposals": [{"incident": a, "candidate": b} for a, b in out.proposals]}, code)

    @app.get("/api/incidents/{iid}")
    def api_incident(iid: int, user: User = Depends(api_user)) -> dict[str, Any]:
        with database.session() as s:
            inc = s.get(Incident, iid)
            if inc is None:
                raise HTTPException(404, f"no incident {iid}")
            return _incident_json(inc)

    @app.get("/api/stats")
    def api_stats(period: str, tz: str = tz, user: User = Depends(api_user)) -> dict[str, Any]:
        try:
            return period_stats(database, period, tz)[1]
        except TeitenError as e:
            raise HTTPException(400, str(e)) from None

    return app


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _incident_json(inc: Incident) -> dict[str, Any]:
    return {"id": inc.id, "ref": inc.ref, "category": inc.category, "rsit": f"{inc.rsit_taxonomy}/{inc.rsit_type}",
            "status": inc.status, "brand": inc.brand, "brand_origin": inc.brand_origin, "industry": inc.industry,
            "first_seen": _iso(inc.first_seen), "targets": [{"kind": t.kind, "value": t.value,
                                                             "normalised": t.normalised} for t in inc.targets],
            "ports": sorted(p.port for p in inc.ports),
            "reports": [{"id": r.id, "ext_id": r.ext_id, "channel": r.channel, "reporter": r.reporter,
                         "received_at": _iso(r.received_at), "subject": r.subject, "content": r.content}
                        for r in sorted(inc.reports, key=lambda r: r.received_at)],
            "coordinations": [{"id": c.id, "party": c.party, "domestic": c.domestic, "method": c.method,
                               "sent_at": _iso(c.sent_at), "replied_at": _iso(c.replied_at), "status": c.status,
                               "raw_status": c.raw_status, "ticket": c.ticket, "note": c.note}
                              for c in inc.coordinations]}


def _report_json(rep: Report) -> dict[str, Any]:
    return {"id": rep.id, "ext_id": rep.ext_id, "channel": rep.channel, "reporter": rep.reporter,
            "received_at": _iso(rep.received_at), "subject": rep.subject, "content": rep.content,
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "bytes": len(a.data)}
                            for a in rep.attachments],
            "incidents": [{"id": i.id, "ref": i.ref, "category": i.category, "status": i.status}
                          for i in rep.incidents]}


def _form_time(text: str, tz: str) -> datetime:
    from teiten.settings import zone

    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"not a time: {text!r} (YYYY-MM-DDTHH:MM)") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=zone(tz))


def _form_report(v: dict[str, str], tz: str) -> dict[str, Any]:
    """The intake form as the JSON of an import line (times without a zone are in ``tz``)."""
    received = _form_time(v["received_at"], tz) if v.get("received_at") else datetime.now().astimezone()
    targets = [x.strip() for x in v.get("targets", "").splitlines() if x.strip()]
    ports = [x.strip() for x in v.get("ports", "").replace(",", " ").split() if x.strip()]
    inc: dict[str, Any] = {"category": v.get("category") or "other", "targets": targets, "ports": ports}
    for k in ("ref", "brand", "brand_origin", "industry"):
        if v.get(k):
            inc[k] = v[k]
    return {"id": v.get("ext_id") or f"{v.get('channel', 'web')}-{secrets.token_hex(8)}",
            "received_at": received.isoformat(), "channel": v.get("channel") or "web",
            "reporter": v.get("reporter") or None, "subject": v.get("subject") or None,
            "content": v.get("content") or None, "incidents": [inc]}
