"""The JSON API (``Authorization: Bearer <token>``, ``teiten incidents token new NAME``; its scope
``intake`` files reports, ``read`` reads):
``POST /api/reports`` takes a report in the JSON of an import line (docs/incidents.md);
``GET /api/incidents/{id}``; ``GET /api/stats?period=2017Q4&tz=Asia/Tokyo``. Errors are
``{"error": ...}`` with the status (``teiten.web.app``'s handler)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from teiten.errors import InputError, TeitenError
from teiten.incidents.intake import parse_report, record
from teiten.incidents.models import Incident, User
from teiten.incidents.report_json import REPORT_SCHEMA
from teiten.incidents.stats import period_stats
from teiten.web.auth import can_edit, intake_token, read_token
from teiten.web.context import WebContext, web
from teiten.web.guards import json_body
from teiten.web.views import RowId, incident_json, refusal

__all__ = ["router"]

router = APIRouter()


@router.post("/api/reports", status_code=201, openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": REPORT_SCHEMA}}}})
async def api_report(request: Request, user: User = Depends(intake_token),
                     ctx: WebContext = Depends(web)) -> JSONResponse:
    if not can_edit(user):
        raise HTTPException(403, "viewer tokens cannot file reports")
    try:
        obj = json_body(await request.body())  # at most web_max_body bytes (teiten.web.guards), 32 levels deep
    except InputError as e:
        raise HTTPException(400, str(e)) from None
    try:
        r = parse_report(obj)
        with ctx.db.session(user.name) as s:
            out = record(s, r)
    except InputError as e:
        raise HTTPException(422, str(e)) from None
    except (IntegrityError, DataError) as e:  # a coordination ticket in use, a report filed at the same time
        raise refusal(e) from None
    code = 200 if out.status == "duplicate" else 201
    return JSONResponse({"status": out.status, "report": out.report_id, "incidents": out.new_incidents,
                         "linked": out.linked_incidents, "coordinations": out.coordinations,
                         "proposals": [{"incident": a, "candidate": b} for a, b in out.proposals]}, code)


@router.get("/api/incidents/{iid}")
def api_incident(iid: RowId, user: User = Depends(read_token), ctx: WebContext = Depends(web)) -> dict[str, Any]:
    with ctx.db.session() as s:
        inc = s.get(Incident, iid)
        if inc is None:
            raise HTTPException(404, f"no incident {iid}")
        return incident_json(inc)


@router.get("/api/stats")
def api_stats(period: str, tz: str | None = None, user: User = Depends(read_token),
              ctx: WebContext = Depends(web)) -> dict[str, Any]:
    # without tz, the server's zone (teiten serve --tz); no docstring: it would be the OpenAPI description
    try:
        return period_stats(ctx.db, period, ctx.tz if tz is None else tz)[1]
    except TeitenError as e:
        raise HTTPException(400, str(e)) from None
