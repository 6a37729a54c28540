"""The period comparison of NPA Table 3-1 (docs/analysis.md), as a pure function of counts.

For each key: ``per_ip_day`` = packets / address-days; ``rank`` by it (keys with
packets in the period only); ``prev_rank`` likewise in the compared period; ``delta``;
``change_pct`` = 100·delta/prev, omitted (None) when prev < 0.1 or the current value is
0; ``rise_rank``/``fall_rank``: the 5 largest positive / negative deltas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MIN_PREV_FOR_CHANGE", "RISE_FALL", "Comparison", "compare_counts"]

#: Below this previous per-day-per-address value the change ratio is not given.
MIN_PREV_FOR_CHANGE = 0.1
#: How many rise and fall ranks are given.
RISE_FALL = 5


@dataclass(frozen=True)
class Comparison:
    total: dict[str, Any]
    rows: list[dict[str, Any]]  # every key of either period, in rank order (then the vanished)


def _per(packets: int, address_days: int) -> float | None:
    return packets / address_days if address_days else None


def change(cur: float | None, prev: float | None) -> tuple[float | None, float | None]:
    """(delta, change_pct) under the rules above."""
    if cur is None or prev is None:
        return None, None
    delta = cur - prev
    pct = None if prev < MIN_PREV_FOR_CHANGE or cur == 0 else 100.0 * delta / prev
    return delta, pct


def _ranks(values: dict[str, float], counts: dict[str, int]) -> dict[str, int]:
    order = sorted((k for k, c in counts.items() if c > 0), key=lambda k: (-values[k], k))
    return {k: i + 1 for i, k in enumerate(order)}


def compare_counts(cur: dict[str, int], prev: dict[str, int] | None, cur_days: int,
                   prev_days: int | None) -> Comparison:
    """Compare packet counts per key of two periods (``prev`` None: no comparison)."""
    cur_v = {k: _per(c, cur_days) or 0.0 for k, c in cur.items()}
    have_prev = prev is not None and bool(prev_days)
    prev = prev or {}
    prev_v = {k: _per(c, prev_days or 0) or 0.0 for k, c in prev.items()} if have_prev else {}
    rank, prev_rank = _ranks(cur_v, cur), _ranks(prev_v, prev) if have_prev else {}
    keys = set(cur) | (set(prev) if have_prev else set())
    rows: list[dict[str, Any]] = []
    for k in keys:
        v = cur_v.get(k, 0.0) if cur_days else None
        p = prev_v.get(k, 0.0) if have_prev else None
        delta, pct = change(v, p)
        rows.append({"key": k, "rank": rank.get(k), "prev_rank": prev_rank.get(k),
                     "packets": cur.get(k, 0), "prev_packets": prev.get(k, 0) if have_prev else None,
                     "per_ip_day": v, "prev_per_ip_day": p, "delta": delta, "change_pct": pct,
                     "rise_rank": None, "fall_rank": None})
    rises = sorted((r for r in rows if r["delta"] is not None and r["delta"] > 0),
                   key=lambda r: (-r["delta"], r["key"]))
    falls = sorted((r for r in rows if r["delta"] is not None and r["delta"] < 0),
                   key=lambda r: (r["delta"], r["key"]))
    for i, r in enumerate(rises[:RISE_FALL]):
        r["rise_rank"] = i + 1
    for i, r in enumerate(falls[:RISE_FALL]):
        r["fall_rank"] = i + 1
    big = len(rows) + 1
    rows.sort(key=lambda r: (r["rank"] or big, r["prev_rank"] or big, r["key"]))
    tc, tp = sum(cur.values()), sum(prev.values()) if have_prev else None
    t_v = _per(tc, cur_days)
    t_p = _per(tp, prev_days or 0) if tp is not None else None
    t_delta, t_pct = change(t_v, t_p)
    total = {"packets": tc, "prev_packets": tp, "address_days": cur_days,
             "prev_address_days": prev_days if have_prev else None, "per_ip_day": t_v,
             "prev_per_ip_day": t_p, "delta": t_delta, "change_pct": t_pct}
    return Comparison(total, rows)
