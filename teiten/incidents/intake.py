"""Recording a report with the incidents and coordinations it carries: the one way in for
every channel (web form, API, e-mail, FAX entry, ``teiten incidents import``).

``parse_report(obj)`` checks a report given as a dict (the JSON of an import line or an API
request) and raises :class:`~teiten.errors.InputError` naming the field that is wrong;
``record(session, report)`` stores it:

* a report whose ``id`` is already stored is a no-op (``duplicate``);
* an incident with a ``ref`` already stored is that incident, linked to this report too
  (counted once, in the month of its first report); its empty fields are filled, set ones
  never overwritten;
* an incident without a ``ref`` is new; earlier incidents of its category with one of its
  normalised targets are proposed as duplicates (``teiten.incidents.dedupe``);
* a coordination names its incident by ``incident_ref``: one of this report's refs or one
  already stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from teiten.errors import InputError, SettingError
from teiten.incidents.dedupe import classify, normalise, propose_duplicates
from teiten.incidents.models import RAW_STATUS_LENGTH, Attachment, Coordination, Incident, IncidentPort, Report, Target
from teiten.incidents.status_words import StatusMap, incident_state
from teiten.incidents.taxonomy import BRAND_ORIGINS, CHANNELS, INCIDENT_STATUSES, category, check_choice

__all__ = ["CoordinationIn", "IncidentIn", "Outcome", "Pending", "Reading", "ReportIn", "parse_report", "parse_time",
           "propose", "record"]

_PORT = re.compile(r"^(\d{1,5})/(tcp|udp|sctp)$")


@dataclass(frozen=True)
class IncidentIn:
    category: str
    ref: str | None = None
    targets: tuple[tuple[str, str], ...] = ()  # (kind, value)
    brand: str | None = None
    brand_origin: str | None = None
    industry: str | None = None
    ports: tuple[str, ...] = ()
    first_seen: datetime | None = None
    status: str = "new"
    summary: str | None = None


@dataclass(frozen=True)
class CoordinationIn:
    incident_ref: str
    party: str
    domestic: bool
    sent_at: datetime | None = None
    status: str = "sent"
    method: str = "email"
    replied_at: datetime | None = None
    ticket: str | None = None
    note: str | None = None
    raw_status: str | None = None  # the word given, when no mapping knows it (status is then ``other``)


@dataclass(frozen=True)
class ReportIn:
    id: str
    received_at: datetime
    channel: str
    reporter: str | None = None
    subject: str | None = None
    content: str | None = None
    raw: bytes | None = None
    incidents: tuple[IncidentIn, ...] = ()
    coordinations: tuple[CoordinationIn, ...] = ()
    attachments: tuple[tuple[str | None, str | None, bytes], ...] = ()  # (filename, content type, data)


@dataclass
class Outcome:
    status: str  # imported | duplicate
    report_id: int | None = None
    new_incidents: list[int] = field(default_factory=list)
    linked_incidents: list[int] = field(default_factory=list)
    coordinations: list[int] = field(default_factory=list)
    proposals: list[tuple[int, int]] = field(default_factory=list)  # (incident, candidate)


@dataclass(frozen=True)
class Reading:
    """How :func:`parse_report` reads a line: its status words (:class:`StatusMap`), and the
    zone of times given without a UTC offset (None: such a time is refused)."""

    statuses: StatusMap = field(default_factory=StatusMap)
    tz: tzinfo | None = None


def parse_time(value: Any, what: str, tz: tzinfo | None = None) -> datetime:
    """An ISO 8601 time with its UTC offset (``Z`` or ``+09:00``); a time without one is read
    in ``tz``, or refused when there is none."""
    if not isinstance(value, str):
        raise InputError(f"{what}: an ISO 8601 time as text, not {value!r}")
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(f"{what}: not an ISO 8601 time: {value!r}") from None
    if t.tzinfo is None:
        if tz is None:
            raise InputError(f"{what}: {value!r} has no UTC offset (add Z or +09:00, or give --tz)")
        t = t.replace(tzinfo=tz)
    try:
        t.astimezone(UTC)  # what the database stores: 9999-12-31T23:59:59-23:59 is past year 9999 there
    except OverflowError:
        raise InputError(f"{what}: {value!r} is out of range (years 1 to 9999 in UTC)") from None
    return t


def _text(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    v = obj.get(key)
    if v is None or v == "":
        if required:
            raise InputError(f"{where}: {key} is required")
        return None
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise InputError(f"{where}: {key} must be text, not {v!r}")
    return str(v)


def _choice(value: str | None, what: str, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    try:
        return check_choice(what, value, choices)
    except SettingError as e:
        raise InputError(str(e)) from None


def _targets(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{where}: targets must be a list")
    out = []
    for t in raw:
        if isinstance(t, str) and t.strip():
            out.append((classify(t), t.strip()))
        elif isinstance(t, dict) and isinstance(t.get("value"), str):
            kind = t.get("kind") or classify(t["value"])
            out.append((str(_choice(kind, f"{where}: target kind", ("url", "domain", "ip"))), t["value"].strip()))
        else:
            raise InputError(f"{where}: a target is a URL, domain or address (text), not {t!r}")
    return tuple(out)


def _ports(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{where}: ports must be a list such as [\"22/tcp\"]")
    out: list[str] = []
    for p in raw:
        m = _PORT.match(str(p).strip().lower())
        if not m or int(m.group(1)) > 65535:
            raise InputError(f"{where}: a port is PORT/tcp, PORT/udp or PORT/sctp, not {p!r}")
        if (s := f"{int(m.group(1))}/{m.group(2)}") not in out:
            out.append(s)
    return tuple(out)


def _incident(raw: Any, where: str, how: Reading) -> IncidentIn:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: an incident is an object")
    cat = _text(raw, "category", where, required=True)
    try:
        category(str(cat))
    except SettingError as e:
        raise InputError(f"{where}: {e}") from None
    first = raw.get("first_seen")
    return IncidentIn(
        category=str(cat), ref=_text(raw, "ref", where), targets=_targets(raw.get("targets"), where),
        brand=_text(raw, "brand", where),
        brand_origin=_choice(_text(raw, "brand_origin", where), f"{where}: brand_origin", BRAND_ORIGINS),
        industry=_text(raw, "industry", where), ports=_ports(raw.get("ports"), where),
        first_seen=None if first in (None, "") else parse_time(first, f"{where}: first_seen", how.tz),
        status=_incident_status(_text(raw, "status", where), where),
        summary=_text(raw, "summary", where))


def _incident_status(word: str | None, where: str) -> str:
    """An incident's status in teiten's or a tracker's words (``status_words.INCIDENT_WORDS``)."""
    if word is None:
        return "new"
    got = incident_state(word)
    if got is None:
        raise InputError(f"{where}: status: {word[:40]!r} is none of {', '.join(INCIDENT_STATUSES)}"
                         " nor a tracker's word for one (docs/incidents.md)")
    return got


def _coordination(raw: Any, where: str, how: Reading) -> CoordinationIn:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: a coordination is an object")
    dom = raw.get("domestic")
    if not isinstance(dom, bool):
        raise InputError(f"{where}: domestic must be true or false")
    sent, replied = raw.get("sent_at"), raw.get("replied_at")
    word = _text(raw, "status", where)
    status, unknown = how.statuses.state(word) if word is not None else ("sent", None)
    return CoordinationIn(
        incident_ref=str(_text(raw, "incident_ref", where, required=True)),
        party=str(_text(raw, "party", where, required=True)), domestic=dom,
        sent_at=None if sent in (None, "") else parse_time(sent, f"{where}: sent_at", how.tz),
        status=status, raw_status=None if unknown is None else _clean(unknown[:RAW_STATUS_LENGTH]),
        method=_text(raw, "method", where) or "email",
        replied_at=None if replied in (None, "") else parse_time(replied, f"{where}: replied_at", how.tz),
        ticket=_text(raw, "ticket", where), note=_text(raw, "note", where))


def parse_report(obj: Any, how: Reading | None = None) -> ReportIn:
    """A report from its JSON form (the lines of ``teiten incidents import``): a coordination's
    status in any tracker's words (``teiten.incidents.status_words``), times without an offset
    in ``how.tz``."""
    how = how or Reading()
    if not isinstance(obj, dict):
        raise InputError("a report is a JSON object")
    rid = _text(obj, "id", "report", required=True)
    where = f"report {rid}"
    channel = _choice(_text(obj, "channel", where, required=True), f"{where}: channel", CHANNELS)
    incidents = obj.get("incidents") or []
    coords = obj.get("coordinations") or []
    if not isinstance(incidents, list) or not isinstance(coords, list):
        raise InputError(f"{where}: incidents and coordinations are lists")
    return ReportIn(
        id=str(rid), received_at=parse_time(obj.get("received_at"), f"{where}: received_at", how.tz),
        channel=str(channel),
        reporter=_text(obj, "reporter", where), subject=_text(obj, "subject", where),
        content=_text(obj, "content", where),
        incidents=tuple(_incident(x, f"{where}, incident {i + 1}", how) for i, x in enumerate(incidents)),
        coordinations=tuple(_coordination(x, f"{where}, coordination {i + 1}", how) for i, x in enumerate(coords)))


def _fill(inc: Incident, new: IncidentIn) -> None:
    for name in ("brand", "brand_origin", "industry", "first_seen", "summary"):
        if getattr(inc, name) is None and getattr(new, name) is not None:
            setattr(inc, name, getattr(new, name))
    have = {t.normalised for t in inc.targets}
    for kind, value in new.targets:
        if (n := normalise(value, kind)) not in have:
            inc.targets.append(Target(kind=kind, value=value, normalised=n))
            have.add(n)
    ports = {p.port for p in inc.ports}
    inc.ports.extend(IncidentPort(port=p) for p in new.ports if p not in ports)


@dataclass
class Pending:
    """What a batch of :func:`record` calls has added but not flushed: the lookups of a later
    report in the batch see it."""

    reports: set[str] = field(default_factory=set)  # ids stored, or added by the batch
    incidents: dict[str, Incident] = field(default_factory=dict)  # by ref
    loaded: bool = False  # reports and incidents hold every stored one the batch names (:meth:`load`)
    fresh: list[Incident] = field(default_factory=list)  # new incidents, for the duplicate proposals
    coordinations: list[Coordination] = field(default_factory=list)
    added: list[Report] = field(default_factory=list)  # the reports the batch stores

    def load(self, session: Session, reports: list[ReportIn]) -> None:
        """Read the stored reports and incidents that ``reports`` name, a few queries for all."""
        ids = [r.id for r in reports]
        refs = sorted({x.ref for r in reports for x in r.incidents if x.ref}
                      | {c.incident_ref for r in reports for c in r.coordinations})
        step = 500
        for k in range(0, len(ids), step):
            self.reports.update(session.scalars(select(Report.ext_id).where(Report.ext_id.in_(ids[k:k + step]))))
        for k in range(0, len(refs), step):
            for inc in session.scalars(select(Incident).where(Incident.ref.in_(refs[k:k + step]))):
                self.incidents[str(inc.ref)] = inc
        self.loaded = True


def record(session: Session, r: ReportIn, pending: Pending | None = None) -> Outcome:
    """Store ``r`` (see the module docstring), flushed, with its duplicate proposals; or, with
    ``pending``, added to the session unflushed (the caller flushes the batch, then calls
    :func:`propose` for it)."""
    batch = pending if pending is not None else Pending()
    with session.no_autoflush:  # lookups do not flush the batch
        out = _record(session, r, batch)
    if pending is None and out.status == "imported":
        session.flush()
        out.report_id = batch.added[0].id
        out.new_incidents = [i.id for i in batch.fresh]
        out.coordinations = [c.id for c in batch.coordinations]
        out.proposals = propose(session, batch)
    return out


def propose(session: Session, batch: Pending) -> list[tuple[int, int]]:
    """The duplicate proposals of the flushed batch's new incidents without a ref."""
    out = []
    for inc in batch.fresh:
        if inc.ref is None:
            out += [(p.incident_id, p.candidate_id) for p in propose_duplicates(session, inc)]
    session.flush()
    return out


def _clean(text: str | None) -> str | None:
    """Text as every database stores it: PostgreSQL refuses NUL characters (the raw bytes keep them)."""
    return None if text is None else text.replace("\x00", "\ufffd")


def _known(session: Session, ref: str, batch: Pending) -> Incident | None:
    got = batch.incidents.get(ref)
    if got is not None or batch.loaded:
        return got
    return session.scalar(select(Incident).where(Incident.ref == ref))


def _record(session: Session, r: ReportIn, batch: Pending) -> Outcome:
    if r.id in batch.reports or (not batch.loaded and session.scalar(
            select(Report.id).where(Report.ext_id == r.id)) is not None):
        return Outcome("duplicate")
    mine: dict[str, Incident] = {}
    planned: list[tuple[IncidentIn, Incident | None]] = []
    for x in r.incidents:  # every check before anything is added
        inc = mine.get(x.ref) if x.ref else None
        if inc is None and x.ref:
            inc = _known(session, x.ref, batch)
        if inc is not None and inc.category != x.category:
            raise InputError(f"report {r.id}: incident {x.ref} is {inc.category}, not {x.category}")
        planned.append((x, inc))
        if inc is not None and x.ref:
            mine[x.ref] = inc
    refs = {x.ref for x in r.incidents if x.ref}
    for ci in r.coordinations:
        if ci.incident_ref not in refs and _known(session, ci.incident_ref, batch) is None:
            raise InputError(f"report {r.id}: coordination for unknown incident {ci.incident_ref!r}")
    rep = Report(ext_id=r.id, channel=r.channel, reporter=_clean(r.reporter), received_at=r.received_at,
                 subject=_clean(r.subject), content=_clean(r.content), raw=r.raw, incidents=[],
                 attachments=[Attachment(filename=f, content_type=c, data=d) for f, c, d in r.attachments])
    session.add(rep)
    batch.reports.add(r.id)
    batch.added.append(rep)
    out = Outcome("imported")
    for x, known in planned:
        inc = known or (mine.get(x.ref) if x.ref else None)
        if inc is None:
            cat = category(x.category)
            inc = Incident(ref=x.ref, category=x.category, rsit_taxonomy=cat.rsit_taxonomy, rsit_type=cat.rsit_type,
                           status=x.status, targets=[], ports=[], coordinations=[])
            session.add(inc)
            batch.fresh.append(inc)
            out.new_incidents.append(0)
        elif known is not None and inc not in rep.incidents:
            out.linked_incidents.append(inc.id or 0)  # 0: an incident of an earlier report of the batch
        _fill(inc, x)
        if x.ref:
            mine[x.ref] = inc
            batch.incidents[x.ref] = inc
        if inc not in rep.incidents:
            rep.incidents.append(inc)
    for ci in r.coordinations:
        target = mine.get(ci.incident_ref) or _known(session, ci.incident_ref, batch)
        assert target is not None  # checked above
        co = Coordination(party=ci.party, domestic=ci.domestic, method=ci.method, sent_at=ci.sent_at,
                          replied_at=ci.replied_at, status=ci.status, raw_status=ci.raw_status, ticket=ci.ticket,
                          note=ci.note)
        target.coordinations.append(co)
        batch.coordinations.append(co)
        out.coordinations.append(0)
    return out
