"""The observation dashboard's pages (``/observe``…): server-rendered from the values of
:mod:`teiten.web.observe_pages`, every filter in the URL (a view is a permalink), for
any signed-in user; the charts drawn by ``/static/observe.js`` from JSON blocks in the page.
Sources are shown whole to handlers and admins, to viewers as their /24 (/48)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from teiten.enrich import key_label
from teiten.incidents.models import User
from teiten.keys import key_from_slug
from teiten.periods import parse_period
from teiten.web import observe_pages as pages
from teiten.web.assets import world_script
from teiten.web.auth import can_edit, page_user
from teiten.web.context import WebContext, render, web
from teiten.web.observe_links import Links
from teiten.web.observe_query import PERIOD, ObserveQuery, narrowed, parse_query, resolve_query
from teiten.web.observe_text import texts
from teiten.web.observing import Observing

__all__ = ["router"]

router = APIRouter()


def _observing(ctx: WebContext) -> Observing:
    if ctx.observing is None:
        raise HTTPException(404, "this server has no store (teiten serve --store)")
    return ctx.observing


def _page(request: Request, ctx: WebContext, user: User, q: ObserveQuery, name: str, template: str,
          build: Any, **extra: Any) -> HTMLResponse:
    """``template`` with the values ``build(obs, period, t, links)`` gives, cached per store
    version, filters and language."""
    observing = _observing(ctx)
    t = texts(q.lang)
    links = Links(q, request.url.path)

    def compute(obs: Any, version: Any) -> dict[str, Any]:
        o = narrowed(obs, q)
        period = resolve_query(o, q)
        groups = sorted({s.group for s in obs.sensors if s.group})
        return {"period": period, "as_of": version.as_of, "groups": groups, **build(o, period, t, links)}

    values = observing.answer(("page", name, q.key(), q.lang, *extra.values()), compute)
    return render(request, template, user, lang=q.lang, t=t, q=q, links=links, filters=True, charts=True,
                  **values)


@router.get("/observe", response_class=HTMLResponse)
def overview_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                  ctx: WebContext = Depends(web)) -> HTMLResponse:
    return _page(request, ctx, user, q, "overview", "observe/overview.html.j2",
                 lambda o, p, t, links: {**pages.overview(o, p, q, t, links), "findings": None})


@router.get("/observe/ports/{slug}", response_class=HTMLResponse)
def port_page(slug: str, request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
              ctx: WebContext = Depends(web)) -> HTMLResponse:
    key = key_from_slug(slug)
    if key is None:
        raise HTTPException(400, "a port key is written like 445-tcp, 5060-udp, 8-icmp or frag")
    full = can_edit(user)
    return _page(request, ctx, user, q, f"port-{full}", "observe/port.html.j2",
                 lambda o, p, t, links: {**pages.port(o, p, q, key, t, links, full_sources=full),
                                         "label": key_label(key)}, key=key)


@router.get("/observe/regions/{code}", response_class=HTMLResponse)
def region_page(code: str, request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
                ctx: WebContext = Depends(web)) -> HTMLResponse:
    region = "--" if code == "unknown" else code.upper()
    if not (region == "--" or (len(region) == 2 and region.isascii() and region.isalpha())):
        raise HTTPException(400, "a region is an ISO 3166 alpha-2 code (JP, CN) or unknown")
    return _page(request, ctx, user, q, "region", "observe/region.html.j2",
                 lambda o, p, t, links: pages.region(o, p, q, region, t, links), region=region)


@router.get("/observe/map", response_class=HTMLResponse)
def map_page(request: Request, user: User = Depends(page_user), q: ObserveQuery = Depends(parse_query),
             ctx: WebContext = Depends(web)) -> HTMLResponse:
    return _page(request, ctx, user, q, "map", "observe/map.html.j2",
                 lambda o, p, t, links: {"map": pages.world(o, p, q, t, links), "world": True})


@router.get("/observe/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: str | None = None, b: str | None = None, user: User = Depends(page_user),
                 q: ObserveQuery = Depends(parse_query), ctx: WebContext = Depends(web)) -> HTMLResponse:
    observing = _observing(ctx)
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


@router.get("/observe/world.js")
def world_js() -> Response:
    return Response(world_script(), media_type="text/javascript",
                    headers={"cache-control": "public, max-age=86400"})
