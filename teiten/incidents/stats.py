"""The quarterly (or monthly) statistics of JPCERT/CC's incident report of 2017Q4: reports, incidents and coordinations
per month against the previous period and the same period a year before (table 1),
incidents per category (table 2), phishing by brand origin and industry (table 3, figure 9),
scan incidents per port (table 4), coordination status (figure 8) and twelve-month trends
(figures 1, 2, 4–7).

A report counts in the month it was received, an incident in the month of its first report
(however many reports name it; an incident no report names, or one still ``proposed`` for a
handler to confirm, is not counted), a coordination
in the month it was sent; months are those of the period's time zone. The rows are read
once for the whole window (the year before the period up to its end) and counted here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from teiten.errors import InputError
from teiten.incidents.db import IncidentDB
from teiten.incidents.models import Coordination, Incident, IncidentPort, Report, report_incidents
from teiten.incidents.taxonomy import BRAND_ORIGINS, CATEGORIES
from teiten.periods import Period, parse_period, zone

__all__ = ["SCAN_PORTS", "incident_stats", "month_keys", "pct_change", "period_stats"]

#: Ports listed one by one in the scan table (the rest are ``other``).
SCAN_PORTS = 20


def month_keys(first: date, last: date) -> list[str]:
    """``YYYY-MM`` of every month from ``first`` to ``last``."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def pct_change(now: int, before: int) -> float | None:
    """The change from ``before`` to ``now`` in percent, one decimal; None when before is 0."""
    return round((now - before) * 100 / before, 1) if before else None


def _share(n: int, total: int) -> float:
    return round(n * 100 / total, 1) if total else 0.0


@dataclass(frozen=True)
class _Row:
    month: str
    values: tuple[Any, ...]


class _Counts:
    """Rows with their month, counted over any month list."""

    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows

    def months(self, months: list[str], keep: Any = None) -> dict[str, int]:
        c = Counter(r.month for r in self.rows if keep is None or keep(r.values))
        return {m: c.get(m, 0) for m in months}

    def total(self, months: list[str], keep: Any = None) -> int:
        return sum(self.months(months, keep).values())


def _months_before(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    return date(y, m + 1, 1)


def _monthly(t: datetime, tz: str) -> str:
    return t.astimezone(zone(tz)).strftime("%Y-%m")


def _of_category(code: str) -> Callable[[tuple[Any, ...]], bool]:
    """Whether an incident row (id, category, brand origin, industry) is of category ``code``."""
    return lambda v: bool(v[1] == code)


def _series(c: _Counts, months: list[str], prev: list[str], year: list[str], keep: Any = None) -> dict[str, Any]:
    total, p, y = c.total(months, keep), c.total(prev, keep), c.total(year, keep)
    return {"months": c.months(months, keep), "total": total, "previous_total": p,
            "change_pct_previous": pct_change(total, p), "year_ago_total": y, "change_pct_year": pct_change(total, y)}


def incident_stats(session: Session, period: Period) -> dict[str, Any]:
    """The statistics of ``period`` (a month or quarter, in its time zone) as JSON-ready dicts."""
    tz = period.tz
    prev_p, year_p = period.previous(), period.year_before()
    trend_first = _months_before(period.last, 11)  # twelve months up to the period's last
    months = month_keys(period.first, period.last)
    prev = month_keys(prev_p.first, prev_p.last)
    year = month_keys(year_p.first, year_p.last)
    trend = month_keys(trend_first, period.last)
    lo = min(year_p.start, prev_p.start, Period("range", trend_first, period.last, tz).start)
    hi = period.end

    reports = _Counts([_Row(_monthly(t, tz), ()) for (t,) in session.execute(
        select(Report.received_at).where(Report.received_at >= lo, Report.received_at < hi))])

    first = (select(report_incidents.c.incident_id.label("iid"), func.min(Report.received_at).label("t"))
             .join(Report, Report.id == report_incidents.c.report_id)
             .group_by(report_incidents.c.incident_id).subquery())
    inc_rows = session.execute(
        select(first.c.t, Incident.id, Incident.category, Incident.brand_origin, Incident.industry)
        .join(Incident, Incident.id == first.c.iid)
        .where(first.c.t >= lo, first.c.t < hi, Incident.status != "proposed")).all()
    incidents = _Counts([_Row(_monthly(r[0], tz), tuple(r[1:])) for r in inc_rows])
    month_of = {r[1]: _monthly(r[0], tz) for r in inc_rows}

    coord_rows = session.execute(
        select(Coordination.sent_at, Coordination.domestic, Coordination.status, Incident.category)
        .join(Incident, Incident.id == Coordination.incident_id)
        .where(Coordination.sent_at >= lo, Coordination.sent_at < hi)).all()
    coords = _Counts([_Row(_monthly(r[0], tz), tuple(r[1:])) for r in coord_rows if r[0] is not None])

    out: dict[str, Any] = {
        "period": period.to_json(), "months": months,
        "reports": _series(reports, months, prev, year),
        "incidents": _series(incidents, months, prev, year),
        "coordinations": _series(coords, months, prev, year),
    }
    n_inc = out["incidents"]["total"]
    cats: dict[str, Any] = {}
    for c in CATEGORIES:
        s = _series(incidents, months, prev, year, _of_category(c.code))
        cats[c.code] = {**s, "share_pct": _share(s["total"], n_inc)}
    out["categories"] = cats
    out["phishing"] = _phishing(incidents, coords, months, prev)
    out["scan_ports"] = _scan_ports(session, month_of, months)
    status = Counter(r.values[1] for r in coords.rows if r.month in months)
    out["coordination_status"] = dict(sorted(status.items(), key=lambda kv: (-kv[1], kv[0])))
    out["trend"] = {"months": trend, "reports": reports.months(trend), "incidents": incidents.months(trend),
                    "coordinations": coords.months(trend),
                    "categories": {c.code: incidents.months(trend, _of_category(c.code)) for c in CATEGORIES}}
    return out


def _phishing(incidents: _Counts, coords: _Counts, months: list[str], prev: list[str]) -> dict[str, Any]:
    def phish(v: tuple[Any, ...]) -> bool:
        return bool(v[1] == "phishing")

    total = incidents.total(months, phish)
    origins = {}
    for o in BRAND_ORIGINS:
        def keep(v: tuple[Any, ...], o: str = o) -> bool:
            return bool(v[1] == "phishing" and (v[2] or "unknown") == o)

        n = incidents.total(months, keep)
        p = incidents.total(prev, keep)
        origins[o] = {"months": incidents.months(months, keep), "total": n, "share_pct": _share(n, total),
                      "previous_total": p, "change_pct_previous": pct_change(n, p)}
    # industries: over the phishing sites whose industry is known (the 2017Q4 incident report's figure 9 is over
    # the sites whose brand was identified)
    ind = Counter(r.values[3] for r in incidents.rows if r.month in months and phish(r.values) and r.values[3])
    known = sum(ind.values())
    industries = {k: _share(n, known) for k, n in sorted(ind.items(), key=lambda kv: (-kv[1], kv[0]))}

    def split(ms: list[str]) -> dict[str, float]:
        rows = [r.values for r in coords.rows if r.month in ms and r.values[2] == "phishing"]
        dom = sum(1 for v in rows if v[0])
        return {"domestic_pct": _share(dom, len(rows)), "foreign_pct": _share(len(rows) - dom, len(rows)),
                "coordinations": len(rows)}

    return {"total": total, "brand_origin": origins, "industries": industries, "industries_known": known,
            "coordination": {**split(months), "previous": split(prev)}}


def _scan_ports(session: Session, month_of: dict[int, str], months: list[str]) -> list[dict[str, Any]]:
    """Seed 004's table 4: (scan incident, port) pairs per month, the top ports one by one."""
    ids = [i for i, m in month_of.items() if m in months]
    per: dict[str, Counter[str]] = {}
    step = 500  # ids per IN list
    for k in range(0, len(ids), step):
        rows = session.execute(
            select(IncidentPort.incident_id, IncidentPort.port).join(Incident, Incident.id == IncidentPort.incident_id)
            .where(Incident.category == "scan", IncidentPort.incident_id.in_(ids[k:k + step]))).all()
        for iid, port in rows:
            per.setdefault(port, Counter())[month_of[iid]] += 1

    def row(name: str, c: Counter[str]) -> dict[str, Any]:
        ms = {m: c.get(m, 0) for m in months}
        return {"port": name, "months": ms, "total": sum(ms.values())}

    def order(p: str) -> tuple[int, int, str]:
        num, _, proto = p.partition("/")
        return (-sum(per[p].values()), int(num), proto)

    ranked = sorted(per, key=order)
    out = [row(p, per[p]) for p in ranked[:SCAN_PORTS]]
    rest: Counter[str] = Counter()
    for p in ranked[SCAN_PORTS:]:
        rest.update(per[p])
    every: Counter[str] = Counter()
    for c in per.values():
        every.update(c)
    return [*out, row("other", rest), row("total", every)]


def period_stats(db: IncidentDB, period: str, tz: str) -> tuple[Period, dict[str, Any]]:
    """The period given as text (``2017Q4``, ``2017-10``) in zone ``tz``, and its statistics."""
    try:
        p = parse_period(period, tz)
        _ = p.year_before().start, p.end  # the window read: from a year before the period to its end
    except (ValueError, OverflowError):
        raise InputError(f"no statistics for {period!r}: the period and the year before it must lie within"
                         " the years 1 to 9999") from None
    with db.session() as s:
        return p, incident_stats(s, p)
