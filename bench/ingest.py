"""Ingest benchmark: teiten against dpkt and tshark on the same generated capture, in one run.

    .venv/bin/python bench/ingest.py [--packets 3000000] [--peer-packets 300000] [--big-gb 0]

Prints packets per second of
  * teiten parse only   (read + compiled walk + decode into Arrow columns, in process)
  * teiten end to end   (parse + enrich + Parquet store + commit, in process, warm)
  * teiten CLI          (`teiten ingest` as a user runs it: process start, JIT cache load, all of the above)
  * dpkt                (pure-Python parse of Ethernet/IP/TCP/UDP/ICMP fields, first --peer-packets packets)
  * tshark -T fields    (the same fields, first --peer-packets packets)
and the ratios against teiten's parse; the peak RSS of the CLI run.  With --big-gb N it also
ingests an N GB capture with the CLI and reports its peak RSS (memory is bounded by a batch).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dpkt

from teiten.capture.reader import CaptureReader
from teiten.ingest.pipeline import ingest_paths
from teiten.synth.radiation import synthetic_capture

TEITEN = [sys.executable, "-m", "teiten.cli"]


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def parse_only(path: Path) -> int:
    return sum(b.packets.num_rows for b in CaptureReader(path))


def dpkt_fields(path: Path, limit: int) -> int:
    n = 0
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                l4 = ip.data
                _ = (ip.src, ip.dst, ip.p, ip.ttl, ip.id)
                if isinstance(l4, dpkt.tcp.TCP):
                    _ = (l4.sport, l4.dport, l4.seq, l4.flags, l4.win)
                elif isinstance(l4, dpkt.udp.UDP):
                    _ = (l4.sport, l4.dport)
                elif isinstance(l4, dpkt.icmp.ICMP):
                    _ = (l4.type, l4.code)
            n += 1
            if n >= limit:
                break
    return n


def tshark_fields(path: Path, limit: int) -> int:
    fields = ["frame.time_epoch", "ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.id", "tcp.srcport",
              "tcp.dstport", "tcp.seq_raw", "tcp.flags", "udp.srcport", "udp.dstport", "icmp.type"]
    cmd = ["tshark", "-n", "-r", str(path), "-c", str(limit), "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, check=True, env={**os.environ, "LC_ALL": "C"}).stdout
    return out.count(b"\n")


def cli_ingest(path: Path, store: Path) -> tuple[float, int]:
    """Wall time and peak RSS (kB) of `teiten ingest` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([*TEITEN, "ingest", str(path), "--store", str(store), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=3_000_000)
    ap.add_argument("--peer-packets", type=int, default=300_000, help="packets given to dpkt and tshark")
    ap.add_argument("--big-gb", type=float, default=0.0, help="also ingest a capture of this many GB")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="teiten-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cap = work / "bench.pcap"
    if not cap.exists():
        _, dt = timed(lambda: synthetic_capture(cap, args.packets, seed=1))
        print(f"generated {cap} ({cap.stat().st_size / 1e6:.0f} MB, {args.packets:,} packets) in {dt:.1f} s")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")

    parse_only(cap)  # load the compiled kernels before timing
    n, t_parse = min((timed(lambda: parse_only(cap)) for _ in range(3)), key=lambda x: x[1])
    rates: dict[str, float] = {"teiten parse only": n / t_parse}

    warm = work / "warm.pcap"
    synthetic_capture(warm, 50_000, seed=2)
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    list(ingest_paths(store, [warm]))  # geo tables and kernels loaded
    res, t_e2e = timed(lambda: list(ingest_paths(store, [cap])))
    assert res[0].status == "ok" and res[0].packets == n, res
    rates["teiten end to end"] = n / t_e2e

    shutil.rmtree(store, ignore_errors=True)
    wall, rss = cli_ingest(cap, store)
    rates["teiten CLI (cold process)"] = n / wall

    m, t_dpkt = timed(lambda: dpkt_fields(cap, args.peer_packets))
    rates["dpkt"] = m / t_dpkt
    if shutil.which("tshark"):
        k, t_tshark = timed(lambda: tshark_fields(cap, args.peer_packets))
        rates["tshark -T fields"] = k / t_tshark
    base = rates["teiten parse only"]
    print(f"\n{'':28}{'packets/s':>14}{'× teiten parse':>16}")
    for name, r in rates.items():
        print(f"{name:28}{r:>14,.0f}{r / base:>16.3f}")
    print(f"\nteiten CLI peak RSS: {rss / 1024:.0f} MiB for a {cap.stat().st_size / 1e6:.0f} MB capture")
    if args.big_gb:
        big = work / "big.pcap"
        per = cap.stat().st_size / args.packets
        nbig = int(args.big_gb * 1e9 / per)
        if not big.exists():
            synthetic_capture(big, nbig, seed=3)
        shutil.rmtree(store, ignore_errors=True)
        wall, rss = cli_ingest(big, store)
        print(f"big capture: {big.stat().st_size / 1e9:.2f} GB, {nbig:,} packets: CLI {wall:.1f} s "
              f"({nbig / wall:,.0f} packets/s), peak RSS {rss / 1024:.0f} MiB")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
