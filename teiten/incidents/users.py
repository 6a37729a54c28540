"""Users and API tokens: passwords kept as scrypt hashes (the standard library's), tokens as
their SHA-256; roles ``admin``, ``handler``, ``viewer``."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from teiten.errors import InputError
from teiten.incidents.models import ApiToken, User

__all__ = ["ROLES", "add_user", "check_password", "hash_password", "new_token", "token_user", "verify"]

ROLES = ("admin", "handler", "viewer")
_N, _R, _P = 1 << 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${h.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, h = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(h) // 2)
    return hmac.compare_digest(got.hex(), h)


def add_user(session: Session, name: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise InputError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < 8:
        raise InputError("a password has at least 8 characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise InputError(f"user {name!r} exists")
    u = User(name=name, role=role, password=hash_password(password))
    session.add(u)
    session.flush()
    return u


def verify(session: Session, name: str, password: str) -> User | None:
    u = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if u is None:
        check_password(password, hash_password("x" * 8))  # the same time for an unknown name
        return None
    return u if check_password(password, u.password) else None


def new_token(session: Session, user: User, label: str | None = None) -> str:
    """A new token for ``user`` (shown once; only its digest is kept)."""
    token = "tt_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, digest=hashlib.sha256(token.encode()).hexdigest(), label=label))
    session.flush()
    return token


def token_user(session: Session, token: str) -> User | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    t = session.scalar(select(ApiToken).where(ApiToken.digest == digest))
    return t.user if t is not None and t.user.active else None
