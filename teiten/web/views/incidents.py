"""The HTML pages of the incident database (docs/incidents.md, "Web UI and API"): the
incident list (filters by category, status, text), an incident with its reports, targets
and coordinations (editors record coordinations and set the status), a report, the intake
form (web, e-mail or FAX entered by hand) and the statistics of a period."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.exc import DataError, IntegrityError

from teiten.errors import InputError, TeitenError
from teiten.incidents.intake import parse_report, parse_time, record
from teiten.incidents.models import Coordination, Incident, Report, Target, User
from teiten.incidents.stats import period_stats
from teiten.incidents.taxonomy import COORDINATION_STATUSES, INCIDENT_STATUSES
from teiten.periods import zone
from teiten.web.auth import can_edit, check_csrf, editor, page_user
from teiten.web.context import WebContext, render, web
from teiten.web.views import PageNo, RowId, incident_json, refusal, report_json

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/incidents", 303)


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, user: User = Depends(page_user), category: str = "", status: str = "",
              q: str = "", page: PageNo = 1, ctx: WebContext = Depends(web)) -> HTMLResponse:
    per = 50
    with ctx.db.session() as s:
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


@router.get("/incidents/{iid}", response_class=HTMLResponse)
def incident(request: Request, iid: RowId, user: User = Depends(page_user),
             ctx: WebContext = Depends(web)) -> HTMLResponse:
    with ctx.db.session() as s:
        inc = s.get(Incident, iid)
        if inc is None:
            raise HTTPException(404, f"no incident {iid}")
        data = incident_json(inc)
    return render(request, "incident.html.j2", user, inc=data, can_edit=can_edit(user))


@router.post("/incidents/{iid}/coordinations")
def add_coordination(request: Request, iid: RowId, user: User = Depends(editor), token: str = Form(""),
                     party: str = Form(...), domestic: str = Form("yes"), method: str = Form("email"),
                     sent_at: str = Form(""), status: str = Form("sent"), note: str = Form(""),
                     ctx: WebContext = Depends(web)) -> Response:
    check_csrf(request, token)
    if status not in COORDINATION_STATUSES or not party.strip():
        raise HTTPException(400, "a coordination needs a party and a known status")
    try:
        when = _form_time(sent_at, ctx.tz, "sent_at") if sent_at else (
            datetime.now().astimezone() if status != "draft" else None)
    except InputError as e:
        raise HTTPException(422, str(e)) from None
    try:
        with ctx.db.session(user.name) as s:
            inc = s.get(Incident, iid)
            if inc is None:
                raise HTTPException(404, f"no incident {iid}")
            inc.coordinations.append(Coordination(party=party.strip(), domestic=domestic == "yes", method=method,
                                                  sent_at=when, status=status, note=note or None))
            if inc.status == "new":
                inc.status = "coordinating"
    except (IntegrityError, DataError) as e:
        raise refusal(e) from None
    return RedirectResponse(f"/incidents/{iid}", 303)


@router.post("/incidents/{iid}/status")
def set_status(request: Request, iid: RowId, user: User = Depends(editor), token: str = Form(""),
               status: str = Form(...), ctx: WebContext = Depends(web)) -> Response:
    check_csrf(request, token)
    if status not in INCIDENT_STATUSES:
        raise HTTPException(400, f"unknown status {status!r}")
    with ctx.db.session(user.name) as s:
        inc = s.get(Incident, iid)
        if inc is None:
            raise HTTPException(404, f"no incident {iid}")
        inc.status = status
    return RedirectResponse(f"/incidents/{iid}", 303)


@router.get("/reports/new", response_class=HTMLResponse)
def new_report(request: Request, user: User = Depends(editor)) -> HTMLResponse:
    return render(request, "report_form.html.j2", user, values={}, error=None)


@router.post("/reports")
async def file_report(request: Request, user: User = Depends(editor), ctx: WebContext = Depends(web)) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    check_csrf(request, values.get("token", ""))
    try:
        obj = _form_report(values, ctx.tz)
        r = parse_report(obj)
        with ctx.db.session(user.name) as s:
            out = record(s, r)
            shown = [*out.new_incidents, *out.linked_incidents]
            first = shown[0] if shown else None
            stored = s.scalar(select(Report.id).where(Report.ext_id == r.id)) if out.status == "duplicate" else None
    except (InputError, TeitenError) as e:
        return render(request, "report_form.html.j2", user, 400, values=values, error=str(e))
    except (IntegrityError, DataError) as e:
        refused = refusal(e)
        return render(request, "report_form.html.j2", user, refused.status_code, values=values, error=refused.detail)
    if out.status == "duplicate":  # nothing was stored: point to the report of that id
        return render(request, "report_form.html.j2", user, 409, values=values, existing=stored,
                      error=f"a report with the id {r.id!r} is already stored; nothing was filed")
    return RedirectResponse(f"/incidents/{first}" if first else f"/reports/{out.report_id}", 303)


@router.get("/reports/{rid}", response_class=HTMLResponse)
def report(request: Request, rid: RowId, user: User = Depends(page_user),
           ctx: WebContext = Depends(web)) -> HTMLResponse:
    with ctx.db.session() as s:
        rep = s.get(Report, rid)
        if rep is None:
            raise HTTPException(404, f"no report {rid}")
        data = report_json(rep)
    return render(request, "report.html.j2", user, rep=data)


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, user: User = Depends(page_user), period: str = "", tz_: str | None = None,
               ctx: WebContext = Depends(web)) -> HTMLResponse:
    tz = ctx.tz if tz_ is None else tz_
    st = None
    error = None
    if period:
        try:
            st = period_stats(ctx.db, period, tz)[1]
        except TeitenError as e:
            error = str(e)
    return render(request, "stats.html.j2", user, 400 if error else 200, st=st, period=period, tz=tz, error=error)


def _form_time(text: str, tz: str, what: str) -> datetime:
    """A time of a form (YYYY-MM-DDTHH:MM; without an offset, in ``tz``), one the database can store."""
    return parse_time(text, what, zone(tz))


def _form_report(v: dict[str, str], tz: str) -> dict[str, Any]:
    """The intake form as the JSON of an import line (times without a zone are in ``tz``)."""
    received = _form_time(v["received_at"], tz, "received_at") if v.get("received_at") else datetime.now().astimezone()
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
