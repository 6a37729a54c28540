"""``teiten web export``: the public observation pages of a period as a static site, what a
CSIRT puts on its public website each quarter.

Written (for each language): ``LANG/index.html`` (the overview), ``LANG/ports/KEY.html``
for the period's top ports, ``LANG/regions/CC.html`` for its top regions, ``LANG/map.html``;
``data/`` the numbers of every table and chart as JSON and CSV; ``static/`` the
stylesheets, the chart script and the vendored ECharts and map shapes. Every link is
relative and no page fetches anything: each chart's data is in its page, so the site
opens from ``file://`` as from any web server. Source addresses are never shown whole in
it (the top sources of port pages are their /24 or /48).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from teiten.engine.observation import Observation
from teiten.enrich import key_label
from teiten.keys import key_slug
from teiten.periods import Period
from teiten.web import observe_pages as pages
from teiten.web.figures import Figure
from teiten.web.observe_links import Links, region_slug
from teiten.web.observe_query import ObserveQuery, csv_text
from teiten.web.observe_text import texts
from teiten.web.outages import outages

__all__ = ["ExportResult", "export_site"]

#: The static files of teiten.web that the site needs.
STATIC = ("teiten.css", "observe.css", "observe.js", "vendor/echarts", "vendor/world")


@dataclass
class ExportResult:
    out: Path
    pages: list[str]
    data: list[str]


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(resources.files("teiten.web") / "templates")), autoescape=True)


def _copy_static(out: Path) -> None:
    src = resources.files("teiten.web") / "static"
    for name in STATIC:
        s, d = Path(str(src / name)), out / "static" / name
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.exists():
            shutil.copy2(s, d)


def _write_data(out: Path, stem: str, doc: Any, rows: list[dict[str, Any]], written: list[str]) -> None:
    d = out / "data"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{stem}.json").write_text(json.dumps(doc, ensure_ascii=False, default=str, indent=1))
    (d / f"{stem}.csv").write_text(csv_text(rows))
    written += [f"data/{stem}.json", f"data/{stem}.csv"]


def _figures_data(out: Path, page: str, figs: list[Figure], links: Links, written: list[str]) -> None:
    for f in figs:
        stem = f"{page}-{f.id}"
        _write_data(out, stem, {"caption": f.caption, "summary": f.summary, "columns": f.columns, "rows": f.rows,
                                "chart": f.spec}, [dict(zip(f.columns, r, strict=False)) for r in f.rows], written)
        f.src = f"{links.root}data/{stem}.json"


def export_site(obs: Observation, period: Period, out: Path, *, langs: list[str], top: int = 20,
                group: str | None = None) -> ExportResult:
    """Write the static site of ``period`` into ``out`` (see the module docstring)."""
    env = _environment()
    out.mkdir(parents=True, exist_ok=True)
    _copy_static(out)
    base = ObserveQuery(period=period.label if period.kind != "range" else None,
                        first=period.first.isoformat() if period.kind == "range" else None,
                        last=period.last.isoformat() if period.kind == "range" else None, tz=period.tz, group=group)
    t0 = texts("en")
    gaps = outages(obs, base, period)
    probe = pages.overview(obs, period, base, t0, Links(base, "en/index.html", static_site=True), gaps)
    ports = [r["key"] for r in probe["ports"].rows if r["packets"]][:top]
    regions = [r["key"] for r in probe["regions"].rows if r["packets"] and r["key"] != "--"][:top]
    files = [f"{lang}/{name}" for lang in langs for name in (
        "index.html", "map.html", *(f"ports/{key_slug(k)}.html" for k in ports),
        *(f"regions/{region_slug(c)}.html" for c in regions))]
    exported, data = set(files), list[str]()
    drilled: dict[tuple[str, str], dict[str, Any]] = {}

    def tables(dimension: str, key: str) -> dict[str, Any]:
        """The key's tables, inline (public: sources as their /24 or /48), drilled once for every language."""
        if (dimension, key) not in drilled:
            drilled[dimension, key] = pages.key_tables(obs, period, base, dimension, key, full_sources=False)
        return drilled[dimension, key]

    _write_data(out, "rankings_ports", probe["ports"].to_json(), probe["ports"].rows, data)
    _write_data(out, "rankings_regions", probe["regions"].to_json(), probe["regions"].rows, data)
    for lang in langs:
        q = ObserveQuery(base.period, base.first, base.last, base.tz, base.group, lang=lang)
        t = texts(lang)

        def write(rel: str, template: str, values: dict[str, Any], q: ObserveQuery = q, t: dict[str, Any] = t
                  ) -> None:
            links = Links(q, rel, static_site=True, exported=exported)
            _figures_data(out, rel.replace("/", "_").removesuffix(".html"), values.get("figures", []), links,
                          data)
            if "map" in values:
                _figures_data(out, rel.replace("/", "_").removesuffix(".html"), [values["map"]], links, data)
            html = env.get_template(template).render(lang=q.lang, t=t, q=q, links=links, filters=False, charts=True,
                                                     period=period, user=None, **values)
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html)

        ov_links = Links(q, f"{lang}/index.html", static_site=True, exported=exported)
        write(f"{lang}/index.html", "observe/overview.html.j2",  # the public site lists no findings
              {**pages.overview(obs, period, q, t, ov_links, gaps), "findings_src": None})
        write(f"{lang}/map.html", "observe/map.html.j2",
              {"map": pages.world(obs, period, q, t, ov_links), "world": True})
        for k in ports:
            rel = f"{lang}/ports/{key_slug(k)}.html"
            write(rel, "observe/port.html.j2",
                  {**pages.port(obs, period, q, k, t, Links(q, rel, static_site=True, exported=exported), gaps,
                                tables=tables("ports", k)), "label": key_label(k)})
        for c in regions:
            rel = f"{lang}/regions/{region_slug(c)}.html"
            write(rel, "observe/region.html.j2",
                  pages.region(obs, period, q, c, t, Links(q, rel, static_site=True, exported=exported), gaps,
                               tables=tables("regions", c)))
    first = langs[0]
    (out / "index.html").write_text(
        f'<!DOCTYPE html><html lang="{first}"><head><meta charset="utf-8"><title>teiten {period.label}</title>'
        f'<meta http-equiv="refresh" content="0; url={first}/index.html"></head><body>'
        + " ".join(f'<a href="{lang}/index.html" hreflang="{lang}">{lang}</a>' for lang in langs)
        + "</body></html>\n")
    return ExportResult(out, ["index.html", *files], data)
