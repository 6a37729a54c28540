"""API tokens over real HTTP: their scope (``intake`` files reports, ``read`` reads), their
expiry and revocation, a disabled user's tokens, the time of last use, and the OpenAPI
schema shown only to a signed-in user or a token holder."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import httpx
from sqlalchemy import select

from teiten.incidents.db import IncidentDB
from teiten.incidents.models import ApiToken, User, utc_now
from teiten.incidents.users import new_token, revoke_token, set_active, token_access, token_user
from tests.web.conftest import PASSWORD, Live

REPORT = {"id": "tok-1", "received_at": "2017-10-03T00:00:00Z", "channel": "api",
          "incidents": [{"ref": "S1", "category": "scan", "targets": ["192.0.2.9"]}]}


def _token(db: IncidentDB, name: str, **kw: object) -> str:
    with db.session("admin") as s:
        u = s.scalar(select(User).where(User.name == name))
        assert u is not None
        return new_token(s, u, **kw)  # type: ignore[arg-type]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_read_token_cannot_file_reports_and_an_intake_token_cannot_read(live: Live) -> None:
    # today: a token had no scope; any token of a handler filed reports and read everything
    read, intake = _token(live.db, "hana", scope="read"), _token(live.db, "hana", scope="intake")
    r = httpx.post(f"{live.base}/api/reports", json=REPORT, headers=_bearer(read))
    assert r.status_code == 403 and "intake" in r.json()["error"]
    r = httpx.post(f"{live.base}/api/reports", json=REPORT, headers=_bearer(intake))
    assert r.status_code == 201, r.text
    iid = r.json()["incidents"][0]
    for path in (f"/api/incidents/{iid}", "/api/stats?period=2017Q4"):
        r = httpx.get(live.base + path, headers=_bearer(intake))
        assert r.status_code == 403 and "read" in r.json()["error"], path
        assert httpx.get(live.base + path, headers=_bearer(read)).status_code == 200, path
    # the default scope is both; a viewer's token still files nothing (its role)
    both = _token(live.db, "hana")
    assert httpx.get(f"{live.base}/api/incidents/{iid}", headers=_bearer(both)).status_code == 200
    r = httpx.post(f"{live.base}/api/reports", json={**REPORT, "id": "tok-2"}, headers=_bearer(live.tokens["vic"]))
    assert r.status_code == 403


def test_expired_and_revoked_tokens_and_a_disabled_users_tokens_open_nothing(live: Live) -> None:
    # today: a token past expires_at or with revoked_at set still answered 200 (token_user
    # looked at neither), and nothing could disable a user
    url = f"{live.base}/api/stats?period=2017Q4"
    expired, revoked = _token(live.db, "hana"), _token(live.db, "hana")
    for tok in (expired, revoked, live.tokens["vic"]):
        assert httpx.get(url, headers=_bearer(tok)).status_code == 200
    with live.db.session("admin") as s:
        rows = {t.digest: t for t in s.scalars(select(ApiToken))}
        rows[_digest(expired)].expires_at = utc_now() - timedelta(seconds=1)
        revoke_token(s, rows[_digest(revoked)].id)
        set_active(s, "vic", False)
    for tok in (expired, revoked, live.tokens["vic"]):
        r = httpx.get(url, headers=_bearer(tok))
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
    assert httpx.get(url, headers=_bearer(live.tokens["hana"])).status_code == 200
    with live.db.session("admin") as s:  # enabled again: vic's unexpired, unrevoked token works again
        set_active(s, "vic", True)
    assert httpx.get(url, headers=_bearer(live.tokens["vic"])).status_code == 200


def test_a_new_token_expires_in_a_year_and_records_its_use_at_most_once_a_minute(db: IncidentDB) -> None:
    # today: no expiry (expires_at stayed empty) and last_used_at was never written
    with db.session("admin") as s:
        u = User(name="ana", role="handler", password="-")
        s.add(u)
        s.flush()
        token = new_token(s, u)
    t0 = utc_now()
    with db.session() as s:
        t = s.scalars(select(ApiToken)).one()
        assert t.scope == "intake,read" and t.expires_at is not None
        assert timedelta(days=364, hours=23) < t.expires_at - t0 <= timedelta(days=365)
        assert t.last_used_at is None
        got = token_access(s, token, now=t0)
        assert got is not None and got[1] == {"intake", "read"}
        assert t.last_used_at == t0
        token_access(s, token, now=t0 + timedelta(seconds=50))
        assert t.last_used_at == t0  # not again within the minute
        token_access(s, token, now=t0 + timedelta(seconds=61))
        assert t.last_used_at == t0 + timedelta(seconds=61)
        assert token_access(s, token, now=t.expires_at) is None  # expired at its time
        # the plain function a collector calls: the user only for the scope asked
        assert token_user(s, token, "read") is not None and token_user(s, token, "upload") is None
        assert token_user(s, token + "x") is None


def test_token_checks_need_no_web_framework() -> None:
    # today: true too (token_user was plain), but it had no scope nor expiry; this keeps the
    # check usable by the sensor collector
    code = "import sys, teiten.incidents.users; assert 'fastapi' not in sys.modules and 'starlette' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_openapi_is_for_a_signed_in_user_or_a_token_holder(live: Live) -> None:
    # today: /api/openapi.json answered 200 to anyone
    url = f"{live.base}/api/openapi.json"
    r = httpx.get(url)
    assert r.status_code == 401 and "error" in r.json()
    assert httpx.get(url, headers=_bearer("tt_not-a-token")).status_code == 401
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(live.base + path).status_code == 404, path
    read = _token(live.db, "vic", scope="read")  # any scope will do
    r = httpx.get(url, headers=_bearer(read))
    assert r.status_code == 200 and "/api/reports" in r.json()["paths"]
    with httpx.Client(base_url=live.base) as c:  # signed in, no token
        page = c.get("/login")
        csrf = re.search(r'name="token" value="([^"]+)"', page.text)
        assert csrf is not None
        r = c.post("/login", data={"name": "vic", "password": PASSWORD, "token": csrf.group(1), "next": "/incidents"})
        assert r.status_code == 303, r.text
        r = c.get("/api/openapi.json")
        assert r.status_code == 200 and "/api/stats" in r.json()["paths"]


def _digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()
