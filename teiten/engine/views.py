"""The SQL text both engines' views are made of (``teiten sql``): DuckDB and Spark SQL read
the same expressions (``CAST(... AS STRING)``, ``>>``, ``||``), and each engine registers a
function ``ip6_text`` (16 bytes to an IPv6 address's text).

``packets`` and ``outbound`` are the stored columns plus :data:`DERIVED`; the other views
(``packets_raw``, ``files``, ``sensors``, ``slots_raw``) are described in
``teiten.engine.duckdb``.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from teiten.keys import KEY_SQL

__all__ = ["DERIVED", "SQL_VIEWS", "ip6_texts", "manifest_tables", "v4_text"]

#: The views ``teiten sql`` queries, on every engine.
SQL_VIEWS = ("packets_raw", "packets", "files", "sensors", "outbound", "slots_raw")


def v4_text(c: str) -> str:
    """The dotted text of the IPv4 address in integer column ``c``."""
    return (f"CAST(({c} >> 24) AS STRING) || '.' || CAST((({c} >> 16) & 255) AS STRING) || '.' || "
            f"CAST((({c} >> 8) & 255) AS STRING) || '.' || CAST(({c} & 255) AS STRING)")


def _ip_text(v4: str, v6: str) -> str:
    return f"CASE WHEN ip_version = 4 THEN {v4_text(v4)} ELSE ip6_text({v6}) END"


#: The columns ``packets`` adds to the stored ones: ``src_ip``/``dst_ip`` (text), ``key``
#: (the port key, teiten.keys) and ``day`` (the UTC date).
DERIVED = (f"{_ip_text('src4', 'src6')} AS src_ip, {_ip_text('dst4', 'dst6')} AS dst_ip, {KEY_SQL} AS key,"
           " CAST(ts AS DATE) AS day")


def ip6_texts(values: Iterable[bytes | None]) -> list[str | None]:
    """The text of each 16-byte IPv6 address (None stays None); what ``ip6_text`` computes."""
    cache: dict[bytes, str] = {}
    out: list[str | None] = []
    for b in values:
        if b is None:
            out.append(None)
            continue
        s = cache.get(b)
        if s is None:
            s = cache[b] = str(ipaddress.IPv6Address(bytes(b)))
        out.append(s)
    return out


def manifest_tables(store: Path) -> dict[str, pa.Table]:
    """The manifest's ``files`` and ``sensors`` tables as they are (read only; an empty one
    with its columns as text)."""
    con = sqlite3.connect(f"file:{store / 'manifest.sqlite'}?mode=ro", uri=True)
    out: dict[str, pa.Table] = {}
    try:
        for name in ("files", "sensors"):
            cur = con.execute(f"SELECT * FROM {name}")
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
            out[name] = (pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}) if rows
                         else pa.table({c: pa.array([], pa.string()) for c in cols}))
    finally:
        con.close()
    return out
