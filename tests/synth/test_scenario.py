"""A small scenario (scale 0.02): deterministic, truth.json equal to what dpkt reads, phenomena as planted."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from teiten.enrich.geo import load_geo
from teiten.synth.scenario import Scenario, generate
from tests.synth.dpkt_read import rows

SCALE = 0.02


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return generate(tmp_path_factory.mktemp("scenario"), seed=3, scale=SCALE)


@pytest.fixture(scope="module")
def truth(scenario: Scenario) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(scenario.truth_path.read_text())
    return doc


@pytest.fixture(scope="module")
def packets(scenario: Scenario) -> list[dict[str, Any]]:
    out = []
    for path in scenario.captures:
        for r in rows(path):
            r["file"] = path.relative_to(scenario.out_dir).as_posix()
            out.append(r)
    return out


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_deterministic(scenario: Scenario, tmp_path: Path) -> None:
    again = generate(tmp_path, seed=3, scale=SCALE)
    assert _digest(again.out_dir) == _digest(scenario.out_dir)
    other = generate(tmp_path / "other", seed=4, scale=SCALE)
    assert other.truth_path.read_bytes() != scenario.truth_path.read_bytes()


def test_layout_and_catalog(scenario: Scenario, truth: dict[str, Any]) -> None:
    assert (scenario.start.isoformat(), scenario.end.isoformat()) == ("2026-04-01", "2026-09-30")
    assert scenario.files == 5 * 183 == len(truth["files"])
    suffixes = Counter("".join(p.suffixes[-2:]) for p in scenario.captures)
    assert suffixes[".pcap.gz"] and suffixes[".pcap.zst"] and suffixes[".pcapng"] and suffixes[".pcap"]
    sensors = json.loads(scenario.sensors_path.read_text())["sensors"]
    v4 = [a for s in sensors for c in s["addresses"] if ":" not in c for a in ipaddress.ip_network(c)]
    assert len(v4) >= 100
    assert {s["group"] for s in sensors} == {"domestic", "foreign"}
    assert {s["kind"] for s in sensors} == {"passive", "responder"}


def test_counts_equal_the_files(scenario: Scenario, truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    assert len(packets) == scenario.packets == truth["totals"]["packets"]
    assert Counter(r["file"] for r in packets) == {k: v for k, v in truth["files"].items() if v}
    names = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}
    got: Counter[tuple[str, str]] = Counter()
    for r in packets:
        day = datetime.fromtimestamp(r["ts"], UTC).date().isoformat()
        port = r["icmp_type"] if r["proto"] in (1, 58) else r["dport"]
        got[day, f"{port}/{names[r['proto']]}"] += 1
    want = {(d, k): n for d, keys in truth["by_day_key"].items() for k, n in keys.items()}
    assert got == want
    assert sum(sum(v.values()) for v in truth["by_day_country"].values()) == len(packets)


def _of(packets: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    return [r for r in packets if all(r.get(k) == v for k, v in kw.items())]


def test_mirai(truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    mirai = [r for r in packets if r["proto"] == 6 and r["version"] == 4 and r["seq"] == r["dst"]
             and r["flags"] & 0x12 == 0x02]
    assert len(mirai) == truth["phenomena"]["mirai"]["packets"] == truth["fingerprints"]["mirai"] > 1000
    assert {r["dport"] for r in mirai} == {23, 2323}
    geo = load_geo()
    srcs = np.array(sorted({r["src"] for r in mirai}), dtype=np.uint32)
    assert set(geo.lookup4(srcs)[0].to_pylist()) <= {"CN", "KR", "TW", "BR", "VN", "JP"}
    weeks = Counter(int(r["ts"] // (7 * 86400)) for r in mirai)
    first, last = min(weeks), max(weeks)
    assert weeks[last - 2] > 2 * weeks[first + 1]  # ramping up


def test_zmap_and_masscan(truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    v4 = [r for r in packets if r["version"] == 4]
    zmap = [r for r in v4 if r["ip_id"] == 54321]
    masscan = [r for r in v4 if r["proto"] == 6 and r["flags"] & 0x12 == 0x02
               and r["ip_id"] == (r["dst"] ^ r["dport"] ^ r["seq"]) & 0xFFFF]
    assert len(zmap) == truth["phenomena"]["zmap"]["packets"] == truth["fingerprints"]["zmap"] > 0
    assert len(masscan) == truth["phenomena"]["masscan"]["packets"] == truth["fingerprints"]["masscan"] > 0
    assert {f"{r['dport']}/TCP" for r in zmap} == set(truth["phenomena"]["zmap"]["keys"])
    sources = truth["phenomena"]["masscan"]["sources"]
    assert {r["src"] for r in masscan} == {int(ipaddress.ip_address(a)) for a in sources}


def test_1521_surge(truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    surge = truth["phenomena"]["oracle_surge"]
    p1521 = _of(packets, proto=6, dport=1521)
    planted = [r for r in p1521 if r["ts"] * 1e6 >= surge["window"][0]]
    assert sum(r["sport"] == 6000 for r in planted) >= 0.9 * len(planted)
    assert len(planted) > 10 * (len(p1521) - len(planted))  # a surge over the baseline
    assert surge["countries"]["CN"] >= 0.85 * surge["packets"]
    start = datetime.fromisoformat(surge["window_utc"][0]).date()
    assert (start.month, 10 <= start.day <= 20) == (5, True)  # mid-quarter 2
    by_day: dict[int, set[int]] = {}
    for r in planted:
        by_day.setdefault(int(r["ts"] // 86400), set()).add(r["src"])
    days = sorted(by_day)
    assert max(len(by_day[d]) for d in days[10:]) > 3 * max(len(by_day[d]) for d in days[:5])


def test_backscatter_meets_rs_dos(truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    bs = truth["phenomena"]["backscatter"]
    victim = int(ipaddress.ip_address(bs["victim"]))
    assert load_geo().lookup4(np.array([victim], np.uint32))[0].to_pylist() == ["KR"]
    got = sorted(_of(packets, src=victim), key=lambda r: r["ts"])
    assert len(got) == bs["packets"] == truth["fingerprints"]["backscatter"]
    assert all(r["sport"] == 80 and r["flags"] in (0x12, 0x04, 0x14) for r in got if r["proto"] == 6)
    unreach = [r for r in got if r["proto"] == 1 and r["icmp_type"] == 3]
    assert unreach and all(r["icmp_body"][4 + 9] == 17 and r["icmp_body"][4 + 22 : 4 + 24] == b"\x00\x50"
                           for r in unreach)
    assert {r["icmp_type"] for r in got if r["proto"] == 1} == {0, 3}
    ts = np.array([r["ts"] for r in got])
    assert ts[-1] - ts[0] <= 2 * 86400
    attacks = np.split(ts, np.flatnonzero(np.diff(ts) > 300) + 1)
    best = max(attacks, key=len)
    win = int((np.searchsorted(best, best + 60, side="right") - np.arange(len(best))).max())
    assert len(best) >= 25 and best[-1] - best[0] >= 60 and win >= 30


def test_sweeper_diurnal_sip(scenario: Scenario, truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    sw = truth["phenomena"]["icmp_sweeper"]
    src = int(ipaddress.ip_address(sw["sources"][0]))
    hit = {r["dst"] for r in _of(packets, src=src, icmp_type=8)}
    sensors = json.loads(scenario.sensors_path.read_text())["sensors"]
    v4 = {int(a) for s in sensors for c in s["addresses"] if ":" not in c for a in ipaddress.ip_network(c)}
    assert hit == v4
    hours = truth["phenomena"]["diurnal"]["by_utc_hour"]
    assert int(np.argmax(hours)) in (23, 0, 1) and max(hours) > 4 * min(hours)  # 21:00 at UTC-3
    sip = [r["payload"] for r in _of(packets, proto=17, dport=5060)]
    agents = Counter(p.split(b"User-Agent: ")[1].split(b"\r\n")[0] for p in sip)
    assert {b"friendly-scanner", b"sipvicious", b"sipcli/v1.8"} <= set(agents)
    assert agents[b"friendly-scanner"] == truth["phenomena"]["sip"]["by_tool"]["friendly-scanner"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_a_day(scenario: Scenario, truth: dict[str, Any]) -> None:
    path = scenario.out_dir / "captures" / "tokyo-1" / "2026-07-08.pcap"
    run = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.split()) == truth["files"]["captures/tokyo-1/2026-07-08.pcap"] > 0


def test_background_truth_from_the_files(scenario: Scenario, truth: dict[str, Any],
                                         packets: list[dict[str, Any]]) -> None:
    """truth["background"], recomputed here in plain Python from what dpkt reads: the scans
    of docs/detection.md (per quarter, source and key, backscatter aside, split at gaps over an hour,
    a tenth of the monitored addresses) and the keys of ≥ 500 packets half from one source."""
    names = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}
    july = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp()) * 1_000_000
    sensors = json.loads(scenario.sensors_path.read_text())["sensors"]
    nets = [ipaddress.ip_network(a) for s in sensors for a in s["addresses"]]
    monitored = sum(n.num_addresses if n.version == 4 else 1 for n in nets)
    need = max(10, -(-monitored // 10))
    assert (monitored, need, truth["background"]["monitored"]) == (286, 29, 286)

    def backscatter(r: dict[str, Any]) -> bool:
        if r["proto"] == 6:
            return bool(r["flags"] & 0x12 == 0x12 or r["flags"] & 0x04)
        if r["proto"] == 1:
            return bool(r["icmp_type"] in (0, 3, 4, 5, 11, 12, 14, 16, 18))
        if r["proto"] == 58:
            return bool(r["icmp_type"] in (1, 2, 3, 4, 129))
        return bool(r["proto"] == 17 and r["sport"] == 53)

    runs: dict[tuple[str, str, str], list[tuple[int, Any]]] = {}
    keys: Counter[tuple[str, str]] = Counter()
    by_source: Counter[tuple[str, str, str]] = Counter()
    for r in packets:
        us = round(r["ts"] * 1e6)
        q = "2026Q2" if us < july else "2026Q3"
        key = f"{r['icmp_type'] if r['proto'] in (1, 58) else r['dport']}/{names[r['proto']]}"
        v4 = r["version"] == 4
        src = str(ipaddress.IPv4Address(r["src"]) if v4 else ipaddress.IPv6Address(r["src6"]))
        keys[q, key] += 1
        by_source[q, src, key] += 1
        if not backscatter(r):
            runs.setdefault((q, src, key), []).append((us, r["dst"] if v4 else r["dst6"]))
    want: dict[tuple[str, str, str], tuple[int, int]] = {}
    for group, hits in runs.items():
        hits.sort(key=lambda h: h[0])
        reached: list[set[Any]] = [set()]
        for i, (us, dst) in enumerate(hits):
            if i and us - hits[i - 1][0] > 3600 * 1_000_000:
                reached.append(set())
            reached[-1].add(dst)
        wide = [len(x) for x in reached if len(x) >= need]
        if wide:
            want[group] = (len(wide), max(wide))
    got = {(x["quarter"], x["source"], x["key"]): (x["scans"], x["widest"]) for x in truth["background"]["scanners"]}
    assert got == want
    labels = {x["label"] for x in truth["background"]["scanners"]}
    assert {"zmap", "masscan"} <= labels, labels
    dominated = {(q, key, src) for (q, src, key), n in by_source.items() if keys[q, key] >= 500
                 and 2 * n >= keys[q, key]}
    assert {(x["quarter"], x["key"], x["source"]) for x in truth["background"]["single_source_keys"]} == dominated


def test_busy_sources_from_the_files(truth: dict[str, Any], packets: list[dict[str, Any]]) -> None:
    """truth["background"]["busy_sources"], recomputed in plain Python from what dpkt reads:
    per (source, port key) and per (source, its country), the packets of each UTC day from
    its first to its last there, wherever it sent 20 or more on some day."""
    names = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}
    daily: Counter[tuple[str, str, str, int]] = Counter()
    v4 = [r["src"] for r in packets if r["version"] == 4]
    geo = load_geo()
    countries = dict(zip(v4, geo.lookup4(np.array(v4, dtype=np.uint32))[0].to_pylist(), strict=True))
    start = datetime(2026, 4, 1, tzinfo=UTC).timestamp()
    for r in packets:
        day = int((r["ts"] - start) // 86400)
        port = r["icmp_type"] if r["proto"] in (1, 58) else r["dport"]
        src = str(ipaddress.IPv4Address(r["src"]) if r["version"] == 4 else ipaddress.IPv6Address(r["src6"]))
        daily["ports", f"{port}/{names[r['proto']]}", src, day] += 1
        if r["version"] == 4:  # the IPv6 sources' countries: checked against the packets below
            daily["regions", countries[r["src"]] or "??", src, day] += 1
    series: dict[tuple[str, str, str], dict[int, int]] = {}
    for (dim, key, src, day), n in daily.items():
        series.setdefault((dim, key, src), {})[day] = n
    want = {}
    for group, days in series.items():
        if max(days.values()) >= 20:
            a, b = min(days), max(days)
            want[group] = ((datetime(2026, 4, 1) + timedelta(days=a)).date().isoformat(),
                           [days.get(d, 0) for d in range(a, b + 1)])
    got = {(x["dimension"], x["key"], x["source"]): (x["first"], x["packets"])
           for x in truth["background"]["busy_sources"] if ":" not in x["source"] or x["dimension"] == "ports"}
    assert got == want
    assert {x["dimension"] for x in truth["background"]["busy_sources"]} == {"ports", "regions"}
    bs = truth["phenomena"]["backscatter"]
    assert ("ports", "0/ICMP", bs["victim"]) in got and ("regions", "KR", bs["victim"]) in got
