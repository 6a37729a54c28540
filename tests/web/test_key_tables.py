"""A port or region page is drawn without the tables of its packets (one pass per source
over them: seconds on a big quarter) and fetches them from ``…/tables``: these fragments hold
the drill-down's numbers, show viewers /24 (/48) sources unless TEITEN_WEB_VIEWER_SOURCES=full,
and answer bad keys with a 400."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from teiten.incidents.db import IncidentDB
from teiten.incidents.users import add_user
from teiten.web.app import create_app
from tests.web.conftest import PASSWORD, SECRET, observed_store

PERIOD = "2026Q3"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return observed_store(tmp_path_factory.mktemp("key-tables"))


@pytest.fixture
def client(db: IncidentDB, store: Path) -> Iterator[TestClient]:
    with db.session("admin") as s:
        add_user(s, "vic", "viewer", PASSWORD)
        add_user(s, "hana", "handler", PASSWORD)
    with TestClient(create_app(db, secret=SECRET, store=store, secure_cookies=False)) as c:
        yield c


def _sign_in(c: TestClient, name: str) -> None:
    c.cookies.clear()
    token = c.get("/login").text.split('name="token" value="', 1)[1].split('"', 1)[0]
    r = c.post("/login", data={"name": name, "password": PASSWORD, "token": token, "next": "/observe"},
               follow_redirects=False)
    assert r.status_code == 303


def _drill(store: Path, key: str) -> Any:
    from teiten.cli.main import cli

    r = CliRunner().invoke(cli, ["drill", key, "--store", str(store), "--period", PERIOD, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _row_heads(page: str, table: str) -> list[str]:
    m = re.search(rf'<table id="{table}">.*?</table>', page, re.S)
    assert m, f"no table {table}"
    return [html.unescape(re.sub(r"<[^>]+>", "", x)) for x in re.findall(r'<th scope="row">(.*?)</th>', m.group(0))]


def _tables_src(page: str) -> str:
    m = re.search(r'<div id="key-tables" data-src="([^"]+)"', page)
    assert m, "the page does not fetch its tables"
    return html.unescape(m.group(1))


def test_a_port_page_fetches_its_tables_and_they_are_the_drill_down(client: TestClient, store: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _sign_in(client, "vic")
    page = client.get("/observe/ports/23-tcp", params={"period": PERIOD, "lang": "en"})
    assert page.status_code == 200
    assert 'id="top-sources"' not in page.text  # drawn without them
    src = _tables_src(page.text)
    assert src.startswith("/observe/ports/23-tcp/tables?") and f"period={PERIOD}" in src
    drill = _drill(store, "23/TCP")
    assert f"{drill['packets']:,} packets" in page.text  # the header's count, from the daily series
    frag = client.get(src)
    assert frag.status_code == 200 and "<html" not in frag.text  # a fragment, not a page
    assert f"{drill['packets']:,} packets, {drill['sources']:,} distinct sources" in frag.text
    assert _row_heads(frag.text, "source-ports") == [r["key"] for r in drill["source_ports"]]
    assert _row_heads(frag.text, "fingerprints") == ["mirai", "zmap", "masscan"]
    assert _row_heads(frag.text, "asns") == [r["key"] for r in drill["asns"]]
    whole = [s["source"] for s in drill["top_sources"]]
    cut = _row_heads(frag.text, "top-sources")
    assert len(cut) == len(whole) > 0 and all(s.endswith(("/24", "/48")) for s in cut)
    assert not set(whole) & set(cut)
    monkeypatch.setenv("TEITEN_WEB_VIEWER_SOURCES", "full")  # the setting lets viewers see them whole
    assert _row_heads(client.get(src).text, "top-sources") == whole
    monkeypatch.delenv("TEITEN_WEB_VIEWER_SOURCES")
    _sign_in(client, "hana")  # a handler sees them whole
    assert _row_heads(client.get(src).text, "top-sources") == whole


def test_a_region_page_fetches_its_port_mix(client: TestClient, store: Path) -> None:
    _sign_in(client, "hana")
    page = client.get("/observe/regions/jp", params={"period": PERIOD, "lang": "ja"})
    assert page.status_code == 200 and 'id="region-ports"' not in page.text
    src = _tables_src(page.text)
    assert src.startswith("/observe/regions/jp/tables?") and "lang=ja" in src
    frag = client.get(src)
    assert frag.status_code == 200
    drill = _drill(store, "JP")  # a region code drills that region
    assert drill["dimension"] == "regions"
    assert _row_heads(frag.text, "region-ports") == [r["key"] for r in drill["ports"]]
    assert "送信元（重複なし）" in frag.text  # in the page's language
    assert 'href="/observe/ports/' in frag.text


@pytest.mark.parametrize("path", ["/observe/ports/99999-tcp/tables", "/observe/ports/%3Cscript%3E/tables",
                                  "/observe/regions/JPN/tables", "/observe/regions/%E6%97%A5/tables"])
def test_bad_keys_get_a_400(client: TestClient, path: str) -> None:
    _sign_in(client, "vic")
    r = client.get(path, params={"period": PERIOD})
    assert r.status_code == 400
    assert "<script>" not in r.text


def test_signed_out_the_tables_redirect_to_sign_in(client: TestClient) -> None:
    r = client.get("/observe/ports/23-tcp/tables", params={"period": PERIOD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
