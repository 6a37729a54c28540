"""Signature rules: the syntax subset, matching on hand-built packets (with traps), thresholds,
and the per-class statistics of NPA Table 4-1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from teiten.capture.frames import ICMP, TCP, UDP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.signatures import load_rules, parse_rules, signature_alerts, signature_ranking
from teiten.detect.signatures.alerts import countable, engine_alerts, possible_packets
from teiten.detect.signatures.streamed import apply_threshold, counted_alerts, ordered_alerts
from teiten.engine import open_observation
from teiten.errors import SettingError
from teiten.periods import period_between

T0 = 1_783_000_000_000_000  # 2026-07-02
DST = 0xCB007109
SLAMMER = b"\x04" + b"\x01" * 7 + bytes(100) + b"sock" + bytes(50) + b"send" + bytes(376 - 166)
NACHI = b"\xaa" * 64
SPAM = b"\x04\x00" + bytes(40)
DNS_ANY = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\xff\x00\x01"
SIP = b"options sip:100@203.0.113.9 SIP/2.0\r\nUser-Agent: Friendly-Scanner\r\n\r\n"
PAYLOADS = (SLAMMER, NACHI, SPAM, DNS_ANY, SIP, b"\x04\x02" + bytes(374), b"\x55" * 64)

#: (expected sid or 0 for none, proto, sport, dport, flags, icmp type, icmp code, payload index, source)
PACKETS: list[tuple[int, int, int, int, int, int, int, int, int]] = [
    (9000001, UDP, 3001, 1434, 0, 0, 0, 0, 0x01010101),  # SQL Slammer
    (0, UDP, 3002, 1434, 0, 0, 0, 5, 0x01010102),  # 376 bytes to 1434, not the worm
    (9000002, ICMP, 0, 0, 0, 8, 0, 1, 0x02020201),  # Nachi echo
    (0, ICMP, 0, 0, 0, 8, 0, 6, 0x02020202),  # 64-byte echo of other bytes
    (9000010, UDP, 4000, 1026, 0, 0, 0, 2, 0x03030301),  # Messenger spam
    (9000020, ICMP, 0, 0, 0, 0, 0, -1, 0x04040401),  # echo reply
    (9000021, TCP, 80, 40000, 0x12, 0, 0, -1, 0x04040402),  # SYN-ACK backscatter
    (9000030, UDP, 5353, 53, 0, 0, 0, 3, 0x05050501),  # DNS ANY (also the resolver probe, 9000031)
    (9000042, TCP, 50000, 80, 0x10, 0, 0, -1, 0x06060601),  # ACK ping
    (0, TCP, 50000, 8080, 0x10, 0, 0, -1, 0x06060602),  # ACK to another port
    (9000043, UDP, 40000, 33435, 0, 0, 0, -1, 0x07070701),  # traceroute
    (9000044, UDP, 5070, 5060, 0, 0, 0, 4, 0x08080801),  # SIP OPTIONS, lower case: nocase
]


def _write(path: Path, rows: list[tuple[int, ...]], t0: int = T0) -> Path:
    n = len(rows)
    c = list(zip(*[r[1:] for r in rows], strict=True))
    pk = PacketColumns.make(n, payloads=PAYLOADS, ts=t0 + np.arange(n) * 1_000_000, src=c[7],
                            dst=DST + np.arange(n) % 50, proto=c[0], sport=c[1], dport=c[2], flags=c[3],
                            icmp_type=c[4], icmp_code=c[5], payload_id=c[6])
    with CaptureWriter(path) as w:
        w.write(pk)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sig")
    sweep = [(9000040, ICMP, 0, 0, 0, 8, 0, -1, 0x09090901)] * 12  # 12 echo requests in 12 s: one alert
    slow = [(0, ICMP, 0, 0, 0, 8, 0, -1, 0x09090902)] * 9  # 9: below the count
    files = [_write(tmp / "a.pcap", PACKETS), _write(tmp / "b.pcap", sweep, T0 + 3_600_000_000),
             _write(tmp / "c.pcap", slow, T0 + 7_200_000_000),
             # the previous period: one Slammer packet in June
             _write(tmp / "d.pcap", PACKETS[:1], 1_780_500_000_000_000)]
    s = tmp / "store"
    assert CliRunner().invoke(cli, ["ingest", *map(str, files), "--store", str(s), "-q"]).exit_code == 0
    return s


def test_each_rule_hits_its_packets_and_not_the_traps(store: Path) -> None:
    obs = open_observation(store)
    hits = signature_alerts(obs, period_between("2026-07-01", "2026-07-03"), load_rules())
    got: dict[int, list[int]] = {}
    for row in hits.to_pylist():
        got.setdefault(row["sid"], []).extend([row["src4"]] * row["alerts"])
    for sid, *_, src in PACKETS:
        if sid:
            assert src in got.get(sid, []), sid
    traps = {r[-1] for r in PACKETS if r[0] == 0} | {0x09090902}
    assert not traps & {s for ss in got.values() for s in ss}
    assert got[9000040] == [0x09090901]  # the sweep alerts once ("both"), the slow one never
    assert got[9000031] == [0x05050501]  # the DNS query rule too


def test_class_statistics_against_the_previous_period(store: Path) -> None:
    obs = open_observation(store)
    doc = signature_ranking(obs, period_between("2026-07-01", "2026-07-31"), load_rules())
    rows = {r["key"]: r for r in doc["rows"]}
    assert set(rows) == {"Worm", "UDP spam", "DoS", "DNS", "Scan"}
    assert rows["Worm"]["packets"] == 2 and rows["Worm"]["prev_packets"] == 1
    assert rows["Scan"]["packets"] == 5  # ACK ping, traceroute, SIP OPTIONS and its User-Agent, the sweep
    assert doc["top_signatures"]["Worm"][0]["sid"] in (9000001, 9000002)
    assert doc["total"]["packets"] == sum(r["packets"] for r in doc["rows"])


def test_thresholds() -> None:
    (r,) = parse_rules('alert icmp any any -> any any (msg:"x"; threshold: type limit, track by_src, count 2, '
                       'seconds 60; sid:1;)')
    ts = np.array([0.0, 1, 2, 3, 70, 71, 72], float)
    src = np.array([1, 1, 1, 2, 1, 1, 1])
    assert apply_threshold(r, ts, src, src).tolist() == [True, True, False, True, True, True, False]
    (r,) = parse_rules('alert icmp any any -> any any (msg:"x"; threshold: type threshold, track by_src, count 2, '
                       'seconds 60; sid:1;)')
    assert apply_threshold(r, ts, src, src).tolist() == [False, True, False, False, False, True, False]
    (r,) = parse_rules('alert icmp any any -> any any (msg:"x"; threshold: type both, track by_dst, count 3, '
                       'seconds 60; sid:1;)')
    assert apply_threshold(r, ts, src, src).tolist() == [False, False, True, False, False, False, True]


@pytest.mark.parametrize(("rule", "message"), [
    ('alert tcp any any -> any 80 (msg:"x"; flowbits:isset,a; sid:5;)', r"flow state \(flowbits"),
    ('pass tcp any any -> any 80 (msg:"x"; sid:6;)', "pass rules"),
    ('alert http any any -> any 80 (msg:"x"; sid:7;)', "HTTP buffers"),
    ('alert udp any any -> any 53 (msg:"x"; content:"|0G|"; sid:8;)', "bad hex"),
    ('alert udp any any -> any 53 (msg:"x"; depth:3; sid:9;)', "depth before any content"),
    ('alert udp any any -> any 53 (msg:"x"; sid:1;)\nalert udp any any -> any 54 (msg:"y"; sid:1;)', "given twice"),
])
def test_rule_errors_name_the_rule(rule: str, message: str) -> None:
    with pytest.raises(SettingError, match=message) as e:
        parse_rules(rule, "my.rules")
    assert "my.rules:" in str(e.value)


def test_shipped_rules_load_and_cover_every_class() -> None:
    rules = load_rules()
    assert len({r.sid for r in rules}) == len(rules) >= 20
    assert {r.klass for r in rules} == {"Worm", "Scan", "UDP spam", "DoS", "DNS", "Others"}




def test_cli_signatures_and_detect(store: Path, tmp_path: Path) -> None:
    import json

    r = CliRunner().invoke(cli, ["signatures", "--store", str(store), "--period", "2026-07", "--by", "region",
                                 "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["by"] == "region" and sum(x["packets"] for x in doc["rows"]) == doc["total"]["packets"] > 0
    own = tmp_path / "one.rules"
    own.write_text('alert udp any any -> any 1434 (msg:"only slammer port"; sid:42;)\n')
    r = CliRunner().invoke(cli, ["detect", "--store", str(store), "--period", "2026-07", "--rules", str(own),
                                 "--json"], catch_exceptions=False)
    sig = [f for f in json.loads(r.output)["findings"] if f["kind"] == "signature"]
    assert [(f["sid"], f["evidence"]["alerts"]) for f in sig] == [(42, 2)]
    mixed = tmp_path / "mixed.rules"
    mixed.write_text('alert tcp any any -> any 80 (msg:"x"; flowbits:isset,a; sid:43;)\n'
                     'alert udp any any -> any 1434 (msg:"y"; sid:44;)\n')
    r = CliRunner().invoke(cli, ["signatures", "--store", str(store), "--period", "2026-07", "--rules", str(mixed),
                                 "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["rules"]["accepted"] == 1 and [x["sid"] for x in doc["rules"]["skipped"]] == [43]
    assert doc["top_signatures"]["Others"][0]["sid"] == 44
    r = CliRunner().invoke(cli, ["signatures", "--store", str(store), "--period", "2026-07", "--rules", str(mixed)])
    assert r.exit_code == 0 and "1 rules accepted, 1 skipped" in r.stderr and "flow state" in r.stderr


def test_counted_thresholds_equal_thresholds_in_time_order(store: Path) -> None:
    """Rules without a threshold or with one by source are counted (matches per source and
    window, then the threshold as arithmetic); the same rules through the ordered path
    (matches in time order) give the same alerts per rule, source and region."""

    obs = open_observation(store)
    rules = [*load_rules(), *parse_rules(
        'alert icmp any any -> any any (msg:"l"; itype:8; threshold: type limit, track by_src, count 2, seconds 5;'
        ' sid:1;)\nalert icmp any any -> any any (msg:"t"; itype:8; threshold: type threshold, track by_src,'
        ' count 3, seconds 60; sid:2;)')]
    idx = [i for i, r in enumerate(rules) if countable(r)]
    period = period_between("2026-07-01", "2026-07-03")

    def rows(t: object) -> list[tuple[object, ...]]:
        return sorted((r["rule"], r["src4"], r["alerts"], r["region"]) for r in t.to_pylist())  # type: ignore[attr-defined]

    engine = rows(counted_alerts(obs, period, rules, idx, None))
    assert engine == rows(ordered_alerts(obs, period, rules, idx, None))
    plain = [i for i in idx if not rules[i].contents]  # and the engine's count of header-only rules
    assert rows(engine_alerts(obs, period, rules, plain, None)) == [r for r in engine if int(str(r[0])) in plain]
    got = {(rules[int(str(r[0]))].sid, r[1]): r[2] for r in engine if rules[int(str(r[0]))].sid in (1, 2)}
    # 12 echoes a second apart, from 40 s into a minute and at a 5-s boundary: limit 2 in
    # each 5-s window gives 2 + 2 + 2; every 3rd in the minute gives 4 (the 9 slow ones: 2 + 2, 3)
    assert got[1, 0x09090901] == 6 and got[2, 0x09090901] == 4
    assert got[1, 0x09090902] == 4 and got[2, 0x09090902] == 3
    assert got[1, 0x02020201] == 1 and (2, 0x02020201) not in got  # one Nachi echo


def test_windowed_counts_skip_only_windows_that_cannot_alert(tmp_path: Path) -> None:
    """Rules alerting on a count per window are counted only where a (source bucket,
    window) has that many packets; with many slow sources and a few fast ones the buckets
    are several, most packets are dropped, and the alerts equal those in time order."""

    rng = np.random.default_rng(7)
    slow, fast = 240_000, 12 * 25 + 32 * 10
    period = period_between("2026-07-02", "2026-07-03")
    t0 = int(period.start.timestamp()) * 1_000_000
    ts = np.r_[t0 + rng.integers(0, 2 * 86_400_000_000, slow),  # two days of echoes from 4000 sources
               # and 25 sources sending 12 within a minute
               t0 + np.repeat(rng.choice(2800, 25, replace=False), 12) * 60_000_000
               + np.tile(np.arange(12), 25) * 4_000_000,
               # and 10 sending 32 within one two-minute window
               t0 + np.repeat(rng.choice(1400, 10, replace=False), 32) * 120_000_000
               + np.tile(np.arange(32), 10) * 3_500_000]
    src = np.r_[0x0A000000 + rng.integers(0, 4000, slow), 0x0B000000 + np.repeat(np.arange(25), 12),
                0x0C000000 + np.repeat(np.arange(10), 32)]
    order = np.argsort(ts, kind="stable")
    pk = PacketColumns.make(slow + fast, ts=ts[order], src=src[order], dst=DST + rng.integers(0, 50, slow + fast),
                            proto=ICMP, icmp_type=8)
    with CaptureWriter(tmp_path / "e.pcap") as w:
        w.write(pk)
    s = tmp_path / "store"
    assert CliRunner().invoke(cli, ["ingest", str(tmp_path / "e.pcap"), "--store", str(s), "-q"]).exit_code == 0
    obs = open_observation(s)
    # the ICMP echo sweep (both, 10 a minute by source) and one over two minutes, counted on
    # one-minute base windows
    rules = [*(r for r in load_rules() if r.sid == 9000040), *parse_rules(
        'alert icmp any any -> any any (msg:"w"; itype:8; threshold: type threshold, track by_src, count 30,'
        ' seconds 120; sid:3;)')]
    t = obs.in_period(period)
    kept = int(possible_packets(obs, t, period, rules, [0, 1]).count().to_pyarrow().as_py())
    assert fast <= kept < (slow + fast) / 2
    got = engine_alerts(obs, period, rules, [0, 1], None).to_pylist()
    assert sorted((r["rule"], r["src4"], r["alerts"]) for r in got) == sorted(
        (r["rule"], r["src4"], r["alerts"]) for r in ordered_alerts(obs, period, rules, [0, 1], None).to_pylist())
    assert {r["src4"] for r in got if r["rule"] == 0} >= {0x0B000000 + i for i in range(25)}
    assert {r["src4"] for r in got if r["rule"] == 1} == {0x0C000000 + i for i in range(10)}


def test_a_cell_busy_with_one_rule_keeps_no_other_rules_packets(tmp_path: Path) -> None:
    """Five sources send 445/TCP SYNs all day, five a minute (a rule counting three a minute
    alerts on them), so their buckets' windows are busy with that rule; the slow ICMP echoes
    that share those buckets cannot reach the echo rule's count and are not kept."""

    rng = np.random.default_rng(11)
    period = period_between("2026-07-02", "2026-07-03")
    t0 = int(period.start.timestamp()) * 1_000_000
    minutes = 2 * 1440
    slow = 240_000
    fast_ts = t0 + (np.repeat(np.arange(minutes), 25) * 60_000_000 + np.tile(np.arange(25) * 2_000_000, minutes))
    ts = np.r_[t0 + rng.integers(0, 2 * 86_400_000_000, slow), fast_ts]
    src = np.r_[0x0A000000 + rng.integers(0, 4000, slow), 0x0B000000 + np.tile(np.repeat(np.arange(5), 5), minutes)]
    proto = np.r_[np.full(slow, ICMP), np.full(len(fast_ts), TCP)]
    order = np.argsort(ts, kind="stable")
    n = len(ts)
    pk = PacketColumns.make(n, ts=ts[order], src=src[order], dst=DST + rng.integers(0, 50, n), proto=proto[order],
                            icmp_type=8, dport=445, flags=2)
    with CaptureWriter(tmp_path / "m.pcap") as w:
        w.write(pk)
    s = tmp_path / "store"
    assert CliRunner().invoke(cli, ["ingest", str(tmp_path / "m.pcap"), "--store", str(s), "-q"]).exit_code == 0
    obs = open_observation(s)
    rules = parse_rules(
        'alert tcp any any -> any 445 (msg:"a"; flags:S; threshold: type both, track by_src, count 3, seconds 60;'
        ' sid:1;)\n'
        'alert icmp any any -> any any (msg:"b"; itype:8; threshold: type both, track by_src, count 40, seconds 60;'
        ' sid:2;)')
    kept = possible_packets(obs, obs.in_period(period), period, rules, [0, 1]).to_pyarrow()
    protos = kept.column("proto").to_pylist()
    assert protos.count(TCP) == len(fast_ts) and protos.count(ICMP) == 0
    got = engine_alerts(obs, period, rules, [0, 1], None).to_pylist()
    assert sorted((r["rule"], r["src4"], r["alerts"]) for r in got) == sorted(
        (r["rule"], r["src4"], r["alerts"]) for r in ordered_alerts(obs, period, rules, [0, 1], None).to_pylist())
    assert {(r["rule"], r["src4"], r["alerts"]) for r in got} == {(0, 0x0B000000 + i, minutes) for i in range(5)}


def test_null_fields_never_match_in_the_engine(store: Path) -> None:
    """A negated port or a flags test on an ``ip`` rule does not match packets without ports
    or flags (ICMP, UDP), in the engine as in the matcher."""

    obs = open_observation(store)
    rules = parse_rules('alert ip any any -> any !80 (msg:"a"; sid:11;)\n'
                        'alert ip any any -> any any (msg:"b"; flags:!S; sid:12;)\n'
                        'alert ip any !53 -> any any (msg:"c"; dsize:<1000; sid:13;)')
    period = period_between("2026-07-01", "2026-07-03")

    def rows(t: object) -> list[tuple[object, ...]]:
        return sorted((r["rule"], r["src4"], r["alerts"]) for r in t.to_pylist())  # type: ignore[attr-defined]

    engine = rows(engine_alerts(obs, period, rules, [0, 1, 2], None))
    assert engine == rows(ordered_alerts(obs, period, rules, [0, 1, 2], None))
    icmp = {p[8] for p in PACKETS if p[1] == ICMP}
    assert {r[1] for r in engine if r[0] in (0, 1)} & icmp == set()
    assert {r[1] for r in engine if r[0] == 0} >= {p[8] for p in PACKETS if p[1] != ICMP and p[3] != 80}
