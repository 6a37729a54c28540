"""Rules matched over a batch of stored packets at once (docs/detection.md).

Packets stream out of the engine in Arrow batches; every rule's header tests are numpy
operations over the whole batch (restricted to its protocol's rows), and the payload
tests run in a compiled kernel (:mod:`teiten.detect.signatures.payload`) over the rows
that passed them. Rules with large IPv4 address sets are looked up together in one
interval table per batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.detect.signatures.addresses import AddrSet, PortSet
from teiten.detect.signatures.payload import payload_match, pcre_match
from teiten.detect.signatures.rule import Rule
from teiten.enrich.ranges import halves6

__all__ = ["BATCH_ROWS", "COLUMNS", "INDEX_RANGES", "int64_array", "match_batch"]

#: Rows per batch streamed from the engine.
BATCH_ROWS = 1 << 20
#: The stored columns the matcher reads (select them for :func:`match_batch`'s batches).
COLUMNS = ["ts_us", "ip_version", "src4", "src6", "dst4", "dst6", "proto", "sport", "dport", "tcp_flags", "icmp_type",
            "icmp_code", "ttl", "payload_len", "payload", "region", "seq", "ack", "window", "ip_id", "ip_flags",
            "icmp_id", "icmp_seq"]
#: Rules whose source (or destination) set has at least this many IPv4 ranges are looked
#: up together in one interval table per batch (:class:`_AddressIndex`).
INDEX_RANGES = 8


def int64_array(col: pa.ChunkedArray | pa.Array, fill: int) -> npt.NDArray[np.int64]:
    """An integer column as int64 numpy values, nulls as ``fill``."""
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
        self.proto = int64_array(b.column("proto"), -1)
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
                self._full[name] = int64_array(self.batch.column("payload_len"), 0)
            else:
                v = int64_array(self.batch.column(_FIELDS[name]), 0 if name == "v4" else -1)
                self._full[name] = (v == 4).astype(np.int64) if name == "v4" else v
        return self._full[name]

    def _v6(self) -> None:
        """IPv6 addresses as their high and low 64 bits (zeros for IPv4 rows), and which rows are IPv6."""
        self._full["v6"] = int64_array(self.batch.column("ip_version"), 0) == 6
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
