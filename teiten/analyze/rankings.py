"""Top-N rankings of port keys and source regions over a time window.

Raw packet counts, with each row's share of the window's total and the
number of distinct sources; the period comparison of DESIGN §3 builds on this.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from teiten.enrich import country_name, key_label

__all__ = ["top_ports", "top_regions"]


def _window(start: datetime | None, end: datetime | None) -> tuple[str, list[object]]:
    where: list[str] = []
    params: list[object] = []
    if start is not None:
        where.append("ts >= ?")
        params.append(start)
    if end is not None:
        where.append("ts < ?")
        params.append(end)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def _top(db: duckdb.DuckDBPyConnection, expr: str, start: datetime | None, end: datetime | None,
         limit: int | None) -> list[dict[str, object]]:
    where, params = _window(start, end)
    lim = f" LIMIT {int(limit)}" if limit is not None else ""
    sql = (f"SELECT {expr} AS key, count(*) AS packets, count(DISTINCT src4) + count(DISTINCT src6) AS sources,"
           f" count(*) / sum(count(*)) OVER () AS share"
           f" FROM packets{where} GROUP BY 1 ORDER BY packets DESC, key{lim}")
    cur = db.execute(sql, params)
    cols = [d[0] for d in cur.description or ()]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def top_ports(db: duckdb.DuckDBPyConnection, start: datetime | None = None, end: datetime | None = None,
              limit: int | None = 10) -> list[dict[str, object]]:
    """Port keys by packets: key, label (IANA service), packets, sources, share."""
    rows = _top(db, "key", start, end, limit)
    for r in rows:
        r["label"] = key_label(str(r["key"]))
    return rows


def top_regions(db: duckdb.DuckDBPyConnection, start: datetime | None = None, end: datetime | None = None,
                limit: int | None = 10) -> list[dict[str, object]]:
    """Source countries by packets: key (ISO code, '--' unknown), names, packets, sources, share."""
    rows = _top(db, "coalesce(country, '--')", start, end, limit)
    for r in rows:
        code = None if r["key"] == "--" else str(r["key"])
        r["name_ja"] = country_name(code, "ja") if code else country_name(None, "ja")
        r["name_en"] = country_name(code, "en") if code else country_name(None, "en")
    return rows
