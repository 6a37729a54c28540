"""What each observation page shows, as template values: built from the library's analyses
(rankings, series, drill-downs; never SQL of its own), the same on the server
(teiten.web.views.observe_pages) and in the static site (teiten.web.export).

``overview``: totals per day per address against the compared period, the top-10 ports
and regions tables as the NPA/TSUBAME reports print them (previous rank, Δ, %, rise/fall,
ごく僅か/検知なし), a daily chart of the top ports. ``port``: the key's daily series per
address with its 7-day mean and the compared period overlaid, the same stacked by source
country (top 10 + others), an hour × day heatmap. ``region``: the country's trend and
port mix over time. ``key_tables``: the tables of a port's or a region's packets (source
ports, top sources, TTLs, fingerprinted shares, ASes, a region's ports): one pass per source
over the key's packets, seconds on a big quarter, so the server's pages are drawn without
them and fetch them (``/observe/ports/{slug}/tables``) while the static site has them
inline. ``world``: the choropleth.
"""

from __future__ import annotations

from typing import Any

from teiten.analyze.drilldown import drill
from teiten.analyze.mixes import FINGERPRINTS
from teiten.analyze.rankings import ranking
from teiten.analyze.series import breakdown, daily, hourly
from teiten.engine.observation import Observation
from teiten.enrich import country_name
from teiten.keys import key_slug
from teiten.payload_text import escaped
from teiten.periods import Period
from teiten.report.tables import table_rows
from teiten.web.figures import Figure, heatmap_figure, line_figure, map_figure
from teiten.web.observe_evidence import mask_source
from teiten.web.observe_links import Links, region_slug
from teiten.web.observe_query import ObserveQuery
from teiten.web.outages import Outages

__all__ = ["compare", "key_tables", "overview", "port", "region", "world"]


def _per_day_series(doc: dict[str, Any], field: str = "per_ip_day") -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for r in doc["rows"]:
        out.setdefault(r["key"], []).append(r[field])
    return out


def _zone_axis(t: dict[str, Any], period: Period) -> str:
    return f"{t['day']} ({period.tz})"


def overview(obs: Observation, period: Period, q: ObserveQuery, t: dict[str, Any], links: Links, gaps: Outages
             ) -> dict[str, Any]:
    ports = ranking(obs, "ports", period, compare=q.compare, group=q.group).with_shares()
    regions = ranking(obs, "regions", period, compare=q.compare, group=q.group).with_shares()
    series = daily(obs, "ports", period, [r["key"] for r in ports.rows[:5] if r["packets"]], group=q.group,
                   total=True)
    lines = _per_day_series(series)
    total = lines.pop("*", [])  # all packets, named in the page's language
    top = next(iter(lines), None)
    summary = (f"{top}: {t['value_of'](sum(v or 0 for v in lines[top]) / max(1, len(lines[top])))}"
               f" {t['per_ip_day']}" if top else t["no_findings"])
    fig = line_figure("daily-top-ports", t["daily_top"], summary, series["days"], {**lines, t["all"]: total},
                      x_name=_zone_axis(t, period), y_name=t["per_ip_day"], gaps=gaps.days(),
                      src=links.api("series/ports", top="5"))
    tot = ports.to_json()["total"]
    return {"ports": ports, "regions": regions, "port_rows": table_rows(ports.rows, 10),
            "region_rows": table_rows(regions.rows, 10), "figures": [fig], "total": tot,
            "compared": ports.previous}


def _previous_overlay(obs: Observation, period: Period, key: str, q: ObserveQuery) -> list[float | None]:
    prev = period.compared(q.compare)
    if prev is None:
        return []
    doc = daily(obs, "ports", prev, [key], group=q.group)
    return [r["per_ip_day"] for r in doc["rows"]]


def key_tables(obs: Observation, period: Period, q: ObserveQuery, dimension: str, key: str, *,
               full_sources: bool) -> dict[str, Any]:
    """The drill-down of ``key`` (a port key, or a region with ``dimension="regions"``) and its
    top sources, whole or as their /24 (/48)."""
    d = drill(obs, key, period, dimension=dimension, top=10, group=q.group)
    sources = [{**s, "source": s["source"] if full_sources else mask_source(s["source"])}
               for s in d["top_sources"]]
    return {"drill": d, "sources": sources, "fingerprint_tools": FINGERPRINTS}


def port(obs: Observation, period: Period, q: ObserveQuery, key: str, t: dict[str, Any], links: Links,
         outages: Outages, *, tables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The port page's values; ``tables`` (:func:`key_tables`) inline, or None for a page that
    fetches them."""
    doc = daily(obs, "ports", period, [key], group=q.group)
    gaps = outages.days()
    values = [r["per_ip_day"] for r in doc["rows"]]
    ma7 = [r["ma7"] for r in doc["rows"]]
    prev = _previous_overlay(obs, period, key, q)[:len(values)]
    mean = sum(v or 0 for v in values) / max(1, len(values))
    figs = [line_figure(
        "daily", f"{key}: {t['per_ip_day']}", f"{key}: {t['value_of'](mean)} {t['per_ip_day']} ({period.label})",
        doc["days"], {key: values, t["ma7"]: ma7, t["prev_period"]: prev + [None] * (len(values) - len(prev))},
        x_name=_zone_axis(t, period), y_name=t["per_ip_day"], gaps=gaps, src=links.api("series/ports", keys=key))]
    by = breakdown(obs, "ports", period, key, top=10, group=q.group)
    lead = next(iter(by["series"]), None)
    figs.append(line_figure("by-country", f"{key} {t['by_country']}",
                            f"{key}: {lead} ({t['by_country']})" if lead else key, by["days"], by["series"],
                            x_name=_zone_axis(t, period), y_name=t["per_ip_day"], stacked=True, gaps=gaps,
                            src=links.api(f"breakdown/ports/{key_slug(key)}")))
    hours = hourly(obs, "ports", period, [key], group=q.group)
    days = [d.isoformat() for d in period.day_list()]
    index = {d: i for i, d in enumerate(days)}
    cells = [(index[r["day"]], r["hour"], r["packets"]) for r in hours["rows"] if r["day"] in index]
    peak = max(range(24), key=lambda h: hours["profile"].get(key, [0] * 24)[h]) if cells else 0
    figs.append(heatmap_figure("heatmap", f"{key}: {t['heatmap']}", f"{key}: {t['hour']} {peak:02d} ({period.tz})",
                               days, cells, x_name=_zone_axis(t, period), y_name=f"{t['hour']} ({period.tz})",
                               gaps=outages.cells(), gap_name=t["quiet_hour"],
                               src=links.api(f"heatmap/ports/{key_slug(key)}")))
    return {"key": key, "figures": figs, "packets": sum(int(r["packets"]) for r in doc["rows"]), **(tables or {})}


def region(obs: Observation, period: Period, q: ObserveQuery, code: str, t: dict[str, Any], links: Links,
           outages: Outages, *, tables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The region page's values; ``tables`` as for :func:`port`."""
    doc = daily(obs, "regions", period, [code], group=q.group)
    by = breakdown(obs, "regions", period, code, top=10, group=q.group)
    name = country_name(None if code == "--" else code, q.lang)
    figs = [line_figure("daily", f"{name}: {t['per_ip_day']}", f"{name} ({code}), {period.label}", doc["days"],
                        {code: [r["per_ip_day"] for r in doc["rows"]], t["ma7"]: [r["ma7"] for r in doc["rows"]]},
                        x_name=_zone_axis(t, period), y_name=t["per_ip_day"], gaps=outages.days(),
                        src=links.api("series/regions", keys=region_slug(code))),
            line_figure("by-port", f"{name}: {t['ports']}", f"{name}: {next(iter(by['series']), '')}", by["days"],
                        by["series"], x_name=_zone_axis(t, period), y_name=t["per_ip_day"], stacked=True,
                        gaps=outages.days(), src=links.api(f"breakdown/regions/{region_slug(code)}"))]
    return {"code": code, "region_name": name, "figures": figs,
            "packets": sum(int(r["packets"]) for r in doc["rows"]), **(tables or {})}


def compare(obs: Observation, a: Period, b: Period, q: ObserveQuery) -> dict[str, Any]:
    """Two periods side by side: each one's totals and top-10 ports and regions (ranked
    without a comparison of their own: the two columns are the comparison)."""
    out = {}
    for name, p in (("a", a), ("b", b)):
        ports = ranking(obs, "ports", p, compare="none", group=q.group).with_shares()
        regions = ranking(obs, "regions", p, compare="none", group=q.group).with_shares()
        out[name] = {"period": p, "total": ports.to_json()["total"], "ports": table_rows(ports.rows, 10),
                     "regions": table_rows(regions.rows, 10)}
    return out


def world(obs: Observation, period: Period, q: ObserveQuery, t: dict[str, Any], links: Links) -> Figure:
    r = ranking(obs, "regions", period, compare=q.compare, group=q.group)
    values = {x["key"]: round(x["per_ip_day"] or 0.0, 4) for x in r.rows if x["key"] != "--" and x["packets"]}
    names = {x["key"]: (x["name_ja"] if q.lang == "ja" else x["name_en"]) for x in r.rows}
    top = max(values, key=values.__getitem__) if values else None
    return map_figure("world", t["world"], f"{names.get(top, top)}: {t['value_of'](values[top])}" if top else "",
                      values, names, value_name=t["per_ip_day"], src=links.api("map"))


def sample_text(payload: bytes | None) -> tuple[str, str]:
    """A payload as escaped ASCII and as hex (what a finding's samples show)."""
    data = payload or b""
    return escaped(data), data.hex(" ")
