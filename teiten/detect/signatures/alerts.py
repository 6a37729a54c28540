"""Alerts per rule and source counted in the engine, per (source, threshold window), for
the rules without payload tests or large address sets (docs/detection.md); the table of
alerts every path gives (:data:`ALERT_SCHEMA`).
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from teiten.detect.signatures.expressions import any_of, header_expr
from teiten.detect.signatures.rule import Rule
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["ALERT_SCHEMA", "countable", "engine_alerts", "possible_packets", "source_buckets"]


def countable(r: Rule) -> bool:
    """Rules whose alerts per source follow from match counts per (source, window): no
    threshold, or one tracked by source. A threshold by destination needs the matches in
    time order, to know whose packets alerted."""
    return r.threshold is None or r.threshold.track == "by_src"


ALERT_SCHEMA = pa.schema([("rule", pa.int64()), ("src4", pa.uint32()), ("src6", pa.binary(16)),
                          ("region", pa.string()), ("alerts", pa.int64()), ("first_us", pa.int64()),
                          ("last_us", pa.int64())])


_MASK_BITS = 62  # rule bits per int64 mask column


def engine_alerts(obs: Observation, period: Period, rules: list[Rule], idx: list[int],
                  group: str | None) -> pa.Table:
    """Alerts per rule and source of countable rules without ``content``, counted in the engine.

    Each packet gets the set of rules it matches as bits of integer masks (arithmetic, no
    per-row lists). Packets are counted per (masks, source, region, base window), the base
    window being the greatest common divisor of the rules' threshold seconds, so that every
    rule's window is a whole number of base windows. A small table of the mask values that
    occur, one row per (mask value, rule), expands the counts to rules by a join; the counts
    per (rule, source, window) then give the alerts by the same arithmetic as
    :func:`counted_alerts`.

    Rules that alert on ``count`` matches in a window are counted apart from the others, on
    the packets that could reach the count (:func:`possible_packets`): most (source, window) pairs
    of a telescope hold one packet, and counting each would cost a pass the size of the
    period."""
    t = obs.in_period(period, group)
    windowed = [i for i in idx if _windowed(rules[i])]
    # the windowed rules in sets of at most _MASK_BITS: possible_packets marks a cell's rules as bits
    sets = [windowed[k:k + _MASK_BITS] for k in range(0, len(windowed), _MASK_BITS)]
    parts = [_mask_alerts(obs, t, period, rules, ids, group) for ids in
             ([i for i in idx if i not in windowed], *sets) if ids]
    return pa.concat_tables(parts) if parts else ALERT_SCHEMA.empty_table()


def _windowed(r: Rule) -> bool:
    """Whether the rule alerts only on ``count`` matches in a window (``threshold``, ``both``)."""
    return r.threshold is not None and r.threshold.type != "limit"


def _micros(rules: list[Rule], idx: list[int]) -> tuple[dict[int, int], int]:
    """Each thresholded rule's window in µs, and their greatest common divisor (0: none)."""
    micros = {i: int(rules[i].threshold.seconds * 1_000_000)  # type: ignore[union-attr]
              for i in idx if rules[i].threshold is not None}
    return micros, math.gcd(*micros.values()) if micros else 0


def source_buckets(packets: int, windows: int, count: int) -> int:
    """How many buckets IPv4 sources are hashed into by :func:`possible_packets`: an odd number
    (addresses mod an odd number spread over the buckets even within a /24) such that a
    bucket's window holds, on average, half the ``count`` of ``packets`` spread evenly."""
    return min(1 << 16, 2 * packets // (windows * count) + 1) | 1


def possible_packets(obs: Observation, t: ir.Table, period: Period, rules: list[Rule], idx: list[int],
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
    b = t.filter(any_of(list(conds.values())))
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
    keep = any_of([header_expr(rules[i], j) & ((j._m & bit[i]) != 0) for i in idx])
    return j.filter(keep).drop("bucket", "base", "_pk", "_k", "_m")


def _mask_alerts(obs: Observation, t: ir.Table, period: Period, rules: list[Rule], idx: list[int],
                 group: str | None) -> pa.Table:
    """:func:`engine_alerts` of the rules ``idx``, all of one kind: with a ``threshold`` or
    ``both`` count per window (the packets that cannot alert are dropped first,
    :func:`possible_packets`), or without (counted per source alone when none has a window)."""
    if all(_windowed(rules[i]) for i in idx):
        t = possible_packets(obs, t, period, rules, idx, group)
    conds = {i: header_expr(rules[i], t) for i in idx}
    m = t.filter(any_of(list(conds.values())))
    chunks = [idx[k:k + _MASK_BITS] for k in range(0, len(idx), _MASK_BITS)]
    masks = {f"mask{j}": sum((ibis.ifelse(conds[i], 1 << bit, 0).cast("int64") for bit, i in enumerate(chunk)),
                             ibis.literal(0, "int64")) for j, chunk in enumerate(chunks)}
    origin = int(period.start.timestamp() * 1_000_000)
    micros, base = _micros(rules, idx)
    m = m.mutate(**masks, base=(m.ts_us - origin) // base if base else ibis.literal(0, "int64"))
    g = m.group_by([*masks, "src4", "src6", "base"]).aggregate(
        n=m.count(), region=m.region.min(), first_us=m.ts_us.min(), last_us=m.ts_us.max())
    # the packets are tested against few (bucket, window) cells: the hash table on the cells
    with obs.hinted("small_build_side"):
        g = obs.materialize(g, "signature_counts")
    seen = g.select(*masks).distinct().to_pyarrow().to_pylist()  # the mask values that occur
    expand = [{**row, "rule": i} for row in seen for j, chunk in enumerate(chunks)
              for bit, i in enumerate(chunk) if row[f"mask{j}"] >> bit & 1]
    if not expand:
        return ALERT_SCHEMA.empty_table()
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
    return out.to_pyarrow().select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA)
