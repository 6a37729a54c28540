"""Signature benchmark: 100 rules over the packets of a generated scenario, in one run.

    .venv/bin/python bench/signatures.py [--scale 1] [--rules 100] [--keep DIR] [--peer-packets 20000]

Builds (or reuses with --keep) a store of the demo scenario (both quarters; SIP, DNS,
ISAKMP and SSDP payloads, backscatter, sweeps), writes a rule file of --rules rules (the
shipped 21, then generated ones: ports, flags, ICMP types, sizes, contents with
offset/depth/nocase, thresholds), and times
  * teiten streamed match: ``match_batch`` (numpy header tests + the compiled content
    kernel) over the packets already in memory as Arrow batches, one thread: the
    per-core matching rate;
  * teiten engine: ``signature_alerts`` over the store (header-only rules counted in DuckDB,
    content rules streamed), with 1 and with 2 threads;
  * a per-packet Python matcher of the same rules (a loop over packets and rules, the way
    a straightforward implementation reads), on the first --peer-packets packets,
and prints packets/s and the ratios against the per-packet matcher.

    .venv/bin/python bench/signatures.py --address-lists [--list-rules 1000] [--addresses 50000]
                                         [--packets 1000000] [--peer-packets 20000] [--keep DIR]

Address lists (reputation files such as ET's emerging-ciarmy.rules): --list-rules rules of
--addresses source addresses in all (single addresses and a few /24s, ``threshold: type
limit, track by_src, count 1, seconds 3600`` as in the CIArmy file), over --packets packets
(2 % of them from listed addresses), and times, in the same run,
  * the load of the rule file (parse, variables, sorted ranges);
  * teiten's streamed match: ``match_batch`` with the rules' sets in one interval table
    (one binary search per packet for all the rules);
  * the per-rule path: ``match_batch(index=False)``, each rule's own sorted ranges and
    binary search (the same matches, checked);
  * the naive per-rule path of teiten before (``_in``: a comparison per range per rule over
    every packet), on the first --peer-packets packets;
  * ``signature_alerts`` end to end over a store of the packets (engine prefilter, stream,
    thresholds);
and prints seconds, packets/s and the ratios against the naive path and the per-rule path.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.capture.frames import ICMP, TCP, UDP, PacketColumns
from teiten.detect.signatures import (
    COLUMNS,
    Rule,
    load_rules,
    load_ruleset,
    match_batch,
    parse_rules,
    signature_alerts,
    variables,
)
from teiten.engine import open_observation
from teiten.ingest.pipeline import ingest_paths
from teiten.periods import Period
from teiten.store.catalog import Sensor, add_sensor, list_sensors
from teiten.store.open import open_store
from teiten.synth.scenario import generate

WORDS = ("GET /", "POST /", "HEAD /", "admin", "login", "shell", "wget ", "curl ", "OPTIONS sip:", "REGISTER sip:",
         "SSH-2.0", "|00 01|", "HTTP/1.", "User-Agent:", "cmd.exe", "/bin/sh", "eval(", "passwd", "root", "M-SEARCH")


def rule_text(n: int, seed: int = 1) -> str:
    """The shipped rules, then generated ones up to ``n`` rules."""
    from importlib import resources

    shipped = resources.files("teiten.detect").joinpath("rules/teiten.rules").read_text("utf-8")
    lines = [x for x in shipped.splitlines() if x.strip() and not x.startswith("#")]
    rng = np.random.default_rng(seed)
    sid = 9100000
    while len(lines) < n:
        sid += 1
        kind = len(lines) % 5
        port = int(rng.choice([22, 23, 80, 443, 445, 1433, 3389, 5060, 6379, 8080, 53, 123, 161, 1900, 500]))
        if kind == 0:
            body = f"tcp any any -> any {port} (msg:\"g{sid}\"; flags:S,12; ttl:<{int(rng.integers(40, 200))};"
        elif kind == 1:
            body = f"udp any any -> any {port} (msg:\"g{sid}\"; dsize:>{int(rng.integers(0, 60))};"
        elif kind == 2:
            body = f"icmp any any -> any any (msg:\"g{sid}\"; itype:{int(rng.choice([0, 3, 8, 11]))};"
        elif kind == 3:
            word = str(rng.choice(WORDS)).replace('"', '\\"')
            body = (f"udp any any -> any {port} (msg:\"g{sid}\"; content:\"{word}\"; nocase; "
                    f"depth:{int(rng.integers(16, 200))};")
        else:
            body = (f"tcp any any -> any [{port},{port + 1}] (msg:\"g{sid}\"; flags:S,12; threshold: type "
                    f"{rng.choice(['limit', 'threshold', 'both'])}, track by_src, count {int(rng.integers(2, 30))}, "
                    f"seconds 60;")
        lines.append(f"alert {body} classtype:attempted-recon; sid:{sid}; rev:1;)")
    return "\n".join(lines[:n]) + "\n"


def python_match(rules: list[Rule], rows: list[dict[str, object]]) -> int:
    """Matches of header and content tests, one packet and one rule at a time (no thresholds)."""
    def within(v: object, ranges: tuple[tuple[int, int], ...] | None, neg: bool) -> bool:
        if ranges is None:
            return True
        if v is None:
            return False
        hit = any(lo <= int(v) <= hi for lo, hi in ranges)  # type: ignore[call-overload]
        return not hit if neg else hit

    def test(v: object, t: tuple[str, int, int] | None) -> bool:
        if t is None:
            return True
        if v is None:
            return False
        op, a, b = t
        x = int(v)  # type: ignore[call-overload]
        return {"=": x == a, "<": x < a, ">": x > a, "<=": x <= a, ">=": x >= a}.get(op, a < x < b)

    n = 0
    for p in rows:
        for r in rules:
            if r.proto is not None and p["proto"] != r.proto:
                continue
            if not (within(p["sport"], r.sport.ranges if r.sport else None, False)
                    and within(p["dport"], r.dport.ranges if r.dport else None, False)):
                continue
            if r.flags is not None:
                if p["tcp_flags"] is None:
                    continue
                mode, bits, mask = r.flags
                f = int(p["tcp_flags"]) & mask  # type: ignore[call-overload]
                ok = {"exact": f == bits, "all": f & bits == bits, "any": f & bits != 0}.get(mode, f & bits == 0)
                if not ok:
                    continue
            if not (test(p["icmp_type"], r.itype) and test(p["icmp_code"], r.icode) and test(p["ttl"], r.ttl)
                    and test(p["payload_len"], r.dsize)):
                continue
            pay = p["payload"]
            if r.contents:
                if not isinstance(pay, bytes):
                    continue
                ok = True
                for c in r.contents:
                    hay = pay.lower() if c.nocase else pay
                    end = len(hay) if c.depth is None else c.offset + c.depth
                    found = hay.find(c.pattern.lower() if c.nocase else c.pattern, c.offset, end) >= 0
                    if found == c.negated:
                        ok = False
                        break
                if not ok:
                    continue
            n += 1
    return n


def build(work: Path, scale: float) -> Path:
    store = work / "store"
    done = work / "store.done"
    if done.exists():
        return store
    s = generate(work / "scenario", seed=0, scale=scale)
    with open_store(store, lock=False) as con:
        for x in json.loads(s.sensors_path.read_text())["sensors"]:
            if x["name"] not in {y.name for y in list_sensors(con)}:
                add_sensor(con, Sensor(x["name"], tuple(x["addresses"]), x.get("country"), x.get("group")))
    bad = [r for r in ingest_paths(store, s.captures) if r.status != "ok"]
    assert not bad, bad[:3]
    done.touch()
    return store


def list_rules_text(n: int, addresses: int, rng: np.random.Generator) -> tuple[str, list[npt.NDArray[np.int64]]]:
    """``n`` CIArmy-style rules of ``addresses`` source addresses in all (one in 50 a /24)."""
    per = max(1, addresses // n)
    lines, sets = [], []
    for k in range(n):
        a = np.unique(rng.integers(0x01000000, 0xDF000000, per))
        items = [f"{ipaddress.IPv4Address(int(x) & 0xFFFFFF00)}/24" if j % 50 == 49 else
                 str(ipaddress.IPv4Address(int(x))) for j, x in enumerate(a)]
        sets.append(a)
        lines.append(f'alert ip [{",".join(items)}] any -> $HOME_NET any (msg:"ET CINS Active Threat Intelligence '
                     f'Poor Reputation IP group {k + 1}"; reference:url,www.cinsscore.com; threshold: type limit, '
                     f'track by_src, seconds 3600, count 1; classtype:misc-attack; sid:{2403300 + k}; rev:1;)')
    return "# bench: CIArmy-style reputation lists\n" + "\n".join(lines) + "\n", sets


def list_packets(n: int, sets: list[npt.NDArray[np.int64]], rng: np.random.Generator, t0: int) -> PacketColumns:
    listed = np.concatenate(sets)
    src = rng.integers(0x01000000, 0xDF000000, n)
    hit = rng.random(n) < 0.02
    src[hit] = listed[rng.integers(0, len(listed), int(hit.sum()))]
    proto = rng.choice(np.array([TCP, UDP, ICMP]), n, p=[0.8, 0.15, 0.05])
    return PacketColumns.make(n, ts=t0 + np.sort(rng.integers(0, 86_400_000_000, n)), src=src,
                              dst=0xCB007100 + rng.integers(0, 256, n), proto=proto,
                              sport=rng.integers(1024, 65536, n),
                              dport=rng.choice(np.array([22, 23, 80, 445, 3389]), n),
                              flags=np.where(proto == TCP, 2, 0), seq=rng.integers(0, 1 << 32, n),
                              icmp_type=np.where(proto == ICMP, 8, 0), ttl=rng.integers(30, 250, n))


def naive_match(rules: list[Rule], batch: pa.RecordBatch) -> int:
    """teiten's per-rule matching before the interval table: each rule ORs a comparison per
    range over every packet (then the same tests on the rest)."""
    src = np.asarray(batch.column("src4").cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False))
    n = 0
    for r in rules:
        hit = np.zeros(len(src), bool)
        assert r.src is not None
        for lo, hi in r.src.v4:
            hit |= (src >= lo) & (src <= hi)
        n += int(hit.sum())
    return n


def address_lists(args: argparse.Namespace) -> None:
    from teiten.capture.writer import CaptureWriter

    work = args.keep or Path(tempfile.mkdtemp(prefix="teiten-sig-lists-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    text, sets = list_rules_text(args.list_rules, args.addresses, rng)
    path = work / "ciarmy.rules"
    path.write_text(text)
    t = time.perf_counter()
    loaded = load_ruleset(path, variables(["203.0.113.0/24"]))
    t_load = time.perf_counter() - t
    rules = loaded.rules
    assert len(rules) == args.list_rules and not loaded.skipped, loaded.summary()
    ranges = sum(len(r.src.v4) for r in rules if r.src is not None)
    t0 = int(datetime(2026, 7, 2, tzinfo=UTC).timestamp()) * 1_000_000
    pk = list_packets(args.packets, sets, rng, t0)
    store = work / "store"
    if not (work / "store.done").exists():
        with CaptureWriter(work / "lists.pcap") as w:
            w.write(pk)
        bad = [r for r in ingest_paths(store, [work / "lists.pcap"]) if r.status != "ok"]
        assert not bad, bad[:3]
        (work / "store.done").touch()
    obs = open_observation(store)
    period = Period("range", date(2026, 7, 2), date(2026, 7, 2), "UTC")
    batches = list(obs.batches(obs.in_period(period).select(*COLUMNS), 1 << 20))
    n = sum(b.num_rows for b in batches)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; {n:,} packets; {len(rules)} rules,"
          f" {ranges:,} address ranges in all; load {t_load:.2f} s")
    match_batch(rules, batches[0].slice(0, 1000))  # warm up
    t = time.perf_counter()
    found = [(i, len(rows)) for b in batches for i, rows in match_batch(rules, b)]
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    alone = [(i, len(rows)) for b in batches for i, rows in match_batch(rules, b, index=False)]
    t_alone = time.perf_counter() - t
    assert sorted(found) == sorted(alone), "the interval table and the per-rule path disagree"
    peer = pa.Table.from_batches(batches).slice(0, args.peer_packets).combine_chunks().to_batches()[0]
    t = time.perf_counter()
    naive_n = naive_match(rules, peer)
    t_naive = time.perf_counter() - t
    assert naive_n == sum(len(rows) for _, rows in match_batch(rules, peer))
    naive = peer.num_rows / t_naive
    t = time.perf_counter()
    alerts = signature_alerts(obs, period, rules)
    t_e2e = time.perf_counter() - t
    matches = sum(c for _, c in found)
    print(f"\n{'':52}{'seconds':>10}{'packets/s':>14}{'× naive':>10}{'× per-rule':>12}")
    print(f"{'naive per-rule ranges (first ' + str(peer.num_rows) + ')':52}{t_naive:>10.2f}{naive:>14,.0f}"
          f"{1:>10.1f}{'':>12}")
    print(f"{'per-rule binary search, match_batch(index=False)':52}{t_alone:>10.2f}{n / t_alone:>14,.0f}"
          f"{n / t_alone / naive:>10.1f}{1:>12.1f}")
    print(f"{'one interval table, match_batch':52}{t_index:>10.2f}{n / t_index:>14,.0f}"
          f"{n / t_index / naive:>10.1f}{t_alone / t_index:>12.1f}")
    print(f"{'signature_alerts over the store (end to end)':52}{t_e2e:>10.2f}{n / t_e2e:>14,.0f}"
          f"{n / t_e2e / naive:>10.1f}{t_alone / t_e2e:>12.1f}")
    print(f"\nmatches: {matches:,}; alerts after thresholds: {int(sum(alerts.column('alerts').to_pylist())):,}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--peer-packets", type=int, default=20000)
    ap.add_argument("--address-lists", action="store_true", help="The address-list benchmark instead.")
    ap.add_argument("--list-rules", type=int, default=1000)
    ap.add_argument("--addresses", type=int, default=50000)
    ap.add_argument("--packets", type=int, default=1_000_000)
    args = ap.parse_args()
    if args.address_lists:
        address_lists(args)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="teiten-sig-bench-"))
    store = build(work, args.scale)
    rules_path = work / "bench.rules"
    rules_path.write_text(rule_text(args.rules))
    rules = load_rules(rules_path)
    assert len(rules) == args.rules and len(parse_rules(rules_path.read_text())) == args.rules
    obs = open_observation(store)
    span = obs.data_span()
    assert span is not None
    period = Period("range", span[0].date(), span[1].date(), "UTC")
    batches = list(obs.batches(obs.in_period(period).select(*COLUMNS), 1 << 20))
    n = sum(b.num_rows for b in batches)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; {n:,} packets; {len(rules)} rules"
          f" ({sum(1 for r in rules if r.contents)} with content, {sum(1 for r in rules if r.threshold)} thresholded)")
    match_batch(rules, batches[0].slice(0, 1000))  # compile the kernel
    t = time.perf_counter()
    matches = sum(len(rows) for b in batches for _, rows in match_batch(rules, b))
    t_stream = time.perf_counter() - t
    timings = {}
    for threads in (1, 2):
        o = open_observation(store, threads=threads)
        t = time.perf_counter()
        alerts = signature_alerts(o, period, rules)
        timings[threads] = time.perf_counter() - t
    peer_rows = pa.Table.from_batches(batches).slice(0, args.peer_packets).to_pylist()
    t = time.perf_counter()
    peer_matches = python_match(rules, peer_rows)
    t_peer = time.perf_counter() - t
    own_matches = sum(len(rows) for _, rows in match_batch(rules, pa.Table.from_pylist(peer_rows).to_batches()[0]))
    assert own_matches == peer_matches, (own_matches, peer_matches)  # the same matches as the plain loop
    peer = len(peer_rows) / t_peer
    print(f"\n{'':44}{'packets/s':>14}{'× per-packet':>14}")
    print(f"{'per-packet Python (first ' + str(len(peer_rows)) + ')':44}{peer:>14,.0f}{1:>14.1f}")
    print(f"{'teiten streamed match, 1 thread':44}{n / t_stream:>14,.0f}{n / t_stream / peer:>14.1f}")
    for threads, sec in timings.items():
        print(f"{'teiten signature_alerts, ' + str(threads) + ' thread(s)':44}{n / sec:>14,.0f}{n / sec / peer:>14.1f}")
    print(f"\nmatches (before thresholds): {matches:,}; alerts: {int(sum(alerts.column('alerts').to_pylist())):,}")


if __name__ == "__main__":
    main()
