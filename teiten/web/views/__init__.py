"""The routes of the web app: ``incidents`` (the HTML pages) and ``api`` (the JSON API,
``Authorization: Bearer <token>``); both show an incident and a report as the JSON here,
take ids and page numbers within what the database holds (:data:`RowId`, :data:`PageNo`),
and answer what the database refuses with a 4xx (:func:`refusal`), never a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query
from sqlalchemy.exc import DataError, IntegrityError

from teiten.incidents.models import Incident, Report

__all__ = ["MAX_ID", "PageNo", "RowId", "incident_json", "refusal", "report_json"]

#: The largest id: ids are INTEGER columns, 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1
#: An id in a path: 1 to MAX_ID, else 422 (a larger one overflowed the database's integer: 500).
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A page number of a list: past 10**9 pages (of 50) nothing is there; the offset stays an int64.
PageNo = Annotated[int, Query(le=10**9)]


def refusal(e: IntegrityError | DataError) -> HTTPException:
    """What the database refused, as a 4xx with its reason (its first line: the constraint or
    the type, never the statement): 409 for a value already stored (a coordination ticket,
    a report id, a ref), 422 for one the column cannot hold (too long for it, on PostgreSQL)."""
    reason = str(e.orig).strip().splitlines()[0][:300] if e.orig is not None else type(e).__name__
    if isinstance(e, IntegrityError):
        return HTTPException(409, f"conflicts with what is stored: {reason}")
    return HTTPException(422, f"a value the database cannot hold: {reason}")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def incident_json(inc: Incident) -> dict[str, Any]:
    """An incident with its targets, ports, reports (oldest first) and coordinations."""
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


def report_json(rep: Report) -> dict[str, Any]:
    """A report with its attachments (name, type, size) and the incidents it names."""
    return {"id": rep.id, "ext_id": rep.ext_id, "channel": rep.channel, "reporter": rep.reporter,
            "received_at": _iso(rep.received_at), "subject": rep.subject, "content": rep.content,
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "bytes": len(a.data)}
                            for a in rep.attachments],
            "incidents": [{"id": i.id, "ref": i.ref, "category": i.category, "status": i.status}
                          for i in rep.incidents]}
