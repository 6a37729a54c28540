"""The ranking of source autonomous systems in a period against the compared period: the
ports and regions rankings' numbers (:mod:`teiten.analyze.rankings`: per_ip_day, rank,
prev_rank, delta, change_pct, rise/fall ranks, by :func:`teiten.analyze.compare.compare_counts`)
per AS number of the sources, with the distinct sources of each.

Keys are ``AS4134``; ``--`` stands for sources whose AS is unknown. The AS numbers come from
the packets (the hourly roll-ups do not carry them), so this reads the period's packets once
per period compared.
"""

from __future__ import annotations

from typing import Any

from teiten.analyze.address_days import address_days
from teiten.analyze.compare import compare_counts
from teiten.analyze.rankings import Ranking
from teiten.engine.observation import Observation
from teiten.errors import TeitenError
from teiten.periods import Period

__all__ = ["UNKNOWN", "as_names", "asn_counts", "asn_key", "asn_ranking"]

#: The key of sources whose AS is unknown.
UNKNOWN = "--"


def asn_key(asn: int | None) -> str:
    """``AS4134`` for an AS number, ``--`` for none (null or 0)."""
    return f"AS{asn}" if asn else UNKNOWN


def asn_counts(obs: Observation, period: Period, group: str | None = None) -> dict[str, tuple[int, int]]:
    """Packets and distinct sources per AS key in the period."""
    t = obs.in_period(period, group)
    t = t.mutate(a=t.asn.cast("int64").fill_null(0))
    agg = t.group_by("a").aggregate(packets=t.count(), sources=t.src4.nunique() + t.src6.nunique()).to_pyarrow()
    out: dict[str, tuple[int, int]] = {}
    for a, n, s in zip(*(agg.column(c).to_pylist() for c in ("a", "packets", "sources")), strict=True):
        k = asn_key(int(a))
        old = out.get(k, (0, 0))
        out[k] = (old[0] + int(n), old[1] + int(s))
    return out


def as_names(obs: Observation, keys: set[str]) -> dict[str, str | None]:
    """The AS names the geo data has (None where it has none)."""
    from pathlib import Path

    from teiten.enrich.geo import load_geo

    store = obs.meta.get("store")
    try:
        geo = load_geo(Path(store) if store is not None else None)
    except (TeitenError, OSError, ValueError):  # names are a nicety: the numbers stand without them
        return {}
    return {k: geo.as_name(int(k[2:])) for k in keys if k != UNKNOWN}


def asn_ranking(obs: Observation, period: Period, *, compare: str = "previous",
                group: str | None = None) -> Ranking:
    """Every AS of either period, ranked as :func:`teiten.analyze.rankings.ranking` ranks
    ports: each row also has ``asn`` (None for ``--``), ``name``, ``sources`` and
    ``prev_sources``."""
    cur = asn_counts(obs, period, group)
    cur_days = address_days(obs, period, group)
    prev_period = None if compare == "none" else period.compared(compare)
    prev: dict[str, tuple[int, int]] | None = None
    prev_days: int | None = None
    if prev_period is not None:
        prev = asn_counts(obs, prev_period, group)
        prev_days = address_days(obs, prev_period, group) if prev else 0
        if not prev:
            prev = None
    prev_n = None if prev is None else {k: v[0] for k, v in prev.items()}
    cmp = compare_counts({k: v[0] for k, v in cur.items()}, prev_n, cur_days, prev_days)
    names = as_names(obs, {r["key"] for r in cmp.rows})
    rows: list[dict[str, Any]] = []
    for r in cmp.rows:
        k = r["key"]
        rows.append({**r, "asn": None if k == UNKNOWN else int(k[2:]), "name": names.get(k),
                     "sources": cur.get(k, (0, 0))[1],
                     "prev_sources": None if prev is None else prev.get(k, (0, 0))[1]})
    sensors = obs.sensor_names(group)
    meta = {"sensors": len(sensors) if sensors is not None else None,
            "geo_sources": obs.meta.get("geo_sources", [])}
    return Ranking("asns", period, prev_period, compare, group, cmp.total, rows, meta)
