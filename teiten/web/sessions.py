"""Server-side web sessions (the ``web_sessions`` table) and the web secret.

The session cookie (``teiten_session``) holds 32 random bytes (URL-safe base64) and nothing
else; the server keeps only their SHA-256, as the row's id, with the user, the times, the
client's address and the session's CSRF token. The cookie is not signed: it cannot be
guessed, and nothing in the database turns back into one. A session ends on sign-out, when
its user is disabled, after ``session_idle_minutes`` without a request and
``session_max_hours`` after sign-in; every sign-in makes a new one and revokes the one the
browser had. ``last_seen`` is written at most once a minute (:attr:`SessionPolicy.touch_every`)
and the audit trail leaves these rows out (:mod:`teiten.incidents.audit`).

A signed-out visitor has no session, so the sign-in form's CSRF token is a signed double
submit: a random pre-session cookie (``teiten_presession``) and, in the form, its HMAC
under the web secret (:func:`login_csrf`). The secret signs nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from starlette.requests import Request

from teiten.errors import SettingError
from teiten.incidents.db import IncidentDB
from teiten.incidents.models import User, WebSession, utc_now
from teiten.settings import setting

__all__ = ["PRESESSION_COOKIE", "SESSION_COOKIE", "SessionPolicy", "SignedIn", "check_secret", "end_session",
           "find_session", "login_csrf", "open_session", "stored_secret"]

SESSION_COOKIE = "teiten_session"
PRESESSION_COOKIE = "teiten_presession"
_HOW = "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"


def check_secret(secret: str, where: str = "TEITEN_WEB_SECRET") -> bytes:
    """The key ``secret`` stands for: 64+ hex digits or 43+ URL-safe base64 characters, at
    least 32 bytes, not a repeated pattern (fewer than 16 different bytes); else SettingError."""
    s = secret.strip()
    key = b""
    if len(s) % 2 == 0 and all(c in string.hexdigits for c in s):
        key = bytes.fromhex(s)
    elif all(c in string.ascii_letters + string.digits + "-_=" for c in s):
        try:
            key = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        except (binascii.Error, ValueError):
            key = b""
    if len(key) < 32 or len(set(key)) < 16:
        raise SettingError(f"{where}: a web secret is at least 32 random bytes, as 64 hex digits or 43 URL-safe"
                           f" base64 characters ({_HOW})")
    return key


def stored_secret(path: Path) -> str:
    """The secret kept in ``path`` (``<store>/web-secret``), made there with mode 0600 on
    first use; SettingError if others may read it or it is not a proper secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise SettingError(f"{path}: others may read the web secret (chmod 600 it)") from None
        text = path.read_text().strip()
        check_secret(text, str(path))
        return text
    text = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return text


def _positive(name: str) -> float:
    raw = setting(name)
    try:
        value = float(raw or "")
    except ValueError:
        value = 0.0
    if not value > 0:
        raise SettingError(f"TEITEN_{name.upper()}: a positive number, not {raw!r}")
    return value


@dataclass(frozen=True)
class SessionPolicy:
    """How the app's sessions work: ``key`` (the web secret's bytes), ``secure`` (Secure
    cookies: True, False or None for auto, see :meth:`secure_for`) and the two timeouts."""

    key: bytes
    secure: bool | None = None
    idle: timedelta = timedelta(minutes=60)
    max_age: timedelta = timedelta(hours=12)

    @classmethod
    def from_settings(cls, key: bytes, secure: bool | None) -> SessionPolicy:
        """The policy with the timeouts of ``session_idle_minutes`` and ``session_max_hours``."""
        return cls(key, secure, timedelta(minutes=_positive("session_idle_minutes")),
                   timedelta(hours=_positive("session_max_hours")))

    @property
    def touch_every(self) -> timedelta:
        """How stale ``last_seen`` may get before a request writes it: a minute (less
        for idle timeouts under 4 minutes)."""
        return min(timedelta(minutes=1), self.idle / 4)

    def secure_for(self, request: Request) -> bool:
        """Whether the cookies of ``request``'s answer are Secure. Auto: yes, unless the
        request came over plain HTTP (as uvicorn saw it: X-Forwarded-Proto counts from
        trusted proxies only) to a loopback address of the server."""
        if self.secure is not None:
            return self.secure
        if request.url.scheme in ("https", "wss"):
            return True
        server = request.scope.get("server")
        host = str(server[0]) if server else ""
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host != "localhost"


@dataclass(frozen=True)
class SignedIn:
    """A live session: its row's ``id``, its user (active) and its CSRF token."""

    id: str
    user: User
    csrf: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def open_session(db: IncidentDB, user_id: int, address: str | None, replacing: str | None = None) -> str:
    """A new session of ``user_id``: the cookie's value. The session of cookie ``replacing``
    (the browser's former one), if any, is revoked."""
    value, now = secrets.token_urlsafe(32), utc_now()
    with db.session() as s:
        if replacing:
            s.execute(update(WebSession).where(WebSession.id == _digest(replacing), WebSession.revoked_at.is_(None))
                      .values(revoked_at=now))
        s.add(WebSession(id=_digest(value), user_id=user_id, created_at=now, last_seen=now,
                         address=(address or "")[:64] or None, csrf=secrets.token_urlsafe(32)))
    return value


def find_session(db: IncidentDB, policy: SessionPolicy, value: str) -> SignedIn | None:
    """The live session of cookie ``value``: None once revoked, timed out or its user disabled."""
    now = utc_now()
    with db.session() as s:
        row = s.execute(select(WebSession, User).join(User, WebSession.user_id == User.id)
                        .where(WebSession.id == _digest(value), WebSession.revoked_at.is_(None))).first()
        if row is None:
            return None
        ws, user = row
        if not user.active:
            ws.revoked_at = now  # stays ended if the user is enabled again
            return None
        if now - ws.last_seen > policy.idle or now - ws.created_at > policy.max_age:
            return None
        if now - ws.last_seen >= policy.touch_every:
            ws.last_seen = now
        return SignedIn(ws.id, user, ws.csrf)


def end_session(db: IncidentDB, value: str) -> None:
    """Revoke the session of cookie ``value`` (signing out)."""
    with db.session() as s:
        s.execute(update(WebSession).where(WebSession.id == _digest(value), WebSession.revoked_at.is_(None))
                  .values(revoked_at=utc_now()))


def login_csrf(key: bytes, presession: str) -> str:
    """The sign-in form's CSRF token for the pre-session cookie ``presession``."""
    return hmac.new(key, b"login-csrf\0" + presession.encode(), hashlib.sha256).hexdigest()
