"""The observation dashboard's JSON API (docs/dashboard-api.md): every answer also as
``….csv`` of its rows, every one for a signed-in session or a read token, every filter of
:mod:`teiten.web.observe_query` in the URL.

- ``GET /api/v1/summary``: totals, top-10 ports and regions, the top-5 ports per day;
- ``GET /api/v1/rankings/{ports|regions|asns}`` (``?limit=N``): ``teiten top … --json``;
- ``GET /api/v1/series/{ports|regions}`` (``?keys=445/TCP,23/TCP&top=5&step=daily|hourly``);
- ``GET /api/v1/breakdown/{ports|regions}/{key}``: stacked by the other dimension, with the
  key's source-port and TTL mixes and fingerprint shares;
- ``GET /api/v1/heatmap/{ports|regions}/{key}``: packets per local hour × day;
- ``GET /api/v1/map``: per country, for a choropleth;
- ``GET /api/v1/compare?a=2026Q2&b=2026Q3``: two periods side by side.

A port key is written in a path as ``445-tcp`` (any case), a region as its alpha-2 code
(``unknown`` or ``--`` for unknown origin). The routes parse, ask
:class:`teiten.web.observing.Observing` for the answer (computed by
:mod:`teiten.web.observe_data` once per store version and filters) and wrap it with
:func:`teiten.web.observe_query.envelope`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from teiten.engine.observation import Observation
from teiten.errors import TeitenError
from teiten.incidents.models import User
from teiten.keys import key_from_slug, key_slug
from teiten.periods import Period, parse_period
from teiten.store.open import StoreVersion
from teiten.web import observe_data as od
from teiten.web.auth import observer
from teiten.web.context import observing_of
from teiten.web.observe_links import region_slug
from teiten.web.observe_query import (
    PERIOD,
    ObserveQuery,
    csv_text,
    documented,
    envelope,
    param,
    parse_query,
    resolve_query,
)
from teiten.web.outages import outages

__all__ = ["MAX_KEYS", "observer", "parse_key", "router"]

router = APIRouter()

#: Most keys one series answer follows.
MAX_KEYS = 20
#: Most top keys a series answer follows without ``keys``.
MAX_TOP = 50
PER_IP_DAY = "per_ip_day: packets per day per sensor address (packets / address_days)"
_FILE = re.compile(r"[^A-Za-z0-9_.-]")
_LIMIT = param("limit", "most rows (default: all, at most 100000)", pattern="[0-9]{1,6}")
_SERIES = (param("keys", f"the keys to follow, separated by commas (at most {MAX_KEYS})", maxLength=40 * MAX_KEYS),
           param("top", f"without keys: follow the top N (default 5, at most {MAX_TOP})", pattern="[0-9]{1,2}"),
           param("step", "daily (default) or hourly", enum=["daily", "hourly"]))
_SIDES = (param("a", "the earlier period (default: the one before b)", pattern=PERIOD.pattern),
          param("b", "the later period (default: the query's period)", pattern=PERIOD.pattern))


def _csv(segment: str) -> tuple[str, bool]:
    """A path's last segment without ``.csv``, and whether it had it."""
    return (segment[:-4], True) if segment.endswith(".csv") else (segment, False)


def _dimension(text: str, allowed: tuple[str, ...] = ("ports", "regions")) -> str:
    if text not in allowed:
        raise HTTPException(400, f"the dimension is one of {', '.join(allowed)}")
    return text


def parse_key(dimension: str, text: str) -> str:
    """The stored key of a key as a URL writes it (400 when it is not one): a port key as
    ``445-tcp`` or ``445/TCP`` (any case), a region as its alpha-2 code, ``unknown`` or ``--``."""
    if dimension == "ports":
        got = key_from_slug(text.replace("/", "-")) if len(text) <= 16 else None
        if got is None:
            raise HTTPException(400, "a port key is written like 445-tcp, 5060-udp, 8-icmp, 47-other or frag")
        return got
    if text.lower() == "unknown" or text == "--":
        return "--"
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    raise HTTPException(400, "a region is an ISO 3166 alpha-2 code (JP, CN), or unknown")


def _number(request: Request, name: str, default: int | None, most: int) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or len(text) > 7 or not 1 <= int(text) <= most:
        raise HTTPException(400, f"{name}: a whole number from 1 to {most}")
    return int(text)


def _filename(name: str, period: Period) -> str:
    return _FILE.sub("_", f"{name}-{period.label}")[:120] + ".csv"


Build = Callable[[Observation, Observation], od.Answer]


def _respond(request: Request, q: ObserveQuery, key: tuple[Any, ...], build: Build, *, csv: bool, name: str,
             page: str, units: str, check: Callable[[od.Answer], None] | None = None) -> Response:
    """The answer of ``build(narrowed observation, observation)``, computed once per store
    version, ``key`` and filters, as JSON in its envelope or as CSV."""
    o = observing_of(request)

    def compute(obs: Observation, version: StoreVersion) -> tuple[StoreVersion, od.Answer]:
        try:
            n = o.prepared(obs, q)
            return version, build(n, obs)
        except TeitenError as e:  # an unknown sensor group, a period out of reach
            raise HTTPException(400, str(e)) from None

    version, ans = o.answer(("api", *key, q.key()), compute)
    if check is not None:
        check(ans)
    if csv:
        text = o.encoded(("csv", *key, q.key()), lambda: csv_text(ans.rows, ans.columns))
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{_filename(name, ans.period)}"'})

    def body() -> bytes:  # kept encoded: a ranking of every key is megabytes
        return bytes(JSONResponse(envelope(q, ans.period, version, ans.data, page=page, units=units,
                                           address_days=ans.address_days, compared=ans.compared)).body)

    return Response(o.encoded(("json", *key, q.key(), q.lang), body), media_type="application/json")


def _gaps(obs: Observation, q: ObserveQuery, period: Period) -> list[str]:
    """The hours without a packet from a sensor (of the query's kind, every IP version)."""
    return outages(obs, q, period).iso()


def _has_packets(what: str) -> Callable[[od.Answer], None]:
    def check(ans: od.Answer) -> None:
        if not ans.data["packets"]:
            raise HTTPException(404, f"no packets of {what} in {ans.period.label}")
    return check


@router.get("/api/v1/summary", openapi_extra=documented())
@router.get("/api/v1/summary.csv", openapi_extra=documented())
def summary(request: Request, _user: User = Depends(observer), q: ObserveQuery = Depends(parse_query)) -> Response:
    return _respond(request, q, ("summary",), lambda n, _o: od.summary_data(n, resolve_query(n, q), q),
                    csv=request.url.path.endswith(".csv"), name="summary", page="/observe",
                    units=f"{PER_IP_DAY}; packets: packets in the period; share: of the period's packets")


@router.get("/api/v1/rankings/{dimension:path}", openapi_extra=documented(_LIMIT))
def rankings(dimension: str, request: Request, _user: User = Depends(observer),
             q: ObserveQuery = Depends(parse_query)) -> Response:
    dim, csv = _csv(dimension)
    dim = _dimension(dim, ("ports", "regions", "asns"))
    limit = _number(request, "limit", None, 100_000)
    return _respond(request, q, ("rankings", dim, limit),
                    lambda n, _o: od.ranking_data(n, resolve_query(n, q), q, dim, limit), csv=csv,
                    name=f"rankings-{dim}", page="/observe",
                    units=f"{PER_IP_DAY}; packets: packets in the period" + (
                        "; sources: distinct source addresses" if dim == "asns" else ""))


def _keys(request: Request, dimension: str) -> list[str] | None:
    text = request.query_params.get("keys")
    if not text:
        return None
    if len(text) > 40 * MAX_KEYS:
        raise HTTPException(400, f"keys: at most {MAX_KEYS} keys")
    got = [parse_key(dimension, k.strip()) for k in text.split(",") if k.strip()]
    if not got or len(got) > MAX_KEYS:
        raise HTTPException(400, f"keys: from 1 to {MAX_KEYS} keys, separated by commas")
    return list(dict.fromkeys(got))


@router.get("/api/v1/series/{dimension:path}", openapi_extra=documented(*_SERIES))
def series(dimension: str, request: Request, _user: User = Depends(observer),
           q: ObserveQuery = Depends(parse_query)) -> Response:
    dim, csv = _csv(dimension)
    dim = _dimension(dim)
    keys = _keys(request, dim)
    top = _number(request, "top", 5, MAX_TOP) or 5
    step = request.query_params.get("step") or "daily"
    if step not in ("daily", "hourly"):
        raise HTTPException(400, "step: daily or hourly")

    def build(n: Observation, obs: Observation) -> od.Answer:
        period = resolve_query(n, q)
        ans = od.series_data(n, period, q, dim, keys, top, step)
        gaps = _gaps(obs, q, period)
        return od.Answer(ans.period, {**ans.data, "gaps": gaps}, ans.rows, ans.columns, ans.address_days)

    units = (f"{PER_IP_DAY} per local day ({q.tz}); ma7: the mean of the day and the six before; packets: per day"
             if step == "daily" else f"packets per local hour ({q.tz})")
    return _respond(request, q, ("series", dim, tuple(keys or ()), top, step), build, csv=csv,
                    name=f"series-{dim}", page="/observe", units=units + "; gaps: UTC hours without a packet from"
                    " a sensor")


def _key_page(dimension: str, key: str) -> str:
    return f"/observe/ports/{key_slug(key)}" if dimension == "ports" else f"/observe/regions/{region_slug(key)}"


@router.get("/api/v1/breakdown/{dimension}/{key:path}", openapi_extra=documented())
def breakdown(dimension: str, key: str, request: Request, _user: User = Depends(observer),
              q: ObserveQuery = Depends(parse_query)) -> Response:
    dim = _dimension(dimension)
    text, csv = _csv(key)
    stored = parse_key(dim, text)
    return _respond(request, q, ("breakdown", dim, stored),
                    lambda n, _o: od.breakdown_data(n, resolve_query(n, q), q, dim, stored), csv=csv,
                    name=f"breakdown-{dim}-{key_slug(stored)}", page=_key_page(dim, stored),
                    units=f"series: {PER_IP_DAY} per local day, stacked by {'region' if dim == 'ports' else 'port'}"
                    " (the top 10, the rest as other); source_ports, ttl, fingerprints: packets and their shares"
                    " of the key's packets", check=_has_packets(stored))


@router.get("/api/v1/heatmap/{dimension}/{key:path}", openapi_extra=documented())
def heatmap(dimension: str, key: str, request: Request, _user: User = Depends(observer),
            q: ObserveQuery = Depends(parse_query)) -> Response:
    dim = _dimension(dimension)
    text, csv = _csv(key)
    stored = parse_key(dim, text)

    def build(n: Observation, obs: Observation) -> od.Answer:
        period = resolve_query(n, q)
        ans = od.heatmap_data(n, period, q, dim, stored)
        return od.Answer(period, {**ans.data, "gaps": _gaps(obs, q, period)}, ans.rows, ans.columns,
                         ans.address_days)

    return _respond(request, q, ("heatmap", dim, stored), build, csv=csv, name=f"heatmap-{dim}-{key_slug(stored)}",
                    page=_key_page(dim, stored),
                    units=f"packets per local hour of day ({q.tz}) and local day; gaps: UTC hours without a packet"
                    " from a sensor", check=_has_packets(stored))


@router.get("/api/v1/map", openapi_extra=documented())
@router.get("/api/v1/map.csv", openapi_extra=documented())
def world(request: Request, _user: User = Depends(observer), q: ObserveQuery = Depends(parse_query)) -> Response:
    return _respond(request, q, ("map",), lambda n, _o: od.map_data(n, resolve_query(n, q), q),
                    csv=request.url.path.endswith(".csv"), name="map", page="/observe/map",
                    units=f"{PER_IP_DAY}, per source country; share: of the period's packets")


def _side(request: Request, name: str) -> str | None:
    v = request.query_params.get(name) or None
    if v is not None and not PERIOD.fullmatch(v):
        raise HTTPException(400, f"{name}: a period, 2026Q3 or 2026-07")
    return v


@router.get("/api/v1/compare", openapi_extra=documented(*_SIDES))
@router.get("/api/v1/compare.csv", openapi_extra=documented(*_SIDES))
def compare(request: Request, _user: User = Depends(observer), q: ObserveQuery = Depends(parse_query)) -> Response:
    a, b = _side(request, "a"), _side(request, "b")

    def build(n: Observation, _o: Observation) -> od.Answer:
        last = resolve_query(n, ObserveQuery(period=b, tz=q.tz) if b else q)
        first = parse_period(a, q.tz) if a else last.compared(q.compare)
        return od.compare_data(n, first, last, q)

    return _respond(request, q, ("compare", a, b), build, csv=request.url.path.endswith(".csv"), name="compare",
                    page="/observe/compare", units=f"{PER_IP_DAY}; packets: packets in each period; share: of"
                    " each period's packets")
