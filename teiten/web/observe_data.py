"""The data of the dashboard's JSON API (teiten.web.views.observe_api, docs/dashboard-api.md):
pure functions of an observation (narrowed to the query's sensor kind and IP version), a
period and the query's filters, built from the library's analyses only (rankings, series,
shares, drill-downs; never SQL of their own), giving the numbers of the CLI (``teiten top
ports --json`` and the rest).

Each returns an :class:`Answer`: the ``data`` of the JSON answer, the ``rows`` and
``columns`` of its CSV form, the ``address_days`` of the period and the period compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teiten.analyze.address_days import address_days
from teiten.analyze.asns import asn_ranking
from teiten.analyze.drilldown import drill
from teiten.analyze.rankings import Ranking, ranking
from teiten.analyze.series import breakdown, daily, hourly
from teiten.engine.observation import Observation
from teiten.periods import Period
from teiten.report.tables import table_rows
from teiten.web.observe_query import ObserveQuery

__all__ = ["DAILY_COLUMNS", "HOURLY_COLUMNS", "RANKING_COLUMNS", "Answer", "breakdown_data", "compare_data",
           "heatmap_data", "map_data", "ranking_data", "series_data", "summary_data", "top_rows"]

#: The CSV columns of a ranking (those of ``teiten top --csv``), by dimension.
RANKING_COLUMNS = {
    "ports": ["key", "label"], "regions": ["key", "name_ja", "name_en"], "asns": ["key", "asn", "name"],
}
_RANK_TAIL = ["rank", "prev_rank", "packets", "prev_packets", "per_ip_day", "prev_per_ip_day", "delta", "change_pct",
              "rise_rank", "fall_rank", "share"]
DAILY_COLUMNS = ["day", "key", "packets", "addresses", "per_ip_day", "ma7"]
HOURLY_COLUMNS = ["day", "hour", "key", "packets"]


@dataclass(frozen=True)
class Answer:
    """What one API answer holds: its data, its CSV rows, the period's address-days and the
    period it is compared with."""

    period: Period
    data: Any
    rows: list[dict[str, Any]]
    columns: list[str]
    address_days: int | None = None
    compared: Period | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def top_rows(r: Ranking, limit: int | None) -> list[dict[str, Any]]:
    """The rows ``teiten top --json`` gives: every row, or with ``limit`` the top rows and
    every rise/fall row (:func:`teiten.report.tables.table_rows` without the ``…``)."""
    if limit is None:
        return r.rows
    return [x for x in table_rows(r.rows, limit) if x is not None]


def _ranked(obs: Observation, dimension: str, period: Period, q: ObserveQuery, compare: str | None = None
            ) -> Ranking:
    how = compare or q.compare
    if dimension == "asns":
        return asn_ranking(obs, period, compare=how, group=q.group).with_shares()
    return ranking(obs, dimension, period, compare=how, group=q.group).with_shares()


def ranking_columns(dimension: str) -> list[str]:
    extra = ["sources", "prev_sources"] if dimension == "asns" else []
    return [*RANKING_COLUMNS[dimension], *_RANK_TAIL, *extra]


def summary_data(obs: Observation, period: Period, q: ObserveQuery) -> Answer:
    """Totals (the period's and the compared one's), the top-10 ports and regions as
    ``teiten top ports|regions --json --limit 10`` gives them, the daily series of the top-5 ports."""
    ports, regions = _ranked(obs, "ports", period, q), _ranked(obs, "regions", period, q)
    doc = ports.to_json()
    top_ports, top_regions = top_rows(ports, 10), top_rows(regions, 10)
    keys = [r["key"] for r in ports.rows[:5] if r["packets"]]
    series = daily(obs, "ports", period, keys, group=q.group)
    data = {"period": doc["period"], "previous": doc["previous"], "total": doc["total"], "sensors": doc["sensors"],
            "ports": top_ports, "regions": top_regions, "daily_top_ports": series}
    rows = [{"dimension": "ports", **r} for r in top_ports] + [{"dimension": "regions", **r} for r in top_regions]
    cols = ["dimension", "key", "label", "name_ja", "name_en", *_RANK_TAIL]
    return Answer(period, data, rows, cols, ports.total["address_days"], ports.previous)


def ranking_data(obs: Observation, period: Period, q: ObserveQuery, dimension: str, limit: int | None) -> Answer:
    """``teiten top DIMENSION --json [--limit N]`` (``asns``: :func:`teiten.analyze.asns.asn_ranking`)."""
    r = _ranked(obs, dimension, period, q)
    rows = top_rows(r, limit)
    return Answer(period, {**r.to_json(), "rows": rows}, rows, ranking_columns(dimension), r.total["address_days"],
                  r.previous)


def series_data(obs: Observation, period: Period, q: ObserveQuery, dimension: str, keys: list[str] | None,
                top: int, step: str) -> Answer:
    """``teiten series DIMENSION`` (``--keys``, ``--top``, ``--hourly``)."""
    if step == "hourly":
        doc = hourly(obs, dimension, period, keys, top=top, group=q.group)
        cols = HOURLY_COLUMNS
    else:
        doc = daily(obs, dimension, period, keys, top=top, group=q.group)
        cols = DAILY_COLUMNS
    return Answer(period, doc, doc["rows"], cols, address_days(obs, period, q.group))


def breakdown_data(obs: Observation, period: Period, q: ObserveQuery, dimension: str, key: str) -> Answer:
    """One key's daily series stacked by the other dimension (top 10 and ``other``), its
    packets and sources, its source-port and TTL mixes, its fingerprinted shares and its top source ASes."""
    by = breakdown(obs, dimension, period, key, top=10, group=q.group)
    d = drill(obs, key, period, dimension=dimension, top=10, group=q.group)
    data = {**by, "packets": d["packets"], "sources": d["sources"], "per_day": d["per_day"],
            "source_ports": d["source_ports"], "ttl": d["ttl"], "fingerprints": d["fingerprints"], "asns": d["asns"]}
    rows = [{"day": day, "part": part, "per_ip_day": values[i]}
            for part, values in by["series"].items() for i, day in enumerate(by["days"])]
    return Answer(period, data, rows, ["day", "part", "per_ip_day"], address_days(obs, period, q.group))


def heatmap_data(obs: Observation, period: Period, q: ObserveQuery, dimension: str, key: str) -> Answer:
    """Packets of one key per local hour of day × local day: ``cells`` ``[day_index, hour, packets]``."""
    doc = hourly(obs, dimension, period, [key], group=q.group)
    days = [d.isoformat() for d in period.day_list()]
    index = {d: i for i, d in enumerate(days)}
    cells = [[index[r["day"]], r["hour"], r["packets"]] for r in doc["rows"] if r["day"] in index]
    data = {"period": doc["period"], "key": key, "dimension": dimension, "days": days, "hours": list(range(24)),
            "cells": cells, "profile": doc["profile"].get(key, [0] * 24),
            "packets": sum(c[2] for c in cells), "max": max((c[2] for c in cells), default=0)}
    rows = [{"day": days[c[0]], "hour": c[1], "packets": c[2]} for c in cells]
    return Answer(period, data, rows, ["day", "hour", "packets"], address_days(obs, period, q.group))


def map_data(obs: Observation, period: Period, q: ObserveQuery) -> Answer:
    """Per country with packets: per_ip_day, share and names (the regions ranking's rows),
    for a choropleth; the packets of unknown origin apart."""
    r = _ranked(obs, "regions", period, q)
    keep = ("key", "name_ja", "name_en", "rank", "packets", "per_ip_day", "share", "prev_per_ip_day", "change_pct")
    countries = [{k: x[k] for k in keep} for x in r.rows if x["key"] != "--" and x["packets"]]
    unknown = next(({"packets": x["packets"], "per_ip_day": x["per_ip_day"], "share": x["share"]}
                    for x in r.rows if x["key"] == "--"), {"packets": 0, "per_ip_day": 0.0, "share": None})
    data = {"period": r.to_json()["period"], "total": r.total, "countries": countries, "unknown": unknown,
            "max_per_ip_day": max((c["per_ip_day"] or 0.0 for c in countries), default=0.0)}
    return Answer(period, data, countries, list(keep), r.total["address_days"], r.previous)


def compare_data(obs: Observation, a: Period, b: Period, q: ObserveQuery) -> Answer:
    """Two periods side by side: each one's totals and top-10 ports and regions (ranked
    without a comparison of their own: the two columns are the comparison)."""
    sides: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name, p in (("a", a), ("b", b)):
        ports, regions = _ranked(obs, "ports", p, q, "none"), _ranked(obs, "regions", p, q, "none")
        side = {"period": ports.to_json()["period"], "total": ports.total, "ports": top_rows(ports, 10),
                "regions": top_rows(regions, 10)}
        sides[name] = side
        for dim in ("ports", "regions"):
            rows += [{"side": name, "period": p.label, "dimension": dim, **x} for x in side[dim]]
    ta, tb = sides["a"]["total"]["per_ip_day"], sides["b"]["total"]["per_ip_day"]
    change = None if ta is None or tb is None else {"delta": tb - ta,
                                                    "change_pct": 100.0 * (tb - ta) / ta if ta else None}
    data = {**sides, "change": change}
    cols = ["side", "period", "dimension", "key", "label", "name_ja", "name_en", "rank", "packets", "per_ip_day",
            "share"]
    return Answer(b, data, rows, cols, sides["b"]["total"]["address_days"], a)
