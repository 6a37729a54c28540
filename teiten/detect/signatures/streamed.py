"""Alerts of the rules matched in the streamed path: the packets the engine selects pass
through :func:`match_batch`, and the matches are counted per (rule, source, threshold
window) batch by batch (:func:`counted_alerts`) or, for a threshold by destination, kept
and thresholded in time order (:func:`ordered_alerts`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.detect.signatures.alerts import ALERT_SCHEMA
from teiten.detect.signatures.expressions import any_of, header_expr
from teiten.detect.signatures.match import BATCH_ROWS, COLUMNS, int64_array, match_batch
from teiten.detect.signatures.rule import Rule
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["COALESCE_ROWS", "MERGE_ROWS", "apply_threshold", "counted_alerts", "ordered_alerts"]

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
        out = int64_array(t.column(f"{which}4"), -1).copy()
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


def counted_alerts(obs: Observation, period: Period, rules: list[Rule], idx: list[int],
                   group: str | None) -> pa.Table:
    """Alerts per rule and source of the rules without a threshold or with one tracked by
    source: the packets stream through :func:`match_batch`, and each batch's matches are
    counted per (rule, source, threshold window) at once (memory: the distinct rule, source
    and window, never one row per match). Counts add up over batches, and the threshold is
    arithmetic on each window's count: ``limit`` min(n, count), ``threshold`` n // count,
    ``both`` n >= count. ``first_us``/``last_us``: the first and last match of the windows
    that alerted."""
    t = obs.in_period(period, group)
    cand = t.filter(any_of([header_expr(rules[i], t, exact=False) for i in idx]))
    sub = [rules[i] for i in idx]
    origin = int(period.start.timestamp() * 1_000_000)
    width = np.asarray([int(r.threshold.seconds * 1_000_000) if r.threshold is not None else 0 for r in sub],
                       np.int64)
    codes = _Codes()
    merged: list[pa.Table] = []  # counts summed so far, and the batches' counts since
    held = 0
    for batch in _coalesced(obs.batches(cand.select(*COLUMNS), BATCH_ROWS)):
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
        return ALERT_SCHEMA.empty_table()
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
        "last_us": out.column("last_us")}).cast(ALERT_SCHEMA)


def ordered_alerts(obs: Observation, period: Period, rules: list[Rule], idx: list[int],
                   group: str | None) -> pa.Table:
    """Alerts of rules with a threshold by destination (any rule, in tests): each rule's
    matches are kept and its threshold runs over them in time order. Memory grows with the
    matches of these rules, so a broad rule should track by source."""
    t = obs.in_period(period, group)
    cand = t.filter(any_of([header_expr(rules[i], t, exact=False) for i in idx]))
    parts: dict[int, list[pa.Table]] = {}
    sub = [rules[i] for i in idx]
    for batch in _coalesced(obs.batches(cand.select(*COLUMNS), BATCH_ROWS)):
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
        keep = apply_threshold(rules[i], ts, codes.addresses(h, "src"), codes.addresses(h, "dst"), origin=origin)
        if not keep.any():
            continue
        a = h.filter(pa.array(keep)).group_by(["src4", "src6"], use_threads=False).aggregate(
            [("region", "min"), ("ts_us", "count"), ("ts_us", "min"), ("ts_us", "max")])
        a = a.rename_columns({"region_min": "region", "ts_us_count": "alerts", "ts_us_min": "first_us",
                              "ts_us_max": "last_us"})
        out.append(a.append_column("rule", pa.array([i] * a.num_rows, pa.int64())).select(ALERT_SCHEMA.names)
                   .cast(ALERT_SCHEMA))
    return pa.concat_tables(out) if out else ALERT_SCHEMA.empty_table()


def apply_threshold(r: Rule, ts: npt.NDArray[np.float64], src: npt.NDArray[np.int64],
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
