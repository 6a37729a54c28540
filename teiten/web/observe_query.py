"""The filters of every observation page and API answer, and the envelope of the answers.

Every filter is in the URL, so a view is a permalink: ``period`` (``2026Q3``, ``2026-07``),
or ``from``/``to`` (days), ``tz``, ``group`` (sensor group), ``kind`` (``passive`` /
``responder``), ``ip`` (``4`` / ``6``), ``compare`` (``previous`` / ``year``), ``lang``
(``ja`` / ``en``; default from Accept-Language). :func:`parse_query` reads them (a 400
for a value that is not one of these), :meth:`ObserveQuery.params` writes them back, and
:func:`envelope` wraps an answer: ``query``, ``permalink`` (the page that shows it),
``data_as_of`` (when the store's last file was committed), ``address_days`` and ``units``
around ``data``. :func:`csv_text` is the ``.csv`` form of an answer's rows.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request

from teiten.engine.observation import Observation
from teiten.errors import TeitenError
from teiten.periods import Period, resolve, zone
from teiten.store.open import StoreVersion

__all__ = ["PERIOD", "ObserveQuery", "csv_text", "documented", "envelope", "narrowed", "param", "parse_query",
           "resolve_query"]

#: A year of observation (capture time stamps count from 1970).
_YEAR = r"(?:19[7-9]\d|2\d{3})"
#: A period as a URL gives it: a quarter or a month.
PERIOD = re.compile(_YEAR + r"(?:Q[1-4]|-(?:0[1-9]|1[0-2]))")
_DAY = re.compile(_YEAR + r"-\d\d-\d\d")
_WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def param(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    """An OpenAPI query parameter (``schema``: its JSON schema; a ``pattern`` is anchored)."""
    if isinstance(schema.get("pattern"), str):
        schema["pattern"] = f"^{schema['pattern']}$"
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


#: The filters as OpenAPI parameters: :func:`parse_query` reads them from the request (a
#: 400, not FastAPI's 422, for a bad value), so FastAPI cannot see them; each route names
#: them with ``openapi_extra=documented(...)``.
FILTERS = (
    param("period", "a quarter or a month: 2026Q3, 2026-07 (default: the data's last full quarter)",
          pattern=PERIOD.pattern),
    param("from", "first day of a range, YYYY-MM-DD (with `to`, instead of `period`)", pattern=_DAY.pattern),
    param("to", "last day of a range, YYYY-MM-DD", pattern=_DAY.pattern),
    param("tz", "IANA time zone of the days (default UTC)", maxLength=64),
    param("group", "a sensor group", pattern=_WORD.pattern),
    param("kind", "sensor kind", enum=["passive", "responder"]),
    param("ip", "IP version", enum=["4", "6"]),
    param("compare", "what the change is against", enum=["previous", "year"]),
    param("lang", "language of the labels (default from Accept-Language)", enum=["ja", "en"]),
)


def documented(*extra: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads the filters and the parameters ``extra``."""
    return {"parameters": [*FILTERS, *extra]}


@dataclass(frozen=True)
class ObserveQuery:
    """The filters of a request (None: not given)."""

    period: str | None = None
    first: str | None = None
    last: str | None = None
    tz: str = "UTC"
    group: str | None = None
    kind: str | None = None
    ip: int | None = None
    compare: str = "previous"
    lang: str = "en"

    def params(self, **changes: Any) -> dict[str, str]:
        """The filters as URL parameters (the defaults left out), with ``changes``."""
        q = replace(self, **changes)
        out = {"period": q.period, "from": q.first, "to": q.last, "tz": None if q.tz == "UTC" else q.tz,
               "group": q.group, "kind": q.kind, "ip": None if q.ip is None else str(q.ip),
               "compare": None if q.compare == "previous" else q.compare, "lang": q.lang}
        return {k: v for k, v in out.items() if v is not None}

    def url(self, path: str, **changes: Any) -> str:
        """``path`` with the filters: a permalink."""
        p = self.params(**changes)
        return path + ("?" + urlencode(p) if p else "")

    def key(self) -> tuple[Any, ...]:
        """The filters as a cache key (the language does not change the numbers)."""
        d = asdict(self)
        del d["lang"]
        return tuple(sorted(d.items()))


def _lang(request: Request) -> str:
    given = request.query_params.get("lang")
    if given is not None:
        if given not in ("ja", "en"):
            raise HTTPException(400, "lang: ja or en")
        return given
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].strip().lower()
    return "ja" if first.startswith("ja") else "en"


def parse_query(request: Request) -> ObserveQuery:
    """The filters of ``request`` (a dependency); 400 for a value out of their forms."""
    p = request.query_params

    def word(name: str, pattern: re.Pattern[str] = _WORD) -> str | None:
        v = p.get(name)
        if v is None or v == "":
            return None
        if not pattern.fullmatch(v):
            raise HTTPException(400, f"{name}: not a valid value")
        return v

    tz = p.get("tz") or "UTC"
    try:
        zone(tz)
    except TeitenError:
        raise HTTPException(400, "tz: not a time zone name (e.g. Asia/Tokyo)") from None
    kind, ip, compare = p.get("kind") or None, p.get("ip") or None, p.get("compare") or "previous"
    if kind not in (None, "passive", "responder"):
        raise HTTPException(400, "kind: passive or responder")
    if ip not in (None, "4", "6"):
        raise HTTPException(400, "ip: 4 or 6")
    if compare not in ("previous", "year"):
        raise HTTPException(400, "compare: previous or year")
    q = ObserveQuery(word("period", PERIOD), word("from", _DAY), word("to", _DAY), tz, word("group"), kind,
                     None if ip is None else int(ip), compare, _lang(request))
    if q.period and (q.first or q.last):
        raise HTTPException(400, "give a period or from/to, not both")
    return q


def narrowed(obs: Observation, q: ObserveQuery) -> Observation:
    """``obs`` narrowed to the query's sensor kind and IP version (400 when the catalog has
    no such sensor)."""
    try:
        obs = obs.of_kind(q.kind)
    except TeitenError as e:
        raise HTTPException(400, str(e)) from None
    if q.ip is not None:
        obs = obs.of_version(q.ip)
    return obs


def resolve_query(obs: Observation, q: ObserveQuery) -> Period:
    """The query's period (without one: the last full quarter of the data, else all of it)."""
    try:
        if q.period is None and q.first is None and q.last is None:
            span = obs.data_span()
            if span is None:
                raise HTTPException(404, "the store holds no packets yet")
            return resolve(None, None, None, q.tz, lambda: span)
        return resolve(q.period, q.first, q.last, q.tz, obs.data_span)
    except TeitenError as e:
        raise HTTPException(400, str(e)) from None


def envelope(q: ObserveQuery, period: Period, version: StoreVersion, data: Any, *, page: str, units: str,
             address_days: int | None = None, compared: Period | None = None) -> dict[str, Any]:
    """An answer with what it answers: the query, the page that shows it, the data's age."""
    return {"query": {**q.params(), "period_label": period.label, "first": period.first.isoformat(),
                      "last": period.last.isoformat(),
                      "compared": None if compared is None else compared.label},
            "permalink": q.url(page), "data_as_of": version.as_of, "address_days": address_days,
            "units": units, "data": data}


def csv_text(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Rows as CSV (the columns of the first row unless given); cells that a spreadsheet
    would run as a formula (``=``, ``+``, ``-``, ``@`` first) are quoted with a ``'``."""
    cols = columns or (list(rows[0]) if rows else [])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            s = "" if v is None else str(v)
            if isinstance(v, str) and s[:1] in ("=", "+", "-", "@", "\t", "\r"):
                s = "'" + s
            cells.append(s)
        w.writerow(cells)
    return out.getvalue()
