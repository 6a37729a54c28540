"""Time series of port keys or regions: daily (with 7-day averages), hourly, monthly.

Daily values are per day per sensor address (the denominator of that day, see
:mod:`teiten.analyze.address_days`); the 7-day average of a day is the mean of that day
and the six before it, computed from data before the period when the store has it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis

from teiten.analyze.address_days import address_days, addresses_by_day
from teiten.analyze.rankings import DIMENSIONS, counts
from teiten.engine.local_time import day_of, local_day, local_hour
from teiten.engine.observation import Observation, region_key
from teiten.keys import key_codes, key_text
from teiten.periods import Period

__all__ = ["MOVING_DAYS", "breakdown", "daily", "hourly", "monthly", "top_keys"]

#: Days in the moving average.
MOVING_DAYS = 7


def top_keys(obs: Observation, dimension: str, period: Period, n: int = 5, group: str | None = None) -> list[str]:
    """The ``n`` keys with the most packets in the period."""
    c = counts(obs, dimension, period, group)
    return [k for k, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def daily(obs: Observation, dimension: str, period: Period, keys: list[str] | None = None, *,
          top: int = 5, group: str | None = None, total: bool = False) -> dict[str, Any]:
    """Per day and key: packets, per_ip_day, ma7 (7-day average of per_ip_day).

    ``keys`` default to the period's ``top`` keys; ``total`` adds the key ``*`` (all packets).
    Returns ``{"period", "keys", "days", "rows": [{"day", "key", "packets", "addresses",
    "per_ip_day", "ma7"}]}``.
    """
    keys = keys if keys is not None else top_keys(obs, dimension, period, top, group)
    lead = Period("range", period.first - timedelta(days=MOVING_DAYS - 1), period.last, period.tz)
    col = DIMENSIONS[dimension]
    t, measure = obs.tally(lead, group)
    found: dict[tuple[date, str], int] = {}
    if keys:
        sel = t.filter(t[col].isin(keys))
        agg = sel.group_by(["day", col]).aggregate(packets=measure(sel)).to_pyarrow()
        for d, k, n in zip(*(agg.column(c).to_pylist() for c in ("day", col, "packets")), strict=True):
            found[(day_of(d), k)] = int(n)
    if total:
        agg = t.group_by("day").aggregate(packets=measure(t)).to_pyarrow()
        for d, n in zip(agg.column("day").to_pylist(), agg.column("packets").to_pylist(), strict=True):
            found[(day_of(d), "*")] = int(n)
    dens = addresses_by_day(obs, lead, group)
    days = lead.day_list()
    has_data = {d for d, _ in found} | {d for d, n in dens.items() if n}
    first_data = min(has_data) if has_data else period.first
    rows: list[dict[str, Any]] = []
    for k in [*keys, *(["*"] if total else [])]:
        window: list[float] = []
        for d in days:
            n = found.get((d, k), 0)
            den = dens.get(d, 0)
            v = n / den if den else None
            if d >= first_data:
                window = [*window[-(MOVING_DAYS - 1):], v if v is not None else 0.0]
            if d < period.first:
                continue
            ma = sum(window) / len(window) if window else None
            rows.append({"day": d.isoformat(), "key": k, "packets": n, "addresses": den, "per_ip_day": v,
                         "ma7": ma})
    return {"period": period.to_json(), "keys": keys, "days": [d.isoformat() for d in period.day_list()],
            "rows": rows}


def hourly(obs: Observation, dimension: str, period: Period, keys: list[str] | None = None, *,
           top: int = 5, group: str | None = None) -> dict[str, Any]:
    """Packets per local hour and key over the period, and the hour-of-day profile (0-23)."""
    keys = keys if keys is not None else top_keys(obs, dimension, period, top, group)
    col = DIMENSIONS[dimension]
    # the hourly roll-ups when they can stand for the packets (obs.counted); keys as codes
    t, measure = obs.counted(period, group)
    if not keys:
        t = t.filter(ibis.literal(False))
    elif dimension == "ports":
        t = t.filter(t.kc.isin(key_codes(keys)))
    else:
        t = t.filter(region_key(t).isin(keys))
    t = t.mutate(day=local_day(t, period), hour=local_hour(t, period))
    by = "kc" if dimension == "ports" else "country"
    agg = t.group_by(["day", "hour", by]).aggregate(packets=measure(t))
    agg = agg.select("day", "hour", "packets", **{col: key_text(agg.kc) if dimension == "ports" else region_key(agg)})
    agg = agg.to_pyarrow()
    rows = [{"day": day_of(d).isoformat(), "hour": int(h), "key": k, "packets": int(n)}
            for d, h, k, n in zip(*(agg.column(c).to_pylist() for c in ("day", "hour", col, "packets")), strict=True)]
    rows.sort(key=lambda r: (r["key"], r["day"], r["hour"]))
    profile: dict[str, list[int]] = {k: [0] * 24 for k in keys}
    for r in rows:
        profile[r["key"]][r["hour"]] += r["packets"]
    return {"period": period.to_json(), "keys": keys, "rows": rows, "profile": profile}


def monthly(obs: Observation, dimension: str, keys: list[str], *, tz: str = "UTC",
            group: str | None = None) -> dict[str, Any]:
    """Per month across all data: packets and per_ip_day of each key (long-term graph)."""
    span = obs.data_span()
    if span is None:
        return {"keys": keys, "rows": []}
    from teiten.periods import parse_period, zone

    z = zone(tz)
    first, last = span[0].astimezone(z).date(), span[1].astimezone(z).date()
    rows: list[dict[str, Any]] = []
    p = parse_period(f"{first.year}-{first.month:02d}", tz)
    while p.first <= last:
        c = counts(obs, dimension, p, group)
        den = address_days(obs, p, group)
        for k in keys:
            n = c.get(k, 0)
            rows.append({"month": p.label, "key": k, "packets": n, "address_days": den,
                         "per_ip_day": n / den if den else None})
        p = p.shifted(1)
    return {"keys": keys, "rows": rows}


def breakdown(obs: Observation, dimension: str, period: Period, key: str, *, top: int = 5,
              group: str | None = None) -> dict[str, Any]:
    """One key's daily per-day-per-address values split by its ``top`` keys of the other
    dimension, the rest as ``other`` (NPA Figures 3-4 to 3-9: a port by source region;
    3-13 to 3-17: a region by port)."""
    other_dim = "regions" if dimension == "ports" else "ports"
    col, ocol = DIMENSIONS[dimension], DIMENSIONS[other_dim]
    t, measure = obs.tally(period, group)
    t = t.filter(t[col] == key)
    agg = t.group_by(["day", ocol]).aggregate(packets=measure(t)).to_pyarrow()
    cells = list(zip(*(agg.column(c).to_pylist() for c in ("day", ocol, "packets")), strict=True))
    totals: dict[str, int] = {}
    for _, k, n in cells:
        totals[k] = totals.get(k, 0) + int(n)
    parts = [k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    dens = addresses_by_day(obs, period, group)
    days = period.day_list()
    index = {d: i for i, d in enumerate(days)}
    # packets summed per part and day, then divided: a sum of quotients would depend on the
    # order the engine returns the rows in
    counts: dict[str, list[int]] = {k: [0] * len(days) for k in [*parts, "other"]}
    for d, k, n in cells:
        day = day_of(d)
        if day in index:
            counts[k if k in parts else "other"][index[day]] += int(n)
    per_day = [dens.get(d, 0) for d in days]
    series = {k: [n / den if den else 0.0 for n, den in zip(v, per_day, strict=True)] for k, v in counts.items()}
    if not any(series["other"]):
        del series["other"]
    return {"period": period.to_json(), "key": key, "dimension": dimension, "by": other_dim,
            "days": [d.isoformat() for d in days], "series": series}
