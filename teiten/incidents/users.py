"""Users and API tokens: passwords kept as scrypt hashes (the standard library's), tokens as
their SHA-256; roles ``admin``, ``handler``, ``viewer``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from teiten.errors import InputError
from teiten.incidents.models import ApiToken, User, WebSession, utc_now

__all__ = ["MIN_PASSWORD", "ROLES", "SCOPES", "TOKEN_DAYS", "add_user", "check_password", "check_policy",
           "end_sessions", "find_user", "hash_password", "new_token", "parse_scope", "revoke_token", "set_active",
           "set_password", "token_access", "token_rows", "token_user", "verify"]

ROLES = ("admin", "handler", "viewer")
#: What a token may do: ``intake`` (file reports), ``read`` (incidents, statistics).
SCOPES = ("intake", "read")
#: How many days a new token lasts unless told otherwise.
TOKEN_DAYS = 365
_USE_RESOLUTION = timedelta(minutes=1)  # last_used_at is recorded at most this often
_N, _R, _P = 1 << 14, 8, 1
#: The shortest password :func:`check_policy` takes.
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${h.hex()}"


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # what verify checks an unknown name against


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, h = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(h) // 2)
    return hmac.compare_digest(got.hex(), h)


def check_policy(password: str, name: str | None = None) -> None:
    """InputError unless ``password`` is good enough for a user (the one password policy): at
    least 12 characters and a zxcvbn score of 3 or more (of 0–4), ``name`` counting against it."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password has at least {MIN_PASSWORD} characters")
    from zxcvbn import zxcvbn  # its dictionaries load on first use

    got = zxcvbn(password[:100], user_inputs=[name] if name else [])  # its time grows with the length
    if got["score"] < 3:
        hint = " ".join([got["feedback"].get("warning") or "", *got["feedback"].get("suggestions", [])]).strip()
        raise InputError(f"that password is too easy to guess (strength {got['score']} of 4, 3 needed)"
                         + (f": {hint}" if hint else ""))


def add_user(session: Session, name: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise InputError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    check_policy(password, name)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise InputError(f"user {name!r} exists")
    u = User(name=name, role=role, password=hash_password(password))
    session.add(u)
    session.flush()
    return u


def verify(session: Session, name: str, password: str) -> User | None:
    """The active user ``name`` if ``password`` is theirs. One scrypt whatever the name: an
    unknown or disabled name is checked against a dummy hash, so time tells nothing."""
    u = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if u is None:
        check_password(password, _DUMMY_HASH)
        return None
    return u if check_password(password, u.password) else None


def new_token(session: Session, user: User, label: str | None = None, *, scope: str = "intake,read",
              expires_days: int | None = TOKEN_DAYS) -> str:
    """A new token for ``user`` (shown once; only its digest is kept) that may do ``scope``
    (:func:`parse_scope`) for ``expires_days`` days (None: until revoked)."""
    if expires_days is not None and expires_days < 1:
        raise InputError(f"a token lasts at least 1 day, not {expires_days}")
    token = "tt_" + secrets.token_urlsafe(32)
    expires = None if expires_days is None else utc_now() + timedelta(days=expires_days)
    session.add(ApiToken(user_id=user.id, digest=_digest(token), label=label, scope=parse_scope(scope),
                         expires_at=expires))
    session.flush()
    return token


def parse_scope(text: str) -> str:
    """``intake``, ``read`` or both (comma-separated, any order) as stored: ``intake,read``."""
    got = {w.strip() for w in text.split(",") if w.strip()}
    if not got or not got <= set(SCOPES):
        raise InputError(f"a token's scope is {', '.join(SCOPES)} or both (comma-separated), not {text!r}")
    return ",".join(s for s in SCOPES if s in got)


def token_access(session: Session, token: str, now: datetime | None = None) -> tuple[User, frozenset[str]] | None:
    """The active user of ``token`` and what it may do, or None for an unknown, expired or
    revoked token or a disabled user. The row is found by the token's SHA-256 (an index
    look-up of a digest, which tells nothing about the token) and the digests are compared
    in constant time; ``last_used_at`` is recorded at most once a minute."""
    now = now or utc_now()
    digest = _digest(token)
    t = session.scalar(select(ApiToken).where(ApiToken.digest == digest))
    if t is None or not hmac.compare_digest(t.digest, digest):
        return None
    if t.revoked_at is not None or (t.expires_at is not None and t.expires_at <= now) or not t.user.active:
        return None
    if t.last_used_at is None or now - t.last_used_at >= _USE_RESOLUTION:
        t.last_used_at = now
        session.flush()
    return t.user, frozenset(t.scope.split(","))


def token_user(session: Session, token: str, scope: str | None = None) -> User | None:
    """The user of ``token`` (:func:`token_access`) when it may do ``scope`` (any scope when None)."""
    got = token_access(session, token)
    return got[0] if got is not None and (scope is None or scope in got[1]) else None


def token_rows(session: Session, user: str | None = None) -> list[dict[str, Any]]:
    """The tokens (of ``user``, else everyone's), oldest first: id, user, label, scope,
    created, expires, last_used, revoked (times in ISO 8601, UTC) — never a token or its digest."""
    q = select(ApiToken, User.name).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id)
    if user is not None:
        find_user(session, user)
        q = q.where(User.name == user)

    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat(timespec="seconds")

    return [{"id": t.id, "user": name, "label": t.label, "scope": t.scope, "created": iso(t.created_at),
             "expires": iso(t.expires_at), "last_used": iso(t.last_used_at), "revoked": iso(t.revoked_at)}
            for t, name in session.execute(q)]


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke token ``token_id`` from now on (a token revoked before keeps its time)."""
    t = session.get(ApiToken, token_id)
    if t is None:
        raise InputError(f"no token {token_id} (teiten incidents token list)")
    if t.revoked_at is None:
        t.revoked_at = utc_now()
        session.flush()
    return t


def find_user(session: Session, name: str) -> User:
    """The user called ``name`` (InputError when there is none)."""
    u = session.scalar(select(User).where(User.name == name))
    if u is None:
        raise InputError(f"no user {name!r} (add one with teiten incidents user add)")
    return u


def set_active(session: Session, name: str, active: bool) -> User:
    """Enable or disable user ``name``. A disabled user's tokens open nothing and their
    web sessions are ended (for good: enabling again brings the unexpired, unrevoked tokens
    back, not the sessions)."""
    u = find_user(session, name)
    u.active = active
    if not active:
        end_sessions(session, u)
    session.flush()
    return u


def set_password(session: Session, name: str, password: str) -> User:
    """Give user ``name`` a new password (:func:`check_policy`); their web sessions end."""
    check_policy(password, name)
    u = find_user(session, name)
    u.password = hash_password(password)
    end_sessions(session, u)
    session.flush()
    return u


def end_sessions(session: Session, user: User) -> int:
    """Revoke the open web sessions of ``user``: how many there were."""
    now = utc_now()
    rows = session.scalars(select(WebSession).where(WebSession.user_id == user.id,
                                                    WebSession.revoked_at.is_(None))).all()
    for w in rows:
        w.revoked_at = now
    return len(rows)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
