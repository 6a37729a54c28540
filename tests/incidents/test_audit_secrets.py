"""The audit trail records who changed a password or made a token, never the hash or the
digest, and a token's use alone makes no entry. (Before: the scrypt hash of every new or
changed password and every token's SHA-256 were copied into ``audit.changes``, and every
recorded use of a token added an entry.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from teiten.incidents.db import IncidentDB
from teiten.incidents.models import ApiToken, AuditEntry, User
from teiten.incidents.users import add_user, new_token, set_password, token_access

PASSWORD = "tawny-grill-ocean-47"


def test_secrets_stay_out_of_the_audit_trail(db: IncidentDB) -> None:
    with db.session("admin") as s:
        u = add_user(s, "hana", "handler", PASSWORD)
        token = new_token(s, u, "intake script")
    with db.session("admin") as s:
        set_password(s, "hana", "quiet-marsh-lantern-82")
    with db.session("api") as s:
        assert token_access(s, token) is not None  # records last_used_at
    with db.session() as s:
        hashes = [s.scalar(select(User.password)), s.scalar(select(ApiToken.digest))]
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        trail = " ".join(e.changes for e in entries)
        assert all(h and h not in trail for h in hashes)
        assert trail.count("<redacted>") >= 3  # the user's insert and update, the token's insert
        assert {(e.table_name, e.action) for e in entries} >= {("users", "insert"), ("users", "update"),
                                                                ("api_tokens", "insert")}
        assert not [e for e in entries if e.table_name == "api_tokens" and e.action == "update"]
        # a token used a minute later updates last_used_at again, and still makes no entry
        t = s.scalar(select(ApiToken))
        assert t is not None and t.last_used_at is not None
        t.last_used_at -= timedelta(minutes=2)
    with db.session("api") as s:
        before = s.scalar(select(ApiToken.last_used_at))
        assert token_access(s, token) is not None
    with db.session() as s:
        assert s.scalar(select(ApiToken.last_used_at)) != before
        assert not s.scalars(select(AuditEntry).where(AuditEntry.table_name == "api_tokens",
                                                      AuditEntry.action == "update")).all()
