"""The audit trail: every row inserted, updated or deleted through a session of
:class:`teiten.incidents.db.IncidentDB` is recorded in ``audit`` in the same transaction,
with the session's actor (``session.info["actor"]``), the time and the changed values.

One table is left out: ``web_sessions`` (:data:`UNAUDITED`), whose rows change on every
sign-in and, through ``last_seen``, once a minute per signed-in browser. Sign-ins are
recorded instead, by :func:`record` (actions ``sign_in`` and ``sign_fail``). Password hashes
and token digests are never copied into the trail (:data:`REDACTED`), and a token's last use
alone makes no entry (:data:`QUIET`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from teiten.incidents.models import AuditEntry, Base, WebSession, utc_now

__all__ = ["QUIET", "REDACTED", "UNAUDITED", "install", "record"]

#: Rows the trail leaves out: itself, and the web sessions (recorded as sign-ins).
UNAUDITED: tuple[type[Base], ...] = (AuditEntry, WebSession)
#: Columns whose values the trail does not copy (secrets: that they changed is recorded).
REDACTED = {("users", "password"), ("api_tokens", "digest")}
#: Columns whose changes alone are not worth an entry (a token's use, once a minute).
QUIET = {("api_tokens", "last_used_at")}


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, bytes | bytearray):
        return f"<{len(v)} bytes>"
    if isinstance(v, Base):
        return _key(v)
    return v


def _key(obj: Any) -> str:
    ident = inspect(obj).identity
    return ",".join(str(i) for i in ident) if ident else "?"


def _changes(obj: Any, action: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    mapper = inspect(obj).mapper
    for attr in mapper.column_attrs:
        h = get_history(obj, attr.key)
        if action == "insert":
            new = getattr(obj, attr.key)
            if new is not None:
                out[attr.key] = [None, _plain(new)]
        elif action == "delete":
            old = h.unchanged[0] if h.unchanged else (h.deleted[0] if h.deleted else None)
            if old is not None:
                out[attr.key] = [_plain(old), None]
        elif h.has_changes():
            out[attr.key] = [_plain(h.deleted[0]) if h.deleted else None, _plain(h.added[0]) if h.added else None]
    if action == "update":  # links to other rows (reports ↔ incidents)
        for rel in mapper.relationships:
            if rel.secondary is None:
                continue
            h = get_history(obj, rel.key, passive=PASSIVE_NO_INITIALIZE)  # no load of an untouched collection
            if h.has_changes():
                out[rel.key] = [[_key(o) for o in h.deleted], [_key(o) for o in h.added]]
    return out


def _after_flush(session: Session, _context: Any) -> None:
    actor = str(session.info.get("actor") or "system")
    at = utc_now()
    rows: list[dict[str, Any]] = []
    for action, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if not isinstance(obj, Base) or isinstance(obj, UNAUDITED):
                continue
            table = obj.__tablename__
            changes = {k: ["<redacted>" if v is not None else None for v in vs] if (table, k) in REDACTED else vs
                       for k, vs in _changes(obj, action).items()}
            if action == "update" and not {k for k in changes if (table, k) not in QUIET}:
                continue
            rows.append({"at": at, "actor": actor, "action": action, "table_name": table,
                         "row_id": _key(obj), "changes": json.dumps(changes, ensure_ascii=False, default=str)})
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def record(session: Session, action: str, table: str, row_id: str, changes: dict[str, Any],
           actor: str | None = None) -> None:
    """Add an entry that is not a row's change (a sign-in: ``action`` ``sign_in`` or
    ``sign_fail``; at most 10 characters), by ``actor`` (default: the session's)."""
    session.add(AuditEntry(at=utc_now(), actor=(actor or str(session.info.get("actor") or "system"))[:200],
                           action=action, table_name=table, row_id=row_id[:100],
                           changes=json.dumps(changes, ensure_ascii=False, default=str)))


def install(factory: sessionmaker[Session]) -> None:
    """Record the changes of every session ``factory`` makes."""
    event.listen(factory, "after_flush", _after_flush)
