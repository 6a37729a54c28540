"""Concentration (docs/detection.md): one source address, one source port or one source country
sending most of a port key's packets (1521/TCP: 92 % from China, 99 % from source port 6000).
A country counts only when its share of the key is also ``country_lift`` times its share of
all packets (China sends much of everything)."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.analyze.drilldown import source_text
from teiten.analyze.rankings import counts
from teiten.detect.finding import Finding
from teiten.detect.thresholds import ConcentrationRules
from teiten.engine.observation import Observation
from teiten.keys import key_codes, key_name
from teiten.periods import Period

__all__ = ["busiest_values", "concentration_findings"]


def _top_share(rows: list[dict[str, Any]], by: str) -> dict[str, tuple[Any, int, int]]:
    """key -> (top value of ``by``, its packets, the key's packets)."""
    best: dict[str, tuple[Any, int, int]] = {}
    totals: dict[str, int] = {}
    for r in rows:
        k, n = r["key"], int(r["packets"])
        totals[k] = totals.get(k, 0) + n
        if k not in best or n > best[k][1] or (n == best[k][1] and str(r[by]) < str(best[k][0])):
            best[k] = (r[by], n, 0)
    return {k: (v, n, totals[k]) for k, (v, n, _) in best.items()}


def concentration_findings(obs: Observation, period: Period, group: str | None = None,
                           rules: ConcentrationRules = ConcentrationRules()) -> list[Finding]:
    per_key = counts(obs, "ports", period, group)
    keys = [k for k, n in sorted(per_key.items(), key=lambda kv: (-kv[1], kv[0]))[:rules.max_keys]
            if n >= rules.min_packets]
    if not keys:
        return []
    regions = counts(obs, "regions", period, group)
    total = sum(regions.values()) or 1
    t, measure = obs.tally(period, group)
    t = t.filter(t.key.isin(keys))
    by_region = t.group_by(["key", "region"]).aggregate(packets=measure(t)).to_pyarrow().to_pylist()
    raw = obs.in_period(period, group)
    codes = key_codes(keys)
    raw = raw.filter(raw.kc.isin(codes))  # the busy passes group on the key's integer code
    by_src, by_port = busiest_values(raw, {"src4": rules.source, "sport": rules.source_port},
                               dict(zip(codes, (per_key[k] for k in keys), strict=True)))
    key_totals = {k: per_key[k] for k in keys}
    out: list[Finding] = []
    for k, (value, n, _) in _top_share(by_region, "region").items():
        share, overall = n / key_totals[k], regions.get(value, 0) / total
        if value != "--" and share >= rules.country and share >= rules.country_lift * overall:
            out.append(_finding(k, "country", value, share, n, key_totals[k], {"overall_share": overall}))
    for k, (value, n, _) in _top_share(by_port, "sport").items():
        share = n / key_totals[k]
        if share >= rules.source_port:
            out.append(_finding(k, "source_port", int(value), share, n, key_totals[k], {}))
    for r in by_src:
        share = int(r["packets"]) / key_totals[r["key"]]
        if share >= rules.source:
            out.append(_finding(r["key"], "source", source_text(r["src4"], None), share, int(r["packets"]),
                                key_totals[r["key"]], {}))
    # one source explains its key's country and source port: report the source alone
    lone = {f.key: f.score for f in out if f.by == "source"}
    out = [f for f in out if f.by == "source" or f.key not in lone or lone[f.key] < 0.9 * f.score]
    out.sort(key=lambda f: (-f.score, f.key, str(f.by)))
    return out


def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a key code ``kc`` given their ``key`` text instead."""
    return [{"key": key_name(r.pop("kc")), **r} for r in rows]


#: Values are hashed into this many buckets (a prime) to find the busy ones.
BUCKETS = 61


def busiest_values(raw: ir.Table, share: dict[str, float],
             totals: dict[int, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per key, the exact packets of every IPv4 source (``src4``) and source port (``sport``)
    with at least ``share[col]`` of the key's packets (``totals``, by key code): rows of
    key, value, packets, from which the caller takes the busiest.

    Two passes, and nothing per source: the first counts the packets per key and bucket
    (value mod :data:`BUCKETS`); a value with that share of its key makes its bucket reach it
    too, so the second counts exactly the values of the buckets that do (none for most keys)
    and returns those with the share."""
    hs = ibis.ifelse(raw.ip_version == 4, (raw.src4 % BUCKETS).cast("int64"), -1)
    hp = (raw.sport % BUCKETS).cast("int64").fill_null(-1)
    per = raw.group_by(["kc", hs.name("hs"), hp.name("hp")]).aggregate(n=raw.count()).to_pyarrow()
    kc, n = per.column("kc").to_numpy(), per.column("n").to_numpy()
    out: list[list[dict[str, Any]]] = []
    for col, h in (("src4", "hs"), ("sport", "hp")):
        sums: dict[tuple[int, int], int] = {}
        for k, b, c in zip(kc.tolist(), per.column(h).to_numpy().tolist(), n.tolist(), strict=True):
            if b >= 0:
                sums[k, b] = sums.get((k, b), 0) + c
        busy = [{"kc": k, "b": b} for (k, b), c in sums.items() if c >= share[col] * totals[k]]
        if not busy:
            out.append([])
            continue
        t = raw.filter(raw.ip_version == 4) if col == "src4" else raw.filter(raw.sport.notnull())
        t = t.mutate(b=(t[col] % BUCKETS).cast("int64")).semi_join(ibis.memtable(busy), ["kc", "b"])
        got = t.group_by(["kc", col]).aggregate(packets=t.count())
        need = ibis.cases(*((got.kc == k, share[col] * totals[k]) for k in {r["kc"] for r in busy}), else_=0)
        out.append(_named(got.filter(got.packets >= need).to_pyarrow().to_pylist()))
    return out[0], out[1]


_BY = {"country": ("発信元国・地域", "source country"), "source_port": ("発信元ポート", "source port"),
       "source": ("発信元アドレス", "source address")}


def _finding(key: str, by: str, value: Any, share: float, n: int, of: int, extra: dict[str, Any]) -> Finding:
    ja, en = _BY[by]
    return Finding("concentration", key, f"{key}の{share:.0%}が{ja}{value}から",
                   f"{share:.0%} of {key} from {en} {value}", None, None, share, None,
                   [{"source": value, "packets": n}] if by == "source" else [],
                   {"share": share, "packets": n, "key_packets": of, **extra}, by=by, value=value)
