"""The web UI in a real browser (Playwright driving Debian's chromium) and the JSON API over
real HTTP, against ``teiten serve``'s app run by uvicorn on 127.0.0.1."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from teiten.incidents.db import IncidentDB
from teiten.incidents.models import Incident, Report
from teiten.incidents.users import add_user, new_token
from teiten.web.app import create_app

from .conftest import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
#: 32 random bytes as hex: the web secret must be at least that (a short one is refused).
SECRET = "9c4e1f7a2b8d3c6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6"
EVIL = "<script>window.__pwned = 1</script><b>bold</b>"


@pytest.fixture
def server(db: IncidentDB) -> Iterator[tuple[str, dict[str, str]]]:
    with db.session("admin") as s:
        tokens = {}
        for name, role in (("hana", "handler"), ("vic", "viewer"), ("root", "admin")):
            tokens[name] = new_token(s, add_user(s, name, role, PASSWORD))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(db, secret=SECRET, tz="Asia/Tokyo"), host="127.0.0.1", port=port,
                                        log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tokens
    srv.should_exit = True
    t.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _login(browser: Browser, base: str, name: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{base}/incidents")
    assert "/login" in page.url  # signed out: sent to sign in
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/incidents")
    return page


def test_handler_files_a_report_and_records_a_coordination(server: tuple[str, dict[str, str]], browser: Browser,
                                                            db: IncidentDB) -> None:
    base, _ = server
    page = _login(browser, base, "hana")
    page.click("#new-report")
    page.select_option("select[name=channel]", "fax")
    page.fill("input[name=reporter]", "Tanaka, by FAX")
    page.fill("input[name=received_at]", "2017-10-02T09:30")
    page.fill("input[name=subject]", "Fake bank site")
    page.fill("textarea[name=content]", EVIL)
    page.select_option("select[name=category]", "phishing")
    page.fill("textarea[name=targets]", "hxxps://bank-login[.]example/secure")
    page.fill("input[name=brand]", "Example Bank")
    page.select_option("select[name=brand_origin]", "domestic")
    page.click("#report-form button[type=submit]")
    page.wait_for_url(f"{base}/incidents/*")
    assert "Phishing site" in page.inner_text("#category")
    assert "https://bank-login.example/secure" in page.inner_text(".target")
    # the report's text, written by whoever reported, is shown as text
    assert page.inner_text("pre.content") == EVIL
    assert page.locator("pre.content b").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.fill("#coordination-form input[name=party]", "Example Hosting")
    page.select_option("#coordination-form select[name=domestic]", "yes")
    page.click("#coordination-form button[type=submit]")
    page.wait_for_load_state()
    row = page.inner_text("#coordinations")
    assert "Example Hosting" in row and "sent" in row
    assert page.inner_text("#status") == "coordinating"
    with db.session() as s:
        inc = s.scalars(select(Incident)).one()
        rep = s.scalars(select(Report)).one()
        assert (rep.channel, rep.content, rep.received_at.isoformat()) == ("fax", EVIL, "2017-10-02T00:30:00+00:00")
        assert [c.party for c in inc.coordinations] == ["Example Hosting"] and inc.brand_origin == "domestic"
    page.goto(f"{base}/incidents?category=phishing&q=bank-login")
    assert page.locator("#incidents a").count() == 1
    page.goto(f"{base}/incidents?category=scan")
    assert "No incident." in page.inner_text("#incidents")
    page.goto(f"{base}/stats?period=2017Q4&tz_=Asia/Tokyo")
    reports = page.locator("#table1 tr").nth(1).locator("td")  # name, Oct, Nov, Dec, total, previous, change
    assert [reports.nth(i).inner_text() for i in range(6)] == ["reports", "1", "0", "0", "1", "0"]


def test_viewer_cannot_change_anything(server: tuple[str, dict[str, str]], browser: Browser, db: IncidentDB) -> None:
    base, tokens = server
    r = httpx.post(f"{base}/api/reports", headers={"Authorization": f"Bearer {tokens['hana']}"},
                   json={"id": "api-1", "received_at": "2017-10-03T00:00:00Z", "channel": "api",
                         "incidents": [{"ref": "S1", "category": "scan", "targets": ["192.0.2.9"]}]})
    assert r.status_code == 201, r.text
    iid = r.json()["incidents"][0]
    page = _login(browser, base, "vic")
    assert page.locator("#new-report").count() == 0
    page.goto(f"{base}/incidents/{iid}")
    assert "Scan" in page.inner_text("#category")
    assert page.locator("#coordination-form").count() == 0 and page.locator("#status-form").count() == 0
    resp = page.goto(f"{base}/reports/new")
    assert resp is not None and resp.status == 403
    # a forged post with the viewer's own session is refused too
    token = page.evaluate("document.querySelector('input[name=token]').value")
    res = page.request.post(f"{base}/incidents/{iid}/coordinations", form={"token": token, "party": "x"})
    assert res.status == 403
    with db.session() as s:
        assert s.get(Incident, iid).coordinations == []  # type: ignore[union-attr]


def test_api_tokens(server: tuple[str, dict[str, str]]) -> None:
    base, tokens = server

    def post(token: str | None, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{base}/api/reports", headers=headers, json=body)

    body = {"id": "api-7", "received_at": "2017-11-03T00:00:00+09:00", "channel": "api",
            "incidents": [{"ref": "D1", "category": "dos"}]}
    assert post(None, body).status_code == 401
    assert post("tt_wrong", body).status_code == 401
    assert post(tokens["vic"], body).status_code == 403
    first = post(tokens["root"], body)
    assert first.status_code == 201 and first.json()["status"] == "imported"
    again = post(tokens["root"], body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    bad = post(tokens["root"], {**body, "id": "api-8", "received_at": "yesterday"})
    assert bad.status_code == 422 and "received_at" in bad.json()["error"]
    iid = first.json()["incidents"][0]
    got = httpx.get(f"{base}/api/incidents/{iid}", headers={"Authorization": f"Bearer {tokens['vic']}"})
    assert got.status_code == 200 and got.json()["category"] == "dos"
    st = httpx.get(f"{base}/api/stats", params={"period": "2017Q4", "tz": "Asia/Tokyo"},
                   headers={"Authorization": f"Bearer {tokens['vic']}"}).json()
    assert st["reports"]["months"]["2017-11"] == 1 and st["categories"]["dos"]["total"] == 1


def test_a_trackers_unknown_status_word_is_shown_escaped(server: tuple[str, dict[str, str]], browser: Browser) -> None:
    """An imported coordination in state other keeps its word: the API returns it and the
    incident page shows it as text."""
    base, tokens = server
    body = {"id": "api-raw", "received_at": "2017-11-03T00:00:00+09:00", "channel": "api",
            "incidents": [{"ref": "R1", "category": "scan"}],
            "coordinations": [{"incident_ref": "R1", "party": "isp", "domestic": True,
                               "sent_at": "2017-11-03T01:00:00+09:00", "status": EVIL}]}
    made = httpx.post(f"{base}/api/reports", headers={"Authorization": f"Bearer {tokens['root']}"}, json=body)
    assert made.status_code == 201, made.text
    iid = made.json()["incidents"][0]
    got = httpx.get(f"{base}/api/incidents/{iid}", headers={"Authorization": f"Bearer {tokens['vic']}"}).json()
    assert [(c["status"], c["raw_status"]) for c in got["coordinations"]] == [("other", EVIL)]
    page = _login(browser, base, "vic")
    page.goto(f"{base}/incidents/{iid}")
    assert f"other ({EVIL})" in page.inner_text("body")
    assert page.evaluate("window.__pwned") is None and page.locator("b", has_text="bold").count() == 0
