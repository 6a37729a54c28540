"""The observation dashboard's pages (``/observe``…): server-rendered from the values of
:mod:`teiten.web.observe_pages`, every filter in the URL (a view is a permalink), for
any signed-in user; the charts drawn by ``/static/observe.js`` from JSON blocks in the page.
Sources are shown whole to handlers and admins, to viewers as their /24 (/48)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from teiten.enrich import key_label
from teiten.incidents.models import User
from teiten.keys import key_from_slug
from teiten.periods import parse_period
from teiten.web import observe_pages as pages
from teiten.web.auth import can_edit, check_csrf, editor, page_user
from teiten.web.context import WebContext, observing_of, render, web
from teiten.web.figures import line_figure
from teiten.web.observe_evidence import daily_evidence, evidence_rows, sample_rows, shown
from teiten.web.observe_links import Links
from teiten.web.observe_query import PERIOD, ObserveQuery, documented, narrowed, parse_query, resolve_query
from teiten.web.observe_text import texts
from teiten.web.outages import outages
from teiten.web.views.observe_findings import (
    KIND_PARAM,
    check_finding_id,
    full_sources,
    one_finding,
    period_findings,
    sensors_answer,
)

__all__ = ["router"]

router = APIRouter()


def _page(request: Request, ctx: WebContext, user: User, q: ObserveQuery, name: str, template: str,
          build: Any, **extra: Any) -> HTMLResponse:
    """``template`` with the values ``build(obs, period, t, links, outages)`` gives, cached per
    store version, filters and language."""
    observing = observing_of(request)
    t = texts(q.lang)
    links = Links(q, request.url.path)

    def compute(obs: Any, version: Any) -> dict[str, Any]:
        o = observing.prepared(obs, q)
        period = resolve_query(o, q)
        groups = sorted({s.group for s in obs.sensors if s.group})
        return {"period": period, "as_of": version.as_of, "groups": groups,
                **build(o, period, t, links, outages(obs, q, period))}

    values = observing.answer(("page", name, q.key(), q.lang, *extra.values()), compute)
    return render(request, template, user, lang=q.lang, t=t, q=q, links=links, filters=True, charts=True,
                  **values)


@router.get("/observe", response_class=HTMLResponse, openapi_extra=documented())
def overview_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                  ctx: WebContext = Depends(web)) -> HTMLResponse:
    return _page(request, ctx, user, q, "overview", "observe/overview.html.j2",
                 lambda o, p, t, links, gaps: {**pages.overview(o, p, q, t, links, gaps),
                                               "findings_src": links.api("findings")})


def _port_key(slug: str) -> str:
    key = key_from_slug(slug)
    if key is None:
        raise HTTPException(400, "a port key is written like 445-tcp, 5060-udp, 8-icmp or frag")
    return key


def _region_code(code: str) -> str:
    region = "--" if code == "unknown" else code.upper()
    if not (region == "--" or (len(region) == 2 and region.isascii() and region.isalpha())):
        raise HTTPException(400, "a region is an ISO 3166 alpha-2 code (JP, CN) or unknown")
    return region


@router.get("/observe/ports/{slug}", response_class=HTMLResponse, openapi_extra=documented())
def port_page(slug: str, request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
              ctx: WebContext = Depends(web)) -> HTMLResponse:
    key = _port_key(slug)
    return _page(request, ctx, user, q, "port", "observe/port.html.j2",
                 lambda o, p, t, links, gaps: {**pages.port(o, p, q, key, t, links, gaps), "label": key_label(key),
                                               "tables_src": links.tables()},
                 key=key)


@router.get("/observe/regions/{code}", response_class=HTMLResponse, openapi_extra=documented())
def region_page(code: str, request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                ctx: WebContext = Depends(web)) -> HTMLResponse:
    region = _region_code(code)
    return _page(request, ctx, user, q, "region", "observe/region.html.j2",
                 lambda o, p, t, links, gaps: {**pages.region(o, p, q, region, t, links, gaps),
                                               "tables_src": links.tables()},
                 region=region)


def _tables(request: Request, user: User, q: ObserveQuery, dimension: str, key: str, template: str,
            page: str) -> HTMLResponse:
    """The tables of a port or region page (an HTML fragment the page fetches after it is drawn:
    they take one pass per source over the key's packets), cached as the pages are."""
    observing = observing_of(request)
    full = full_sources(user)

    def compute(obs: Any, _version: Any) -> dict[str, Any]:
        o = observing.prepared(obs, q)
        return pages.key_tables(o, resolve_query(o, q), q, dimension, key, full_sources=full)

    values = observing.answer(("tables", dimension, key, full, q.key()), compute)
    return render(request, template, user, lang=q.lang, t=texts(q.lang), q=q, links=Links(q, page), **values)


@router.get("/observe/ports/{slug}/tables", response_class=HTMLResponse, openapi_extra=documented())
def port_tables(slug: str, request: Request, user: User = Depends(page_user),
                q: ObserveQuery = Depends(parse_query)) -> HTMLResponse:
    """A port page's tables: source ports, top sources (whole for handlers and admins and when
    TEITEN_WEB_VIEWER_SOURCES=full, else their /24 or /48), TTLs, fingerprinted shares, ASes."""
    return _tables(request, user, q, "ports", _port_key(slug), "observe/port_tables.html.j2",
                   request.url.path.removesuffix("/tables"))


@router.get("/observe/regions/{code}/tables", response_class=HTMLResponse, openapi_extra=documented())
def region_tables(code: str, request: Request, user: User = Depends(page_user),
                  q: ObserveQuery = Depends(parse_query)) -> HTMLResponse:
    """A region page's tables: its ports, ASes, TTLs and fingerprinted shares."""
    return _tables(request, user, q, "regions", _region_code(code), "observe/region_tables.html.j2",
                   request.url.path.removesuffix("/tables"))


@router.get("/observe/map", response_class=HTMLResponse, openapi_extra=documented())
def map_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
             ctx: WebContext = Depends(web)) -> HTMLResponse:
    return _page(request, ctx, user, q, "map", "observe/map.html.j2",
                 lambda o, p, t, links, _gaps: {"map": pages.world(o, p, q, t, links), "world": True})


@router.get("/observe/compare", response_class=HTMLResponse, openapi_extra=documented())
def compare_page(request: Request, a: str | None = None, b: str | None = None, user: User = Depends(page_user),
                 q: ObserveQuery = Depends(parse_query), ctx: WebContext = Depends(web)) -> HTMLResponse:
    observing = observing_of(request)
    t = texts(q.lang)
    links = Links(q, request.url.path)
    for v in (a, b):
        if v is not None and not PERIOD.fullmatch(v):
            raise HTTPException(400, "a and b are periods: 2026Q3 or 2026-07")

    def compute(obs: Any, version: Any) -> dict[str, Any]:
        o = narrowed(obs, q)
        last = resolve_query(o, ObserveQuery(period=b, tz=q.tz) if b else q)
        first = parse_period(a, q.tz) if a else (last.compared("previous") or last)
        return {"as_of": version.as_of, "sides": pages.compare(o, first, last, q)}

    values = observing.answer(("page", "compare", q.key(), a, b), compute)
    return render(request, "observe/compare.html.j2", user, lang=q.lang, t=t, q=q, links=links, filters=False,
                  charts=False, **values)


@router.get("/observe/findings", response_class=HTMLResponse, openapi_extra=documented(KIND_PARAM))
def findings_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                  ctx: WebContext = Depends(web)) -> HTMLResponse:
    period, version, found = period_findings(observing_of(request), q)
    kind = request.query_params.get("finding_kind")
    full = full_sources(user)
    rows = [{"id": fid, **shown(f, full)} for fid, f in found if kind is None or f.kind == kind]
    kinds = sorted({f.kind for _, f in found})
    return render(request, "observe/findings.html.j2", user, lang=q.lang, t=texts(q.lang), q=q,
                  links=Links(q, request.url.path), filters=True, charts=False, period=period,
                  as_of=version.as_of, rows=rows, kinds=kinds, kind=kind)


@router.get("/observe/findings/{fid}", response_class=HTMLResponse, openapi_extra=documented())
def finding_page(fid: str, request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                 ctx: WebContext = Depends(web)) -> HTMLResponse:
    check_finding_id(fid)
    o = observing_of(request)
    period, version, f = one_finding(o, q, fid)
    t = texts(q.lang)
    links = Links(q, request.url.path)

    def compute(obs: Any, _v: Any) -> tuple[list[dict[str, Any]], Any]:
        n = narrowed(obs, q)
        return daily_evidence(n, period, f, q.group), evidence_rows(n, period, f, q.group, 20)

    daily, sample = o.answer(("finding", fid, q.key()), compute)
    full = full_sources(user)
    fig = line_figure("evidence", f"{t['findings']}: {t['packets']}",
                      f"{sum(int(d['packets']) for d in daily):,} {t['packets']}", [d["day"] for d in daily],
                      {f.key or f.kind: [float(d["packets"]) for d in daily]}, x_name=f"{t['day']} ({period.tz})",
                      y_name=t["packets"], src=links.api(f"findings/{fid}"), digits=0)
    return render(request, "observe/finding.html.j2", user, lang=q.lang, t=t, q=q, links=links, filters=False,
                  charts=True, period=period, as_of=version.as_of, f={"id": fid, **shown(f, full)}, figures=[fig],
                  samples=sample_rows(sample, full), may_download=can_edit(user),
                  pcap="/api/v1/packets?" + urlencode({**q.params(), "finding": fid}))


@router.get("/observe/sensors", response_class=HTMLResponse, openapi_extra=documented())
def sensors_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                 ctx: WebContext = Depends(web)) -> HTMLResponse:
    period, version, data = sensors_answer(request, q)
    t = texts(q.lang)
    links = Links(q, request.url.path)
    per = list(data["sensors"].values())
    days = [d.isoformat() for d in period.day_list()]
    series = {s["sensor"]: [float(x["packets"]) for x in s["daily"]] for s in per if s["daily"]}
    fig = line_figure("sensor-daily", f"{t['sensors']}: {t['packets']}", f"{len(per)} {t['sensors']}, {period.label}",
                      days, series, x_name=f"{t['day']} ({period.tz})", y_name=t["packets"],
                      gaps=data["gap_days"], src=links.api("sensors"), digits=0)
    return render(request, "observe/sensors.html.j2", user, lang=q.lang, t=t, q=q, links=links, filters=True,
                  charts=True, period=period, as_of=version.as_of, health=data["health"], sensors=per, figures=[fig])


REPORT_NAME = re.compile(r"(?P<period>\d{4}(?:Q[1-4]|-\d\d))-(?P<style>npa|tsubame)-(?P<lang>ja|en)\.(?P<ext>pdf|html)")


def _reports_folder(request: Request) -> Path:
    return observing_of(request).store / "reports"


@router.get("/observe/reports", response_class=HTMLResponse, openapi_extra=documented())
def reports_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                 ctx: WebContext = Depends(web)) -> HTMLResponse:
    folder = _reports_folder(request)
    written = sorted((p for p in folder.glob("*") if REPORT_NAME.fullmatch(p.name)), key=lambda p: p.name,
                     reverse=True) if folder.exists() else []
    return render(request, "observe/reports.html.j2", user, lang=q.lang, t=texts(q.lang), q=q,
                  links=Links(q, request.url.path), filters=False, charts=False, written=written,
                  may_write=can_edit(user))


@router.post("/observe/reports")
def write_report_page(request: Request, period: str = Form(..., max_length=7), style: str = Form(...),
                      lang: str = Form(...), fmt: str = Form(...), token: str = Form(""),
                      user: User = Depends(editor), ctx: WebContext = Depends(web)) -> RedirectResponse:
    """Write the report of ``period`` into the store's reports/ (handlers and admins)."""
    from teiten.report.build import write_report

    check_csrf(request, token)
    if not PERIOD.fullmatch(period) or style not in ("npa", "tsubame") or lang not in ("ja", "en") \
            or fmt not in ("pdf", "html"):
        raise HTTPException(400, "a period (2026Q3, 2026-07), a style (npa, tsubame), ja or en, pdf or html")
    observing = observing_of(request)
    out = _reports_folder(request) / f"{period}-{style}-{lang}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    obs, _ = observing.observation()
    with observing.lock:
        write_report(obs, out, parse_period(period), style=style, lang=lang)
    return RedirectResponse(f"/observe/reports?lang={lang}", 303)


@router.get("/observe/reports/{name}")
def report_file(name: str, request: Request, user: User = Depends(page_user)) -> FileResponse:
    if not REPORT_NAME.fullmatch(name):
        raise HTTPException(400, "not a report's name")
    path = _reports_folder(request) / name
    if not path.is_file():
        raise HTTPException(404, f"no report {name}")
    media = "application/pdf" if name.endswith(".pdf") else "text/html; charset=utf-8"
    return FileResponse(path, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})
