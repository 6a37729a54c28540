"""Exact counts of a generated scenario, computed from the packet columns themselves.

Port keys are those of :mod:`teiten.keys` (``445/TCP``, ``5060/UDP``, ``8/ICMP``, ``128/ICMPv6``);
fingerprints follow docs/detection.md and the rules stated in ``teiten/schema.py``.  Days are
UTC dates.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from teiten.capture.frames import ICMP, ICMP6, TCP, UDP, PacketColumns
from teiten.enrich.geo import GeoDB

__all__ = ["background_truth", "busy_sources", "count_by_day", "fingerprints", "iso", "key_names", "port_keys",
           "scan_threshold", "source_countries"]

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
    """The fingerprints of docs/detection.md as boolean masks."""
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


def _address_codes(version: npt.NDArray[np.uint8], v4: npt.NDArray[np.uint32], v6: npt.NDArray[np.uint8]
                   ) -> tuple[I64, npt.NDArray[np.void]]:
    """An integer per packet's address: the IPv4 address, or 2³² + the index of the IPv6
    address among the returned distinct IPv6 addresses (16-byte voids)."""
    code = v4.astype(np.int64)
    six = np.flatnonzero(version == 6)
    rows = np.ascontiguousarray(v6[six]).view(np.dtype((np.void, 16))).reshape(-1)
    uniq, inv = np.unique(rows, return_inverse=True)
    code[six] = (1 << 32) + inv.reshape(-1)
    return code, uniq


def _distinct(a: I64) -> I64:
    """``np.unique(a)`` by a plain sort (numpy's hash-based unique is slow on millions of values)."""
    s = np.sort(a)
    keep = np.ones(len(s), dtype=np.bool_)
    keep[1:] = s[1:] != s[:-1]
    out: I64 = s[keep]
    return out


def _address_text(code: int, uniq6: npt.NDArray[np.void]) -> str:
    if code < 1 << 32:
        return str(ipaddress.IPv4Address(code))
    return str(ipaddress.IPv6Address(bytes(uniq6[code - (1 << 32)])))


def scan_threshold(monitored: int) -> int:
    """docs/detection.md: a scan reaches at least a tenth of the monitored addresses, and at least 10."""
    return max(10, -(-monitored // 10))


# a packet's code: backscatter (bit 62) | quarter (bits 57-61) | source (below 2³³) | port key (below 2²⁴)
_KEY_BITS, _SRC_BITS, _QUARTER_BITS = 24, 33, 5
_QUARTER_SHIFT = _KEY_BITS + _SRC_BITS
_BACKSCATTER_BIT = _QUARTER_SHIFT + _QUARTER_BITS
GroupText = Callable[[int], tuple[str, str, str]]  # a packet code -> (quarter, source, key)


def background_truth(c: PacketColumns, label: I64, labels: list[str], quarters: list[tuple[str, int, int]],
                     monitored: int, *, timeout_s: float = 3600.0, min_packets: int = 500, share: float = 0.5
                     ) -> dict[str, list[dict[str, Any]]]:
    """What the packets really do per quarter (``(name, start µs, end µs)``, ``[start,
    end)``), whichever generator (``labels[label]``) sent them:

    ``scanners``
        Every (source, port key, quarter) with a scan (docs/detection.md): the packets but
        backscatter, sorted by quarter, source, key and time, are split into runs where
        the quarter, source or key changes or more than ``timeout_s`` pass between two
        packets; a run is a scan when it reaches ``scan_threshold(monitored)`` distinct
        destination addresses (an IPv6 address counts as one).  Per (source, key,
        quarter): ``scans`` (runs), ``widest`` (most addresses in one), ``packets`` (in
        its scans) and ``label`` (the generator of most of those packets).
    ``single_source_keys``
        Every port key with at least ``min_packets`` packets in a quarter (all packets,
        backscatter included) of which one source sent at least ``share``: ``key``,
        ``source``, ``quarter``, ``share``, ``packets`` (the source's), ``key_packets`` and
        ``label`` (the generator of most of the source's packets on the key).

    Vectorised: one int64 code per packet (backscatter, quarter, source, key), counted
    by sorting."""
    if not 0 < len(quarters) <= 1 << _QUARTER_BITS:
        raise ValueError(f"1 to {1 << _QUARTER_BITS} quarters, not {len(quarters)}")
    edges = np.array([q[1] for q in quarters] + [quarters[-1][2]], dtype=np.int64)
    quarter = np.searchsorted(edges, c.ts, side="right") - 1
    idx = np.flatnonzero((quarter >= 0) & (quarter < len(quarters)))
    src, uniq6 = _address_codes(c.version, c.src, c.src6)
    code = ((fingerprints(c)["backscatter"][idx].astype(np.int64) << _BACKSCATTER_BIT)
            | (quarter[idx].astype(np.int64) << _QUARTER_SHIFT) | (src[idx] << _KEY_BITS)
            | port_keys(c)[idx])
    groups, sizes = np.unique(code, return_counts=True)
    group = np.searchsorted(groups, code)  # of each packet
    lab = label[idx]

    def text(g: int) -> tuple[str, str, str]:
        q = (g >> _QUARTER_SHIFT) & ((1 << _QUARTER_BITS) - 1)
        key = key_names(np.array([g & ((1 << _KEY_BITS) - 1)], dtype=np.int64))[0]
        return quarters[q][0], _address_text((g >> _KEY_BITS) & ((1 << _SRC_BITS) - 1), uniq6), key

    return {"scanners": _scans(c, idx, groups, sizes, group, lab, labels, monitored, timeout_s, text),
            "single_source_keys": _single_sources(groups, sizes, group, lab, labels, min_packets, share, text)}


def _scans(c: PacketColumns, idx: I64, groups: I64, sizes: I64, group: I64, lab: I64, labels: list[str],
           monitored: int, timeout_s: float, text: GroupText) -> list[dict[str, Any]]:
    need = scan_threshold(monitored)
    # a scan has at least as many packets as addresses: only the groups (not backscatter) with that many
    cand = ((groups >> _BACKSCATTER_BIT) == 0) & (sizes >= need)
    number = np.cumsum(cand) - 1
    pk = np.flatnonzero(cand[group])
    g, ts = number[group[pk]], c.ts[idx[pk]]
    ts = ts - (int(ts.min()) if len(ts) else 0)
    tbits = int(ts.max()).bit_length() if len(ts) else 0
    packed = tbits + int(cand.sum()).bit_length() <= 63  # one int64 key: by group, then time
    o = np.argsort((g << tbits) | ts) if packed else np.lexsort((ts, g))
    pk, g, ts = pk[o], g[o], ts[o]
    dst = _address_codes(c.version, c.dst, c.dst6)[0][idx[pk]]
    ud = _distinct(dst)
    d = np.searchsorted(ud, dst)
    new = np.ones(len(ts), dtype=np.bool_)
    new[1:] = (g[1:] != g[:-1]) | (ts[1:] - ts[:-1] > round(timeout_s * 1e6))
    run = np.cumsum(new) - 1
    nruns = int(run[-1]) + 1 if len(run) else 0
    pairs = _distinct(run * max(len(ud), 1) + d)
    addresses = np.bincount(pairs // max(len(ud), 1), minlength=nruns)
    scan_runs = np.flatnonzero(addresses >= need)
    if len(scan_runs) == 0:
        return []
    # per group (quarter, source, key) with scans: runs, widest, packets, the generator of most packets
    run_group = g[np.flatnonzero(new)][scan_runs]
    ug, which = np.unique(run_group, return_inverse=True)
    which = which.reshape(-1)
    widest = np.zeros(len(ug), dtype=np.int64)
    np.maximum.at(widest, which, addresses[scan_runs])
    of_run = np.full(nruns, -1, dtype=np.int64)
    of_run[scan_runs] = which
    item = of_run[run]
    m = item >= 0
    by_label = np.bincount(item[m] * len(labels) + lab[pk[m]], minlength=len(ug) * len(labels))
    by_label = by_label.reshape(len(ug), len(labels))
    runs_n = np.bincount(which, minlength=len(ug))
    full = groups[np.flatnonzero(cand)[ug]]
    out = []
    for i, gg in enumerate(full.tolist()):
        quarter, source, key = text(gg)
        out.append({"quarter": quarter, "source": source, "key": key, "label": labels[int(by_label[i].argmax())],
                    "scans": int(runs_n[i]), "widest": int(widest[i]), "packets": int(by_label[i].sum())})
    return out


def _single_sources(groups: I64, sizes: I64, group: I64, lab: I64, labels: list[str], min_packets: int,
                    share: float, text: GroupText) -> list[dict[str, Any]]:
    # backscatter or not, the same (quarter, source, key)
    qsk = groups & ((1 << _BACKSCATTER_BIT) - 1)
    uq, inv = np.unique(qsk, return_inverse=True)
    inv = inv.reshape(-1)
    n = np.bincount(inv, weights=sizes, minlength=len(uq)).astype(np.int64)
    qk = (uq >> _QUARTER_SHIFT) << _KEY_BITS | (uq & ((1 << _KEY_BITS) - 1))
    ukq, kinv = np.unique(qk, return_inverse=True)
    kinv = kinv.reshape(-1)
    total = np.bincount(kinv, weights=n, minlength=len(ukq)).astype(np.int64)[kinv]
    top = np.flatnonzero((total >= min_packets) & (n >= share * total))
    if len(top) == 0:
        return []
    number = np.full(len(uq), -1, dtype=np.int64)
    number[top] = np.arange(len(top))
    item = number[inv][group]  # per packet, its top (quarter, source, key) or -1
    m = item >= 0
    best = np.bincount(item[m] * len(labels) + lab[m], minlength=len(top) * len(labels)
                       ).reshape(len(top), len(labels)).argmax(axis=1)
    out = []
    for i, t in enumerate(top.tolist()):
        quarter, source, key = text(int(uq[t]))
        out.append({"quarter": quarter, "key": key, "source": source, "share": int(n[t]) / int(total[t]),
                    "packets": int(n[t]), "key_packets": int(total[t]), "label": labels[int(best[i])]})
    return out


def busy_sources(c: PacketColumns, day: I64, country: I64, countries: list[str], start: date, *,
                 min_daily: int = 20) -> list[dict[str, Any]]:
    """Every source's packets per UTC day where it was busy, whichever generator sent them:
    per (source, port key) and per (source, its country: all its packets), when the source
    sent at least ``min_daily`` packets there on some day, ``{"dimension": "ports" or
    "regions", "key": the port key or country, "source", "first": its first day there
    (YYYY-MM-DD), "packets": its packets on each day from that one to its last day there,
    0 on the days between without any}``, sorted by dimension, key and source.  ``day``:
    each packet's day since ``start``; ``country``: each packet's index into ``countries``
    (:func:`source_countries`).  The sources that start or stop sending change a key's
    daily series: :mod:`teiten.synth.accuracy` tells such real steps from false surges and
    drops with these.

    Vectorised: one int64 code per packet and day, counted by sorting."""
    src, uniq6 = _address_codes(c.version, c.src, c.src6)
    ndays = int(day.max()) + 1 if len(day) else 1
    out: list[dict[str, Any]] = []
    # a source's country is that of its address: the first packet's tells it
    first_pk = np.unique(src, return_index=True)
    of_source = dict(zip(first_pk[0].tolist(), country[first_pk[1]].tolist(), strict=True))
    for dimension, group in (("ports", (src << _KEY_BITS) | port_keys(c)), ("regions", src << _KEY_BITS)):
        codes, which = np.unique(group, return_inverse=True)
        u, n = np.unique(which.reshape(-1).astype(np.int64) * ndays + day, return_counts=True)
        g, d = u // ndays, u % ndays
        bounds = np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])
        busy = np.maximum.reduceat(n, bounds[:-1]) >= min_daily if len(n) else np.zeros(0, np.bool_)
        for a, b in zip(bounds[:-1][busy].tolist(), bounds[1:][busy].tolist(), strict=True):
            code = int(codes[g[a]])
            series = np.zeros(int(d[b - 1] - d[a]) + 1, dtype=np.int64)
            series[d[a:b] - d[a]] = n[a:b]
            s = code >> _KEY_BITS
            key = key_names(np.array([code & ((1 << _KEY_BITS) - 1)], dtype=np.int64))[0] \
                if dimension == "ports" else countries[of_source[s]]
            out.append({"dimension": dimension, "key": key, "source": _address_text(s, uniq6),
                        "first": (start + timedelta(days=int(d[a]))).isoformat(), "packets": series.tolist()})
    out.sort(key=lambda r: (r["dimension"], r["key"], r["source"]))
    return out
