"""Background radiation for benchmarks and tests: TCP SYNs with mixed option layouts, ICMP
echo requests and UDP to one /24, drawn as arrays (``radiation_batch``), and a capture
file of it (``synthetic_capture``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from teiten.capture.frames import ICMP, OPT_LINUX, OPT_MSS, OPT_NONE, OPT_WINDOWS, TCP, UDP, PacketColumns
from teiten.capture.writer import BATCH, CaptureWriter

__all__ = ["radiation_batch", "synthetic_capture"]


#: (destination port, protocol, weight) of the benchmark traffic.
_BENCH_PORTS = np.array([(23, TCP, 20), (445, TCP, 12), (22, TCP, 9), (1433, TCP, 7), (6379, TCP, 6),
                         (80, TCP, 6), (0, ICMP, 6), (3389, TCP, 5), (8080, TCP, 4), (5060, UDP, 2),
                         (53, UDP, 2), (443, TCP, 3), (8443, TCP, 2), (5555, TCP, 2)], dtype=np.int64)


def radiation_batch(n: int, t0: int, t1: int, rng: np.random.Generator) -> PacketColumns:
    """``n`` packets between µs ``t0`` and ``t1``, sorted by time."""
    w = _BENCH_PORTS[:, 2] / _BENCH_PORTS[:, 2].sum()
    k = rng.choice(len(w), size=n, p=w)
    proto = _BENCH_PORTS[k, 1]
    opts = rng.choice(np.array([OPT_NONE, OPT_MSS, OPT_LINUX, OPT_WINDOWS]), size=n)
    return PacketColumns.make(
        n, ts=np.sort(rng.integers(t0, t1, size=n)), src=rng.integers(0x01000000, 0xDF000000, size=n),
        dst=0x9DFF0000 + rng.integers(0, 256, size=n), proto=proto, sport=rng.integers(1024, 65536, size=n),
        dport=_BENCH_PORTS[k, 0], flags=np.where(proto == TCP, 2, 0), seq=rng.integers(0, 1 << 32, size=n),
        window=rng.choice(np.array([1024, 5840, 29200, 64240, 65535]), size=n), ip_id=rng.integers(0, 1 << 16, size=n),
        ttl=rng.integers(30, 250, size=n), icmp_type=np.where(proto == ICMP, 8, 0), tcp_opts=opts, mss=1460,
        wscale=7, tsval=rng.integers(0, 1 << 32, size=n))


def synthetic_capture(path: Path | str, n_packets: int, seed: int = 0) -> Path:
    """A pcap of ``n_packets`` of background radiation (TCP SYNs with mixed option layouts,
    ICMP echo requests, UDP) to one /24, one day from 2026-04-01 UTC; for benchmarks."""
    rng = np.random.default_rng(seed)
    t0 = 1_775_001_600_000_000  # 2026-04-01T00:00:00Z in µs
    day = 86_400_000_000
    with CaptureWriter(path) as w:
        for start in range(0, n_packets, BATCH):
            m = min(BATCH, n_packets - start)
            a = t0 + day * start // max(n_packets, 1)
            w.write(radiation_batch(m, a, t0 + day * (start + m) // max(n_packets, 1), rng))
    return Path(path)
