"""A rule's header tests as one engine expression (Ibis), for the engine to count or to
select the packets the streamed matcher needs (docs/detection.md).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.detect.signatures.addresses import V4_MAX, V6_MAX, AddrSet
from teiten.detect.signatures.rule import Rule

__all__ = ["ENGINE_RANGES", "any_of", "header_expr", "streamed"]

#: Address sets of more ranges than this are not spelled out for the engine: their rules
#: are matched in the streamed path, where many such rules share one interval table.
ENGINE_RANGES = 32


def any_of(exprs: list[ir.BooleanValue]) -> ir.BooleanValue:
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
    return any_of([col == lo if lo == hi else col.between(lo, hi) for lo, hi in ranges])


def _v6_bytes(x: int) -> ir.Value:
    return ibis.literal(x.to_bytes(16, "big"), "binary")


def _addr_expr(t: ir.Table, a: AddrSet, side: str) -> ir.BooleanValue:
    c4, c6 = t[f"{side}4"], t[f"{side}6"]
    parts = []
    if a.v4:
        parts.append(c4.notnull() if a.v4 == ((0, V4_MAX),) else _ranges_expr(c4, a.v4))
    if a.v6:
        parts.append(c6.notnull() if a.v6 == ((0, V6_MAX),) else
                     any_of([c6.between(_v6_bytes(lo), _v6_bytes(hi)) for lo, hi in a.v6]))
    return any_of(parts)


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


def streamed(r: Rule) -> bool:
    """Rules matched in the streamed path (payload tests, or address sets too large to spell
    out for the engine)."""
    return r.payload or any(a is not None and a.count > ENGINE_RANGES for a in (r.src, r.dst)) or any(
        p is not None and len(p.ranges) > ENGINE_RANGES for p in (r.sport, r.dport))
