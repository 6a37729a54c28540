"""``teiten notify``: the sources the sensors saw (packets with a fingerprint, and scanners)
sent to the networks that host them, one notice per contact per interval.

The evidence rows are handed in (``teiten.detect.evidence`` makes them from a store). They
have Shadowserver-like columns: ``time`` (first packet in the period),
``source``, ``port`` (``23/tcp``), ``asn``, ``country``, ``tag`` (the fingerprint's name, or
``scan``) and ``count`` (packets). Each row goes to the contact of the source's network
(:func:`teiten.incidents.coordination.abuse_contact`: the CIDR block holding the source,
else its AS). A contact gets at most one notice per ``interval_days``, holding only rows it
was never sent before (by source, port, tag and day), as CSV and JSON attachments. Each
notice is recorded as a coordination of an incident (category ``scan``, the sources as its
targets, ``ref`` ``notice-<contact>-<period>-<n>``; no report names it, so the statistics
count the coordination but not an incident).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from teiten.incidents.coordination import ContactIndex, Smtp, send
from teiten.incidents.models import (
    Contact,
    Coordination,
    Incident,
    IncidentPort,
    NoticeEvidence,
    Organisation,
    Target,
    utc_now,
)
from teiten.periods import Period

__all__ = ["COLUMNS", "Notice", "notify"]

COLUMNS = ("time", "source", "port", "asn", "country", "tag", "count")


def _key(r: dict[str, Any], tz: Any) -> str:
    day = r["time"].astimezone(tz).date().isoformat()
    return hashlib.sha256(f"{r['source']}|{r['port']}|{r['tag']}|{day}".encode()).hexdigest()


@dataclass
class Notice:
    contact: str
    organisation: str
    rows: list[dict[str, Any]]
    status: str  # sent | failed | deferred (interval not over) | dry-run
    coordination: int | None = None
    ticket: str | None = None
    attachments: dict[str, bytes] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"contact": self.contact, "organisation": self.organisation, "rows": len(self.rows),
                "sources": len({r["source"] for r in self.rows}), "status": self.status,
                "coordination": self.coordination, "ticket": self.ticket}


def _files(rows: list[dict[str, Any]]) -> dict[str, bytes]:
    plain = [{**r, "time": r["time"].isoformat().replace("+00:00", "Z")} for r in rows]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(plain)
    return {"notice.csv": buf.getvalue().encode(), "notice.json": json.dumps(plain, ensure_ascii=False).encode()}


def notify(session: Session, rows: list[dict[str, Any]], period: Period, smtp: Smtp | None, *,
           now: datetime | None = None) -> tuple[list[Notice], list[dict[str, Any]]]:
    """Send (``smtp``; None: a dry run that records nothing) one notice per contact of the rows
    not sent to it before; returns the notices and the rows no contact is known for."""
    from teiten.periods import zone

    tz = zone(period.tz)
    now = now or utc_now()
    index = ContactIndex(session)
    by_contact: dict[int, list[dict[str, Any]]] = {}
    contacts: dict[int, Contact] = {}
    unmatched = []
    for r in rows:
        c = index.of(address=r["source"], asn=r["asn"])
        if c is None:
            unmatched.append(r)
            continue
        contacts[c.id] = c
        by_contact.setdefault(c.id, []).append(r)
    out = []
    for cid, rs in sorted(by_contact.items()):
        c = contacts[cid]
        org = session.get(Organisation, c.organisation_id)
        assert org is not None
        sent = set(session.scalars(select(NoticeEvidence.key).where(NoticeEvidence.contact_id == cid)))
        new = [r for r in rs if _key(r, tz) not in sent]
        if not new:
            continue
        last = session.scalar(select(func.max(NoticeEvidence.created_at)).where(NoticeEvidence.contact_id == cid))
        if last is not None and now - last < timedelta(days=c.interval_days):
            out.append(Notice(c.email, org.name, new, "deferred"))
            continue
        files = _files(new)
        if smtp is None:
            out.append(Notice(c.email, org.name, new, "dry-run", attachments=files))
            continue
        n = session.scalar(select(func.count()).select_from(Incident)
                           .where(Incident.ref.like(f"notice-{cid}-{period.label}-%"))) or 0
        sources = sorted({r["source"] for r in new})
        inc = Incident(ref=f"notice-{cid}-{period.label}-{n + 1}", category="scan",
                       rsit_taxonomy="information-gathering", rsit_type="scanner", status="coordinating",
                       summary=f"{len(new)} rows seen by the sensors",
                       targets=[Target(kind="ip", value=s, normalised=s) for s in sources],
                       ports=[IncidentPort(port=p) for p in sorted({r["port"] for r in new})], coordinations=[])
        co = Coordination(party=org.name, domestic=org.domestic, method="email", status="draft")
        inc.coordinations.append(co)
        session.add(inc)
        session.flush()
        ja = c.language == "ja"
        subject = (f"貴組織のネットワークから観測された不審な通信について（{period.label}、"
                   f"{len(sources)} アドレス）" if ja else
                   f"Suspicious traffic from your network seen by our sensors ({period.label}, "
                   f"{len(sources)} addresses)")
        body = ("定点観測センサーで、貴組織のネットワーク内のアドレスを送信元とするスキャンや、"
                "マルウェアに感染した機器のものと見られるパケットを観測しました。"
                "添付の CSV と JSON（列: time, source, port, asn, country, tag, count）をご確認のうえ、"
                "対応をお願いいたします。\n" if ja else
                "Our darknet sensors received scans, or packets typical of infected devices, from addresses in your "
                "network. The attached CSV and JSON (columns: time, source, port, asn, country, tag, count) list them;"
                " please look into them.\n")
        msg = send(session, co, smtp, c, now=now, text=(subject, body),
                   attachments=[("notice.csv", "text/csv", files["notice.csv"]),
                                ("notice.json", "application/json", files["notice.json"])])
        if msg is not None:
            for r in new:
                session.add(NoticeEvidence(contact_id=cid, key=_key(r, tz), coordination_id=co.id, created_at=now))
            session.flush()
        out.append(Notice(c.email, org.name, new, "sent" if msg is not None else "failed", co.id, co.ticket, files))
    return out, unmatched


