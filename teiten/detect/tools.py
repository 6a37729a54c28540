"""What the fingerprinted packets show: daily series, the regions of their sources against
the regions of all sources (the TSUBAME report of 2022Q2: Japan 8th among Mirai sources, 19th among all), and
one finding per fingerprint seen in a period."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.detect.finding import Finding
from teiten.detect.fingerprints import Fingerprint, FingerprintTable, fingerprint_packets, fingerprint_test
from teiten.engine.local_time import day_of, local_day
from teiten.engine.observation import Observation, region_key
from teiten.enrich import country_name
from teiten.keys import key_text
from teiten.periods import Period

__all__ = ["daily_counts", "fingerprint_finding", "fingerprint_findings", "fingerprint_summaries",
           "fingerprint_summary", "ipv4_packets", "region_comparison"]


def daily_counts(obs: Observation, fp: Fingerprint, period: Period, group: str | None = None) -> list[dict[str, Any]]:
    """Per local day: fingerprinted packets and distinct source addresses."""
    return _daily(fingerprint_summary(obs, fp, period, group), period)


def _source_days(t: ir.Table, period: Period) -> dict[str, int]:
    t = t.mutate(day=local_day(t, period))
    pairs = t.select("day", "region", "src4", "src6").distinct()
    agg = pairs.group_by("region").aggregate(n=pairs.count()).to_pyarrow()
    return dict(zip(agg.column("region").to_pylist(), (int(x) for x in agg.column("n").to_pylist()), strict=True))


def _ranked(counts: dict[str, int]) -> dict[str, tuple[int, float]]:
    total = sum(counts.values()) or 1
    order = sorted(counts, key=lambda k: (-counts[k], k))
    return {k: (i + 1, counts[k] / total) for i, k in enumerate(order)}


def region_comparison(obs: Observation, fp: Fingerprint, period: Period,
                      group: str | None = None) -> list[dict[str, Any]]:
    """Per region: source-days (distinct source addresses per day, summed) of fingerprinted
    packets and of all packets, each region's share and rank in both."""
    fp_days = _source_days(fingerprint_packets(obs, fp, period, group), period)
    all_days = _source_days(obs.in_period(period, group), period)
    a, b = _ranked(fp_days), _ranked(all_days)
    rows = []
    for k in sorted(set(fp_days) | set(all_days), key=lambda k: (a.get(k, (10**9, 0))[0], b.get(k, (10**9, 0))[0])):
        code = None if k == "--" else k
        rows.append({"region": k, "name_ja": country_name(code, "ja"), "name_en": country_name(code, "en"),
                     "source_days": fp_days.get(k, 0), "share": a[k][1] if k in a else 0.0,
                     "rank": a[k][0] if k in a else None, "all_source_days": all_days.get(k, 0),
                     "all_share": b[k][1] if k in b else 0.0, "all_rank": b[k][0] if k in b else None})
    return rows


def ipv4_packets(obs: Observation, period: Period, group: str | None = None) -> int:
    """IPv4 packets in the period: the population a fingerprint's chance applies to."""
    t, measure = obs.counted(period, group)
    t = t.filter(t.ip_version == 4)
    return int(measure(t).to_pyarrow().as_py() or 0)


def fingerprint_findings(obs: Observation, table: FingerprintTable, period: Period, group: str | None = None,
                         top: int = 5) -> list[Finding]:
    """The findings of every fingerprint of ``table`` seen in the period (one pass for all:
    :func:`fingerprint_summaries`)."""
    v4 = ipv4_packets(obs, period, group)
    sums = fingerprint_summaries(obs, list(table.fingerprints), period, group)
    return [f for fp in table.fingerprints
            if (f := fingerprint_finding(obs, fp, period, group, top, v4, sums[fp.name])) is not None]


def fingerprint_summaries(obs: Observation, fps: list[Fingerprint], period: Period,
                          group: str | None = None) -> dict[str, ir.Table]:
    """Each fingerprint's packets counted per local day, key, region and source (with the
    first and last time), computed in one pass in the engine: the fingerprints a packet
    carries are the bits of a mask, and the counts are grouped by it too (the key's integer
    code and the stored country are grouped on, their text made per row of the result).
    Every part of a finding is read from its summary, whose rows may repeat a (day, key,
    region, source) under different masks: readers sum them."""
    t = obs.in_period(period, group)
    tests = [fingerprint_test(t, fp) for fp in fps]
    if not tests:
        return {}
    mask = sum((ibis.ifelse(e, 1 << j, 0).cast("int64") for j, e in enumerate(tests)), ibis.literal(0, "int64"))
    t = t.filter(ibis.or_(*tests)).mutate(fp_mask=mask)
    t = t.mutate(day=local_day(t, period))
    agg = t.group_by(["fp_mask", "day", "kc", "country", "src4", "src6"]).aggregate(
        packets=t.count(), first=t.ts.min(), last=t.ts.max())
    agg = agg.select("fp_mask", "day", "src4", "src6", "packets", "first", "last", key=key_text(agg.kc),
                     region=region_key(agg))
    s = obs.materialize(agg, "fingerprints")
    return {fp.name: s.filter((s.fp_mask & (1 << j)) != 0).drop("fp_mask") for j, fp in enumerate(fps)}


def fingerprint_summary(obs: Observation, fp: Fingerprint, period: Period, group: str | None = None) -> ir.Table:
    """:func:`fingerprint_summaries` of one fingerprint."""
    return fingerprint_summaries(obs, [fp], period, group)[fp.name]


def _daily(s: ir.Table, period: Period) -> list[dict[str, Any]]:
    agg = s.group_by("day").aggregate(packets=s.packets.sum(), sources=s.src4.nunique() + s.src6.nunique())
    rows = {r["day"]: r for r in agg.to_pyarrow().to_pylist()}
    out = []
    for d in period.day_list():
        r = rows.get((d - day_of(0)).days)
        out.append({"day": d.isoformat(), "packets": int(r["packets"]) if r else 0,
                    "sources": int(r["sources"]) if r else 0})
    return out


def fingerprint_finding(obs: Observation, fp: Fingerprint, period: Period, group: str | None = None,
                        top: int = 5, ipv4: int | None = None, summary: ir.Table | None = None
                        ) -> Finding | None:
    """The finding for ``fp`` in the period, or None when no packet carries it; ``ipv4``:
    the period's IPv4 packets, ``summary`` its :func:`fingerprint_summary`, when the caller
    has them."""
    s = summary if summary is not None else fingerprint_summary(obs, fp, period, group)
    head = s.aggregate(packets=s.packets.sum(), start=s.first.min(), end=s.last.max()).to_pyarrow().to_pylist()[0]
    n = int(head["packets"] or 0)
    if n == 0:
        return None
    pairs = s.select("src4", "src6").distinct()
    sources = int(pairs.count().to_pyarrow().as_py())
    v4 = ipv4 if ipv4 is not None else ipv4_packets(obs, period, group)
    score = max(0.0, 1.0 - v4 * fp.chance / n)
    keys = s.group_by("key").aggregate(packets=s.packets.sum()).order_by([ibis.desc("packets"), "key"]).limit(top)
    regions = s.group_by("region").aggregate(packets=s.packets.sum()).order_by([ibis.desc("packets"), "region"])
    srcs = s.group_by(["src4", "src6"]).aggregate(packets=s.packets.sum(), region=s.region.first(),
                                                  first=s.first.min(), last=s.last.max())
    srcs = srcs.order_by([ibis.desc("packets"), "src4"]).limit(top).to_pyarrow().to_pylist()
    daily = _daily(s, period)
    peak = max(daily, key=lambda r: r["packets"])
    from teiten.analyze.drilldown import source_text

    return Finding(
        fp.name, fp.name, fp.title_ja, fp.title_en, head["start"].isoformat(), head["end"].isoformat(), score,
        sources=sources,
        evidence={"definition": fp.definition, "reference": fp.reference, "packets": n, "ipv4_packets": v4,
                  "expected_by_chance": v4 * fp.chance, "peak_day": peak["day"], "peak_packets": peak["packets"],
                  "keys": _counted(keys), "regions": _counted(regions.limit(top)), "daily": daily},
        top_sources=[{"source": source_text(r["src4"], r["src6"]), "region": r["region"],
                      "packets": int(r["packets"]), "first": r["first"].isoformat(), "last": r["last"].isoformat()}
                     for r in srcs],
    )


def _counted(t: ir.Table) -> list[dict[str, Any]]:
    return [{**r, "packets": int(r["packets"])} for r in t.to_pyarrow().to_pylist()]
