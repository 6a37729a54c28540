"""Scans on hand-built packets: gaps split scans, IPv6 sources are scanners too, and the
engine's bucketed split gives what a packet-by-packet split gives."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from teiten.capture.frames import TCP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.scans import scan_findings, scans
from teiten.detect.thresholds import ScanRules
from teiten.engine import open_observation
from teiten.periods import period_between

T0 = 1_783_000_000_000_000  # 2026-07-02
S = 1_000_000
NET4 = 0xCB007100  # 203.0.113.0/24
NET6 = ipaddress.IPv6Address("2001:db8::").packed


def _v6(i: int) -> bytes:
    return NET6[:15] + bytes([i])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("scans")
    rows: list[tuple[int, int, int, int]] = []  # (µs, version, source, destination index)
    # A: 12 addresses, 30 s apart: one scan
    rows += [(T0 + i * 30 * S, 4, 0x0A000001, i) for i in range(12)]
    # B: 6 addresses, a gap of 1 h 1 s, 6 more: two scans of 6, so no scan at 10
    rows += [(T0 + i * S, 4, 0x0A000002, i) for i in range(6)]
    rows += [(T0 + (3606 + i) * S, 4, 0x0A000002, 6 + i) for i in range(6)]
    # C: 12 addresses with gaps of exactly 1 h: still one scan (a gap must exceed the timeout)
    rows += [(T0 + i * 3600 * S, 4, 0x0A000003, 20 + i) for i in range(12)]
    # D: an IPv6 source reaching 11 IPv6 addresses
    rows += [(T0 + i * S, 6, 0xD, 40 + i) for i in range(11)]
    # E: an IPv6 source sending 30 packets to 3 addresses: many packets, few addresses
    rows += [(T0 + i * S, 6, 0xE, 60 + i % 3) for i in range(30)]
    rows.sort()
    ts, ver, src, dst = (np.array(c) for c in zip(*rows, strict=True))
    n = len(rows)
    src6 = np.zeros((n, 16), np.uint8)
    dst6 = np.zeros((n, 16), np.uint8)
    for i in range(n):
        if ver[i] == 6:
            src6[i] = np.frombuffer(ipaddress.IPv6Address(f"2001:db8:ffff::{src[i]:x}").packed, np.uint8)
            dst6[i] = np.frombuffer(_v6(int(dst[i])), np.uint8)
    pk = PacketColumns.make(n, ts=ts, version=ver, src=src, dst=NET4 + dst, src6=src6, dst6=dst6, proto=TCP,
                            sport=40000, dport=445, flags=0x02, seq=np.arange(n) * 7919 + 1, window=64240)
    path = tmp / "scans.pcap"
    with CaptureWriter(path) as w:
        w.write(pk)
    s = tmp / "store"
    assert CliRunner().invoke(cli, ["ingest", str(path), "--store", str(s), "-q"]).exit_code == 0
    return s


def test_gaps_split_scans_and_ipv6_sources_scan(store: Path) -> None:
    obs = open_observation(store)
    found, monitored, need = scans(obs, period_between("2026-07-01", "2026-07-03"))
    assert monitored == 12 + 12 + 11 + 3 and need == 10  # B reuses A's addresses
    got = {(s["source"], s["addresses"], s["packets"]) for s in found}
    assert got == {("10.0.0.1", 12, 12), ("10.0.0.3", 12, 12), ("2001:db8:ffff::d", 11, 11)}
    v6 = next(s for s in found if ":" in s["source"])
    assert v6["coverage"] is None and v6["key"] == "445/TCP"
    a = next(s for s in found if s["source"] == "10.0.0.1")
    assert a["coverage"] == 12 / monitored and a["duration_s"] == pytest.approx(330)
    # a longer timeout joins B's halves into one scan of 12
    longer = {s["source"] for s in scans(obs, period_between("2026-07-01", "2026-07-03"),
                                         rules=ScanRules(timeout=3606))[0]}
    assert "10.0.0.2" in longer
    f = {x.source: x for x in scan_findings(obs, period_between("2026-07-01", "2026-07-03"))}
    assert set(f) == {"10.0.0.1", "10.0.0.3", "2001:db8:ffff::d"} and f["10.0.0.3"].evidence["scans"] == 1
