"""Server-side sessions over real HTTP (issue 16): sign-out and replay, rotation, the idle
and absolute timeouts, disabled users, the web secret and the audit trail. Before issue 16
the session was a cookie signed with the web secret holding the user's id: nothing on the
server could end it, and any short secret was taken."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import itsdangerous
import pytest
from sqlalchemy import func, select, update

from teiten.errors import SettingError
from teiten.incidents.db import IncidentDB
from teiten.incidents.models import AuditEntry, User, WebSession, utc_now
from teiten.incidents.users import set_active
from teiten.web.app import create_app
from teiten.web.sessions import SESSION_COOKIE, check_secret, stored_secret
from tests.web.conftest import PASSWORD, SECRET, Live, serve


def form_token(html: str) -> str:
    """The CSRF token of the page's first form."""
    m = re.search(r'name="token" value="([^"]*)"', html)
    assert m, html[:500]
    return m.group(1)


def sign_in(base: str, name: str, password: str = PASSWORD, client: httpx.Client | None = None,
            ) -> tuple[httpx.Client, httpx.Response]:
    """A client (new, or ``client``) that has posted the sign-in form, and the answer."""
    c = client or httpx.Client(base_url=base)
    token = form_token(c.get("/login").text)
    return c, c.post("/login", data={"name": name, "password": password, "token": token, "next": "/incidents"})


def signed_in(base: str, name: str) -> httpx.Client:
    c, r = sign_in(base, name)
    assert r.status_code == 303 and r.headers["location"] == "/incidents", r.text
    assert c.get("/incidents").status_code == 200
    return c


def is_signed_in(base: str, cookie: str) -> bool:
    """Whether a fresh client holding only the session cookie ``cookie`` sees a page."""
    r = httpx.get(f"{base}/incidents", cookies={SESSION_COOKIE: cookie})
    assert r.status_code in (200, 303), r.status_code
    return r.status_code == 200


def _row(db: IncidentDB, cookie: str) -> WebSession:
    with db.session() as s:
        got = s.get(WebSession, hashlib.sha256(cookie.encode()).hexdigest())
        assert got is not None
        return got


def _age(db: IncidentDB, cookie: str, **values: object) -> None:
    with db.session() as s:
        s.execute(update(WebSession).where(WebSession.id == hashlib.sha256(cookie.encode()).hexdigest())
                  .values(**values))


def test_logout_then_replaying_the_old_cookie_signs_in_nothing(live: Live) -> None:
    # before: logout only cleared the browser's cookie; the old signed {"uid": ...} still opened every page
    c = signed_in(live.base, "hana")
    cookie = c.cookies[SESSION_COOKIE]
    assert is_signed_in(live.base, cookie)
    r = c.post("/logout", data={"token": form_token(c.get("/incidents").text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not is_signed_in(live.base, cookie)
    assert _row(live.db, cookie).revoked_at is not None


def test_the_cookie_holds_only_a_random_id_and_each_sign_in_rotates_it(live: Live) -> None:
    # before: the cookie was the signed session itself (base64 JSON with the user's id), the same after a new sign-in
    c = signed_in(live.base, "root")
    first = c.cookies[SESSION_COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)  # 32 random bytes, nothing else
    row = _row(live.db, first)
    assert row.address == "127.0.0.1" and row.revoked_at is None
    assert form_token(c.get("/incidents").text) == row.csrf  # the CSRF token lives in the session's row
    c, r = sign_in(live.base, "root", client=c)
    second = c.cookies[SESSION_COOKIE]
    assert r.status_code == 303 and second != first
    assert not is_signed_in(live.base, first) and is_signed_in(live.base, second)
    # another session's CSRF token is refused
    other = signed_in(live.base, "hana")
    assert c.post("/logout", data={"token": form_token(other.get("/incidents").text)}).status_code == 403


def test_a_cookie_forged_with_the_secret_opens_nothing(live: Live) -> None:
    # before: with TEITEN_WEB_SECRET known (or weak: "a" was taken), this cookie opened the admin's pages
    with live.db.session() as s:
        root = s.scalar(select(User.id).where(User.name == "root"))
    payload = base64.b64encode(json.dumps({"uid": root}).encode())
    forged = itsdangerous.TimestampSigner(SECRET).sign(payload).decode()
    assert not is_signed_in(live.base, forged)


@pytest.mark.parametrize("weak", ["a", "test", "0123456789abcdef" * 2, "ab" * 32, "z" * 43, "x" * 100])
def test_a_weak_secret_is_refused_at_startup(db: IncidentDB, weak: str) -> None:
    # before: any secret was taken, "a" too
    with pytest.raises(SettingError, match="at least 32 random bytes"):
        create_app(db, secret=weak)


def test_a_proper_secret_is_taken(db: IncidentDB) -> None:
    assert len(check_secret(SECRET)) == 32
    assert len(check_secret(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))) == 32
    assert len(check_secret(os.urandom(48).hex())) == 48
    create_app(db, secret=SECRET)


def test_the_secret_is_made_on_first_run_with_mode_0600(tmp_path: Path) -> None:
    # before: no secret given meant a random one per run
    path = tmp_path / "store" / "web-secret"
    made = stored_secret(path)
    assert len(check_secret(made)) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored_secret(path) == made  # kept
    path.chmod(0o644)
    with pytest.raises(SettingError, match="chmod 600"):
        stored_secret(path)
    path.chmod(0o600)
    path.write_text("short\n")
    with pytest.raises(SettingError, match="web-secret"):
        stored_secret(path)


def test_idle_and_absolute_timeouts(live: Live) -> None:
    # before: the cookie lasted 14 days, renewed by every request: no idle and no absolute limit
    c = signed_in(live.base, "vic")
    cookie = c.cookies[SESSION_COOKIE]
    _age(live.db, cookie, last_seen=utc_now() - timedelta(minutes=59))
    assert is_signed_in(live.base, cookie)  # 60 idle minutes by default; this request was seen
    _age(live.db, cookie, last_seen=utc_now() - timedelta(minutes=61))
    assert not is_signed_in(live.base, cookie)
    c = signed_in(live.base, "vic")
    cookie = c.cookies[SESSION_COOKIE]
    _age(live.db, cookie, created_at=utc_now() - timedelta(hours=12, minutes=1))  # in use, but 12 hours old
    assert not is_signed_in(live.base, cookie)


@pytest.fixture
def short_sessions(db: IncidentDB, monkeypatch: pytest.MonkeyPatch, live: Live) -> Iterator[Live]:
    """The live app's users, served by an app with 5 idle minutes and 1 hour at most."""
    monkeypatch.setenv("TEITEN_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("TEITEN_SESSION_MAX_HOURS", "1")
    yield from serve(create_app(db, secret=SECRET), db, live.tokens)


def test_the_timeouts_are_settings(short_sessions: Live) -> None:
    base, db = short_sessions.base, short_sessions.db
    cookie = signed_in(base, "vic").cookies[SESSION_COOKIE]
    _age(db, cookie, last_seen=utc_now() - timedelta(minutes=6))
    assert not is_signed_in(base, cookie)
    cookie = signed_in(base, "vic").cookies[SESSION_COOKIE]
    _age(db, cookie, created_at=utc_now() - timedelta(minutes=61))
    assert not is_signed_in(base, cookie)


def test_a_bad_timeout_setting_is_refused(db: IncidentDB, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEITEN_SESSION_IDLE_MINUTES", "soon")
    with pytest.raises(SettingError, match="TEITEN_SESSION_IDLE_MINUTES"):
        create_app(db, secret=SECRET)


def test_last_seen_is_written_at_most_once_a_minute(live: Live) -> None:
    c = signed_in(live.base, "hana")
    cookie = c.cookies[SESSION_COOKIE]
    seen = _row(live.db, cookie).last_seen
    for _ in range(5):
        assert c.get("/incidents").status_code == 200
    assert _row(live.db, cookie).last_seen == seen
    _age(live.db, cookie, last_seen=seen - timedelta(minutes=2))
    assert c.get("/incidents").status_code == 200
    assert _row(live.db, cookie).last_seen > seen


def test_disabling_a_user_ends_their_sessions_for_good(live: Live) -> None:
    # before: a disabled user was signed out, but enabling them again brought the old cookie back to life
    cookie = signed_in(live.base, "hana").cookies[SESSION_COOKIE]
    with live.db.session("admin") as s:
        s.execute(update(User).where(User.name == "hana").values(active=False))  # however it is done
    assert not is_signed_in(live.base, cookie)
    with live.db.session("admin") as s:
        s.execute(update(User).where(User.name == "hana").values(active=True))
    assert not is_signed_in(live.base, cookie)
    other = signed_in(live.base, "hana").cookies[SESSION_COOKIE]  # and with teiten incidents user disable
    with live.db.session("admin") as s:
        set_active(s, "hana", False)
        set_active(s, "hana", True)
    assert not is_signed_in(live.base, other)


def test_sessions_stay_out_of_the_audit_trail(live: Live) -> None:
    # before: no sign-in was recorded; with sessions in the database each request would have been
    with live.db.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    c = signed_in(live.base, "vic")
    cookie = c.cookies[SESSION_COOKIE]
    for _ in range(3):
        _age(live.db, cookie, last_seen=utc_now() - timedelta(minutes=2))
        assert c.get("/incidents").status_code == 200
    c.post("/logout", data={"token": form_token(c.get("/incidents").text)})
    with live.db.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(before)).all()
    assert [(a.action, a.table_name) for a in rows] == [("sign_in", "users")]
