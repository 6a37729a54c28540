"""Changes in the daily series (DESIGN §4): surges and drops against a trailing baseline
(robust z: (x − median) / (1.4826 · MAD) over the ``baseline`` days before), keys new in
the period, and rank jumps between periods (1521/TCP: 74th → 13th).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from teiten.analyze.rankings import DIMENSIONS, ranking
from teiten.analyze.source import Observation, day_number
from teiten.periods import Period
from teiten.settings import zone

__all__ = ["ChangeRules", "change_findings", "daily_matrix", "robust_z"]


@dataclass(frozen=True)
class ChangeRules:
    baseline: int = 28  # trailing days of the baseline
    z: float = 6.0  # |robust z| that flags a day
    min_packets: int = 100  # a surge day has at least this many packets (a drop: its baseline median)
    max_keys: int = 500  # the keys with the most packets are followed
    jump: int = 10  # rank jump: climbed this many places ...
    within: int = 20  # ... into the top this many


def daily_matrix(obs: Observation, dimension: str, window: Period, group: str | None,
                 max_keys: int) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The ``max_keys`` busiest keys of the window and their packets per day (keys × days)."""
    col = DIMENSIONS[dimension]
    t, measure = obs.tally(window, group)
    agg = t.group_by(["day", col]).aggregate(packets=measure(t)).to_pyarrow()
    days = agg.column("day").to_numpy() - day_number(window.first)
    keys_all = agg.column(col).to_pylist()
    n = agg.column("packets").to_numpy().astype(np.float64)
    totals: dict[str, float] = {}
    for k, v in zip(keys_all, n.tolist(), strict=True):
        totals[k] = totals.get(k, 0.0) + v
    keys = sorted(totals, key=lambda k: (-totals[k], k))[:max_keys]
    index = {k: i for i, k in enumerate(keys)}
    m = np.zeros((len(keys), window.days))
    rows = np.array([index.get(k, -1) for k in keys_all], dtype=np.int64)
    ok = (rows >= 0) & (days >= 0) & (days < window.days)
    np.add.at(m, (rows[ok], days[ok]), n[ok])
    return keys, m


def robust_z(m: npt.NDArray[np.float64], baseline: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """For each column from ``baseline`` on: the z of each value against the ``baseline``
    columns before it, and their median. The MAD has a floor of √median + 1 (Poisson noise)."""
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(m, baseline, axis=1)[:, :-1, :]  # windows ending the day before
    med = np.median(win, axis=2)
    mad = np.median(np.abs(win - med[:, :, None]), axis=2)
    scale = np.maximum(1.4826 * mad, np.sqrt(med) + 1.0)
    return (m[:, baseline:] - med) / scale, med


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    idx = np.flatnonzero(flags)
    if not len(idx):
        return []
    cuts = np.flatnonzero(np.diff(idx) > 1)
    return [(int(idx[a]), int(idx[b])) for a, b in zip(np.r_[0, cuts + 1], np.r_[cuts, len(idx) - 1], strict=True)]


def change_findings(obs: Observation, period: Period, group: str | None = None, rules: ChangeRules = ChangeRules(),
                    dimensions: tuple[str, ...] = ("ports",)) -> list[dict[str, Any]]:
    """Surges, drops, new keys and rank jumps of the period."""
    out: list[dict[str, Any]] = []
    window = Period("range", period.first - timedelta(days=rules.baseline), period.last, period.tz)
    for dim in dimensions:
        keys, m = daily_matrix(obs, dim, window, group, rules.max_keys)
        if not keys:
            continue
        z, med = robust_z(m, rules.baseline)
        now = m[:, rules.baseline:]
        # a day is judged only when its whole baseline lies within the data
        span = obs.data_span()
        if span is None:
            continue
        first_data = span[0].astimezone(zone(period.tz)).date()
        judged = np.array([d - timedelta(days=rules.baseline) >= first_data for d in period.day_list()])
        z = np.where(judged[None, :], z, 0.0)
        for kind, flags in (("surge", (z >= rules.z) & (now >= rules.min_packets)),
                            ("drop", (z <= -rules.z) & (med >= rules.min_packets))):
            for i in np.flatnonzero(flags.any(axis=1)):
                for a, b in _runs(flags[i]):
                    seg = slice(a, b + 1)
                    peak = a + int(np.argmax(np.abs(z[i, seg])))
                    d0, d1, dp = (period.first + timedelta(days=x) for x in (a, b, peak))
                    out.append(_finding(kind, dim, keys[i], d0.isoformat(), d1.isoformat(), {
                        "peak_day": dp.isoformat(), "peak_packets": int(now[i, peak]),
                        "baseline_median": float(med[i, peak]), "peak_z": float(z[i, peak]),
                        "days": b - a + 1, "packets": int(now[i, seg].sum()),
                        "baseline_days": rules.baseline}, min(1.0, abs(float(z[i, peak])) / (2 * rules.z))))
        r = ranking(obs, dim, period, group=group)
        for row in r.rows:
            if row["rank"] is None or row["per_ip_day"] is None:
                continue
            if row["prev_per_ip_day"] == 0 and row["rank"] <= rules.within:
                out.append(_finding("new_key", dim, row["key"], period.first.isoformat(), period.last.isoformat(),
                                    {"rank": row["rank"], "packets": row["packets"],
                                     "per_ip_day": row["per_ip_day"]}, 1.0))
            elif row["prev_rank"] is not None and row["rank"] <= rules.within and \
                    row["prev_rank"] - row["rank"] >= rules.jump:
                out.append(_finding("rank_jump", dim, row["key"], period.first.isoformat(), period.last.isoformat(),
                                    {"rank": row["rank"], "prev_rank": row["prev_rank"], "packets": row["packets"],
                                     "per_ip_day": row["per_ip_day"], "prev_per_ip_day": row["prev_per_ip_day"]},
                                    min(1.0, (row["prev_rank"] - row["rank"]) / (2 * rules.jump))))
    out.sort(key=lambda f: (-f["score"], f["kind"], f["key"]))
    return out


_TITLES = {
    "surge": ("{key}へのアクセスが急増", "{key} surged"),
    "drop": ("{key}へのアクセスが急減", "{key} dropped"),
    "new_key": ("{key}を新たに観測", "{key} is new"),
    "rank_jump": ("{key}の順位が上昇", "{key} climbed the ranking"),
}


def _finding(kind: str, dim: str, key: str, start: str, end: str, evidence: dict[str, Any],
             score: float) -> dict[str, Any]:
    ja, en = _TITLES[kind]
    if kind == "rank_jump":
        ja += f"（{evidence['prev_rank']}位→{evidence['rank']}位）"
        en += f" ({evidence['prev_rank']} → {evidence['rank']})"
    if kind in ("surge", "drop"):
        ja += f"（{evidence['peak_day']}）"
        en += f" ({evidence['peak_day']})"
    return {"kind": kind, "key": key, "dimension": dim, "title_ja": ja.format(key=key), "title_en": en.format(key=key),
            "start": start, "end": end, "score": score, "evidence": evidence, "sources": None, "top_sources": []}

