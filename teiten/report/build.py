"""Build an observation report for a period: data → tables, charts, sentences → HTML or PDF.

``write_report(store, out, period, style="npa"|"tsubame", lang="ja"|"en")`` writes
``out`` (``.html``, self-contained and offline: inline SVG, no external resources; or
``.pdf`` through WeasyPrint) and every table as CSV in ``<out stem>_tables/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from teiten import __version__
from teiten.analyze.rankings import Ranking, ranking
from teiten.analyze.series import MOVING_DAYS, breakdown, daily, monthly
from teiten.analyze.shares import OTHER, mix, mix_by
from teiten.detect.finding import Finding
from teiten.engine.observation import Observation
from teiten.errors import SettingError
from teiten.periods import Period
from teiten.report import charts, narrative
from teiten.report.document import TEMPLATES, check_out, write_csv, write_document
from teiten.report.i18n import period_title, words
from teiten.report.phenomena import notable_section
from teiten.report.tables import change_footnote, format_change, format_delta, format_rank, format_value, table_rows

__all__ = ["STYLES", "Report", "build_report", "render_html", "write_report"]

STYLES = ("tsubame", "npa")


@dataclass
class Report:
    style: str
    lang: str
    period: Period
    context: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # name -> rows, for CSV


def _label(row: dict[str, Any], lang: str) -> str:
    if "name_ja" in row:
        return f"{row['name_ja'] if lang == 'ja' else row['name_en']}"
    return str(row.get("label") or row["key"])


def _table(r: Ranking | list[dict[str, Any]], lang: str, top: int, full: bool) -> dict[str, Any]:
    """Display rows of a comparison table (a ranking, or rows shaped like its rows);
    ``full``: with rise/fall rows and ellipses (NPA)."""
    ranked = r.rows if isinstance(r, Ranking) else r
    laid = table_rows(ranked, top) if full else [x for x in ranked if x["rank"] is not None][:top]
    rows: list[dict[str, Any] | None] = []
    notes: list[str] = []
    for x in laid:
        if x is None:
            rows.append(None)
            continue
        note = change_footnote(x, lang)
        mark = ""
        if note:
            notes.append(note)
            mark = str(len(notes))
        rows.append({
            "rank": format_rank(x["rank"], x["per_ip_day"], lang),
            "prev_rank": format_rank(x["prev_rank"], x["prev_per_ip_day"], lang),
            "name": _label(x, lang), "key": x["key"], "value": format_value(x["per_ip_day"], lang),
            "change": format_change(x["change_pct"], lang), "mark": mark, "delta": format_delta(x["delta"], lang),
            "rise": format_rank(x["rise_rank"], 1.0, lang) if x["rise_rank"] else "",
            "fall": format_rank(x["fall_rank"], 1.0, lang) if x["fall_rank"] else "",
        })
    return {"rows": rows, "notes": notes}


def _daily_chart(obs: Observation, dimension: str, p: Period, keys: list[str], lang: str, title: str,
                 group: str | None, names: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    d = daily(obs, dimension, p, keys, group=group)
    w = words(lang)
    series: dict[str, list[float | None]] = {names.get(k, k): [] for k in keys}
    avg: dict[str, list[float | None]] = {names.get(k, k): [] for k in keys}
    for row in d["rows"]:
        series[names.get(row["key"], row["key"])].append(row["per_ip_day"])
        avg[names.get(row["key"], row["key"])].append(row["ma7"])
    svg = charts.daily_chart(d["days"], series, avg, title=title, ylabel=w["per_ip_day"], average_label=w["ma7"])
    return svg, d["rows"]


def _shares_parts(doc: dict[str, Any], names: dict[str, str], other: str) -> tuple[list[str], list[float]]:
    labels = [other if r["key"] == OTHER else names.get(r["key"], r["key"]) for r in doc["rows"]]
    return labels, [r["share"] for r in doc["rows"]]


def home_country(obs: Observation) -> str:
    """The country most of the catalogued sensor addresses are in (JP without a catalog)."""
    from teiten.analyze.address_days import sensor_weight

    weight: dict[str, int] = {}
    for s in obs.sensors:
        if s.country:
            weight[s.country] = weight.get(s.country, 0) + sensor_weight(s)
    return max(sorted(weight), key=weight.__getitem__) if weight else "JP"


def build_report(obs: Observation, period: Period, *, style: str = "npa", lang: str = "ja",
                 group: str | None = None, top: int = 5, findings: list[Finding] | None = None,
                 rules: Path | None = None) -> Report:
    """The report of ``period``. Its notable phenomena are written from ``findings`` (as
    ``teiten detect --json`` lists them); None runs the detectors here. The npa style's
    signature section uses the shipped rules or the file ``rules``."""
    if style not in STYLES:
        raise SettingError(f"report style must be one of {', '.join(STYLES)}, not {style!r}")
    if lang not in ("ja", "en"):
        raise SettingError(f"report language must be ja or en, not {lang!r}")
    w = words(lang)
    # one pass over the packets for the tables, series and shares: the period, the previous
    # one and the days before the period that its first 7-day averages need
    lead = period.first - timedelta(days=MOVING_DAYS - 1)
    window = Period("range", min(period.previous().first, lead), period.last, period.tz)
    obs = obs.with_cube(window, group)
    ports = ranking(obs, "ports", period, group=group)
    regions = ranking(obs, "regions", period, group=group)
    if not ports.total["packets"]:
        raise SettingError(f"no packets in {period.label} ({period.start:%Y-%m-%d %H:%M} – {period.end:%Y-%m-%d %H:%M}"
                           " UTC) to report on")
    rnames = {r["key"]: _label(r, lang) for r in regions.rows}
    pnames = {r["key"]: r["key"] for r in ports.rows}
    top_ports = [r["key"] for r in ports.rows if r["rank"] is not None][:top]
    top_regions = [r["key"] for r in regions.rows if r["rank"] is not None][:top]
    ctx: dict[str, Any] = {"w": w, "lang": lang, "style": style, "top": top, "period_title": period_title(period, lang),
                           "period": period.to_json(), "group": group}
    tables: dict[str, list[dict[str, Any]]] = {"ports": ports.rows, "regions": regions.rows}
    full = style == "npa"
    ctx["ports_table"] = _table(ports, lang, top, full)
    ctx["regions_table"] = _table(regions, lang, top, full)
    ctx["overview"] = narrative.overview(ports, regions, lang, top)
    ctx["notable"] = narrative.notable_changes(ports, lang) + narrative.notable_changes(regions, lang)
    svg, rows = _daily_chart(obs, "ports", period, top_ports, lang, w["daily_ports"].format(n=top), group, pnames)
    ctx["daily_ports"], tables["ports_daily"] = svg, rows
    svg, rows = _daily_chart(obs, "regions", period, top_regions, lang, w["daily_regions"].format(n=top), group,
                             rnames)
    ctx["daily_regions"], tables["regions_daily"] = svg, rows
    if style == "npa":
        world = mix(obs, "ports", period, top=10, group=group)
        ctx["pie_world"] = charts.pie_chart(*_shares_parts(world, pnames, w["other"]), title=w["pie_world"],
                                            other=w["other"])
        tables["ports_shares"] = world["rows"]
        home = home_country(obs)
        local = mix(obs, "ports", period, within=home, top=10, group=group)
        if local["packets"]:
            ctx["pie_home"] = charts.pie_chart(*_shares_parts(local, pnames, w["other"]),
                                               title=w["pie_home"].format(name=rnames.get(home, home)),
                                               other=w["other"])
            tables[f"ports_shares_{home}"] = local["rows"]
        reg = mix(obs, "regions", period, top=10, group=group)
        ctx["pie_regions"] = charts.pie_chart(*_shares_parts(reg, rnames, w["other"]), title=w["pie_regions"],
                                              other=w["other"])
        tables["regions_shares"] = reg["rows"]
        for name, dim, names_in, names_of in (("region_mix", "regions", pnames, rnames),
                                              ("port_mix", "ports", rnames, pnames)):
            doc = mix_by(obs, dim, period, groups=top, top=5, group=group)
            parts = sorted({r["key"] for g in doc["groups"] for r in g["rows"]} - {OTHER})
            parts += [OTHER]
            shares = {p: [next((r["share"] for r in g["rows"] if r["key"] == p), 0.0) for g in doc["groups"]]
                      for p in parts}
            labels = [names_in.get(g["key"], g["key"]) for g in doc["groups"]]
            ctx[name] = charts.stacked_shares(labels, [w["other"] if p == OTHER else names_of.get(p, p)
                                                       for p in parts],
                                              {(w["other"] if p == OTHER else names_of.get(p, p)): v
                                               for p, v in shares.items()}, title=w[name], other=w["other"])
            tables[name] = [{"group": g["key"], **r} for g in doc["groups"] for r in g["rows"]]
        for dim, keys, names_of, names_by, title in (
                ("ports", top_ports, pnames, rnames, "trend_port"), ("regions", top_regions, rnames, pnames,
                                                                     "trend_region")):
            figs, rows = [], []
            for k in keys:
                b = breakdown(obs, dim, period, k, top=5, group=group)
                named = {(w["other"] if p == "other" else names_by.get(p, p)): v for p, v in b["series"].items()}
                figs.append(charts.stacked_daily(b["days"], named, title=w[title].format(key=k, name=names_of[k]),
                                                 ylabel=w["per_ip_day"], other=w["other"]))
                rows += [{"key": k, "part": p, "day": d, "per_ip_day": v}
                         for p, vs in b["series"].items() for d, v in zip(b["days"], vs, strict=True)]
            ctx[f"trends_{dim}"] = figs
            tables[f"{dim}_daily_breakdown"] = rows
        top_rows = [regions.row(k) for k in top_regions]
        ctx["compare_regions"] = charts.bars_compared(
            [rnames[k] for k in top_regions], [r["per_ip_day"] or 0 for r in top_rows],
            [r["prev_per_ip_day"] or 0 for r in top_rows], title=w["compare_top"].format(n=top),
            now_label=w["now"], before_label=w["before"], ylabel=w["per_ip_day"])
    else:
        m = monthly(obs, "ports", top_ports, tz=period.tz, group=group)
        months = sorted({r["month"] for r in m["rows"]})
        if len(months) > 1:
            series = {k: [next(r["per_ip_day"] for r in m["rows"] if r["month"] == mo and r["key"] == k)
                          for mo in months] for k in top_ports}
            ctx["monthly"] = charts.monthly_chart(months, series, title=w["monthly"], ylabel=w["per_ip_day"])
            tables["ports_monthly"] = m["rows"]
    if findings is None:
        from teiten.detect.run import DETECTORS, detect

        findings = detect(obs, period, group, top=top, only=tuple(d for d in DETECTORS if d != "signatures"))
    phenomena, notable_tables = notable_section(obs, period, findings, lang, group)
    ctx["phenomena"] = phenomena
    tables.update(notable_tables)
    if style == "npa":
        ctx["signatures"] = _signature_section(obs, period, lang, top, group, rules, tables)
    chosen = obs.sensors_of(group)
    from teiten.analyze.address_days import sensor_weight

    ctx["observation"] = {
        "sensors": len(chosen) if chosen is not None else None,
        "addresses": sum(sensor_weight(s) for s in chosen) if chosen is not None else None,
        "address_days": ports.total["address_days"], "packets": ports.total["packets"],
        "previous": ports.previous.to_json() if ports.previous else None,
        "prev_packets": ports.total["prev_packets"],
        "geo": obs.meta.get("geo_sources", []),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "version": __version__,
    }
    ctx["total"] = {"value": format_value(ports.total["per_ip_day"], lang, 1),
                    "change": format_change(ports.total["change_pct"], lang),
                    "delta": format_delta(ports.total["delta"], lang, 1)}
    return Report(style, lang, period, ctx, tables)


def _signature_section(obs: Observation, period: Period, lang: str, top: int, group: str | None,
                       rules: Path | None, tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """NPA Tables 4-1 (alerts by class) and 4-2 (by source region), and each class's top signatures."""
    from teiten.detect.signatures import load_rules, signature_alerts, signature_ranking

    loaded = load_rules(rules)
    both = (signature_alerts(obs, period, loaded, group), signature_alerts(obs, period.previous(), loaded, group))
    by_class = signature_ranking(obs, period, loaded, by="class", group=group, alerts=both)
    by_region = signature_ranking(obs, period, loaded, by="region", group=group, alerts=both)
    tables["signatures_by_class"] = by_class["rows"]
    tables["signatures_by_region"] = by_region["rows"]
    tables["signatures_top"] = [{"class": k, **x} for k, v in by_class["top_signatures"].items() for x in v]
    return {"classes": _table(by_class["rows"], lang, len(by_class["rows"]), False),
            "regions": _table(by_region["rows"], lang, top, True),
            "top": [{"class": k, "rows": v} for k, v in by_class["top_signatures"].items()],
            "alerts": by_class["total"]["packets"], "rules": len(loaded)}


def render_html(report: Report) -> str:
    from markupsafe import Markup

    ctx = dict(report.context)
    for k in ("daily_ports", "daily_regions", "pie_world", "pie_home", "pie_regions", "region_mix", "port_mix",
              "compare_regions", "monthly"):
        if k in ctx:
            ctx[k] = Markup(ctx[k])  # our own SVG; its text is drawn as paths, not markup
    for k in ("trends_ports", "trends_regions"):
        if k in ctx:
            ctx[k] = [Markup(svg) for svg in ctx[k]]
    ctx["phenomena"] = [replace(p, figures=[Markup(svg) for svg in p.figures]) for p in ctx.get("phenomena", [])]
    return TEMPLATES.get_template(f"{report.style}.html.j2").render(**ctx)


def write_report(obs: Observation, out: Path, period: Period, *, style: str = "npa", lang: str = "ja",
                 group: str | None = None, top: int = 5, findings: list[Finding] | None = None,
                 rules: Path | None = None) -> list[Path]:
    """Write the report (HTML or PDF by ``out``'s suffix) and its tables as CSV; return the paths."""
    check_out(out)
    report = build_report(obs, period, style=style, lang=lang, group=group, top=top,
                          findings=findings, rules=rules)
    return [write_document(render_html(report), out),
            *write_csv(out.with_name(out.stem + "_tables"), report.tables)]
