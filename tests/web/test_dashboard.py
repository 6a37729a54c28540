"""The observation dashboard in a real browser (Playwright driving Debian's chromium,
``locale="ja-JP"``), every request that is not to 127.0.0.1 (or the exported site's
``file://``) aborted and recorded: proof that nothing comes from outside. Over a small demo
store (the demo's scenario at scale 0.005, its sensors shipping to its collector)."""

from __future__ import annotations

import ipaddress
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, Route, sync_playwright

from teiten.capture.reader import CaptureReader
from teiten.cli.demo import run_demo
from teiten.cli.main import cli
from teiten.incidents.db import IncidentDB, open_db
from teiten.incidents.users import add_user, new_token
from teiten.ingest.pipeline import ingest_paths
from teiten.payload_text import escaped
from teiten.web.app import create_app
from tests.sensors.frames import tcp4, write_pcap
from tests.web.conftest import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "tawny-grill-ocean-47"
SECRET = "5f1d0c8a7e3b49d2a6c4e8f0b1d3a5c7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9"
AXE = Path(__file__).resolve().parents[2] / "teiten" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"


class Site:
    def __init__(self, base: str, store: Path, tokens: dict[str, str]) -> None:
        self.base, self.store, self.tokens = base, store, tokens


TOOL = b"<script>window.__pwned = 1</script>\x01"
SIP = b"OPTIONS sip:100@sensor SIP/2.0\r\nUser-Agent: " + TOOL + b"\r\n\r\n"


def _hostile_payloads(out: Path) -> None:
    """A SIP scanner whose User-Agent is a script, from three sources: a payload_tool finding."""
    sensors = json.loads((out / "scenario" / "sensors.json").read_text())["sensors"]
    net = ipaddress.ip_network(sensors[0]["addresses"][0], strict=False)
    dst = str(net.network_address + 1 if net.num_addresses > 1 else net.network_address)
    t0 = datetime(2026, 8, 10, 3, tzinfo=UTC).timestamp()
    frames = [(t0 + 60 * i, tcp4(f"203.0.113.{10 + i % 3}", dst, 5060 + i, 5060, 1000 + i, 1, 0x18, SIP))
              for i in range(12)]
    done = list(ingest_paths(out / "store", [write_pcap(out / "sip.pcap", frames)]))
    assert [r.status for r in done] == ["ok"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    out = tmp_path_factory.mktemp("dashboard")
    run_demo(out, scale=0.005, seed=7, with_reports=False, with_incidents=False)
    _hostile_payloads(out)
    db: IncidentDB = open_db(f"sqlite:///{out / 'incidents.sqlite'}")
    with db.session("admin") as s:
        tokens = {name: new_token(s, add_user(s, name, role, PASSWORD))
                  for name, role in (("hana", "handler"), ("vic", "viewer"))}
    for live in serve(create_app(db, secret=SECRET, store=out / "store"), db, tokens):
        yield Site(live.base, out / "store", tokens)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--allow-file-access-from-files"])
        yield b
        b.close()


class Guarded:
    """A page whose requests outside loopback and file:// are aborted, and remembered."""

    def __init__(self, browser: Browser) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        ctx = browser.new_context(locale="ja-JP", accept_downloads=True)
        ctx.route("**/*", self._route)
        self.page: Page = ctx.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "file://", "data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


def _signed_in(browser: Browser, site: Site, name: str) -> Guarded:
    g = Guarded(browser)
    g.page.goto(f"{site.base}/observe?period=2026Q3")
    assert "/login" in g.page.url
    g.page.fill("input[name=name]", name)
    g.page.fill("input[name=password]", PASSWORD)
    g.page.click("button[type=submit]")
    g.page.wait_for_url("**/observe")  # back to the page that asked (its path)
    g.page.goto(f"{site.base}/observe?period=2026Q3")
    return g


def _cli_json(*args: str) -> Any:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _drawn(page: Page, fig: str) -> int:
    page.wait_for_selector(f"figure#{fig}[data-drawn]", timeout=15000)
    return int(page.locator(f"figure#{fig} .chart-area svg path").count())


def _axe(page: Page, base: str) -> list[dict[str, Any]]:
    assert AXE.exists()
    page.add_script_tag(url=f"{base}/static/vendor/axe-core/axe.min.js")  # served by the app: the CSP allows it
    result = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return list(result)


def test_overview_shows_the_same_top_ten_and_follows_the_period(site: Site, browser: Browser) -> None:
    g = _signed_in(browser, site, "hana")
    page = g.page
    assert page.locator("html").get_attribute("lang") == "ja"  # from Accept-Language (locale ja-JP)
    want = [r["key"] for r in _cli_json("top", "ports", "--store", str(site.store), "--period", "2026Q3", "--json",
                                        "--limit", "10")["rows"]]
    got = page.locator("#top-ports tbody tr[data-key]").evaluate_all("rs => rs.map(r => r.dataset.key)")
    assert got == want and len(got) >= 10
    assert _drawn(page, "daily-top-ports") > 3  # the chart holds drawn series
    before = page.locator("#daily-top-ports script.chart-data").text_content()
    # another period: the URL, the table and the chart follow
    page.fill("#period", "2026Q2")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**period=2026Q2**")
    want2 = [r["key"] for r in _cli_json("top", "ports", "--store", str(site.store), "--period", "2026Q2", "--json",
                                         "--limit", "10")["rows"]]
    assert page.locator("#top-ports tbody tr[data-key]").evaluate_all("rs => rs.map(r => r.dataset.key)") == want2
    assert "2026Q2" in (page.locator("#period-line").text_content() or "")
    assert _drawn(page, "daily-top-ports") > 3
    assert page.locator("#daily-top-ports script.chart-data").text_content() != before
    assert g.outside == [] and g.errors == []


def test_a_port_page_and_what_a_viewer_sees_of_its_sources(site: Site, browser: Browser) -> None:
    for name, whole in (("hana", True), ("vic", False)):
        g = _signed_in(browser, site, name)
        g.page.goto(f"{site.base}/observe/ports/23-tcp?period=2026Q3")
        assert _drawn(g.page, "daily") >= 1 and _drawn(g.page, "by-country") >= 1
        g.page.wait_for_selector("figure#heatmap[data-drawn]")
        # the tables come after the page is drawn, from its …/tables fragment
        g.page.wait_for_selector("#key-tables:not([aria-busy]) #top-sources tbody th")
        assert g.page.locator("#key-tables p.pending").count() == 0
        sources = g.page.locator("#top-sources tbody th").all_text_contents()
        assert sources, "no top sources"
        if whole:
            assert all("/" not in s for s in sources)
        else:
            assert all(s.endswith("/24") or s.endswith("/48") for s in sources), sources
        assert g.outside == [] and g.errors == []


def test_a_sensor_s_quiet_hours_are_drawn_hatched_on_the_heatmap(browser: Browser, tmp_path: Path) -> None:
    from tests.web.test_outages import quiet_store

    store = quiet_store(tmp_path)
    db: IncidentDB = open_db(f"sqlite:///{tmp_path / 'incidents.sqlite'}")
    with db.session("admin") as s:
        tokens = {"hana": new_token(s, add_user(s, "hana", "handler", PASSWORD))}
    for live in serve(create_app(db, secret=SECRET, store=store), db, tokens):
        g = _signed_in(browser, Site(live.base, store, tokens), "hana")
        g.page.goto(f"{live.base}/observe/ports/23-tcp?period=2026-08&tz=Asia/Tokyo")
        g.page.wait_for_selector("figure#heatmap[data-drawn]")
        assert g.page.get_attribute("figure#heatmap", "data-drawn") == "2"  # the packets and the quiet hours
        grey = g.page.locator("figure#heatmap .chart-area svg path[fill='rgb(128,128,128)']").count()
        assert grey >= 3, grey  # one cell per quiet hour (12, 13 and 14 JST)
        g.page.wait_for_selector("figure#daily[data-drawn]")
        shaded = g.page.locator("figure#daily .chart-area svg path[fill='rgb(128,128,128)']").count()
        assert shaded >= 1  # the day that holds them
        assert g.outside == [] and g.errors == []


def test_no_wcag_a_or_aa_violation_on_the_overview_and_a_port_page(site: Site, browser: Browser) -> None:
    g = _signed_in(browser, site, "hana")
    for path in ("/observe?period=2026Q3", "/observe/ports/23-tcp?period=2026Q3&lang=en"):
        g.page.goto(site.base + path)
        g.page.wait_for_selector("figure.chart[data-drawn]")
        if "/ports/" in path:  # its tables too, once fetched
            g.page.wait_for_selector("#key-tables:not([aria-busy]) #asns")
        assert _axe(g.page, site.base) == [], path
    assert g.outside == []


def test_the_exported_site_opens_from_file_with_its_charts_drawn(site: Site, browser: Browser,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "site"
    r = CliRunner().invoke(cli, ["web", "export", "--store", str(site.store), "--period", "2026Q3", "--out", str(out),
                                 "--top", "3"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert (out / "ja" / "index.html").exists() and (out / "en" / "ports" / "23-tcp.html").exists()
    g = Guarded(browser)
    g.page.goto((out / "index.html").as_uri())
    g.page.wait_for_url("**/ja/index.html")
    assert _drawn(g.page, "daily-top-ports") > 3
    rows = g.page.locator("#top-ports tbody tr[data-key]").count()
    assert rows >= 10
    g.page.click("#top-ports tbody tr[data-key] a >> nth=0")  # a top port's page, relative link
    g.page.wait_for_selector("figure#daily[data-drawn]")
    sources = g.page.locator("#top-sources tbody th").all_text_contents()
    assert sources and all("/" in s for s in sources)  # the public site never shows a whole address
    g.page.goto((out / "en" / "map.html").as_uri())
    g.page.wait_for_selector("figure#world[data-drawn]")
    assert g.page.locator("figure#world svg path").count() > 100  # the countries drawn
    assert g.outside == [] and g.errors == []
    data = json.loads((out / "data" / "rankings_ports.json").read_text())
    want = _cli_json("top", "ports", "--store", str(site.store), "--period", "2026Q3", "--json")
    assert [x["key"] for x in data["rows"]] == [x["key"] for x in want["rows"]]


def test_downloads_equal_the_api_and_a_findings_pcap_holds_its_evidence(site: Site, browser: Browser,
                                                                       tmp_path: Path) -> None:
    import csv
    import io

    g = _signed_in(browser, site, "hana")
    page = g.page
    with page.expect_download() as d:
        page.click("#ports-csv")
    rows = list(csv.DictReader(io.StringIO(Path(d.value.path()).read_text())))
    api = page.request.get(site.base + "/api/v1/rankings/ports?period=2026Q3").json()["data"]["rows"]
    assert [r["key"] for r in rows] == [r["key"] for r in api]
    assert [int(r["packets"]) for r in rows] == [r["packets"] for r in api]
    # the overview lists the period's findings once the detectors answer: the API's, as text
    page.wait_for_selector("#findings-list li", timeout=120_000)
    listed = page.locator("#findings-list li a").all_text_contents()
    found = page.request.get(site.base + "/api/v1/findings?period=2026Q3").json()["data"]
    assert listed == [f["title_ja"] for f in found][:10] and listed
    assert any("<script>" in f["title_ja"] for f in found) and page.locator("#findings script").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")
    # the findings list, a payload tool's page: the attacker's script shown as text, never run
    page.goto(f"{site.base}/observe/findings?period=2026Q3")
    page.click("#findings-table a:has-text('script')")
    page.wait_for_selector("#samples")
    texts = page.locator("#samples .payload-text").all_text_contents()
    assert texts and all(t == escaped(SIP) for t in texts)
    assert page.evaluate("() => window.__pwned === undefined") and page.locator("body script:not([src])").count() \
        == page.locator("script.chart-data").count()
    fid = page.url.split("/observe/findings/")[1].split("?")[0]
    finding = page.request.get(f"{site.base}/api/v1/findings/{fid}?period=2026Q3").json()["data"]
    with page.expect_download() as d:
        page.click("#pcap")
    reader = CaptureReader(Path(d.value.path()))
    got = sum(b.packets.num_rows for b in reader)
    assert got == finding["evidence_packets"] == 12
    assert g.outside == [] and g.errors == []
