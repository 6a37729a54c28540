"""Exact counts of a generated scenario, computed from the packet columns themselves.

Port keys follow DESIGN §2 (``445/TCP``, ``5060/UDP``, ``8/ICMP``, ``128/ICMPv6``);
fingerprints follow DESIGN §4 and the rules stated in ``teiten/schema.py``.  Days are
UTC dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from teiten.demo.layout import ICMP, ICMP6, TCP, UDP, PacketColumns
from teiten.enrich.geo import GeoDB

__all__ = ["count_by_day", "fingerprints", "iso", "key_names", "port_keys", "source_countries"]

I64 = npt.NDArray[np.int64]
Counts = dict[str, dict[str, int]]
_PROTO = {TCP: "TCP", UDP: "UDP", ICMP: "ICMP", ICMP6: "ICMPv6"}


def iso(us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))).isoformat().replace("+00:00", "Z")


def port_keys(c: PacketColumns) -> I64:
    """An integer port key per packet: protocol << 16 | destination port (ICMP: type)."""
    icmp = (c.proto == ICMP) | (c.proto == ICMP6)
    out: I64 = c.proto.astype(np.int64) << 16 | np.where(icmp, c.icmp_type, c.dport).astype(np.int64)
    return out


def key_names(codes: I64) -> list[str]:
    return [f"{k & 0xFFFF}/{_PROTO.get(k >> 16, 'OTHER')}" for k in codes.tolist()]


def fingerprints(c: PacketColumns) -> dict[str, npt.NDArray[np.bool_]]:
    """The DESIGN §4 fingerprints as boolean masks."""
    v4 = c.version == 4
    tcp = c.proto == TCP
    syn = tcp & ((c.flags & 0x12) == 0x02)
    masscan_id = ((c.dst ^ c.dport.astype(np.uint32) ^ c.seq) & 0xFFFF).astype(np.uint16)
    bs_icmp4 = np.isin(c.icmp_type, [0, 3, 4, 5, 11, 12, 14, 16, 18])
    backscatter = ((tcp & (((c.flags & 0x12) == 0x12) | ((c.flags & 0x04) != 0)))
                   | ((c.proto == ICMP) & bs_icmp4) | ((c.proto == ICMP6) & np.isin(c.icmp_type, [1, 2, 3, 4, 129]))
                   | ((c.proto == UDP) & (c.sport == 53)))
    return {"mirai": v4 & syn & (c.seq == c.dst), "zmap": v4 & (c.ip_id == 54321),
            "masscan": v4 & syn & (c.ip_id == masscan_id), "backscatter": backscatter}


def count_by_day(day: I64, code: I64, names: list[str], start: date) -> Counts:
    """``{YYYY-MM-DD: {names[code]: packets}}`` for integer ``code`` per packet."""
    pair = day * len(names) + code
    u, n = np.unique(pair, return_counts=True)
    out: Counts = {}
    for p, k in zip(u.tolist(), n.tolist(), strict=True):
        d = (start + timedelta(days=p // len(names))).isoformat()
        out.setdefault(d, {})[names[p % len(names)]] = k
    return out


def source_countries(geo: GeoDB, c: PacketColumns) -> tuple[I64, list[str]]:
    """Per packet an index into the returned country names (``"??"`` when the GeoIP has none)."""
    code = np.full(len(c), -1, dtype=np.int64)
    v4 = np.flatnonzero(c.version == 4)
    u, inv = np.unique(c.src[v4], return_inverse=True)
    code[v4] = geo.codes4(u)[0][inv.reshape(-1)]
    v6 = np.flatnonzero(c.version == 6)
    if len(v6):
        code[v6] = geo.codes6(np.ascontiguousarray(c.src6[v6]))[0]
    used, idx = np.unique(code, return_inverse=True)
    names: list[str] = geo.arrays(used.astype(np.int32), np.zeros(len(used), np.uint32))[0].to_pylist()
    return idx.reshape(-1).astype(np.int64), [n if n else "??" for n in names]

