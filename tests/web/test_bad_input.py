"""Bad input answers a 4xx with a message, never a 500 (issue 16): a reused coordination
ticket, a time that is no time or past year 9999 in UTC, ids and page numbers past what the
database holds, periods whose statistics leave years 1 to 9999, and a report id already
filed from the web form. Over real HTTP (the live app of conftest)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.conftest import PASSWORD, Live

REPORT: dict[str, Any] = {
    "id": "bad-1", "received_at": "2017-10-03T00:00:00Z", "channel": "api",
    "incidents": [{"ref": "B1", "category": "phishing", "targets": ["hxxp://bank.example[.]com/login"]}],
    "coordinations": [{"incident_ref": "B1", "party": "Example ISP", "domestic": True, "status": "sent",
                       "ticket": "[ISP#1]"}]}


def form_token(client: httpx.Client, path: str) -> str:
    """The CSRF token of the form on page ``path``."""
    m = re.search(r'name="token" value="([^"]*)"', client.get(path).text)
    assert m is not None and m.group(1), f"no form token on {path}"
    return m.group(1)


def signed_in(live: Live, name: str) -> httpx.Client:
    """A client signed in as ``name`` through the sign-in form (its CSRF token)."""
    c = httpx.Client(base_url=live.base, follow_redirects=False, timeout=30)
    r = c.post("/login", data={"name": name, "password": PASSWORD, "next": "/incidents",
                               "token": form_token(c, "/login")})
    assert r.status_code == 303 and r.headers["location"] == "/incidents", r.text
    return c


def bearer(live: Live, name: str = "hana") -> dict[str, str]:
    return {"Authorization": f"Bearer {live.tokens[name]}"}


@pytest.fixture
def hana(live: Live) -> Iterator[httpx.Client]:
    c = signed_in(live, "hana")
    yield c
    c.close()


def _filed(live: Live) -> int:
    r = httpx.post(f"{live.base}/api/reports", json=REPORT, headers=bearer(live))
    assert r.status_code == 201, r.text
    iid: int = r.json()["incidents"][0]
    return iid


def test_a_reused_coordination_ticket_is_a_conflict(live: Live) -> None:
    # today: 500 (the IntegrityError of coordinations.ticket reached the client as a server error)
    _filed(live)
    again = {**REPORT, "id": "bad-2", "incidents": [{**REPORT["incidents"][0], "ref": "B2"}],
             "coordinations": [{**REPORT["coordinations"][0], "incident_ref": "B2"}]}
    r = httpx.post(f"{live.base}/api/reports", json=again, headers=bearer(live))
    assert r.status_code == 409, r.text
    assert "ticket" in r.json()["error"]
    # nothing of the refused report was kept
    assert httpx.get(f"{live.base}/api/incidents/2", headers=bearer(live)).status_code == 404


def test_a_coordination_sent_at_that_is_no_time(live: Live, hana: httpx.Client) -> None:
    # today: 500 (the form's sent_at went unchecked into the database: a ValueError, then,
    # for a time past year 9999 in UTC, an OverflowError)
    iid = _filed(live)
    token = form_token(hana, f"/incidents/{iid}")
    for when in ("not-a-date", "9999-12-31T23:59:59-23:59"):
        r = hana.post(f"/incidents/{iid}/coordinations", data={"token": token, "party": "CERT-X", "sent_at": when})
        assert r.status_code == 422, (when, r.status_code)
        assert "sent_at" in r.text and "Internal Server Error" not in r.text
    assert len(httpx.get(f"{live.base}/api/incidents/{iid}", headers=bearer(live)).json()["coordinations"]) == 1


def test_ids_and_pages_past_the_databases_integers(live: Live, hana: httpx.Client) -> None:
    # today: 500 for every id >= 2**63 (SQLite's OverflowError; PostgreSQL's ids are 32 bits)
    # and for ?page=2**62 (the offset overflowed); ?page=1e20 was already a 422
    huge = 2**63
    token = form_token(hana, "/incidents")
    answers = {
        "page 1e20": hana.get("/incidents?page=1e20"),
        "page 2**62": hana.get(f"/incidents?page={2**62}"),
        "page 2**63": hana.get(f"/incidents?page={huge}"),
        "incident": hana.get(f"/incidents/{huge}"),
        "report": hana.get(f"/reports/{huge}"),
        "status": hana.post(f"/incidents/{huge}/status", data={"token": token, "status": "closed"}),
        "coordination": hana.post(f"/incidents/{huge}/coordinations", data={"token": token, "party": "x"}),
        "api incident": httpx.get(f"{live.base}/api/incidents/{huge}", headers=bearer(live)),
        "api incident 2**40": httpx.get(f"{live.base}/api/incidents/{2**40}", headers=bearer(live)),
    }
    for what, r in answers.items():
        assert r.status_code in (404, 422), (what, r.status_code, r.text[:200])
        assert r.text, what
    # the last page there can be still answers
    assert hana.get(f"/incidents?page={10**9}").status_code == 200


@pytest.mark.parametrize("period", ["0001-01", "0002-01", "9999Q4", "9999-12"])
def test_periods_whose_statistics_leave_the_calendar(live: Live, hana: httpx.Client, period: str) -> None:
    # today: 500 on both (ValueError "year 0 is out of range", "year 10000 is out of range",
    # OverflowError for 0002-01 in Asia/Tokyo: its year before starts before year 1 in UTC)
    r = httpx.get(f"{live.base}/api/stats", params={"period": period}, headers=bearer(live))
    assert r.status_code == 400 and "years 1 to 9999" in r.json()["error"], r.text
    r = hana.get("/stats", params={"period": period})
    assert r.status_code == 400 and "years 1 to 9999" in r.text
    # the edges that work still do
    assert hana.get("/stats", params={"period": "9999-11"}).status_code == 200


def test_a_received_at_past_year_9999_in_utc(live: Live, hana: httpx.Client) -> None:
    # today: 500 from the API and from the form (an OverflowError converting to UTC on the way
    # into the database)
    late = "9999-12-31T23:59:59-23:59"
    r = httpx.post(f"{live.base}/api/reports", json={**REPORT, "received_at": late, "coordinations": []},
                   headers=bearer(live))
    assert r.status_code == 422 and "received_at" in r.json()["error"], r.text
    r = hana.post("/reports", data={"token": form_token(hana, "/reports/new"), "channel": "web",
                                    "received_at": late, "category": "phishing", "targets": "bank.example.com"})
    assert r.status_code == 400 and "received_at" in r.text and 'id="report-form"' in r.text


def test_a_report_id_already_filed_from_the_web_form(live: Live, hana: httpx.Client) -> None:
    # today: 303 to /reports/None (record() answered "duplicate" with no report id)
    _filed(live)
    r = hana.post("/reports", data={"token": form_token(hana, "/reports/new"), "ext_id": REPORT["id"],
                                    "channel": "web", "category": "phishing", "targets": "other.example.com"})
    assert r.status_code == 409, (r.status_code, r.headers.get("location"))
    assert "already stored" in r.text and 'href="/reports/1"' in r.text
    assert hana.get("/reports/1").status_code == 200


def test_validation_errors_read_like_the_others_and_echo_nothing(live: Live, hana: httpx.Client) -> None:
    # before: FastAPI's own {"detail": [{"input": ...}]} on pages and API alike, the value sent back
    evil = "1<script>alert(1)<"
    r = httpx.get(f"{live.base}/api/incidents/{evil}", headers=bearer(live))
    assert r.status_code == 422 and set(r.json()) == {"error"} and "iid" in r.json()["error"]
    assert "script" not in r.text
    page = hana.get(f"/incidents?page={evil}")
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "page" in page.text and evil not in page.text and "&lt;script" not in page.text
