"""Signature matching over stored packets, vectorised per batch (DESIGN §4; NPA §4).

Packets stream out of the engine in Arrow batches; every rule's header tests are numpy
operations over the whole batch (restricted to its protocol's rows), and ``content`` tests
run in a compiled kernel over the rows that passed them. ``threshold`` is applied to the
matches, per rule and tracked address, in time order. Hits are classified Worm, Scan, UDP
spam, DoS, DNS, Others (NPA Table 6-1) and counted per day per sensor address like packets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.analyze.address_days import address_days
from teiten.analyze.compare import compare_counts
from teiten.detect.content_match import payload_match, pcre_match
from teiten.detect.rule_vars import V4_MAX, V6_MAX, AddrSet, PortSet
from teiten.detect.rules_compile import CLASSES, Rule
from teiten.engine.observation import Observation
from teiten.enrich import country_name
from teiten.enrich.ranges import halves6
from teiten.periods import Period

__all__ = ["BATCH_ROWS", "header_expr", "match_batch", "signature_alerts", "signature_findings",
           "signature_ranking", "source_buckets"]

BATCH_ROWS = 1 << 20
_COLUMNS = ["ts_us", "ip_version", "src4", "src6", "dst4", "dst6", "proto", "sport", "dport", "tcp_flags", "icmp_type",
            "icmp_code", "ttl", "payload_len", "payload", "region", "seq", "ack", "window", "ip_id", "ip_flags",
            "icmp_id", "icmp_seq"]
#: Address sets of more ranges than this are not spelled out for the engine: their rules
#: are matched in the streamed path, where many such rules share one interval table.
ENGINE_RANGES = 32
#: Rules whose source (or destination) set has at least this many IPv4 ranges are looked
#: up together in one interval table per batch (:class:`_AddressIndex`).
INDEX_RANGES = 8


def _numbers(col: pa.ChunkedArray | pa.Array, fill: int) -> npt.NDArray[np.int64]:
    return np.asarray(col.cast(pa.int64()).fill_null(fill).to_numpy(zero_copy_only=False), dtype=np.int64)


def _test(v: npt.NDArray[np.int64], t: tuple[str, int, int]) -> npt.NDArray[np.bool_]:
    op, a, b = t
    if op == "=":
        return np.asarray(v == a)
    if op == "!=":
        return np.asarray(v != a)
    if op == "<":
        return np.asarray(v < a)
    if op == ">":
        return np.asarray(v > a)
    if op == "<=":
        return np.asarray(v <= a)
    if op == ">=":
        return np.asarray(v >= a)
    if op == "between_incl":
        return np.asarray((v >= a) & (v <= b))
    return np.asarray((v > a) & (v < b))


_FIELDS = {"v4": "ip_version", "src": "src4", "dst": "dst4", "sport": "sport", "dport": "dport", "flags": "tcp_flags",
           "itype": "icmp_type", "icode": "icmp_code", "ttl": "ttl", "dsize": "payload_len", "seq": "seq",
           "ack": "ack", "window": "window", "ipid": "ip_id", "ip_proto": "proto", "fragbits": "ip_flags",
           "icmp_id": "icmp_id", "icmp_seq": "icmp_seq"}
_NUMBER_TESTS = ("itype", "icode", "ttl", "dsize", "seq", "ack", "window", "ipid", "ip_proto", "icmp_id", "icmp_seq")
#: bit tests (mode, bits, mask) of a rule and the field each tests
_BIT_TESTS = (("flags", "flags"), ("fragbits", "fragbits"))


def _bits(v: npt.NDArray[np.int64], test: tuple[str, int, int]) -> npt.NDArray[np.bool_]:
    """``flags``/``fragbits`` semantics over a field (null = -1 never matches)."""
    mode, bits, mask = test
    fl = v & mask
    if mode == "exact":
        m = fl == bits
    elif mode == "all":
        m = (fl & bits) == bits
    elif mode == "any":
        m = (fl & bits) != 0
    else:
        m = (fl & bits) == 0
    return np.asarray(m & (v >= 0))


class _Batch:
    """A batch's header fields as numpy arrays (null = -1), and per protocol the same fields
    of that protocol's rows gathered once into contiguous arrays, so that each rule's tests
    are whole-array comparisons."""

    def __init__(self, b: pa.RecordBatch) -> None:
        self.n = b.num_rows
        self.batch = b
        self.proto = _numbers(b.column("proto"), -1)
        pay = b.column("payload")
        self.payload_ok = np.asarray(pay.is_valid())
        self.offs = np.frombuffer(pay.buffers()[1], np.int32)[pay.offset:pay.offset + self.n + 1].astype(np.int64)
        data = pay.buffers()[2]
        self.data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(1, np.uint8)
        self._full: dict[str, npt.NDArray[Any]] = {}
        self._sub: dict[int | None, tuple[npt.NDArray[np.int64], dict[str, npt.NDArray[Any]]]] = {}

    def field(self, name: str) -> npt.NDArray[Any]:
        if name not in self._full:
            if name in ("src6hi", "src6lo", "dst6hi", "dst6lo", "v6"):
                self._v6()
            elif name == "wire_len":
                self._full[name] = _numbers(self.batch.column("payload_len"), 0)
            else:
                v = _numbers(self.batch.column(_FIELDS[name]), 0 if name == "v4" else -1)
                self._full[name] = (v == 4).astype(np.int64) if name == "v4" else v
        return self._full[name]

    def _v6(self) -> None:
        """IPv6 addresses as their high and low 64 bits (zeros for IPv4 rows), and which rows are IPv6."""
        self._full["v6"] = _numbers(self.batch.column("ip_version"), 0) == 6
        for side in ("src", "dst"):
            col = self.batch.column(f"{side}6").fill_null(pa.scalar(bytes(16), pa.binary(16)))
            if col.type != pa.binary(16):
                col = col.cast(pa.binary(16))
            self._full[f"{side}6hi"], self._full[f"{side}6lo"] = halves6(col)

    def rows(self, proto: int | None) -> tuple[npt.NDArray[np.int64], dict[str, npt.NDArray[Any]]]:
        """The row numbers of ``proto`` (None: all rows) and a cache of their fields."""
        if proto not in self._sub:
            rows = np.flatnonzero(self.proto == proto) if proto is not None else np.arange(self.n)
            self._sub[proto] = (rows, {})
        return self._sub[proto]

    def sub(self, proto: int | None, name: str) -> npt.NDArray[Any]:
        rows, cache = self.rows(proto)
        if name not in cache:
            cache[name] = self.field(name) if proto is None else self.field(name)[rows]
        return cache[name]


def _addresses(a: AddrSet | None, side: str, f: Callable[[str], npt.NDArray[Any]]) -> npt.NDArray[np.bool_] | None:
    if a is None:
        return None
    m = a.contains4(f(side))
    if a.v6:
        m |= a.contains6(f(f"{side}6hi"), f(f"{side}6lo"), f("v6"))
    return m


def _ports(p: PortSet | None, side: str, f: Callable[[str], npt.NDArray[Any]]) -> npt.NDArray[np.bool_] | None:
    return None if p is None else p.contains(f(side))


def _and(masks: list[npt.NDArray[np.bool_] | None], n: int) -> npt.NDArray[np.bool_]:
    out = np.ones(n, bool)
    for m in masks:
        if m is not None:
            out &= m
    return out


def _rule_rows(r: Rule, b: _Batch, within: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int64]:
    """The rows of the batch that match ``r`` (only among ``within``, when given)."""
    if within is None:
        rows, _ = b.rows(r.proto)

        def f(name: str) -> npt.NDArray[Any]:
            return b.sub(r.proto, name)
    else:
        rows = within if r.proto is None else within[b.proto[within] == r.proto]
        cache: dict[str, npt.NDArray[Any]] = {}

        def f(name: str) -> npt.NDArray[Any]:
            if name not in cache:
                cache[name] = b.field(name)[rows]
            return cache[name]
    if not len(rows):
        return rows
    n = len(rows)
    keep = _and([_addresses(r.src, "src", f), _addresses(r.dst, "dst", f), _ports(r.sport, "sport", f),
                 _ports(r.dport, "dport", f)], n)
    if r.bidirectional:
        keep |= _and([_addresses(r.src, "dst", f), _addresses(r.dst, "src", f), _ports(r.sport, "dport", f),
                      _ports(r.dport, "sport", f)], n)
    for attr, name in _BIT_TESTS:
        bt = getattr(r, attr)
        if bt is not None:
            keep &= _bits(f(name), bt)
    if r.established is not None:
        est = (f("flags") & 0x16) == 0x10  # ACK, neither SYN nor RST (null: -1, all bits set)
        keep &= est if r.established else ~est
    for name in _NUMBER_TESTS:
        t = getattr(r, name)
        if t is not None:
            v = f(name)
            keep &= _test(v, t) & (v >= 0)
    if r.sameip:
        keep &= ((f("src") == f("dst")) & (f("src") >= 0)) | (
            f("v6") & (f("src6hi") == f("dst6hi")) & (f("src6lo") == f("dst6lo")))
    rows = rows[keep]
    if r.ops and len(rows):
        rows = rows[b.payload_ok[rows]]
        ops, pats = _program(r)
        rows = rows[payload_match(b.data, b.offs, rows, b.field("wire_len"), ops, pats)]
    if r.pcres and len(rows):
        rows = rows[b.payload_ok[rows]]
        rows = rows[pcre_match(b.batch.column("payload"), rows, _compiled(r))]
    return rows


_PROGRAMS: dict[tuple[Any, ...], tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]] = {}
_PCRES: dict[tuple[Any, ...], tuple[tuple[re.Pattern[bytes], bool], ...]] = {}


def _program(r: Rule) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    key = r.ops
    if key not in _PROGRAMS:
        if len(_PROGRAMS) > 100_000:
            _PROGRAMS.clear()
        _PROGRAMS[key] = r.program()
    return _PROGRAMS[key]


def _compiled(r: Rule) -> tuple[tuple[re.Pattern[bytes], bool], ...]:
    if r.pcres not in _PCRES:
        _PCRES[r.pcres] = tuple((p.compiled(), p.negated) for p in r.pcres)
    return _PCRES[r.pcres]


class _AddressIndex:
    """One interval table for the IPv4 address sets of many rules on one side (source or
    destination): the boundaries of all their ranges cut the address space into
    elementary intervals, each listing the rules whose set covers it. A batch's addresses
    are looked up with one binary search, and only the (row, rule) pairs found go on to
    the rules' other tests: the cost grows with the packets and the hits, not with rules
    × ranges."""

    def __init__(self, rules: list[Rule], idx: list[int], side: str) -> None:
        self.side = side
        sets = [(j, getattr(rules[j], side).v4_arrays) for j in idx]
        lo = np.concatenate([a[0] for _, a in sets])
        hi = np.concatenate([a[1] for _, a in sets])
        rid = np.concatenate([np.full(len(a[0]), j, np.int64) for j, a in sets])
        self.bounds = np.unique(np.concatenate([lo, hi + 1]))
        s = np.searchsorted(self.bounds, lo)
        span = np.searchsorted(self.bounds, hi + 1) - s
        total = int(span.sum())
        first = np.repeat(np.cumsum(span) - span, span)
        iv = np.repeat(s, span) + (np.arange(total) - first)
        order = np.argsort(iv, kind="stable")
        self.ids = np.repeat(rid, span)[order]
        self.ptr = np.zeros(len(self.bounds) + 1, np.int64)
        self.ptr[1:] = np.cumsum(np.bincount(iv, minlength=len(self.bounds)))

    def pairs(self, v: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(row, rule) pairs: each row whose address lies in a rule's set, with that rule."""
        k = np.searchsorted(self.bounds, v, side="right") - 1
        ok = k >= 0
        k = np.maximum(k, 0)
        c = np.where(ok, self.ptr[k + 1] - self.ptr[k], 0)
        rows = np.flatnonzero(c)
        c = c[rows]
        total = int(c.sum())
        pos = np.repeat(self.ptr[k[rows]], c) + (np.arange(total) - np.repeat(np.cumsum(c) - c, c))
        return np.repeat(rows, c), self.ids[pos]


def _index_side(r: Rule) -> str | None:
    """The side (``src``/``dst``) by which a rule is looked up in an interval table, if any:
    a large IPv4-only set on a one-way rule."""
    if r.bidirectional:
        return None
    best = None
    for side in ("src", "dst"):
        a = getattr(r, side)
        if a is not None and not a.v6 and len(a.v4) >= INDEX_RANGES and (
                best is None or len(a.v4) > len(getattr(r, best).v4)):
            best = side
    return best


def match_batch(rules: list[Rule], batch: pa.RecordBatch,
                index: bool = True) -> list[tuple[int, npt.NDArray[np.int64]]]:
    """(rule index, matching row numbers) for every rule with a match in the batch. Rules
    with large address sets are looked up together (:class:`_AddressIndex`; ``index=False``:
    each on its own, for comparison)."""
    b = _Batch(batch)
    out = []
    sides: dict[str, list[int]] = {"src": [], "dst": []}
    for i, r in enumerate(rules):
        side = _index_side(r) if index else None
        if side is not None:
            sides[side].append(i)
            continue
        rows = _rule_rows(r, b)
        if len(rows):
            out.append((i, rows))
    for side, idx in sides.items():
        if not idx:
            continue
        rows, rule = _AddressIndex(rules, idx, side).pairs(b.field(side))
        if not len(rows):
            continue
        order = np.argsort(rule, kind="stable")
        rows, rule = rows[order], rule[order]
        cut = np.flatnonzero(np.diff(rule)) + 1
        for part, j in zip(np.split(rows, cut), rule[np.r_[0, cut]].tolist(), strict=True):
            hit = _rule_rows(rules[j], b, part)
            if len(hit):
                out.append((j, hit))
    out.sort(key=lambda x: x[0])
    return out


def _apply_threshold(r: Rule, ts: npt.NDArray[np.float64], src: npt.NDArray[np.int64],
                     dst: npt.NDArray[np.int64], origin: float | None = None) -> npt.NDArray[np.bool_]:
    """Which matches raise an alert under the rule's threshold. Windows of ``seconds`` are
    fixed from ``origin`` (the period's start; default the first match), where Suricata
    starts one at each tracked address's first match; in each window and tracked address,
    ``limit`` alerts on the first ``count`` matches, ``threshold`` on every ``count``-th,
    ``both`` once, on the ``count``-th, ``detection_filter`` on every match after the
    ``count``-th."""
    th = r.threshold
    if th is None or not len(ts):
        return np.ones(len(ts), bool)
    track = src if th.track == "by_src" else dst
    window = ((ts - (ts.min() if origin is None else origin)) // th.seconds).astype(np.int64)
    order = np.lexsort((ts, window, track))
    t, w = track[order], window[order]
    new = np.ones(len(t), bool)
    new[1:] = (t[1:] != t[:-1]) | (w[1:] != w[:-1])
    starts = np.flatnonzero(new)
    rank = np.arange(len(t)) - np.repeat(starts, np.diff(np.append(starts, len(t)))) + 1  # 1-based in group
    ok = th.alerting_ranks(rank)
    keep = np.zeros(len(ts), bool)
    keep[order] = ok
    return keep


def _any(exprs: list[ir.BooleanValue]) -> ir.BooleanValue:
    """The OR of ``exprs`` as a balanced tree (a chain of a thousand rules' tests would be
    deeper than Python's recursion limit), each distinct expression once; true if one is."""
    seen: dict[Any, ir.BooleanValue] = {}
    for e in exprs:
        op = e.op()
        if isinstance(op, ibis.expr.operations.Literal) and op.value is True:
            return ibis.literal(True)
        seen.setdefault(op, e)
    items = list(seen.values())
    if not items:
        return ibis.literal(False)
    while len(items) > 1:
        items = [items[k] | items[k + 1] if k + 1 < len(items) else items[k] for k in range(0, len(items), 2)]
    return items[0]


def _ranges_expr(col: ir.Value, ranges: tuple[tuple[Any, Any], ...]) -> ir.BooleanValue:
    """``col`` in one of the sorted ranges."""
    if not ranges:
        return ibis.literal(False)
    return _any([col == lo if lo == hi else col.between(lo, hi) for lo, hi in ranges])


def _v6_bytes(x: int) -> ir.Value:
    return ibis.literal(x.to_bytes(16, "big"), "binary")


def _addr_expr(t: ir.Table, a: AddrSet, side: str) -> ir.BooleanValue:
    c4, c6 = t[f"{side}4"], t[f"{side}6"]
    parts = []
    if a.v4:
        parts.append(c4.notnull() if a.v4 == ((0, V4_MAX),) else _ranges_expr(c4, a.v4))
    if a.v6:
        parts.append(c6.notnull() if a.v6 == ((0, V6_MAX),) else
                     _any([c6.between(_v6_bytes(lo), _v6_bytes(hi)) for lo, hi in a.v6]))
    return _any(parts)


def _number_expr(col: ir.IntegerValue, t: tuple[str, int, int]) -> ir.BooleanValue:
    op, a, b = t
    e = {"=": col == a, "!=": col != a, "<": col < a, ">": col > a, "<=": col <= a, ">=": col >= a,
         "between_incl": col.between(a, b)}.get(op)
    return e if e is not None else (col > a) & (col < b)


def _endpoints_expr(r: Rule, t: ir.Table, exact: bool, swap: bool) -> list[ir.BooleanValue]:
    s, d = ("dst", "src") if swap else ("src", "dst")
    conds = []
    for a, side in ((r.src, s), (r.dst, d)):
        if a is not None and (exact or a.count <= ENGINE_RANGES):
            conds.append(_addr_expr(t, a, side))
    for p, side in ((r.sport, s), (r.dport, d)):
        if p is not None and (exact or len(p.ranges) <= ENGINE_RANGES):
            conds.append(_ranges_expr(t[f"{side[0]}port"], p.ranges))
    return conds


def header_expr(r: Rule, t: ir.Table, exact: bool = True) -> ir.BooleanValue:
    """The rule's header tests (everything but the payload tests and ``threshold``) as an
    engine expression, true or else false or null; null fields never match, as in
    :func:`match_batch` (a test on null is null, and a filter or a CASE takes null for
    false: no IS NOT NULL is spent per field). Never negate it as a whole. Not ``exact``:
    a prefilter, true at least where the rule matches (address and port sets of more than
    :data:`ENGINE_RANGES` ranges are left out: the streamed matcher tests them)."""
    conds: list[ir.BooleanValue] = []
    if r.proto is not None:
        conds.append(t.proto == r.proto)
    fwd = _endpoints_expr(r, t, exact, False)
    if r.bidirectional and fwd:
        conds.append(ibis.and_(*fwd) | ibis.and_(*_endpoints_expr(r, t, exact, True)))
    else:
        conds += fwd
    for bt, col in ((r.flags, t.tcp_flags), (r.fragbits, t.ip_flags)):
        if bt is not None:
            mode, bits, mask = bt
            f = col & mask
            conds.append({"exact": f == bits, "all": (f & bits) == bits, "any": (f & bits) != 0}.get(
                mode, (f & bits) == 0))
    if r.established is not None:
        est = (ibis.coalesce(t.tcp_flags, 0x16) & 0x16) == 0x10
        conds.append(est if r.established else ~est)
    for name, col in (("itype", t.icmp_type), ("icode", t.icmp_code), ("ttl", t.ttl), ("dsize", t.payload_len),
                      ("seq", t.seq), ("ack", t.ack), ("window", t.window), ("ipid", t.ip_id),
                      ("ip_proto", t.proto), ("icmp_id", t.icmp_id), ("icmp_seq", t.icmp_seq)):
        test = getattr(r, name)
        if test is not None:
            conds.append(_number_expr(col, test))
    if r.sameip:
        conds.append(ibis.coalesce(t.src4 == t.dst4, t.src6 == t.dst6))
    if r.payload:
        conds.append(t.payload.notnull())
        if any(not c.negated for c in r.contents) or r.pcres:  # a content to find needs captured bytes
            conds.append(t.payload != ibis.literal(b"", "binary"))
    return ibis.and_(*conds) if conds else ibis.literal(True)


def _streamed(r: Rule) -> bool:
    """Rules matched in the streamed path (payload tests, or address sets too large to spell
    out for the engine)."""
    return r.payload or any(a is not None and a.count > ENGINE_RANGES for a in (r.src, r.dst)) or any(
        p is not None and len(p.ranges) > ENGINE_RANGES for p in (r.sport, r.dport))


#: Rows gathered from the engine's (often small) batches before they are matched: each
#: rule's tests cost a few µs of Python per batch whatever its size.
COALESCE_ROWS = 1 << 18


def _coalesced(batches: Iterator[pa.RecordBatch], rows: int = COALESCE_ROWS) -> Iterator[pa.RecordBatch]:
    """The batches joined into batches of at least ``rows`` rows (the last may be shorter)."""
    held: list[pa.RecordBatch] = []
    n = 0
    for b in batches:
        held.append(b)
        n += b.num_rows
        if n >= rows:
            yield pa.concat_batches(held) if len(held) > 1 else held[0]
            held, n = [], 0
    if held:
        yield pa.concat_batches(held) if len(held) > 1 else held[0]


def _countable(r: Rule) -> bool:
    """Rules whose alerts per source follow from match counts per (source, window): no
    threshold, or one tracked by source. A threshold by destination needs the matches in
    time order, to know whose packets alerted."""
    return r.threshold is None or r.threshold.track == "by_src"


_ALERT_SCHEMA = pa.schema([("rule", pa.int64()), ("src4", pa.uint32()), ("src6", pa.binary(16)),
                           ("region", pa.string()), ("alerts", pa.int64()), ("first_us", pa.int64()),
                           ("last_us", pa.int64())])


_KEYS = ["rule", "src", "window"]
#: Rows of counts held before they are summed again.
MERGE_ROWS = 2_000_000


def _summed(t: pa.Table) -> pa.Table:
    """Counts per (rule, source, window): n summed, region, first and last match (sorted
    with numpy: hash aggregation of nearly distinct keys is several times slower here)."""
    if t.num_rows == 0:
        return t
    col = {k: t.column(k).to_numpy() for k in t.column_names}
    # one int64 key when the three fit (a batch spans few windows), else a slower lexsort
    parts = [col["rule"], col["src"] + 1, col["window"] - col["window"].min()]
    bits = [int(p.max()).bit_length() for p in parts]
    if sum(bits) <= 63:
        key = (parts[0] << (bits[1] + bits[2])) | (parts[1] << bits[2]) | parts[2]
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((col["window"], col["src"], col["rule"]))
    r, s, w = col["rule"][order], col["src"][order], col["window"][order]
    new = np.ones(len(r), bool)
    new[1:] = (r[1:] != r[:-1]) | (s[1:] != s[:-1]) | (w[1:] != w[:-1])
    at = np.flatnonzero(new)
    return pa.table({"rule": r[at], "src": s[at], "window": w[at], "n": np.add.reduceat(col["n"][order], at),
                     "region": np.minimum.reduceat(col["region"][order], at),
                     "first_us": np.minimum.reduceat(col["first_us"][order], at),
                     "last_us": np.maximum.reduceat(col["last_us"][order], at)})


class _Codes:
    """Integer codes that stay the same over batches: a source is its IPv4 address, or an
    IPv6 address numbered from 2³²; a region is its index in a growing list."""

    def __init__(self) -> None:
        self.v6: dict[bytes, int] = {}
        self.regions: dict[str, int] = {}

    def addresses(self, t: pa.Table, which: str = "src") -> npt.NDArray[np.int64]:
        """The code of each row's ``which`` address (``src`` or ``dst``); -1 when it has none."""
        out = _numbers(t.column(f"{which}4"), -1).copy()
        six = np.flatnonzero(out < 0)
        if len(six):
            col = t.column(f"{which}6").combine_chunks().take(pa.array(six))
            enc = col.dictionary_encode()
            ids = np.array([self.v6.setdefault(v, (1 << 32) + len(self.v6)) if v is not None else -1
                            for v in enc.dictionary.to_pylist()] + [-1], np.int64)
            out[six] = ids[np.asarray(enc.indices.fill_null(len(ids) - 1).to_numpy(zero_copy_only=False))]
        return out

    def region_codes(self, t: pa.Table) -> npt.NDArray[np.int32]:
        enc = t.column("region").combine_chunks().dictionary_encode()
        codes = np.array([self.regions.setdefault(v, len(self.regions)) for v in enc.dictionary.to_pylist()],
                         np.int32)
        return codes[np.asarray(enc.indices.to_numpy(zero_copy_only=False))] if len(codes) else \
            np.zeros(len(t), np.int32)


def _counted_alerts(obs: Observation, period: Period, rules: list[Rule], idx: list[int],
                    group: str | None) -> pa.Table:
    """Alerts per rule and source of the rules without a threshold or with one tracked by
    source: the packets stream through :func:`match_batch`, and each batch's matches are
    counted per (rule, source, threshold window) at once (memory: the distinct rule, source
    and window, never one row per match). Counts add up over batches, and the threshold is
    arithmetic on each window's count: ``limit`` min(n, count), ``threshold`` n // count,
    ``both`` n >= count. ``first_us``/``last_us``: the first and last match of the windows
    that alerted."""
    t = obs.in_period(period, group)
    cand = t.filter(_any([header_expr(rules[i], t, exact=False) for i in idx]))
    sub = [rules[i] for i in idx]
    origin = int(period.start.timestamp() * 1_000_000)
    width = np.asarray([int(r.threshold.seconds * 1_000_000) if r.threshold is not None else 0 for r in sub],
                       np.int64)
    codes = _Codes()
    merged: list[pa.Table] = []  # counts summed so far, and the batches' counts since
    held = 0
    for batch in _coalesced(obs.batches(cand.select(*_COLUMNS), BATCH_ROWS)):
        found = match_batch(sub, batch)
        if not found:
            continue
        which = np.concatenate([np.full(len(rows), j, np.int64) for j, rows in found])
        m = pa.Table.from_batches([batch.select(["ts_us", "src4", "src6", "region"])]).take(
            pa.array(np.concatenate([r for _, r in found])))
        ts = m.column("ts_us").to_numpy()
        w = width[which]
        merged.append(_summed(pa.table({
            "rule": np.asarray(idx, np.int64)[which], "src": codes.addresses(m),
            "window": np.where(w > 0, (ts - origin) // np.maximum(w, 1), 0), "n": np.ones(len(ts), np.int64),
            "region": codes.region_codes(m), "first_us": ts, "last_us": ts})))
        held += merged[-1].num_rows
        if held > MERGE_ROWS:
            merged = [_summed(pa.concat_tables(merged))]
            held = merged[0].num_rows
    if not merged:
        return _ALERT_SCHEMA.empty_table()
    c = _summed(pa.concat_tables(merged))
    rule, n = c.column("rule").to_numpy(), c.column("n").to_numpy()
    alerts = n.copy()
    for i in idx:
        th = rules[i].threshold
        if th is None:
            continue
        sel = rule == i
        alerts[sel] = th.alerts(n[sel])
    c = c.append_column("alerts", pa.array(alerts)).filter(pa.array(alerts > 0))
    out = _summed(c.drop(["n"]).rename_columns({"alerts": "n"}).set_column(
        c.column_names.index("window"), "window", pa.array(np.zeros(c.num_rows, np.int64))))
    src = out.column("src").to_numpy()
    v6 = {i: a for a, i in codes.v6.items()}
    names = list(codes.regions)
    return pa.table({
        "rule": out.column("rule"), "src4": pa.array(np.where(src < (1 << 32), src, 0), pa.uint32(),
                                                     mask=src >= (1 << 32)),
        "src6": pa.array([v6.get(int(x)) for x in src], pa.binary(16)),
        "region": pa.array([names[int(x)] for x in out.column("region").to_numpy()], pa.string()),
        "alerts": out.column("n"), "first_us": out.column("first_us"),
        "last_us": out.column("last_us")}).cast(_ALERT_SCHEMA)


_MASK_BITS = 62  # rule bits per int64 mask column


def _engine_alerts(obs: Observation, period: Period, rules: list[Rule], idx: list[int],
                   group: str | None) -> pa.Table:
    """Alerts per rule and source of countable rules without ``content``, counted in the engine.

    Each packet gets the set of rules it matches as bits of integer masks (arithmetic, no
    per-row lists). Packets are counted per (masks, source, region, base window), the base
    window being the greatest common divisor of the rules' threshold seconds, so that every
    rule's window is a whole number of base windows. A small table of the mask values that
    occur, one row per (mask value, rule), expands the counts to rules by a join; the counts
    per (rule, source, window) then give the alerts by the same arithmetic as
    :func:`_counted_alerts`.

    Rules that alert on ``count`` matches in a window are counted apart from the others, on
    the packets that could reach the count (:func:`_possible`): most (source, window) pairs
    of a telescope hold one packet, and counting each would cost a pass the size of the
    period."""
    t = obs.in_period(period, group)
    windowed = [i for i in idx if _windowed(rules[i])]
    # the windowed rules in sets of at most _MASK_BITS: _possible marks a cell's rules as bits
    sets = [windowed[k:k + _MASK_BITS] for k in range(0, len(windowed), _MASK_BITS)]
    parts = [_mask_alerts(obs, t, period, rules, ids, group) for ids in
             ([i for i in idx if i not in windowed], *sets) if ids]
    return pa.concat_tables(parts) if parts else _ALERT_SCHEMA.empty_table()


def _windowed(r: Rule) -> bool:
    """Whether the rule alerts only on ``count`` matches in a window (``threshold``, ``both``)."""
    return r.threshold is not None and r.threshold.type != "limit"


def _micros(rules: list[Rule], idx: list[int]) -> tuple[dict[int, int], int]:
    """Each thresholded rule's window in µs, and their greatest common divisor (0: none)."""
    micros = {i: int(rules[i].threshold.seconds * 1_000_000)  # type: ignore[union-attr]
              for i in idx if rules[i].threshold is not None}
    return micros, math.gcd(*micros.values()) if micros else 0


def source_buckets(packets: int, windows: int, count: int) -> int:
    """How many buckets IPv4 sources are hashed into by :func:`_possible`: an odd number
    (addresses mod an odd number spread over the buckets even within a /24) such that a
    bucket's window holds, on average, half the ``count`` of ``packets`` spread evenly."""
    return min(1 << 16, 2 * packets // (windows * count) + 1) | 1


def _possible(obs: Observation, t: ir.Table, period: Period, rules: list[Rule], idx: list[int],
              group: str | None = None) -> ir.Table:
    """The packets of ``t`` that can take part in an alert of the rules ``idx`` (each with a
    ``threshold``/``both`` count per window, at most :data:`_MASK_BITS` of them): exact counts
    per (source, window) are needed only where a window could reach the count. IPv4 sources
    are hashed into buckets (as many as :func:`source_buckets` gives for the most demanding
    rule); a (bucket, window) whose packets of a rule fall short of the rule's count holds
    no source that reaches it. A packet is kept when some rule it matches has its bucket's
    window reach that rule's count: the cells are joined to the packets with the bits of
    the rules they can alert on (a cell busy with one rule's packets keeps none of the
    other rules' packets in it). IPv6 sources are always kept."""
    micros, base = _micros(rules, idx)
    origin = int(period.start.timestamp() * 1_000_000)
    span = (period.end - period.start).total_seconds() * 1_000_000
    c, measure = obs.tally(period, group)  # the period's packets (from the cube when it has them)
    packets = int(measure(c).to_pyarrow().as_py() or 0)
    # as many buckets as the most demanding rule wants, but not so many that a bucket's base
    # window holds fewer than 8 packets on average: the groups would be as many as the packets
    windows = max(1, math.ceil(span / base))
    buckets = min(max(source_buckets(packets, max(1, math.ceil(span / micros[i])), rules[i].threshold.reach)  # type: ignore[union-attr]
                      for i in idx), max(1, packets // (8 * windows)) | 1)
    conds = {i: header_expr(rules[i], t) for i in idx}
    bit = {i: 1 << j for j, i in enumerate(idx)}
    b = t.filter(_any(list(conds.values())))
    b = b.mutate(bucket=ibis.ifelse(b.src4.notnull(), (b.src4 % buckets).cast("int64"), ibis.literal(-1, "int64")),
                 base=(b.ts_us - origin) // base)
    per = b.group_by(["bucket", "base"]).aggregate(
        **{f"n{i}": ibis.ifelse(header_expr(rules[i], b), 1, 0).sum() for i in idx})
    # per (bucket, base window): the bits of the rules it can hold an alert of: those of a
    # window one base long that reach their count, and those within a longer window that does
    # (the counts are kept in the engine only when such a window needs them again)
    short = [i for i in idx if micros[i] == base]
    if len(short) < len(idx):
        per = obs.materialize(per, "signature_buckets")
    every = sum(bit.values())
    m = sum((ibis.ifelse(per[f"n{i}"] >= rules[i].threshold.reach, bit[i], 0)  # type: ignore[union-attr]
             for i in short), ibis.literal(0, "int64"))
    m = ibis.ifelse(per.bucket == -1, every, m)
    cells = [per.select("bucket", "base", m=m.cast("int64"))]
    for i in idx:
        if i in short:
            continue
        w = per.mutate(window=per.base // (micros[i] // base))
        full = w.group_by(["bucket", "window"]).aggregate(n=w[f"n{i}"].sum())
        full = full.filter(full.n >= rules[i].threshold.reach)  # type: ignore[union-attr]
        cells.append(w.semi_join(full, ["bucket", "window"]).select("bucket", "base", m=ibis.literal(bit[i], "int64")))
    u = ibis.union(*cells) if len(cells) > 1 else cells[0]
    u = u.filter(u.m != 0)
    ok = u.group_by(["bucket", "base"]).aggregate(m=u.m.bit_or())

    # one integer per cell: a join on it keeps DuckDB's hash table on the few cells
    def pair(x: ir.Table) -> ir.IntegerValue:
        return x.bucket * (1 << 40) + x.base

    ok = obs.materialize(ok.select(_k=pair(ok), _m=ok.m), "signature_windows")
    b = b.mutate(_pk=pair(b))
    j = b.inner_join(ok, b._pk == ok._k)
    keep = _any([header_expr(rules[i], j) & ((j._m & bit[i]) != 0) for i in idx])
    return j.filter(keep).drop("bucket", "base", "_pk", "_k", "_m")


@contextmanager
def _small_side_built(obs: Observation) -> Iterator[None]:
    """On DuckDB, joins keep their hash table on the side the plan puts it: for the packets
    tested against the few (bucket, window) pairs of :func:`_possible`, DuckDB's estimate of
    the filtered Parquet scan would otherwise make it hash the packets (1.6× slower here)."""
    con = obs.backend.con if getattr(obs.backend, "name", None) == "duckdb" else None
    if con is not None:
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        yield
    finally:
        if con is not None:
            con.execute("RESET disabled_optimizers")


def _mask_alerts(obs: Observation, t: ir.Table, period: Period, rules: list[Rule], idx: list[int],
                 group: str | None) -> pa.Table:
    """:func:`_engine_alerts` of the rules ``idx``, all of one kind: with a ``threshold`` or
    ``both`` count per window (the packets that cannot alert are dropped first,
    :func:`_possible`), or without (counted per source alone when none has a window)."""
    if all(_windowed(rules[i]) for i in idx):
        t = _possible(obs, t, period, rules, idx, group)
    conds = {i: header_expr(rules[i], t) for i in idx}
    m = t.filter(_any(list(conds.values())))
    chunks = [idx[k:k + _MASK_BITS] for k in range(0, len(idx), _MASK_BITS)]
    masks = {f"mask{j}": sum((ibis.ifelse(conds[i], 1 << bit, 0).cast("int64") for bit, i in enumerate(chunk)),
                             ibis.literal(0, "int64")) for j, chunk in enumerate(chunks)}
    origin = int(period.start.timestamp() * 1_000_000)
    micros, base = _micros(rules, idx)
    m = m.mutate(**masks, base=(m.ts_us - origin) // base if base else ibis.literal(0, "int64"))
    g = m.group_by([*masks, "src4", "src6", "base"]).aggregate(
        n=m.count(), region=m.region.min(), first_us=m.ts_us.min(), last_us=m.ts_us.max())
    with _small_side_built(obs):
        g = obs.materialize(g, "signature_counts")
    seen = g.select(*masks).distinct().to_pyarrow().to_pylist()  # the mask values that occur
    expand = [{**row, "rule": i} for row in seen for j, chunk in enumerate(chunks)
              for bit, i in enumerate(chunk) if row[f"mask{j}"] >> bit & 1]
    if not expand:
        return _ALERT_SCHEMA.empty_table()
    e = g.inner_join(ibis.memtable(pa.Table.from_pylist(expand)), list(masks))
    window = ibis.cases(*((e.rule == i, e.base // (us // base)) for i, us in micros.items()),
                        else_=0) if micros else ibis.literal(0, "int64")
    w = e.mutate(window=window).group_by(["rule", "src4", "src6", "window"]).aggregate(
        n=ibis._.n.sum(), region=ibis._.region.min(), first_us=ibis._.first_us.min(), last_us=ibis._.last_us.max())

    def alerts(n: ir.IntegerValue, i: int) -> ir.IntegerValue:
        th = rules[i].threshold
        if th is None:
            return n
        if th.type == "limit":
            return ibis.least(n, th.count)
        if th.type == "threshold":
            return n // th.count
        if th.type == "detection":
            return ibis.greatest(n - th.count, 0)
        return (n >= th.count).cast("int64")

    thresholded = [i for i in idx if rules[i].threshold is not None]
    w = w.mutate(alerts=ibis.cases(*((w.rule == i, alerts(w.n, i)) for i in thresholded), else_=w.n)
                 if thresholded else w.n)
    w = w.filter(w.alerts > 0)
    out = w.group_by(["rule", "src4", "src6"]).aggregate(region=w.region.min(), alerts=w.alerts.sum(),
                                                         first_us=w.first_us.min(), last_us=w.last_us.max())
    return out.to_pyarrow().select(_ALERT_SCHEMA.names).cast(_ALERT_SCHEMA)


def _ordered_alerts(obs: Observation, period: Period, rules: list[Rule], idx: list[int],
                    group: str | None) -> pa.Table:
    """Alerts of rules with a threshold by destination (any rule, in tests): each rule's
    matches are kept and its threshold runs over them in time order. Memory grows with the
    matches of these rules, so a broad rule should track by source."""
    t = obs.in_period(period, group)
    cand = t.filter(_any([header_expr(rules[i], t, exact=False) for i in idx]))
    parts: dict[int, list[pa.Table]] = {}
    sub = [rules[i] for i in idx]
    for batch in _coalesced(obs.batches(cand.select(*_COLUMNS), BATCH_ROWS)):
        for j, rows in match_batch(sub, batch):
            parts.setdefault(idx[j], []).append(pa.Table.from_batches([batch.take(pa.array(rows))])
                                                .select(["ts_us", "src4", "src6", "dst4", "dst6", "region"]))
    origin = period.start.timestamp()
    out = []
    for i, tables in sorted(parts.items()):
        h = pa.concat_tables(tables)
        h = h.take(pa.array(np.argsort(h.column("ts_us").to_numpy(), kind="stable")))  # thresholds need time order
        ts = h.column("ts_us").to_numpy() / 1e6
        codes = _Codes()
        keep = _apply_threshold(rules[i], ts, codes.addresses(h, "src"), codes.addresses(h, "dst"), origin=origin)
        if not keep.any():
            continue
        a = h.filter(pa.array(keep)).group_by(["src4", "src6"], use_threads=False).aggregate(
            [("region", "min"), ("ts_us", "count"), ("ts_us", "min"), ("ts_us", "max")])
        a = a.rename_columns({"region_min": "region", "ts_us_count": "alerts", "ts_us_min": "first_us",
                              "ts_us_max": "last_us"})
        out.append(a.append_column("rule", pa.array([i] * a.num_rows, pa.int64())).select(_ALERT_SCHEMA.names)
                   .cast(_ALERT_SCHEMA))
    return pa.concat_tables(out) if out else _ALERT_SCHEMA.empty_table()


def signature_alerts(obs: Observation, period: Period, rules: list[Rule], group: str | None = None) -> pa.Table:
    """Alerts per rule and source: sid, class, src4, src6, region, alerts, first_us, last_us.
    Rules without payload tests or large address sets are counted in the engine
    (:func:`_engine_alerts`); for the others the engine selects the packets that can pass
    their header tests, which stream through the vectorised matcher (header tests over
    whole arrays, large address sets of many rules in one interval table, payload tests in
    a compiled kernel, :func:`_counted_alerts`); a threshold by destination takes the
    ordered path."""
    engine = [i for i, r in enumerate(rules) if _countable(r) and not _streamed(r)]
    counted = [i for i, r in enumerate(rules) if _countable(r) and _streamed(r)]
    ordered = [i for i, r in enumerate(rules) if not _countable(r)]
    parts = []
    if engine:
        parts.append(_engine_alerts(obs, period, rules, engine, group))
    if counted:
        parts.append(_counted_alerts(obs, period, rules, counted, group))
    if ordered:
        parts.append(_ordered_alerts(obs, period, rules, ordered, group))
    t = pa.concat_tables(parts) if parts else _ALERT_SCHEMA.empty_table()
    ridx = t.column("rule").to_numpy()
    sid = pa.array([rules[i].sid for i in ridx.tolist()], pa.int64())
    klass = pa.array([rules[i].klass for i in ridx.tolist()], pa.string())
    return t.drop(["rule"]).append_column("sid", sid).append_column("class", klass)


def signature_ranking(obs: Observation, period: Period, rules: list[Rule], by: str = "class",
                      group: str | None = None, compare: str = "previous",
                      alerts: tuple[pa.Table, pa.Table | None] | None = None) -> dict[str, Any]:
    """NPA Tables 4-1 (``by="class"``) and 4-2 (``by="region"``): alerts per day per sensor
    address against the compared period, with each class's top signatures. ``alerts``: the
    :func:`signature_alerts` of the period and of the compared one, when already computed."""
    col = "class" if by == "class" else "region"
    prev_p = period.compared(compare) if compare != "none" else None
    if alerts is None:
        alerts = (signature_alerts(obs, period, rules, group),
                  signature_alerts(obs, prev_p, rules, group) if prev_p is not None else None)
    cur, prev = alerts

    def tally(t: pa.Table) -> dict[str, int]:
        a = t.group_by(col).aggregate([("alerts", "sum")])
        return {str(k): int(n) for k, n in zip(a.column(col).to_pylist(), a.column("alerts_sum").to_pylist(),
                                                strict=True)}

    cur_c = tally(cur)
    prev_c = tally(prev) if prev is not None and prev.num_rows else None
    prev_days = address_days(obs, prev_p, group) if prev_c is not None and prev_p is not None else None
    cmp = compare_counts(cur_c, prev_c, address_days(obs, period, group), prev_days)
    for r in cmp.rows:
        if by == "region":
            code = None if r["key"] == "--" else r["key"]
            r["name_ja"], r["name_en"] = country_name(code, "ja"), country_name(code, "en")
    top: dict[str, list[dict[str, Any]]] = {}
    if cur.num_rows:
        per = cur.group_by("sid").aggregate([("alerts", "sum")])
        info = {r.sid: r for r in rules}
        for s, c in sorted(zip(per.column("sid").to_pylist(), per.column("alerts_sum").to_pylist(), strict=True),
                           key=lambda x: (-x[1], x[0])):
            top.setdefault(info[s].klass, []).append({"sid": s, "msg": info[s].msg, "alerts": c})
    return {"period": period.to_json(), "previous": prev_p.to_json() if prev_p else None, "by": by,
            "classes": list(CLASSES), "total": cmp.total, "rows": cmp.rows,
            "top_signatures": {k: v[:5] for k, v in top.items()}}


def signature_findings(obs: Observation, period: Period, rules: list[Rule], group: str | None = None,
                       min_alerts: int = 1, top: int = 5) -> list[dict[str, Any]]:
    """One ``signature`` finding per rule that alerted."""
    from teiten.analyze.drilldown import source_text
    from teiten.detect.backscatter import iso_utc

    alerts = signature_alerts(obs, period, rules, group)
    info = {r.sid: r for r in rules}
    by_sid: dict[int, list[dict[str, Any]]] = {}
    for row in alerts.to_pylist():
        by_sid.setdefault(int(row["sid"]), []).append(row)
    out: list[dict[str, Any]] = []
    for sid, rows in by_sid.items():
        n = sum(int(x["alerts"]) for x in rows)
        if n < min_alerts:
            continue
        rows.sort(key=lambda x: (-int(x["alerts"]), x["src4"] or 0, x["src6"] or b""))
        r = info[sid]
        out.append({
            "kind": "signature", "key": r.klass, "sid": sid, "title_ja": f"シグネチャ検知: {r.msg}（{r.klass}）",
            "title_en": f"signature: {r.msg} ({r.klass})", "start": iso_utc(min(x["first_us"] for x in rows) / 1e6),
            "end": iso_utc(max(x["last_us"] for x in rows) / 1e6), "score": 1.0, "sources": len(rows),
            "top_sources": [{"source": source_text(x["src4"], x["src6"]), "region": x["region"],
                             "alerts": int(x["alerts"])} for x in rows[:top]],
            "evidence": {"alerts": n, "class": r.klass, "rule": r.raw},
        })
    out.sort(key=lambda f: (-int(f["evidence"]["alerts"]), f["sid"]))
    return out
