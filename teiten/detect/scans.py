"""Scans and scanners (docs/detection.md): a source (IPv4 or IPv6) that reaches at least ``min_addresses`` distinct
sensor addresses on one port key, with no gap longer than ``timeout`` seconds between its
packets. ``min_addresses`` defaults to a tenth of the monitored addresses (at least 10), so
it scales with the telescope.

Scans are split at the gaps and counted in the engine (see :func:`scans`); only the
scans themselves leave it.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.analyze.drilldown import source_text
from teiten.detect.backscatter import iso_utc, monitored_addresses
from teiten.detect.finding import Finding
from teiten.detect.thresholds import ScanRules
from teiten.engine.observation import Observation
from teiten.keys import key_name
from teiten.periods import Period

__all__ = ["scan_findings", "scans"]


def scans(obs: Observation, period: Period, group: str | None = None, rules: ScanRules = ScanRules()
          ) -> tuple[list[dict[str, Any]], int, int]:
    """(scans, monitored addresses, threshold): each scan is a source, key, start, end,
    packets, addresses reached, their share of the monitored addresses and the rate.

    All in the engine: packets are counted per (source, key, bucket of ``timeout``
    seconds), so no gap inside a bucket exceeds the timeout and the gaps that split scans
    are those between consecutive buckets (next first packet minus previous last packet).
    Only the (source, key) pairs reaching ``min_addresses`` over the whole period are
    bucketed, and only the scans with that many packets have their distinct addresses counted."""
    monitored = max(monitored_addresses(obs, period, group), 1)
    need = rules.threshold(monitored)
    t = obs.in_period(period, group)
    if rules.exclude_backscatter:
        t = t.filter(~t.backscatter)
    width = int(rules.timeout * 1_000_000)
    out = []
    for version, src, dst in ((4, "src4", "dst4"), (6, "src6", "dst6")):
        for r in _scans_of(t.filter(t.ip_version == version), src, dst, need, width).to_pyarrow().to_pylist():
            a, b, n = r["start"] / 1e6, r["end"] / 1e6, int(r["packets"])
            dur = b - a
            out.append({"source": source_text(r[src] if version == 4 else None, r[src] if version == 6 else None),
                        "key": key_name(r["kc"]), "region": r["region"], "start": iso_utc(a), "end": iso_utc(b),
                        "packets": n,
                        "addresses": int(r["addresses"]),
                        # an IPv6 sensor prefix is one monitored address: no share for IPv6 scans
                        "coverage": int(r["addresses"]) / monitored if version == 4 else None,
                        "duration_s": float(dur), "rate_pps": n / dur if dur > 0 else None})
    out.sort(key=lambda r: (-r["addresses"], -r["packets"], r["source"], r["start"]))
    return out, monitored, need


def _scans_of(t: ir.Table, src: str, dst: str, need: int, width: int) -> ir.Table:
    """The scans of one address family: source, key code ``kc``, scan number, packets, start,
    end (µs) and distinct destination addresses (see :func:`scans`)."""
    # a scan reaches no more addresses than its (source, key) pair reaches over the period
    pairs = t.group_by([src, "kc"]).aggregate(n=t[dst].nunique())
    t = t.semi_join(pairs.filter(pairs.n >= need).select(src, "kc"), [src, "kc"])
    t = t.mutate(bucket=t.ts_us // width)
    h = t.group_by([src, "kc", "bucket"]).aggregate(n=t.count(), lo=t.ts_us.min(), hi=t.ts_us.max(),
                                                     region=t.region.min())
    ordered = ibis.window(group_by=[src, "kc"], order_by="bucket")
    prev = h.hi.lag().over(ordered)
    h = h.mutate(new=(prev.isnull() | (h.lo - prev > width)).cast("int64"))
    h = h.mutate(scan=h.new.cumsum().over(ordered))
    per = h.group_by([src, "kc", "scan"]).aggregate(packets=h.n.sum(), start=h.lo.min(), end=h.hi.max(),
                                                     region=h.region.min())
    per = per.filter(per.packets >= need)
    buckets = h.semi_join(per, [src, "kc", "scan"]).select(src, "kc", "bucket", "scan")
    hit = t.inner_join(buckets, [src, "kc", "bucket"])
    reach = hit.group_by([src, "kc", "scan"]).aggregate(addresses=hit[dst].nunique())
    return per.inner_join(reach, [src, "kc", "scan"]).filter(ibis._.addresses >= need)


def scan_findings(obs: Observation, period: Period, group: str | None = None, rules: ScanRules = ScanRules(),
                  limit: int = 200) -> list[Finding]:
    """One ``scan`` finding per scanning source (its scans on every key), widest first."""
    found, monitored, need = scans(obs, period, group, rules)
    by_src: dict[str, list[dict[str, Any]]] = {}
    for s in found:
        by_src.setdefault(s["source"], []).append(s)
    out = []
    for src, ss in by_src.items():
        keys = sorted({s["key"] for s in ss})
        widest = max(s["addresses"] for s in ss)
        out.append(Finding(
            "scan", keys[0] if len(keys) == 1 else ",".join(keys[:5]), source=src,
            title_ja=f"{src}による{'、'.join(keys[:3])}のスキャン（{len(ss)}回）",
            title_en=f"{src} scanned {', '.join(keys[:3])} ({len(ss)} scans)",
            start=min(s["start"] for s in ss), end=max(s["end"] for s in ss),
            score=min(1.0, widest / (2 * need)), sources=1,
            top_sources=[{"source": src, "region": ss[0]["region"], "packets": sum(s["packets"] for s in ss)}],
            evidence={"scans": len(ss), "keys": keys, "widest": widest, "monitored_addresses": monitored,
                      "min_addresses": need, "timeout_s": rules.timeout, "packets": sum(s["packets"] for s in ss),
                      "detail": ss[:20]},
        ))
    out.sort(key=lambda f: (-f.evidence["widest"], -f.evidence["packets"], str(f.source)))
    return out[:limit]
