"""Real-world rule files: Snort and Emerging Threats syntax loads as it is (variables, lists,
negations, multi-line rules, disabled rules), every accepted keyword fires on planted packets
and not on near misses, every skip reason is reported, and a file of over 1,000 rules of
mixed keywords loads without aborting and fires by sid with exact counts."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from teiten.capture.frames import ICMP, TCP, UDP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.signatures import (
    COLUMNS,
    RuleSkip,
    address_set,
    compile_rules,
    load_ruleset,
    match_batch,
    parse_rules,
    parse_var,
    port_set,
    signature_alerts,
    variables,
)
from teiten.detect.signatures.alerts import engine_alerts
from teiten.detect.signatures.streamed import counted_alerts, ordered_alerts
from teiten.engine import open_observation
from teiten.errors import SettingError
from teiten.periods import period_between
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store

RULES = Path(__file__).parent / "rules"
HOME = ["203.0.113.0/24", "2001:db8:5e::/48"]
DAY0 = 1_782_950_400  # 2026-07-02 00:00 UTC
B = DAY0 + 13 * 3600  # the packets' hour
PERIOD = period_between("2026-07-02", "2026-07-02")


def ip(x: str) -> int:
    return int(ipaddress.ip_address(x))


DST = ip("203.0.113.10")
SIP_OPTIONS = b"OPTIONS sip:100@203.0.113.9 SIP/2.0\r\nVia: x\r\nUser-Agent: friendly-scanner\r\n\r\n"
NTP = b"\x17\x00\x03\x2a" + bytes(4)
DNS_HEAD = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
SMB = b"\x00\x00\x00\x40\xffSMB"

#: Planted packets: (fields, {sid: alerts of this packet's source}); an empty dict is a
#: near miss, whose source must alert on nothing. A source's packets share one entry (the
#: first), later ones give {}.
PLANTED: list[tuple[dict[str, Any], dict[int, int]]] = [
    # ET: HTTP probe (content depth, relative nocase within, flow established, $HTTP_PORTS)
    ({"proto": TCP, "dport": 80, "flags": 0x18, "payload": b"GET /x/CGI-BIN/test.cgi HTTP/1.0\r\n\r\n"}, {2900001: 1}),
    ({"proto": TCP, "dport": 80, "flags": 0x02, "payload": b"GET /x/CGI-BIN/test.cgi HTTP/1.0\r\n\r\n"}, {}),
    ({"proto": TCP, "dport": 80, "flags": 0x18, "payload": b"GET /" + b"A" * 50 + b"/cgi-bin/x"}, {}),
    ({"proto": TCP, "dport": 8080, "flags": 0x18, "payload": b"GET /x/cgi-bin/test.cgi HTTP/1.0\r\n\r\n"}, {}),
    ({"proto": TCP, "dport": 80, "flags": 0x18, "payload": b" GET /cgi-bin/"}, {}),
    # SIP OPTIONS scan, limit 1 a minute by source: three packets, one alert
    ({"proto": UDP, "dport": 5060, "payload": SIP_OPTIONS, "src": "198.51.100.1", "t": 2000}, {2900002: 1}),
    ({"proto": UDP, "dport": 5060, "payload": SIP_OPTIONS, "src": "198.51.100.1", "t": 2001}, {}),
    ({"proto": UDP, "dport": 5060, "payload": SIP_OPTIONS, "src": "198.51.100.1", "t": 2002}, {}),
    ({"proto": UDP, "dport": 5070, "payload": SIP_OPTIONS}, {}),
    ({"proto": UDP, "dport": 5060, "payload": SIP_OPTIONS.replace(b"OPTIONS", b"REGISTER")}, {}),
    # reputation lists: a small one (engine, limit 1 an hour) and a large one (interval table)
    ({"proto": TCP, "dport": 3389, "flags": 2, "src": "1.10.16.200", "t": 100}, {2900003: 1}),
    ({"proto": TCP, "dport": 3389, "flags": 2, "src": "1.10.16.200", "t": 200}, {}),
    ({"proto": UDP, "dport": 161, "src": "9.9.9.15"}, {2900003: 1}),
    ({"proto": UDP, "dport": 161, "src": "9.9.9.16"}, {}),
    ({"proto": UDP, "dport": 161, "src": "5.6.7.9"}, {}),
    ({"proto": ICMP, "itype": 0, "src": "7.7.7.5"}, {2900010: 2}),
    ({"proto": ICMP, "itype": 0, "src": "7.7.7.5"}, {}),
    ({"proto": ICMP, "itype": 0, "src": "7.7.7.6"}, {}),
    # NTP MON_LIST (offset/depth, byte_test with !&), detection_filter by destination:
    # four in a minute to one address alert on the third and fourth
    *(({"proto": UDP, "dport": 123, "payload": NTP, "dst": "203.0.113.50", "t": 3000 + k},
       {2900004: 1} if k >= 2 else {}) for k in range(4)),
    *(({"proto": UDP, "dport": 123, "payload": b"\x97" + NTP[1:], "dst": "203.0.113.51", "t": 3010 + k}, {})
      for k in range(3)),
    # SMB worm: byte_jump (relative, little-endian), then a content within 2 of the cursor
    ({"proto": TCP, "dport": 445, "flags": 0x18, "payload": SMB + b"\x05\x00ABCDE\xde\xadrest"}, {2900005: 1}),
    ({"proto": TCP, "dport": 445, "flags": 0x18, "payload": SMB + b"\x06\x00ABCDE\xde\xadrest"}, {}),
    # DNS: content offset/depth and pcre
    ({"proto": UDP, "dport": 53, "payload": DNS_HEAD + b"\x07abc1234\x03com\x00\x00\x01\x00\x01"}, {2900006: 1}),
    ({"proto": UDP, "dport": 53, "payload": DNS_HEAD + b"\x07ab-d123\x03com\x00\x00\x01\x00\x01"}, {}),
    ({"proto": UDP, "dport": 53, "payload": b"\x12\x34\x81\x80" + DNS_HEAD[4:] + b"\x07abc1234\x03com\x00"}, {}),
    # SSDP: dsize and a negated content
    ({"proto": UDP, "dport": 1900, "payload": b"M-SEARCH * HTTP/1.1\r\nST: upnp:rootdevice\r\n\r\n"}, {2900007: 1}),
    ({"proto": UDP, "dport": 1900, "payload": b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"}, {}),
    ({"proto": UDP, "dport": 1900, "payload": b"M-SEARCH"}, {}),
    # IPv6 list with a negated prefix, flags with a mask, ip_proto
    ({"proto": TCP, "dport": 2222, "flags": 2, "src": "2001:db8:1::1", "dst": "2001:db8:5e::1"}, {2900008: 1}),
    ({"proto": TCP, "dport": 2222, "flags": 0xC2, "src": "8.8.4.4"}, {2900008: 1}),
    ({"proto": TCP, "dport": 2222, "flags": 2, "src": "2001:db8:bad::5", "dst": "2001:db8:5e::1"}, {}),
    ({"proto": TCP, "dport": 2222, "flags": 0x12}, {}),
    # a bidirectional rule (<>) with isdataat: to the sensor's 5060, and from a home address's 5060
    ({"proto": UDP, "sport": 40000, "dport": 5060, "payload": b"INVITE sip:x SIP/2.0\r\n" + b"X" * 400}, {2900009: 1}),
    ({"proto": UDP, "sport": 5060, "dport": 40001, "payload": b"SIP/2.0 200 OK\r\n" + b"Y" * 400,
      "src": "203.0.113.7", "dst": "203.0.113.8"}, {2900009: 1}),
    ({"proto": UDP, "sport": 40000, "dport": 5060, "payload": b"INVITE sip:x SIP/2.0\r\n" + b"X" * 200}, {}),
    ({"proto": UDP, "sport": 5061, "dport": 40002, "payload": b"SIP/2.0 200 OK\r\n" + b"Y" * 400,
      "src": "203.0.113.17", "dst": "203.0.113.8"}, {}),
    # Snort: ICMP ping without payload (dsize:0, itype), unreachable (itype, icode)
    ({"proto": ICMP, "itype": 8}, {3900001: 1}),
    ({"proto": ICMP, "itype": 8, "payload": bytes(56)}, {}),
    ({"proto": ICMP, "itype": 3, "icode": 3}, {3900002: 1}),
    ({"proto": ICMP, "itype": 3, "icode": 1}, {}),
    # SYN FIN, XMAS, NULL (flags with masks, seq, ack)
    ({"proto": TCP, "dport": 7000, "flags": 0x03}, {3900004: 1}),
    ({"proto": TCP, "dport": 7000, "flags": 0x43}, {3900004: 1}),
    ({"proto": TCP, "dport": 7000, "flags": 0x13}, {}),
    ({"proto": TCP, "dport": 7000, "flags": 0x29}, {3900005: 1}),
    ({"proto": TCP, "dport": 7000, "flags": 0x2B}, {}),
    ({"proto": TCP, "dport": 7000, "flags": 0, "seq": 0, "ack": 0}, {3900006: 1}),
    ({"proto": TCP, "dport": 7000, "flags": 0, "seq": 1, "ack": 0}, {}),
    ({"proto": TCP, "dport": 7000, "flags": 0, "seq": 0, "ack": 5}, {}),
    # icmp_id with dsize (echo: seq holds id << 16 | sequence), icmp_seq
    ({"proto": ICMP, "itype": 8, "seq": 1234 << 16 | 7, "payload": bytes(8)}, {3900003: 1}),
    ({"proto": ICMP, "itype": 8, "seq": 1235 << 16 | 7, "payload": bytes(8)}, {}),
    ({"proto": ICMP, "itype": 8, "seq": 1234 << 16 | 7, "payload": bytes(9)}, {}),
    ({"proto": ICMP, "itype": 8, "seq": 9 << 16 | 4242, "payload": bytes(4)}, {3900030: 1}),
    ({"proto": ICMP, "itype": 8, "seq": 4242 << 16 | 9, "payload": bytes(4)}, {}),
    # fragbits: exactly MF+DF; the reserved bit with anything else
    ({"proto": UDP, "dport": 9001, "ip_flags": 3}, {3900020: 1}),
    ({"proto": UDP, "dport": 9001, "ip_flags": 2}, {}),
    ({"proto": UDP, "dport": 9001, "ip_flags": 1}, {}),
    ({"proto": UDP, "dport": 9001, "ip_flags": 7}, {3900031: 1}),
    ({"proto": UDP, "dport": 9001, "ip_flags": 4}, {3900031: 1}),
    # id, ttl, window
    ({"proto": TCP, "dport": 7001, "flags": 2, "seq": 9, "ip_id": 54321, "ttl": 60, "window": 65535}, {3900007: 1}),
    ({"proto": TCP, "dport": 7001, "flags": 2, "seq": 9, "ip_id": 54321, "ttl": 60, "window": 1024}, {}),
    ({"proto": TCP, "dport": 7001, "flags": 2, "seq": 9, "ip_id": 54321, "ttl": 65, "window": 65535}, {}),
    # sameip; ip_proto by name with ttl
    ({"proto": UDP, "dport": 9999, "src": "203.0.113.9", "dst": "203.0.113.9"}, {3900008: 1}),
    ({"proto": UDP, "dport": 33434, "ttl": 1}, {3900009: 1}),
    ({"proto": TCP, "dport": 7002, "flags": 2, "seq": 9, "ttl": 1}, {}),
    ({"proto": UDP, "dport": 33434, "ttl": 2}, {}),
    # a port list with negations in a var line, threshold both: 3 SYNs a minute alert once
    *(({"proto": TCP, "dport": p, "flags": 2, "seq": 9, "src": "198.51.100.20", "t": 4000 + k},
       {3900010: 1} if k == 0 else {}) for k, p in enumerate((21, 22, 25))),
    *(({"proto": TCP, "dport": p, "flags": 2, "seq": 9, "src": "198.51.100.21", "t": 4000 + k}, {})
      for k, p in enumerate((80, 443, 2000))),
    *(({"proto": TCP, "dport": p, "flags": 2, "seq": 9, "src": "198.51.100.22", "t": 4000 + k}, {})
      for k, p in enumerate((21, 22))),
    # byte_test on a decimal string after a nocase content
    ({"proto": TCP, "dport": 8000, "flags": 0x18, "payload": b"POST / HTTP/1.1\r\ncontent-length: 99999\r\n\r\n"},
     {3900011: 1}),
    ({"proto": TCP, "dport": 8000, "flags": 0x18, "payload": b"POST / HTTP/1.1\r\nContent-Length: 500\r\n\r\n"}, {}),
    ({"proto": TCP, "dport": 8000, "flags": 0x02, "payload": b"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n"},
     {}),
    # dsize over the stored bytes: the wire length counts
    ({"proto": ICMP, "itype": 8, "payload": b"Z" * 1000}, {3900012: 1}),
    ({"proto": ICMP, "itype": 8, "payload": b"Z" * 600}, {}),
    # not_established and a port range
    ({"proto": TCP, "dport": 6001, "flags": 2, "seq": 9}, {3900013: 1}),
    ({"proto": TCP, "dport": 6011, "flags": 2, "seq": 9}, {}),
]


def _source(f: dict[str, Any], i: int) -> str:
    return str(f.get("src", f"10.0.{i // 250}.{i % 250 + 1}"))


def _columns(planted: list[tuple[dict[str, Any], dict[int, int]]]) -> PacketColumns:
    n = len(planted)
    payloads: list[bytes] = []
    cols: dict[str, Any] = {k: np.zeros(n, np.int64) for k in (
        "proto", "sport", "dport", "flags", "seq", "ack", "window", "ip_id", "icmp_type", "icmp_code", "inner_proto",
        "ip_flags")}
    cols["ttl"] = np.full(n, 64)
    cols["sport"][:] = 33000
    cols["window"][:] = 1024
    cols["seq"][:] = 1
    cols["payload_id"] = np.full(n, -1)
    version = np.full(n, 4)
    src4, dst4 = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
    src6, dst6 = np.zeros((n, 16), np.uint8), np.zeros((n, 16), np.uint8)
    ts = np.zeros(n, np.int64)
    for i, (f, _) in enumerate(planted):
        for k, v in f.items():
            if k in ("itype", "icode"):
                cols["icmp_" + ("type" if k == "itype" else "code")][i] = v
            elif k in cols:
                cols[k][i] = v
        if f.get("itype") in (3, 11):
            cols["inner_proto"][i] = UDP
        s, d = ipaddress.ip_address(_source(f, i)), ipaddress.ip_address(f.get("dst", "203.0.113.10"))
        if s.version == 6:
            version[i] = 6
            src6[i], dst6[i] = np.frombuffer(s.packed, np.uint8), np.frombuffer(d.packed, np.uint8)
        else:
            src4[i], dst4[i] = int(s), int(d)
        if f.get("payload") is not None:
            payloads.append(f["payload"])
            cols["payload_id"][i] = len(payloads) - 1
        ts[i] = (B + f.get("t", 10 + (61 * i) % 30_000)) * 1_000_000
    order = np.argsort(ts, kind="stable")
    pk = PacketColumns.make(n, payloads=tuple(payloads), ts=ts, version=version, src=src4, dst=dst4, src6=src6,
                            dst6=dst6, **cols)
    return pk.take(order)


def _expected(planted: list[tuple[dict[str, Any], dict[int, int]]]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for i, (f, fires) in enumerate(planted):
        for sid, n in fires.items():
            out.setdefault(sid, {})[_source(f, i)] = n
    return out


def _got(alerts: pa.Table) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for r in alerts.to_pylist():
        src = str(ipaddress.ip_address(r["src4"] if r["src4"] is not None else r["src6"]))
        d = out.setdefault(int(r["sid"]), {})
        d[src] = d.get(src, 0) + int(r["alerts"])
    return out


def _store(tmp: Path, pk: PacketColumns, sensors: bool = True) -> Path:
    cap = tmp / "planted.pcap"
    with CaptureWriter(cap) as w:
        w.write(pk)
    s = tmp / "store"
    if sensors:
        with open_store(s, lock=False) as con:
            add_sensor(con, Sensor("t1", tuple(HOME)))
    r = CliRunner().invoke(cli, ["ingest", str(cap), "--store", str(s), "-q"])
    assert r.exit_code == 0, r.output
    return s


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _store(tmp_path_factory.mktemp("rules"), _columns(PLANTED))


def _file_rules() -> list[Any]:
    vars_ = variables(HOME)
    return [r for f in ("et-style", "snort-style") for r in load_ruleset(RULES / f"{f}.rules", vars_).rules]


def test_addresses_and_ports_lists_ranges_negations_variables() -> None:
    v = variables(["192.0.2.0/24"], {"MY_NET": "[10.0.0.0/8,!10.1.0.0/16]"})
    a = address_set("[$EXTERNAL_NET,!10.0.0.0/8]", v)
    assert a is not None and a.v4 == ((0, ip("9.255.255.255")), (ip("11.0.0.0"), 2**32 - 1))
    assert a.v6 == ((0, 2**128 - 1),)
    assert address_set("$HOME_NET", v) == address_set("192.0.2.0/24", {})
    m = address_set("$MY_NET", v)
    assert m is not None and m.v4 == ((ip("10.0.0.0"), ip("10.0.255.255")), (ip("10.2.0.0"), ip("10.255.255.255")))
    assert address_set("any", v) is None and address_set("[!$HOME_NET,!10.0.0.0/8]", v) == address_set(
        "![$HOME_NET,10.0.0.0/8]", v)
    with pytest.raises(RuleSkip, match="leaves no address"):
        address_set("[$HOME_NET,!$HOME_NET]", v)
    n = address_set("![1.1.1.1,[2.2.2.0/31,!2.2.2.1]]", v)  # nested lists
    assert n is not None and len(n.v4) == 3 and n.contains4(np.array([ip("2.2.2.0"), ip("2.2.2.1"), ip("1.1.1.1"),
                                                                        ip("1.1.1.2")])).tolist() == [
        False, True, False, True]
    six = address_set("[2001:db8::/32,!2001:db8:bad::/48]", v)
    assert six is not None and six.v4 == () and len(six.v6) == 2
    p = port_set("[1:1024,!80,!443]", v)
    assert p is not None and p.ranges == ((1, 79), (81, 442), (444, 1024))
    assert port_set("1024:", v) == port_set("[1024:65535]", v) and port_set(":1023", v) == port_set("0:1023", v)
    assert port_set("!$HTTP_PORTS", v) == port_set("[0:79,81:]", v) and port_set("any", v) is None
    assert parse_var("$HOME_NET=[192.0.2.0/24]") == ("HOME_NET", "[192.0.2.0/24]")
    with pytest.raises(SettingError, match="NAME=VALUE"):
        parse_var("HOME_NET")


def test_files_load_with_counts_and_every_skip_reason() -> None:
    et = load_ruleset(RULES / "et-style.rules", variables(HOME))
    assert (len(et.rules), len(et.skipped), et.disabled) == (10, 3, 1)
    assert {r.sid: r.klass for r in et.rules} == {2900001: "Scan", 2900002: "Scan", 2900003: "Others",
                                                   2900010: "Others", 2900004: "DoS", 2900005: "Worm",
                                                   2900006: "DNS", 2900007: "Scan", 2900008: "Scan", 2900009: "Others"}
    first = next(r for r in et.rules if r.sid == 2900001)
    assert first.rev == 2 and first.references == ("url,example.org/probe",) and first.established is True
    snort = load_ruleset(RULES / "snort-style.rules", variables(HOME))
    assert (len(snort.rules), snort.disabled) == (16, 1)
    assert {s.sid for s in snort.skipped} == {3900021, 3900022, 3900023}
    frag = next(r for r in snort.rules if r.sid == 3900020)
    assert frag.fragbits == ("exact", 3, 0xFF) and next(r for r in snort.rules if r.sid == 3900003).icmp_id
    skips = load_ruleset(RULES / "skips.rules")
    reasons = {s.sid: s.reason for s in skips.skipped}
    assert [r.sid for r in skips.rules] == [4900027] and len(skips.skipped) == 36
    expect = {4900001: "flow state", 4900002: "stream reassembly", 4900003: "HTTP buffers", 4900004: "HTTP buffers",
              4900005: "protocol dns", 4900006: "application-layer", 4900007: "ip.flags: use fragbits",
              4900008: "fragoffset: not stored", 4900009: "icmp_id", 4900010: "invalid fragbits: unknown flag 'X'",
              4900011: "ipopts: not stored", 4900012: "tos: not stored", 4900013: "to_client",
              4900014: "established on UDP", 4900015: "stream reassembly", 4900016: "only_frag",
              4900017: "pcre relative", 4900018: "HTTP buffers", 4900019: "modifier E", 4900020: "Python re cannot",
              4900021: "relative to a pcre", 4900022: "dce", 4900023: "track by_rule",
              4900024: "threshold and detection_filter", 4900025: "pass rules", 4900026: "undefined variable $FOO_NET",
              4900027: "given twice", None: "no sid", 4900029: "bad hex", 4900030: "unknown keyword 'frobnicate'",
              4900031: "header needs", 4900032: "header needs", 4900033: "invalid address",
              4900034: "invalid port range", 4900035: "depth shorter", 4900036: "application-layer"}
    assert set(reasons) == set(expect)
    for sid, text in expect.items():
        assert text in reasons[sid], (sid, reasons[sid])
    rep = skips.report()
    assert rep["accepted"] == 1 and {"sid": 4900030, "reason": "unknown keyword 'frobnicate'", "line": 32} in [
        x for x in rep["skipped"]]
    assert "1 rules accepted, 36 skipped" in skips.summary() and "  skipped     3  HTTP buffers" in skips.summary()
    with pytest.raises(SettingError, match=r"rules:1 \(sid 4900001\): flow state"):
        parse_rules((RULES / "skips.rules").read_text().split("\n", 1)[1])


def test_planted_packets_fire_by_sid_and_near_misses_do_not(store: Path) -> None:
    obs = open_observation(store)
    rules = _file_rules()
    assert _got(signature_alerts(obs, PERIOD, rules)) == _expected(PLANTED)


def test_one_interval_table_equals_each_rule_alone(store: Path) -> None:
    obs = open_observation(store)
    rules = _file_rules()
    batches = list(obs.batches(obs.in_period(PERIOD).select(*COLUMNS), 1 << 20))
    for b in batches:
        a = [(i, rows.tolist()) for i, rows in match_batch(rules, b)]
        assert a == [(i, rows.tolist()) for i, rows in match_batch(rules, b, index=False)]
        assert any(rules[i].sid == 2900010 for i, _ in a)


def test_variables_from_the_catalog_and_var_overrides(store: Path) -> None:
    """HOME_NET is the catalog's addresses unless --var sets it; the JSON output carries the
    load report next to the ranking."""
    r = CliRunner().invoke(cli, ["signatures", "--store", str(store), "--period", "2026-07", "--rules",
                                 str(RULES / "snort-style.rules"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["rules"]["accepted"] == 16 and {x["sid"] for x in doc["rules"]["skipped"]} == {
        3900021, 3900022, 3900023}
    scans = {x["sid"]: x["alerts"] for x in doc["top_signatures"]["Scan"]}
    assert scans[3900004] == 2 and len(scans) == 5  # the top five
    r = CliRunner().invoke(cli, ["signatures", "--store", str(store), "--period", "2026-07", "--rules",
                                 str(RULES / "snort-style.rules"), "--var", "HOME_NET=[192.0.2.0/24]", "--json"])
    doc = json.loads(r.stdout)
    assert "Scan" not in doc["top_signatures"]  # nothing was sent to 192.0.2.0/24
    r = CliRunner().invoke(cli, ["signatures", "--store", str(store), "--check", "--rules", str(RULES / "skips.rules"),
                                 "--var", "FOO_NET=10.0.0.0/8"])
    assert r.exit_code == 0 and "2 rules accepted, 35 skipped" in r.stdout


def _big_file(n_lists: int = 200, per_list: int = 50) -> tuple[str, list[tuple[dict[str, Any], dict[int, int]]]]:
    """A file of the two test files' rules many times over with new sids and ports, reputation
    lists, and the skip file, with planted packets and near misses for each generated rule."""
    lines: list[str] = []
    planted: list[tuple[dict[str, Any], dict[int, int]]] = []
    for k in range(340):  # content rules with offset/depth, nocase and a relative content
        sid = 5_000_000 + k
        word = f"TEITEN-{k:04d}"
        lines.append(f'alert udp $EXTERNAL_NET any -> $HOME_NET {20000 + k} (msg:"ET SCAN gen {k}"; '
                     f'content:"{word}"; depth:{len(word) + 4}; nocase; content:"|00 01|"; distance:0; within:6; '
                     f'fast_pattern; classtype:attempted-recon; sid:{sid}; rev:1;)')
        for j in range(k % 3 + 1):
            planted.append(({"proto": UDP, "dport": 20000 + k, "payload": b"xx" + word.lower().encode() + b"..\x00\x01",
                             "src": f"100.64.{k // 200}.{k % 200 + 1}", "t": 5000 + j},
                            {sid: k % 3 + 1} if j == 0 else {}))
        planted.append(({"proto": UDP, "dport": 20000 + k, "payload": b"xx" + word.encode() + b"......\x00\x01",
                         "src": f"100.65.{k // 200}.{k % 200 + 1}"}, {}))  # the second content too far
    for k in range(300):  # header rules: flags, ttl, window, id
        sid = 5_100_000 + k
        lines.append(f'alert tcp $EXTERNAL_NET any -> $HOME_NET {30000 + k} (msg:"SCAN gen {k}"; flow:stateless; '
                     f'flags:S,12; ttl:>{k % 50}; window:{1000 + k}; id:{k + 1}; classtype:attempted-recon; '
                     f'sid:{sid}; rev:1;)')
        planted.append(({"proto": TCP, "dport": 30000 + k, "flags": 2, "ttl": 64, "window": 1000 + k, "ip_id": k + 1,
                         "src": f"100.66.{k // 200}.{k % 200 + 1}"}, {sid: 1}))
        planted.append(({"proto": TCP, "dport": 30000 + k, "flags": 2, "ttl": 64, "window": 1001 + k, "ip_id": k + 1,
                         "src": f"100.67.{k // 200}.{k % 200 + 1}"}, {}))
    rng = np.random.default_rng(5)
    for k in range(n_lists):  # reputation lists
        sid = 5_200_000 + k
        addrs = sorted({int(x) for x in rng.integers(ip("20.0.0.0"), ip("60.0.0.0"), per_list)})
        lines.append(f'alert ip [{",".join(str(ipaddress.ip_address(a)) for a in addrs)}] any -> $HOME_NET any '
                     f'(msg:"ET CINS gen group {k}"; threshold: type limit, track by_src, seconds 3600, count 1; '
                     f'classtype:misc-attack; sid:{sid}; rev:1;)')
        if k % 4 == 0:
            hit = str(ipaddress.ip_address(addrs[k % len(addrs)]))
            planted.append(({"proto": UDP, "dport": 40000, "src": hit, "t": 6000}, {sid: 1}))
            planted.append(({"proto": UDP, "dport": 40000, "src": hit, "t": 6001}, {}))
    for k in range(100):  # rules the store cannot answer
        lines.append(f'alert tcp $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"ET SCAN gen http {k}"; '
                     f'flow:established,to_server; content:"x{k}"; http_uri; sid:{5_300_000 + k}; rev:1;)')
        lines.append(f'#alert tcp any any -> any any (msg:"disabled {k}"; sid:{5_400_000 + k};)')
    lines += (RULES / "et-style.rules").read_text().splitlines()
    lines += (RULES / "snort-style.rules").read_text().splitlines()
    lines += (RULES / "skips.rules").read_text().splitlines()
    planted += PLANTED
    return "\n".join(lines) + "\n", planted


@pytest.mark.slow
def test_a_thousand_rules_of_mixed_keywords(tmp_path: Path) -> None:
    text, planted = _big_file()
    f = tmp_path / "big.rules"
    f.write_text(text)
    s = _store(tmp_path, _columns(planted))
    r = CliRunner().invoke(cli, ["signatures", "--store", str(s), "--period", "2026-07", "--rules", str(f),
                                 "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)["rules"]
    assert rep["accepted"] == 340 + 300 + 200 + 10 + 16 + 1 and rep["disabled"] == 100 + 2
    assert rep["accepted"] + len(rep["skipped"]) == 1009
    assert len(rep["skipped"]) == 100 + 3 + 3 + 36
    assert sum(1 for x in rep["skipped"] if x["reason"].startswith("HTTP buffers")) == 100 + 2 + 1 + 3
    r = CliRunner().invoke(cli, ["signatures", "--store", str(s), "--period", "2026-07", "--rules", str(f)])
    assert "867 rules accepted, 142 skipped, 102 disabled" in r.stderr
    rs = load_ruleset(f, variables(HOME))
    assert len(rs.rules) == 867
    got = _got(signature_alerts(open_observation(s), PERIOD, rs.rules))
    # the one rule of the skip file that loads matches every TCP packet
    assert sum(got.pop(4900027).values()) == sum(1 for f, _ in planted if f["proto"] == TCP)
    assert got == _expected(planted)


def test_compile_is_lenient_and_parse_is_strict() -> None:
    text = ('alert tcp any any -> any 80 (msg:"a"; flowbits:set,x; sid:1;)\n'
            'alert tcp any any -> any 81 (msg:"b"; sid:2;)\n')
    assert [r.sid for r in compile_rules(text).rules] == [2]
    with pytest.raises(SettingError, match="flow state"):
        parse_rules(text)


def test_detection_filter_by_source_in_the_engine_and_in_time_order(store: Path) -> None:
    """detection_filter tracked by source is counted in the engine (windows that can exceed
    the count) and in the streamed path as in time order; startswith is offset 0, depth n."""

    rules = parse_rules(
        'alert udp any any -> any 5060 (msg:"d"; detection_filter: track by_src, count 1, seconds 60; sid:1;)\n'
        'alert tcp any any -> any any (msg:"e"; flags:S; detection_filter: track by_src, count 2, seconds 60;'
        ' sid:2;)\n'
        'alert udp any any -> any 5060 (msg:"f"; content:"OPTIONS"; startswith; nocase; detection_filter:'
        ' track by_src, count 1, seconds 60; sid:3;)\n'
        'alert udp any any -> any any (msg:"g"; content:"sip"; startswith; sid:4;)')
    obs = open_observation(store)

    def rows(t: pa.Table) -> list[tuple[Any, ...]]:
        return sorted((r["rule"], r["src4"], r["alerts"]) for r in t.to_pylist())

    engine = rows(engine_alerts(obs, PERIOD, rules, [0, 1], None))
    ordered = rows(ordered_alerts(obs, PERIOD, rules, [0, 1, 2, 3], None))
    assert engine == [r for r in ordered if r[0] in (0, 1)]
    assert rows(counted_alerts(obs, PERIOD, rules, [2, 3], None)) == [r for r in ordered if r[0] in (2, 3)]
    sip = ip("198.51.100.1")  # three SIP OPTIONS in a minute: two past the first
    assert (0, sip, 2) in engine and (2, sip, 2) in ordered and not any(r[0] == 3 for r in ordered)
    assert (1, ip("198.51.100.20"), 1) in engine  # three SYNs in a minute, one past the second
