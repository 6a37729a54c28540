"""The vectorised writer against dpkt (field by field) and tshark (no complaints)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from teiten.capture.frames import ICMP, ICMP6, OPTION_LAYOUTS, TCP, UDP, PacketColumns
from teiten.capture.writer import write_pcap, write_pcapng
from teiten.synth.radiation import synthetic_capture
from tests.synth.dpkt_read import rows

N = 600


def mixed(seed: int = 7) -> PacketColumns:
    """TCP with every option layout, UDP with odd and even payloads, ICMP echo and errors, IPv6."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 7, size=N)  # 0-2 TCP, 3 UDP, 4 echo, 5 ICMP error, 6 IPv6
    proto = np.choose(kind, [TCP, TCP, TCP, UDP, ICMP, ICMP, TCP])
    v6 = kind == 6
    proto[v6] = np.array([TCP, UDP, ICMP6])[rng.integers(0, 3, size=int(v6.sum()))]
    payloads = (b"", b"x", b"odd", b"even", bytes(range(256)) * 2, b"INVITE sip:1@h SIP/2.0\r\n")
    payloads = tuple(p for p in payloads if p)
    pid = np.where((proto == UDP) | ((proto == TCP) & (rng.random(N) < 0.2)) | (kind == 4),
                   rng.integers(0, len(payloads), size=N), -1)
    c = PacketColumns.make(
        N, payloads=payloads, ts=1_775_001_600_000_000 + np.cumsum(rng.integers(0, 5_000_000, size=N)),
        version=np.where(v6, 6, 4), src=rng.integers(0, 1 << 32, size=N), dst=rng.integers(0, 1 << 32, size=N),
        src6=rng.integers(0, 256, size=(N, 16)), dst6=rng.integers(0, 256, size=(N, 16)), proto=proto,
        sport=rng.integers(0, 1 << 16, size=N), dport=rng.integers(0, 1 << 16, size=N),
        flags=rng.integers(0, 256, size=N), seq=rng.integers(0, 1 << 32, size=N), ack=rng.integers(0, 1 << 32, size=N),
        window=rng.integers(0, 1 << 16, size=N), ip_id=rng.integers(0, 1 << 16, size=N),
        ttl=rng.integers(1, 256, size=N), icmp_type=np.where(kind == 5, rng.choice([3, 11], size=N),
                                                             np.where(proto == ICMP6, 128, 8 * (kind == 4))),
        icmp_code=np.where(kind == 5, rng.integers(0, 4, size=N), 0),
        tcp_opts=rng.integers(0, len(OPTION_LAYOUTS), size=N),
        mss=rng.integers(500, 1500, size=N), wscale=rng.integers(0, 15, size=N), tsval=rng.integers(0, 1 << 32, size=N),
        inner_proto=rng.choice([TCP, UDP], size=N), inner_src=rng.integers(0, 1 << 32, size=N),
        inner_dst=rng.integers(0, 1 << 32, size=N), inner_sport=rng.integers(0, 1 << 16, size=N),
        inner_dport=rng.integers(0, 1 << 16, size=N), inner_seq=rng.integers(0, 1 << 32, size=N), payload_id=pid)
    return c


FORMATS = [
    ("pcap", {}), ("pcap", {"nanosecond": True}), ("pcap", {"big_endian": True}),
    ("pcap", {"linktype": 101}), ("pcapng", {}), ("pcapng", {"nanosecond": True, "big_endian": True}),
]


@pytest.mark.parametrize(("fmt", "opts"), FORMATS)
def test_fields_read_back_with_dpkt(tmp_path: Path, fmt: str, opts: dict[str, bool | int]) -> None:
    c = mixed()
    path = tmp_path / f"x.{fmt}"
    (write_pcapng if fmt == "pcapng" else write_pcap)(path, c, **opts)  # type: ignore[arg-type]
    got = rows(path, int(opts.get("linktype", 1)))
    assert len(got) == N
    for i, r in enumerate(got):
        assert round(r["ts"] * 1_000_000) == c.ts[i]
        assert r["version"] == c.version[i] and r["proto"] == c.proto[i] and r["ttl"] == c.ttl[i]
        assert r["l4_sum_ok"], i
        if r["version"] == 4:
            assert (r["src"], r["dst"], r["ip_id"]) == (c.src[i], c.dst[i], c.ip_id[i])
            assert r["ip_sum_ok"], i
        else:
            assert (r["src6"], r["dst6"]) == (c.src6[i].tobytes(), c.dst6[i].tobytes())
        payload = c.payloads[c.payload_id[i]] if c.payload_id[i] >= 0 else b""
        if c.proto[i] in (TCP, UDP):
            assert (r["sport"], r["dport"], r["payload"]) == (c.sport[i], c.dport[i], payload)
        if c.proto[i] == TCP:
            assert (r["flags"], r["seq"], r["ack"], r["window"]) == (c.flags[i], c.seq[i], c.ack[i], c.window[i])
            tmpl, mss_at, ws_at, ts_at = OPTION_LAYOUTS[c.tcp_opts[i]]
            assert len(r["opts"]) == len(tmpl)
            if mss_at >= 0:
                assert int.from_bytes(r["opts"][mss_at : mss_at + 2], "big") == c.mss[i]
            if ws_at >= 0:
                assert r["opts"][ws_at] == c.wscale[i]
            if ts_at >= 0:
                assert int.from_bytes(r["opts"][ts_at : ts_at + 4], "big") == c.tsval[i]
        if c.proto[i] in (ICMP, ICMP6):
            assert (r["icmp_type"], r["icmp_code"]) == (c.icmp_type[i], c.icmp_code[i])
            body = r["icmp_body"]
            if c.icmp_type[i] in (3, 11):  # quoted IPv4 header + 8 bytes
                inner = body[4:]
                assert len(inner) == 28 and inner[9] == c.inner_proto[i]
                assert int.from_bytes(inner[12:16], "big") == c.inner_src[i]
                assert int.from_bytes(inner[16:20], "big") == c.inner_dst[i]
                assert int.from_bytes(inner[20:22], "big") == c.inner_sport[i]
                assert int.from_bytes(inner[22:24], "big") == c.inner_dport[i]
                if c.inner_proto[i] == TCP:
                    assert int.from_bytes(inner[24:28], "big") == c.inner_seq[i]
            else:
                assert int.from_bytes(body[:4], "big") == c.seq[i] and body[4:] == payload


tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


@tshark
@pytest.mark.parametrize(("fmt", "opts"), FORMATS)
def test_tshark_reads_without_complaint(tmp_path: Path, fmt: str, opts: dict[str, bool | int]) -> None:
    path = tmp_path / f"x.{fmt}"
    c = mixed(3)
    c.sport[:], c.dport[:] = 47001, 47002  # no application dissector: only our layers are judged
    (write_pcapng if fmt == "pcapng" else write_pcap)(path, c, **opts)  # type: ignore[arg-type]
    checks = [a for p in ("ip", "tcp", "udp") for a in ("-o", f"{p}.check_checksum:TRUE")]
    base = ["tshark", "-n", "-r", str(path), *checks]
    run = subprocess.run([*base, "-T", "fields", "-e", "frame.number"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.split()) == N
    bad = subprocess.run([*base, "-Y", "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0"
                          " || tcp.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0"
                          " || icmpv6.checksum.status == 0"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 0 and bad.stdout.strip() == "", bad.stdout[:2000]


@tshark
def test_tshark_sees_a_bad_checksum(tmp_path: Path) -> None:
    """The tshark check above can fail: one flipped TTL bit is reported."""
    path = synthetic_capture(tmp_path / "x.pcap", 10)
    raw = bytearray(path.read_bytes())
    raw[24 + 16 + 14 + 8] ^= 1
    path.write_bytes(bytes(raw))
    bad = subprocess.run(["tshark", "-n", "-r", str(path), "-o", "ip.check_checksum:TRUE", "-Y",
                          "ip.checksum.status == 0"], capture_output=True, text=True, check=False)
    assert len(bad.stdout.splitlines()) == 1


def test_synthetic_capture(tmp_path: Path) -> None:
    path = synthetic_capture(tmp_path / "bench.pcap", 70_000, seed=1)
    got = rows(path)
    assert len(got) == 70_000
    assert all(a["ts"] <= b["ts"] for a, b in itertools.pairwise(got))
    assert sum(r.get("dport") == 23 for r in got) > 10_000
