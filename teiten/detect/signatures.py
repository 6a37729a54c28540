"""Signature matching over stored packets, vectorised per batch (DESIGN §4; NPA §4).

Packets stream out of the engine in Arrow batches; every rule's header tests are numpy
operations over the whole batch (restricted to its protocol's rows), and ``content`` tests
run in a compiled kernel over the rows that passed them. ``threshold`` is applied to the
matches, per rule and tracked address, in time order. Hits are classified Worm, Scan, UDP
spam, DoS, DNS, Others (NPA Table 6-1) and counted per day per sensor address like packets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.analyze.address_days import address_days
from teiten.analyze.compare import compare_counts
from teiten.analyze.source import Observation
from teiten.detect.content_match import contents_match
from teiten.detect.rules_compile import CLASSES, Rule
from teiten.enrich import country_name
from teiten.periods import Period

__all__ = ["BATCH_ROWS", "match_batch", "signature_findings", "signature_hits", "signature_ranking"]

BATCH_ROWS = 1 << 20
_HIT_SCHEMA = pa.schema([("ts_us", pa.int64()), ("src4", pa.uint32()), ("dst4", pa.uint32()), ("region", pa.string())])
_COLUMNS = ["ts_us", "ip_version", "src4", "dst4", "proto", "sport", "dport", "tcp_flags", "icmp_type",
            "icmp_code", "ttl", "payload_len", "payload", "region"]


def _numbers(col: pa.ChunkedArray | pa.Array, fill: int) -> npt.NDArray[np.int64]:
    return np.asarray(col.cast(pa.int64()).fill_null(fill).to_numpy(zero_copy_only=False), dtype=np.int64)


def _test(v: npt.NDArray[np.int64], t: tuple[str, int, int]) -> npt.NDArray[np.bool_]:
    op, a, b = t
    tests = {"=": v == a, "<": v < a, ">": v > a, "<=": v <= a, ">=": v >= a} if op != "between" else {}
    return np.asarray(tests[op] if op in tests else (v > a) & (v < b), dtype=bool)


def _in(v: npt.NDArray[np.int64], ranges: tuple[tuple[int, int], ...] | None, neg: bool) -> npt.NDArray[np.bool_]:
    if ranges is None:
        return np.ones(len(v), bool)
    hit = np.zeros(len(v), bool)
    for lo, hi in ranges:
        hit |= (v >= lo) & (v <= hi)
    return ~hit if neg else hit


class _Batch:
    def __init__(self, b: pa.RecordBatch) -> None:
        self.n = b.num_rows
        self.proto = _numbers(b.column("proto"), -1)
        self.v4 = _numbers(b.column("ip_version"), 0) == 4
        self.src = _numbers(b.column("src4"), -1)
        self.dst = _numbers(b.column("dst4"), -1)
        self.sport = _numbers(b.column("sport"), -1)
        self.dport = _numbers(b.column("dport"), -1)
        self.flags = _numbers(b.column("tcp_flags"), -1)
        self.itype = _numbers(b.column("icmp_type"), -1)
        self.icode = _numbers(b.column("icmp_code"), -1)
        self.ttl = _numbers(b.column("ttl"), -1)
        self.dsize = _numbers(b.column("payload_len"), -1)
        pay = b.column("payload")
        self.payload_ok = np.asarray(pay.is_valid())
        self.offs = np.frombuffer(pay.buffers()[1], np.int32)[pay.offset:pay.offset + self.n + 1].astype(np.int64)
        data = pay.buffers()[2]
        self.data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(1, np.uint8)
        self.by_proto = {p: np.flatnonzero(self.proto == p) for p in (1, 6, 17)}
        self.all = np.arange(self.n)


def _rule_rows(r: Rule, b: _Batch) -> npt.NDArray[np.int64]:
    rows = b.by_proto[r.proto] if r.proto is not None else b.all
    if not len(rows):
        return rows
    keep = np.ones(len(rows), bool)
    if r.src is not None or r.dst is not None:
        keep &= b.v4[rows]
        keep &= _in(b.src[rows], r.src, r.src_negated) & _in(b.dst[rows], r.dst, r.dst_negated)
    if r.sport is not None:
        keep &= _in(b.sport[rows], r.sport, r.sport_negated) & (b.sport[rows] >= 0)
    if r.dport is not None:
        keep &= _in(b.dport[rows], r.dport, r.dport_negated) & (b.dport[rows] >= 0)
    if r.flags is not None:
        mode, bits, mask = r.flags
        f = b.flags[rows] & mask
        if mode == "exact":
            keep &= f == bits
        elif mode == "all":
            keep &= (f & bits) == bits
        elif mode == "any":
            keep &= (f & bits) != 0
        else:
            keep &= (f & bits) == 0
        keep &= b.flags[rows] >= 0
    for name in ("itype", "icode", "ttl", "dsize"):
        t = getattr(r, name)
        if t is not None:
            v = getattr(b, name)[rows]
            keep &= _test(v, t) & (v >= 0)
    rows = rows[keep]
    if r.contents and len(rows):
        rows = rows[b.payload_ok[rows]]
        pats = [c.pattern.lower() if c.nocase else c.pattern for c in r.contents]
        starts = np.cumsum([0, *(len(p) for p in pats)])
        ok = contents_match(b.data, b.offs, rows, np.frombuffer(b"".join(pats) or b"\0", np.uint8),
                       starts[:-1].astype(np.int64), starts[1:].astype(np.int64),
                       np.array([c.offset for c in r.contents], np.int64),
                       np.array([c.depth if c.depth is not None else -1 for c in r.contents], np.int64),
                       np.array([c.nocase for c in r.contents], np.bool_),
                       np.array([c.negated for c in r.contents], np.bool_))
        rows = rows[ok]
    return rows


def match_batch(rules: list[Rule], batch: pa.RecordBatch) -> list[tuple[int, npt.NDArray[np.int64]]]:
    """(rule index, matching row numbers) for every rule with a match in the batch."""
    b = _Batch(batch)
    out = []
    for i, r in enumerate(rules):
        rows = _rule_rows(r, b)
        if len(rows):
            out.append((i, rows))
    return out


def _batches(obs: Observation, period: Period, group: str | None) -> Iterator[pa.RecordBatch]:
    """The period's packets in batches (memory bounded by a batch, not the period)."""
    yield from obs.batches(obs.in_period(period, group).select(*_COLUMNS), BATCH_ROWS)


def _apply_threshold(r: Rule, ts: npt.NDArray[np.float64], src: npt.NDArray[np.int64],
                     dst: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which matches raise an alert under the rule's threshold. Windows of ``seconds`` are
    fixed from the first match of the period (Suricata starts one at each tracked address's
    first match); in each window and tracked address, ``limit`` alerts on the first
    ``count`` matches, ``threshold`` on every ``count``-th, ``both`` once, on the ``count``-th."""
    th = r.threshold
    if th is None or not len(ts):
        return np.ones(len(ts), bool)
    track = src if th.track == "by_src" else dst
    window = ((ts - ts.min()) // th.seconds).astype(np.int64)
    order = np.lexsort((ts, window, track))
    t, w = track[order], window[order]
    new = np.ones(len(t), bool)
    new[1:] = (t[1:] != t[:-1]) | (w[1:] != w[:-1])
    starts = np.flatnonzero(new)
    rank = np.arange(len(t)) - np.repeat(starts, np.diff(np.append(starts, len(t)))) + 1  # 1-based in group
    if th.type == "limit":
        ok = rank <= th.count
    elif th.type == "threshold":
        ok = rank % th.count == 0
    else:
        ok = rank == th.count
    keep = np.zeros(len(ts), bool)
    keep[order] = ok
    return keep


def signature_hits(obs: Observation, period: Period, rules: list[Rule], group: str | None = None) -> pa.Table:
    """One row per alert: sid, msg, class, ts_us, src4, dst4, region."""
    parts: dict[int, list[pa.Table]] = {}
    for batch in _batches(obs, period, group):
        for i, rows in match_batch(rules, batch):
            taken = pa.Table.from_batches([batch.take(pa.array(rows))]).select(["ts_us", "src4", "dst4", "region"])
            parts.setdefault(i, []).append(taken.cast(_HIT_SCHEMA))
    out = []
    for i, tables in sorted(parts.items()):
        t = pa.concat_tables(tables)
        t = t.take(pa.array(np.argsort(t.column("ts_us").to_numpy(), kind="stable")))  # threshold needs time order
        ts = t.column("ts_us").to_numpy() / 1e6
        keep = _apply_threshold(rules[i], ts, _numbers(t.column("src4"), -1), _numbers(t.column("dst4"), -1))
        t = t.filter(pa.array(keep))
        r = rules[i]
        n = t.num_rows
        out.append(t.append_column("sid", pa.array([r.sid] * n, pa.int64()))
                   .append_column("msg", pa.array([r.msg] * n, pa.string()))
                   .append_column("class", pa.array([r.klass] * n, pa.string())))
    if not out:
        empty = _HIT_SCHEMA.empty_table()
        return empty.append_column("sid", pa.array([], pa.int64())).append_column(
            "msg", pa.array([], pa.string())).append_column("class", pa.array([], pa.string()))
    return pa.concat_tables(out)


def signature_ranking(obs: Observation, period: Period, rules: list[Rule], by: str = "class",
                      group: str | None = None, compare: str = "previous") -> dict[str, Any]:
    """NPA Tables 4-1 (``by="class"``) and 4-2 (``by="region"``): alerts per day per sensor
    address against the compared period, with each class's top signatures."""
    col = "class" if by == "class" else "region"
    cur = signature_hits(obs, period, rules, group)
    prev_p = period.compared(compare) if compare != "none" else None
    prev = signature_hits(obs, prev_p, rules, group) if prev_p is not None else None

    def tally(t: pa.Table) -> dict[str, int]:
        v, c = np.unique(np.array(t.column(col).to_pylist(), dtype=object), return_counts=True)
        return {str(k): int(n) for k, n in zip(v, c, strict=True)}

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
        sids, n = np.unique(cur.column("sid").to_numpy(), return_counts=True)
        info = {r.sid: r for r in rules}
        for s, c in sorted(zip(sids.tolist(), n.tolist(), strict=True), key=lambda x: -x[1]):
            top.setdefault(info[s].klass, []).append({"sid": s, "msg": info[s].msg, "alerts": c})
    return {"period": period.to_json(), "previous": prev_p.to_json() if prev_p else None, "by": by,
            "classes": list(CLASSES), "total": cmp.total, "rows": cmp.rows,
            "top_signatures": {k: v[:5] for k, v in top.items()}}


def signature_findings(obs: Observation, period: Period, rules: list[Rule], group: str | None = None,
                       min_alerts: int = 1) -> list[dict[str, Any]]:
    """One ``signature`` finding per rule that alerted."""
    hits = signature_hits(obs, period, rules, group)
    out: list[dict[str, Any]] = []
    if not hits.num_rows:
        return out
    sid = hits.column("sid").to_numpy()
    ts = hits.column("ts_us").to_numpy()
    src = _numbers(hits.column("src4"), -1)
    info = {r.sid: r for r in rules}
    from teiten.analyze.drilldown import _src_text
    from teiten.detect.backscatter import _iso

    for s in np.unique(sid):
        m = sid == s
        if m.sum() < min_alerts:
            continue
        srcs, cnt = np.unique(src[m], return_counts=True)
        order = np.argsort(-cnt, kind="stable")[:5]
        r = info[int(s)]
        out.append({
            "kind": "signature", "key": r.klass, "sid": int(s), "title_ja": f"シグネチャ検知: {r.msg}（{r.klass}）",
            "title_en": f"signature: {r.msg} ({r.klass})", "start": _iso(ts[m].min() / 1e6),
            "end": _iso(ts[m].max() / 1e6), "score": 1.0, "sources": len(srcs),
            "top_sources": [{"source": _src_text(int(srcs[j]), None) if srcs[j] >= 0 else None,
                             "alerts": int(cnt[j])} for j in order],
            "evidence": {"alerts": int(m.sum()), "class": r.klass, "rule": r.raw},
        })
    out.sort(key=lambda f: -int(f["evidence"]["alerts"]))
    return out
