"""Scans and scanners (DESIGN §4): an IPv4 source that reaches at least ``min_addresses`` distinct
sensor addresses on one port key, with no gap longer than ``timeout`` seconds between its
packets. ``min_addresses`` defaults to a tenth of the monitored addresses (at least 10), so
it scales with the telescope.

The engine finds the (source, key) pairs that reach that many addresses in the whole
period; only their packets are then split into scans at the gaps, in numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from teiten.analyze.drilldown import _src_text
from teiten.analyze.source import Observation
from teiten.detect.backscatter import _iso, _monitored
from teiten.periods import Period

__all__ = ["ScanRules", "scan_findings", "scans"]


@dataclass(frozen=True)
class ScanRules:
    timeout: float = 3600.0
    min_addresses: int | None = None  # None: max(10, ceil(monitored / 10))
    exclude_backscatter: bool = True  # replies of DoS victims are not scans

    def threshold(self, monitored: int) -> int:
        return self.min_addresses if self.min_addresses is not None else max(10, math.ceil(monitored / 10))


def scans(obs: Observation, period: Period, group: str | None = None, rules: ScanRules = ScanRules()
          ) -> tuple[list[dict[str, Any]], int, int]:
    """(scans, monitored addresses, threshold): each scan is a source, key, start, end,
    packets, addresses reached, their share of the monitored addresses and the rate."""
    monitored = max(_monitored(obs, period, group), 1)
    need = rules.threshold(monitored)
    t = obs.in_period(period, group)
    if rules.exclude_backscatter:
        t = t.filter(~t.backscatter)
    t = t.filter(t.ip_version == 4)  # IPv6 telescopes are too sparse to sweep
    reach = t.group_by(["src4", "key"]).aggregate(n=t.dst4.nunique())
    cand = reach.filter(reach.n >= need).select("src4", "key")
    pk = t.inner_join(cand, ["src4", "key"]).select("src4", "key", "dst4", "ts_us")
    tab = pk.order_by(["src4", "key", "ts_us"]).to_pyarrow()
    if tab.num_rows == 0:
        return [], monitored, need
    ts = tab.column("ts_us").to_numpy() / 1e6
    new = np.ones(len(ts), bool)
    new[1:] = _changes(tab, ["src4", "key"]) | (np.diff(ts) > rules.timeout)
    dst = np.asarray(tab.column("dst4").to_numpy(), np.int64)
    sid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(ts))
    pairs = np.sort((sid.astype(np.int64) << 32) | dst)  # distinct (scan, destination) pairs
    first_of = np.ones(len(pairs), bool)
    first_of[1:] = pairs[1:] != pairs[:-1]
    addresses = np.bincount(pairs[first_of] >> 32, minlength=len(starts))
    keep = np.flatnonzero(addresses >= need)
    first = pa.array(starts[keep])
    src4 = tab.column("src4").take(first).to_pylist()
    key = tab.column("key").take(first).to_pylist()
    out = []
    for j, k in enumerate(keep):
        a, b = starts[k], ends[k]
        dur = float(ts[b - 1] - ts[a])
        out.append({"source": _src_text(src4[j], None),
                    "key": key[j], "start": _iso(ts[a]), "end": _iso(ts[b - 1]), "packets": int(b - a),
                    "addresses": int(addresses[k]), "coverage": float(addresses[k]) / monitored,
                    "duration_s": float(dur), "rate_pps": int(b - a) / dur if dur > 0 else None})
    out.sort(key=lambda r: (-r["addresses"], -r["packets"], r["source"], r["start"]))
    return out, monitored, need


def _changes(t: pa.Table, cols: list[str]) -> np.ndarray:
    """For rows 1..n-1: does any of ``cols`` differ from the row before?"""
    out = np.zeros(max(t.num_rows - 1, 0), bool)
    for c in cols:
        a = t.column(c).combine_chunks()
        out |= np.asarray(pc.not_equal(a.slice(1), a.slice(0, len(a) - 1)).fill_null(True))
    return out


def scan_findings(obs: Observation, period: Period, group: str | None = None, rules: ScanRules = ScanRules(),
                  limit: int = 200) -> list[dict[str, Any]]:
    """One ``scan`` finding per scanning source (its scans on every key), widest first."""
    found, monitored, need = scans(obs, period, group, rules)
    by_src: dict[str, list[dict[str, Any]]] = {}
    for s in found:
        by_src.setdefault(s["source"], []).append(s)
    regions = _regions(obs, period, group, list(by_src))
    out = []
    for src, ss in by_src.items():
        keys = sorted({s["key"] for s in ss})
        widest = max(s["addresses"] for s in ss)
        out.append({
            "kind": "scan", "key": keys[0] if len(keys) == 1 else ",".join(keys[:5]), "source": src,
            "title_ja": f"{src}による{'、'.join(keys[:3])}のスキャン（{len(ss)}回）",
            "title_en": f"{src} scanned {', '.join(keys[:3])} ({len(ss)} scans)",
            "start": min(s["start"] for s in ss), "end": max(s["end"] for s in ss),
            "score": min(1.0, widest / (2 * need)), "sources": 1,
            "top_sources": [{"source": src, "region": regions.get(src), "packets": sum(s["packets"] for s in ss)}],
            "evidence": {"scans": len(ss), "keys": keys, "widest": widest, "monitored_addresses": monitored,
                         "min_addresses": need, "timeout_s": rules.timeout, "packets": sum(s["packets"] for s in ss),
                         "detail": ss[:20]},
        })
    out.sort(key=lambda f: (-f["evidence"]["widest"], -f["evidence"]["packets"], f["source"]))
    return out[:limit]


def _regions(obs: Observation, period: Period, group: str | None, sources: list[str]) -> dict[str, str]:
    import ipaddress

    v4 = [int(ipaddress.ip_address(s)) for s in sources if ":" not in s]
    if not v4:
        return {}
    t = obs.in_period(period, group)
    t = t.filter(t.src4.isin(v4))
    r = t.group_by("src4").aggregate(region=t.region.first()).to_pyarrow().to_pylist()
    return {str(ipaddress.IPv4Address(x["src4"])): x["region"] for x in r}
