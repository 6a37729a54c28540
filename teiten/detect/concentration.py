"""Concentration (DESIGN §4): one source address, one source port or one source country
sending most of a port key's packets (1521/TCP: 92 % from China, 99 % from source port 6000).
A country counts only when its share of the key is also ``country_lift`` times its share of
all packets (China sends much of everything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.analyze.drilldown import _src_text
from teiten.analyze.rankings import counts
from teiten.analyze.source import Observation, key_codes, key_name
from teiten.periods import Period

__all__ = ["ConcentrationRules", "concentration_findings"]


@dataclass(frozen=True)
class ConcentrationRules:
    max_keys: int = 100  # the busiest keys are examined
    min_packets: int = 500  # ... that have at least this many packets
    source: float = 0.5
    source_port: float = 0.8
    country: float = 0.8
    country_lift: float = 2.0


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
                           rules: ConcentrationRules = ConcentrationRules()) -> list[dict[str, Any]]:
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
    raw = raw.filter(raw.kc.isin(key_codes(keys)))  # the busy passes group on the key's integer code
    by_src, by_port = _busiest(obs, raw)
    key_totals = {k: per_key[k] for k in keys}
    out: list[dict[str, Any]] = []
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
            out.append(_finding(r["key"], "source", _src_text(r["src4"], None), share, int(r["packets"]),
                                key_totals[r["key"]], {}))
    # one source explains its key's country and source port: report the source alone
    lone = {f["key"]: f["score"] for f in out if f["by"] == "source"}
    out = [f for f in out if f["by"] == "source" or f["key"] not in lone or lone[f["key"]] < 0.9 * f["score"]]
    out.sort(key=lambda f: (-f["score"], f["key"], f["by"]))
    return out


def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a key code ``kc`` given their ``key`` text instead."""
    return [{"key": key_name(r.pop("kc")), **r} for r in rows]


def _busiest(obs: Observation, raw: ir.Table) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each key's busiest IPv4 sources and source ports with their exact packet counts
    (rows of key, src4 or sport, packets; the busiest among them is taken by the caller).

    On DuckDB, two passes: space-saving sketches (``approx_top_k``) name five candidate
    sources and ports per key (a value with over a fifth of a key's packets is never
    missed, and only shares of at least one half are reported), then one grouping-sets
    pass counts them exactly (every packet of a candidate passes its filter). Elsewhere,
    the exact count per (key, source) and (key, source port), and its top row per key; a
    count per pair on a wide telescope holds every source."""
    if getattr(obs.backend, "name", None) == "duckdb":
        con = obs.backend.con
        sql = str(obs.backend.compile(raw.select("kc", "ip_version", "src4", "sport")))
        name = f"teiten_concentration_{id(raw)}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT kc,"
                    " approx_top_k(src4, 5) FILTER (WHERE ip_version = 4) AS srcs,"
                    f" approx_top_k(sport, 5) FILTER (WHERE sport IS NOT NULL) AS ports FROM ({sql}) GROUP BY kc")
        rows = con.sql(
            f"SELECT r.kc, GROUPING(r.src4) AS by_port, r.src4, r.sport, count(*) AS packets FROM ({sql}) AS r"
            f" JOIN {name} AS c ON r.kc = c.kc WHERE (r.ip_version = 4 AND list_contains(c.srcs, r.src4))"
            " OR list_contains(c.ports, r.sport) GROUP BY GROUPING SETS ((r.kc, r.src4), (r.kc, r.sport))"
            f" HAVING (GROUPING(r.src4) = 0 AND r.src4 IN (SELECT unnest(srcs) FROM {name} WHERE kc = r.kc))"
            f" OR (GROUPING(r.sport) = 0 AND r.sport IN (SELECT unnest(ports) FROM {name} WHERE kc = r.kc))"
        ).to_arrow_table().to_pylist()
        con.execute(f"DROP TABLE {name}")
        return (_named([{"kc": r["kc"], "src4": r["src4"], "packets": r["packets"]} for r in rows if not r["by_port"]]),
                _named([{"kc": r["kc"], "sport": r["sport"], "packets": r["packets"]} for r in rows if r["by_port"]]))

    def top(t: ir.Table, col: str) -> list[dict[str, Any]]:
        per = t.group_by(["kc", col]).aggregate(packets=t.count())
        w = ibis.window(group_by="kc", order_by=[ibis.desc("packets"), col])
        return _named(per.mutate(r=ibis.row_number().over(w)).filter(ibis._.r == 0).drop("r").to_pyarrow().to_pylist())

    return top(raw.filter(raw.ip_version == 4), "src4"), top(raw.filter(raw.sport.notnull()), "sport")


_BY = {"country": ("発信元国・地域", "source country"), "source_port": ("発信元ポート", "source port"),
       "source": ("発信元アドレス", "source address")}


def _finding(key: str, by: str, value: Any, share: float, n: int, of: int, extra: dict[str, Any]) -> dict[str, Any]:
    ja, en = _BY[by]
    return {"kind": "concentration", "key": key, "by": by, "value": value,
            "title_ja": f"{key}の{share:.0%}が{ja}{value}から", "title_en": f"{share:.0%} of {key} from {en} {value}",
            "start": None, "end": None, "score": share, "sources": None,
            "top_sources": [{"source": value, "packets": n}] if by == "source" else [],
            "evidence": {"share": share, "packets": n, "key_packets": of, **extra}}
