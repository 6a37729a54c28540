"""Captures whose counts reproduce NPA Table 3-1 (July 2009 against June 2009).

100 sensor addresses; per key, packets = value × address-days (3,100 in July, 3,000 in
June), so ``teiten top ports --period 2009-07`` must print the seed's figures.  Keys the
seed does not name are fillers chosen to occupy the ranks in between (1521/TCP is 13th
now and 74th before) without entering the rise/fall top 5, and to make the totals the
seed's 360.1 and 418.9 per day per address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from teiten.capture.frames import ICMP, TCP, UDP, PacketColumns
from teiten.capture.writer import CaptureWriter

#: 64 + 32 + 4 = 100 addresses
SENSOR_ADDRESSES = ("192.0.2.0/26", "192.0.2.64/27", "192.0.2.96/30")
JULY_DAYS, JUNE_DAYS = 31 * 100, 30 * 100

#: key -> (July, June) per day per address, as NPA Table 3-1 prints them
SEED = {
    "445/TCP": (131.08, 136.76), "135/TCP": (57.28, 56.21), "8/ICMP": (30.69, 27.42),
    "1433/TCP": (26.84, 23.99), "4899/TCP": (10.48, 8.62), "2967/TCP": (10.09, 15.20),
    "1521/TCP": (2.03, 0.07), "23/TCP": (1.29, 5.55),
    "1026/UDP": (10 / JULY_DAYS, 8410 / JUNE_DAYS), "1027/UDP": (0.0, 2.08),
}
#: fillers that hold ranks 7-12 and 14-16 now, 6, 9-12 and 14-18 before
FILLERS = {
    "80/TCP": (10.0, 12.0), "22/TCP": (6.5, 5.5), "139/TCP": (6.4, 5.45), "3389/TCP": (6.3, 5.4),
    "25/TCP": (6.2, 5.35), "1080/TCP": (3.5, 2.7), "5900/TCP": (2.0, 2.65), "8080/TCP": (1.98, 2.6),
    "3128/TCP": (1.95, 2.05),
}
TOTAL_JULY, TOTAL_JUNE = 360.1, 418.9
#: 55 more keys rank 19-73 before (between 3128/TCP and 1521/TCP)
N_TAIL = 55


def table() -> dict[str, tuple[int, int]]:
    """key -> (July packets, June packets)."""
    counts = {k: (round(a * JULY_DAYS), round(b * JUNE_DAYS)) for k, (a, b) in {**SEED, **FILLERS}.items()}
    rest_july = round(TOTAL_JULY * JULY_DAYS) - sum(a for a, _ in counts.values())
    rest_june = round(TOTAL_JUNE * JUNE_DAYS) - sum(b for _, b in counts.values())
    # June values falling from 2.04 (mean fixed by the total), July ones a constant below
    june = np.linspace(2.04, 2 * rest_june / JUNE_DAYS / N_TAIL - 2.04, N_TAIL)
    july = june - (rest_june / JUNE_DAYS - rest_july / JULY_DAYS) / N_TAIL
    jn = np.round(june * JUNE_DAYS).astype(int)
    jl = np.round(july * JULY_DAYS).astype(int)
    jn[-1] += rest_june - jn.sum()
    jl[-1] += rest_july - jl.sum()
    for i in range(N_TAIL):
        counts[f"{20000 + i}/TCP"] = (int(jl[i]), int(jn[i]))
    return counts


def _month(counts: dict[str, int], first: datetime, days: int, rng: np.random.Generator) -> PacketColumns:
    keys = [k for k, n in counts.items() if n]
    n_of = np.array([counts[k] for k in keys])
    idx = np.repeat(np.arange(len(keys)), n_of)
    n = len(idx)
    ports = np.array([int(k.split("/")[0]) for k in keys])[idx]
    protos = np.array([{"TCP": TCP, "UDP": UDP, "ICMP": ICMP}[k.split("/")[1]] for k in keys])[idx]
    t0 = int(first.timestamp()) * 1_000_000
    ts = np.sort(rng.integers(t0, t0 + days * 86_400_000_000, n))
    order = rng.permutation(n)  # keys interleaved in time
    ports, protos = ports[order], protos[order]
    dst = 0xC0000200 + rng.integers(0, 100, n)
    return PacketColumns.make(
        n, ts=ts, src=rng.integers(0x01000000, 0xDF000000, n), dst=dst, proto=protos,
        sport=rng.integers(1024, 65536, n), dport=np.where(protos == ICMP, 0, ports),
        flags=np.where(protos == TCP, 2, 0), seq=rng.integers(0, 1 << 32, n), window=65535,
        ip_id=rng.integers(0, 1 << 16, n), icmp_type=np.where(protos == ICMP, ports, 0))


def write_captures(folder: Path, seed: int = 2009) -> list[Path]:
    """june.pcap and july.pcap (UTC months)."""
    rng = np.random.default_rng(seed)
    counts = table()
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, col, first, days in (("june", 1, datetime(2009, 6, 1, tzinfo=UTC), 30),
                                   ("july", 0, datetime(2009, 7, 1, tzinfo=UTC), 31)):
        cols = _month({k: v[col] for k, v in counts.items()}, first, days, rng)
        path = folder / f"{name}.pcap"
        with CaptureWriter(path) as w:
            for s in range(0, len(cols), 1 << 16):
                w.write(cols.take(slice(s, s + (1 << 16))))
        out.append(path)
    return out
