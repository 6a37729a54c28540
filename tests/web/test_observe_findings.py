"""The dashboard's findings, evidence packets (pcap) and sensors (teiten/web/views/observe_findings.py):
over a small synthetic store (Mirai, backscatter, scanners, SIP tools) with one crafted SIP
tool whose User-Agent is ``<script>`` and a control byte."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from teiten.capture.reader import CaptureReader
from teiten.incidents.db import IncidentDB
from teiten.incidents.users import add_user, new_token
from teiten.payload_text import escaped
from teiten.web.app import create_app
from tests.web.conftest import PASSWORD, SECRET, Live, serve

PERIOD = "2026Q3"
TOOL = b"<script>alert(1)</script>\x01"
SIP = b"OPTIONS sip:100@sensor SIP/2.0\r\nUser-Agent: " + TOOL + b"\r\n\r\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from teiten.ingest.pipeline import ingest_paths
    from teiten.store.catalog import Sensor, add_sensor
    from teiten.store.open import open_store
    from teiten.synth.scenario import generate
    from tests.sensors.frames import tcp4, write_pcap

    tmp = tmp_path_factory.mktemp("findings")
    s = generate(tmp / "scenario", seed=3, scale=0.005)
    sensors = json.loads(s.sensors_path.read_text())["sensors"]
    with open_store(tmp / "store", lock=False) as con:
        for x in sensors:
            add_sensor(con, Sensor(x["name"], tuple(x["addresses"]), x.get("country"), x.get("group")))
    net = ipaddress.ip_network(sensors[0]["addresses"][0], strict=False)
    dst = str(net.network_address + 1 if net.num_addresses > 1 else net.network_address)
    t0 = datetime(2026, 8, 10, 3, tzinfo=UTC).timestamp()
    frames = [(t0 + 60 * i, tcp4(f"203.0.113.{10 + i % 3}", dst, 5060 + i, 5060, 1000 + i, 1, 0x18, SIP))
              for i in range(12)]
    crafted = write_pcap(tmp / "sip.pcap", frames)
    done = list(ingest_paths(tmp / "store", [*s.captures, crafted]))
    assert all(r.status in ("ok", "duplicate") for r in done), [r.status for r in done]
    return tmp / "store"


@pytest.fixture(scope="module")
def cli_findings(store: Path) -> dict[str, Any]:
    from teiten.cli.main import cli

    r = CliRunner().invoke(cli, ["detect", "--store", str(store), "--period", PERIOD, "--json"])
    assert r.exit_code == 0, r.output
    doc: dict[str, Any] = json.loads(r.output)
    return doc


@pytest.fixture
def app(store: Path, db: IncidentDB) -> Iterator[Live]:
    with db.session("admin") as s:
        tokens = {name: new_token(s, add_user(s, name, role, PASSWORD), scope="read")
                  for name, role in (("hana", "handler"), ("vic", "viewer"), ("root", "admin"))}
    yield from serve(create_app(db, secret=SECRET, store=store), db, tokens)


def get(live: Live, who: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(live.base + path, params={"period": PERIOD, **params},
                     headers={"Authorization": f"Bearer {live.tokens[who]}"}, timeout=300)


def test_findings_are_those_of_teiten_detect_and_their_ids_stable(app: Live, store: Path, db: IncidentDB,
                                                                  cli_findings: dict[str, Any]) -> None:
    r = get(app, "hana", "/api/v1/findings")
    assert r.status_code == 200, r.text
    got = r.json()["data"]
    want = cli_findings["findings"]
    assert [(f["kind"], f["key"], f["sources"]) for f in got] == [(f["kind"], f["key"], f["sources"]) for f in want]
    assert [f["evidence"] for f in got] == json.loads(json.dumps([f["evidence"] for f in want]))
    kinds = {f["kind"] for f in got}
    assert {"mirai", "dos_victim", "scan", "payload_tool"} <= kinds
    ids = [f["id"] for f in got]
    assert len(set(ids)) == len(ids) and all(len(i) == 16 for i in ids)
    assert [f["id"] for f in get(app, "hana", "/api/v1/findings").json()["data"]] == ids
    # a new server over the same store: the same ids
    with db.session("admin") as s:
        from teiten.incidents.users import find_user

        token = new_token(s, find_user(s, "hana"), scope="read")
    for other in serve(create_app(db, secret=SECRET, store=store), db, {"hana": token}):
        assert [f["id"] for f in get(other, "hana", "/api/v1/findings").json()["data"]] == ids
    only = get(app, "hana", "/api/v1/findings", finding_kind="scan").json()["data"]
    assert only and {f["kind"] for f in only} == {"scan"}
    csv = get(app, "hana", "/api/v1/findings.csv")
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("id,kind,key")
    assert len(csv.text.splitlines()) == len(ids) + 1


def _one(live: Live, kind: str, who: str = "hana") -> dict[str, Any]:
    found = get(live, who, "/api/v1/findings").json()["data"]
    f = next(x for x in found if x["kind"] == kind)
    r = get(live, who, f"/api/v1/findings/{f['id']}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


@pytest.mark.parametrize("kind", ["mirai", "dos_victim", "scan"])
def test_a_findings_pcap_holds_its_evidence(app: Live, kind: str) -> None:
    f = _one(app, kind)
    n = f["evidence_packets"]
    assert n == f["evidence"]["packets"]  # the detector's count of the same packets
    assert sum(d["packets"] for d in f["evidence_daily"]) == n
    assert 0 < len(f["samples"]) <= 20
    r = get(app, "hana", "/api/v1/packets", finding=f["id"], limit=100000)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.tcpdump.pcap"
    assert f"finding-{f['id']}.pcap" in r.headers["content-disposition"]
    path = Path(f"/tmp/finding-{f['id']}.pcap")
    path.write_bytes(r.content)
    try:
        read = [b.packets for b in CaptureReader(path)]
    finally:
        path.unlink()
    rows = [x for t in read for x in t.to_pylist()]
    assert len(rows) == n
    for s, p in zip(f["samples"], rows, strict=False):
        src = str(ipaddress.ip_address(p["src4"])) if p["ip_version"] == 4 else str(ipaddress.IPv6Address(p["src6"]))
        dst = str(ipaddress.ip_address(p["dst4"])) if p["ip_version"] == 4 else str(ipaddress.IPv6Address(p["dst6"]))
        assert (s["source"], s["destination"], s["proto"], s["sport"], s["dport"], s["tcp_flags"], s["ttl"]) == (
            src, dst, p["proto"], p["sport"], p["dport"], p["tcp_flags"], p["ttl"])
    if kind == "dos_victim":  # the victim's replies, or ICMP errors quoting a packet to it
        assert all(s["source"] == f["victim"] or s["proto"] == 1 for s in f["samples"])
    if kind == "scan":
        assert {s["source"] for s in f["samples"]} == {f["source"]}
    limited = get(app, "hana", "/api/v1/packets", finding=f["id"], limit=3)
    assert limited.headers["x-packets"] == str(min(3, n))


def test_viewers_see_networks_and_get_no_pcap(app: Live) -> None:
    full = _one(app, "scan", "hana")
    cut = _one(app, "scan", "vic")
    assert cut["id"] == full["id"]
    src = full["source"]
    net = str(ipaddress.ip_network(f"{src}/24", strict=False))
    assert cut["source"] == net and src not in json.dumps(cut)
    assert {s["source"] for s in cut["samples"]} == {net}
    assert {s["source"] for s in full["samples"]} == {src}
    assert get(app, "root", f"/api/v1/findings/{full['id']}").json()["data"]["source"] == src
    listed = get(app, "vic", "/api/v1/findings").json()["data"]
    for f in listed:
        for t in f["top_sources"]:
            assert "/" in str(t["source"]) or f["kind"] == "concentration"
    r = get(app, "vic", "/api/v1/packets", finding=full["id"])
    assert r.status_code == 403


def test_the_setting_shows_viewers_whole_sources(app: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEITEN_WEB_VIEWER_SOURCES", "full")
    f = _one(app, "scan", "vic")
    assert "/" not in f["source"] and {s["source"] for s in f["samples"]} == {f["source"]}
    assert get(app, "vic", "/api/v1/packets", finding=f["id"]).status_code == 403  # still handlers' only


def test_payload_text_comes_back_escaped(app: Live) -> None:
    found = get(app, "hana", "/api/v1/findings", finding_kind="payload_tool").json()["data"]
    f = next(x for x in found if "<script>" in x["tool"])
    d = get(app, "hana", f"/api/v1/findings/{f['id']}").json()["data"]
    assert d["evidence_packets"] == 12
    s = d["samples"][0]
    assert s["payload_text"] == escaped(SIP) and "\\x01" in s["payload_text"] and "\\x0d\\x0a" in s["payload_text"]
    assert bytes.fromhex(s["payload_hex"]) == SIP
    assert "\x01" not in json.dumps(d, ensure_ascii=False).replace("\\u0001", "")


def test_bad_ids_and_limits(app: Live) -> None:
    some = get(app, "hana", "/api/v1/findings").json()["data"][0]["id"]
    for bad in ["..", "%00", "x" * 10_000, "0123456789abcdeg", "0123456789ABCDEF", some + "0"]:
        assert get(app, "hana", f"/api/v1/findings/{bad}").status_code in (400, 404), bad
        assert get(app, "hana", "/api/v1/packets", finding=bad).status_code == 400, bad
    assert get(app, "hana", "/api/v1/findings/0123456789abcdef").status_code == 404
    assert get(app, "hana", "/api/v1/packets", finding="0123456789abcdef").status_code == 404
    for limit in ["100001", "0", "-1", "x", "9" * 50]:
        assert get(app, "hana", "/api/v1/packets", finding=some, limit=limit).status_code == 400, limit
    assert get(app, "hana", "/api/v1/sensors/..").status_code in (400, 404)
    assert get(app, "hana", "/api/v1/sensors/a%00b").status_code in (400, 404)
    assert get(app, "hana", "/api/v1/sensors/" + "s" * 10_000).status_code in (400, 404, 414)
    assert get(app, "hana", "/api/v1/sensors/nosuch").status_code == 404
    r = httpx.get(app.base + "/api/v1/findings", params={"period": PERIOD})
    assert r.status_code == 401


def test_sensors(app: Live) -> None:
    r = get(app, "vic", "/api/v1/sensors")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["health"] is None  # no collector in this store
    rows = data["sensors"]
    assert rows and all(len(x["daily"]) == 92 for x in rows)
    total = sum(x["packets"] for x in rows)
    assert total > 0
    one = rows[0]
    d = get(app, "vic", f"/api/v1/sensors/{one['sensor']}").json()["data"]
    assert d["packets"] == one["packets"] and d["silent_hours"] == one["silent_hours"]
    assert all(x["kind"] == "no_packets" and x["hours"] > 0 for x in d["timeline"])
