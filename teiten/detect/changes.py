"""Changes in the daily series (docs/detection.md): surges and drops against a trailing baseline
(robust z: (x − median) / (1.4826 · MAD) over the ``baseline`` days before), keys new in
the period, and rank jumps between periods (1521/TCP: 74th → 13th).

The series come from the cube (packets per day, key and region).  Who sent a surge or a
drop is then counted on its peak day alone: the distinct sources (``sources``, and
``evidence.peak_sources``) and the busiest three (``top_sources``), from the packets of
those (key, day) pairs only, so that a reader tells a surge of many sources from one
host starting on a port nobody else uses.  ``ChangeRules.min_sources`` can require more
than one source on a surge's peak day; it is 1 by default, because a DoS victim's
backscatter (0/ICMP, 3/ICMP) and an ICMP sweeper are one source each and real surges.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from teiten.analyze.drilldown import source_text
from teiten.analyze.rankings import DIMENSIONS, ranking
from teiten.detect.finding import Finding
from teiten.detect.thresholds import ChangeRules
from teiten.engine.local_time import day_number, day_of, local_day
from teiten.engine.observation import Observation, region_key
from teiten.keys import key_codes, key_text
from teiten.periods import Period, zone

__all__ = ["change_findings", "daily_matrix", "flag_runs", "peak_sources", "robust_z"]


def daily_matrix(obs: Observation, dimension: str, window: Period, group: str | None,
                 max_keys: int) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The ``max_keys`` busiest keys of the window and their packets per day (keys × days)."""
    col = DIMENSIONS[dimension]
    t, measure = obs.tally(window, group)
    agg = t.group_by(["day", col]).aggregate(packets=measure(t)).to_pyarrow()
    days = agg.column("day").to_numpy() - day_number(window.first)
    n = agg.column("packets").to_numpy().astype(np.float64)
    # per key totals, ranked (most packets first, ties by key), in Arrow: a row per day and key
    # of the ports can be millions
    totals = agg.group_by(col, use_threads=False).aggregate([("packets", "sum")])
    order = pc.sort_indices(totals, [("packets_sum", "descending"), (col, "ascending")])
    keys = totals.column(col).take(order[:max_keys]).to_pylist()
    m = np.zeros((len(keys), window.days))
    rows = pc.index_in(agg.column(col), value_set=pa.array(keys, pa.string())).fill_null(-1).to_numpy()
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


def peak_sources(obs: Observation, pairs: set[tuple[str, str, date]], tz: str, group: str | None,
                 top: int = 3) -> dict[tuple[str, str, date], tuple[int, list[dict[str, Any]]]]:
    """For each (dimension, key, local day): the key's distinct sources that day and its
    ``top`` busiest (``{"source", "region", "packets"}``), counted from the packets of those
    days and keys only.  One pass, over the packets from the first to the last of the days
    (the engine skips the row groups outside), keeps those of the days and keys by cheap
    tests (the day number, the key's integer code, the region) and counts them per (day,
    key code, country, source), naming the key and region per row of the result; each
    dimension is then read from those counts.  (An OR of each day's time range would
    skip more row groups but costs DuckDB more per packet than it saves.)"""
    if not pairs:
        return {}
    days = sorted({d for _, _, d in pairs})
    ports = sorted({k for dim, k, _ in pairs if dim == "ports"})
    regions = sorted({k for dim, k, _ in pairs if dim == "regions"})
    span = Period("range", days[0], days[-1], tz)
    t = obs.in_period(span, group)
    if "part_day" in t.columns:  # a local day lies within the UTC days before, of and after it
        near = sorted({d + timedelta(days=k) for d in days for k in (-1, 0, 1)})
        t = t.filter(t.part_day.isin(near))
    t = t.mutate(day=local_day(t, span))
    t = t.filter(t.day.isin([day_number(d) for d in days]),
                 ibis.or_(t.kc.isin(key_codes(ports)), t.region.isin(regions) if regions else ibis.literal(False)))
    agg = t.group_by(["day", "kc", "country", "src4", "src6"]).aggregate(n=ibis._.count())
    counts = obs.materialize(agg.select("day", "src4", "src6", "n", key=key_text(agg.kc), region=region_key(agg)),
                             "peak_sources")
    out: dict[tuple[str, str, date], tuple[int, list[dict[str, Any]]]] = {}
    for dim in ("ports", "regions"):
        want = sorted((day_number(d), k) for dm, k, d in pairs if dm == dim)
        if not want:
            continue
        c = counts.mutate(k=counts[DIMENSIONS[dim]])
        c = c.semi_join(ibis.memtable(pa.table({"day": pa.array([w[0] for w in want], pa.int64()),
                                                "k": pa.array([w[1] for w in want], pa.string())})), ["day", "k"])
        per = c.group_by(["day", "k", "src4", "src6"]).aggregate(packets=c.n.sum(), region=c.region.first())
        g = ["day", "k"]
        ranked = per.mutate(r=ibis.row_number().over(group_by=g, order_by=[ibis.desc("packets"), "src4", "src6"]),
                            sources=ibis._.packets.count().over(group_by=g))
        for r in ranked.filter(ranked.r < top).order_by(["day", "k", "r"]).to_pyarrow().to_pylist():
            listed = out.setdefault((dim, r["k"], day_of(r["day"])), (int(r["sources"]), []))[1]
            listed.append({"source": source_text(r["src4"], r["src6"]), "region": r["region"],
                           "packets": int(r["packets"])})
    return out


def _rank_changes(obs: Observation, dim: str, period: Period, group: str | None,
                  rules: ChangeRules) -> list[Finding]:
    """Keys new in the top ``within`` of the ranking, and keys that climbed ``jump`` places into it."""
    out = []
    for row in ranking(obs, dim, period, group=group).rows:
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
    return out


def flag_runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The (first, last) index of each run of consecutive true flags."""
    idx = np.flatnonzero(flags)
    if not len(idx):
        return []
    cuts = np.flatnonzero(np.diff(idx) > 1)
    return [(int(idx[a]), int(idx[b])) for a, b in zip(np.r_[0, cuts + 1], np.r_[cuts, len(idx) - 1], strict=True)]


def change_findings(obs: Observation, period: Period, group: str | None = None, rules: ChangeRules = ChangeRules(),
                    dimensions: tuple[str, ...] = ("ports",)) -> list[Finding]:
    """Surges, drops, new keys and rank jumps of the period."""
    out: list[Finding] = []
    window = Period("range", period.first - timedelta(days=rules.baseline), period.last, period.tz)
    span = obs.data_span()
    if span is None:
        return out
    # a day is judged only when its whole baseline lies within the data
    first_data = span[0].astimezone(zone(period.tz)).date()
    judged = np.array([d - timedelta(days=rules.baseline) >= first_data for d in period.day_list()])
    runs: list[tuple[str, str, str, int, int, int, npt.NDArray[np.float64], npt.NDArray[np.float64],
                     npt.NDArray[np.float64]]] = []
    for dim in dimensions:
        keys, m = daily_matrix(obs, dim, window, group, rules.max_keys)
        if not keys:
            continue
        z, med = robust_z(m, rules.baseline)
        now = m[:, rules.baseline:]
        z = np.where(judged[None, :], z, 0.0)
        for kind, flags in (("surge", (z >= rules.z) & (now >= rules.min_packets)),
                            ("drop", (z <= -rules.z) & (med >= rules.min_packets))):
            for i in np.flatnonzero(flags.any(axis=1)):
                for a, b in flag_runs(flags[i]):
                    peak = a + int(np.argmax(np.abs(z[i, a:b + 1])))
                    runs.append((kind, dim, keys[i], a, b, peak, now[i], med[i], z[i]))
        out += _rank_changes(obs, dim, period, group, rules)
    who = peak_sources(obs, {(dim, key, period.first + timedelta(days=peak)) for _, dim, key, _, _, peak, *_ in runs},
                       period.tz, group, rules.top_sources)
    for kind, dim, key, a, b, peak, now_i, med_i, z_i in runs:
        d0, d1, dp = (period.first + timedelta(days=x) for x in (a, b, peak))
        sources, top = who.get((dim, key, dp), (0, []))
        if kind == "surge" and sources < rules.min_sources:
            continue
        f = _finding(kind, dim, key, d0.isoformat(), d1.isoformat(), {
            "peak_day": dp.isoformat(), "peak_packets": int(now_i[peak]),
            "baseline_median": float(med_i[peak]), "peak_z": float(z_i[peak]),
            "days": b - a + 1, "packets": int(now_i[a:b + 1].sum()),
            "baseline_days": rules.baseline, "peak_sources": sources},
            min(1.0, abs(float(z_i[peak])) / (2 * rules.z)), sources, top)
        out.append(f)
    out.sort(key=lambda f: (-f.score, f.kind, f.key))
    return out


_TITLES = {
    "surge": ("{key}へのアクセスが急増", "{key} surged"),
    "drop": ("{key}へのアクセスが急減", "{key} dropped"),
    "new_key": ("{key}を新たに観測", "{key} is new"),
    "rank_jump": ("{key}の順位が上昇", "{key} climbed the ranking"),
}


def _finding(kind: str, dim: str, key: str, start: str, end: str, evidence: dict[str, Any],
             score: float, sources: int | None = None, top: list[dict[str, Any]] | None = None) -> Finding:
    ja, en = _TITLES[kind]
    if kind == "rank_jump":
        ja += f"（{evidence['prev_rank']}位→{evidence['rank']}位）"
        en += f" ({evidence['prev_rank']} → {evidence['rank']})"
    if kind in ("surge", "drop"):
        ja += f"（{evidence['peak_day']}）"
        en += f" ({evidence['peak_day']})"
    return Finding(kind, key, ja.format(key=key), en.format(key=key), start, end, score, sources, top or [], evidence,
                   dimension=dim)

