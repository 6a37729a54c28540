"""The embedded engine: DuckDB over the committed Parquet parts of a store.

``connect_store`` returns a DuckDB connection with these views:

``packets_raw``  the stored columns, exactly as in ``teiten.schema``
``packets``      the same plus ``src_ip``/``dst_ip`` (text), ``key`` (port key,
                 DESIGN §2) and ``day`` (UTC date)
``files``        the manifest of ingested files
``sensors``      the sensor catalog
``slots_raw``    the hourly roll-ups (``teiten.store.rollups``), only when every committed
                 file has them (a store from before them gets them at its next ingest)
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from teiten.errors import StoreError
from teiten.keys import KEY_SQL
from teiten.schema import packet_schema, slot_schema
from teiten.store.manifest import COMMITTED, LEGACY_PARTS_BELOW, connect
from teiten.store.rollups import files_without_slots

__all__ = ["connect_store", "memory_limit"]

_V4_TEXT = ("CAST(({c} >> 24) AS VARCHAR) || '.' || CAST((({c} >> 16) & 255) AS VARCHAR) || '.' || "
            "CAST((({c} >> 8) & 255) AS VARCHAR) || '.' || CAST(({c} & 255) AS VARCHAR)")


def _ip6_text(col: pa.Array) -> pa.Array:
    cache: dict[bytes, str] = {}
    out: list[str | None] = []
    for b in col.to_pylist():
        if b is None:
            out.append(None)
            continue
        s = cache.get(b)
        if s is None:
            s = cache[b] = str(ipaddress.IPv6Address(b))
        out.append(s)
    return pa.array(out, pa.string())


def _visible(store: Path) -> tuple[dict[str, list[Path] | None], str]:
    """The committed packet parts and roll-up parts, read in one transaction (a file
    committed meanwhile is in both or neither); roll-ups None when some committed file with
    packets has none.  The word says whether "none", "some" or "all" packet parts predate
    :data:`LATER_COLUMNS`."""
    if not (store / "manifest.sqlite").exists():
        raise StoreError(f"no store at {store} (run teiten ingest first)")
    con = connect(store)
    marks = ",".join("?" * len(COMMITTED))
    try:
        con.execute("BEGIN")
        rows = con.execute(
            "SELECT p.kind, p.path FROM parts p JOIN files f ON f.id = p.file_id"
            f" WHERE p.kind IN ('packets', 'slots') AND f.status IN ({marks}) ORDER BY p.path",
            COMMITTED).fetchall()
        missing = files_without_slots(con)
        below = con.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?",
                            (LEGACY_PARTS_BELOW,)).fetchone()
        legacy = "none"
        if below is not None:
            old, new = con.execute(
                "SELECT COALESCE(SUM(f.id < ?), 0), COALESCE(SUM(f.id >= ?), 0) FROM files f"
                f" WHERE f.status IN ({marks}) AND f.packets > 0", (below[0], below[0], *COMMITTED)).fetchone()
            legacy = "none" if not old else "all" if not new else "some"
        con.execute("COMMIT")
    finally:
        con.close()
    out: dict[str, list[Path] | None] = {"packets": [store / r[1] for r in rows if r[0] == "packets"],
                                         "slots": [store / r[1] for r in rows if r[0] == "slots"]}
    if missing:
        out["slots"] = None
    return out, legacy


#: packet columns that parts written before them lack, and what such parts read as: their
#: records all carried timestamps; the new header fields are unknown there
LATER_COLUMNS = {"ts_inferred": "false", "ip_flags": "CAST(NULL AS UTINYINT)",
                 "icmp_id": "CAST(NULL AS USMALLINT)", "icmp_seq": "CAST(NULL AS USMALLINT)"}


def _parquet_view(paths: list[Path], legacy: str = "none") -> str:
    """All parts as one relation; parts written before :data:`LATER_COLUMNS` existed
    (``legacy`` "some" or "all") read those columns as given there."""
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    if legacy == "all":
        added = ", ".join(f"{v} AS {k}" for k, v in LATER_COLUMNS.items())
        return f"SELECT *, {added} FROM read_parquet([{files}], hive_partitioning = true)"
    if legacy == "some":  # the newer parts have the columns: the older ones' rows read as null there
        filled = ", ".join(f"COALESCE({k}, {v}) AS {k}" for k, v in LATER_COLUMNS.items())
        return (f"SELECT * REPLACE ({filled})"
                f" FROM read_parquet([{files}], hive_partitioning = true, union_by_name = true)")
    return f"SELECT * FROM read_parquet([{files}], hive_partitioning = true)"


def memory_limit() -> str:
    """DuckDB's memory bound: TEITEN_MEMORY_LIMIT, else 40 % of the physical memory."""
    given = os.environ.get("TEITEN_MEMORY_LIMIT")
    if given:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", given.strip()):
            raise StoreError(f"TEITEN_MEMORY_LIMIT: a size such as 8GB, not {given!r}")
        return given.strip()
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total * 0.4) >> 20)}MiB"


def _spill_dir() -> str:
    path = Path(tempfile.gettempdir()) / f"teiten-spill-{os.getuid()}"
    path.mkdir(exist_ok=True)
    return str(path).replace("'", "''")


def connect_store(store: Path, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the store's views (see the module docstring)."""
    visible, legacy = _visible(store)
    parts = visible["packets"] or []
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute("SET parquet_metadata_cache = true")  # each part's footer read once per connection
    # big aggregations (one group per source on a wide telescope) spill to disk past this
    # bound instead of growing with the data (TEITEN_MEMORY_LIMIT, e.g. 8GB; default 40 % of RAM)
    db.execute(f"SET memory_limit = '{memory_limit()}'")
    db.execute(f"SET temp_directory = '{_spill_dir()}'")
    if threads:
        db.execute(f"SET threads = {int(threads)}")
    db.create_function("ip6_text", _ip6_text, [duckdb.sqltype("BLOB")], duckdb.sqltype("VARCHAR"),  # type: ignore[call-overload]
                       type="arrow", null_handling="special")
    if parts:
        db.execute(f"CREATE VIEW _packets_parts AS {_parquet_view(parts, legacy)}")
    else:
        db.register("_empty_packets", packet_schema().empty_table())
        db.execute("CREATE VIEW _packets_parts AS SELECT *, CAST(NULL AS DATE) AS date FROM _empty_packets")
    # ``date`` is the UTC day of the part's directory (packets/date=YYYY-MM-DD): a filter on it
    # skips whole files, footers unread
    db.execute("CREATE VIEW packets_raw AS SELECT * EXCLUDE (date) FROM _packets_parts")
    src = "CASE WHEN ip_version = 4 THEN " + _V4_TEXT.format(c="src4") + " ELSE ip6_text(src6) END"
    dst = "CASE WHEN ip_version = 4 THEN " + _V4_TEXT.format(c="dst4") + " ELSE ip6_text(dst6) END"
    db.execute(f"CREATE VIEW packets AS SELECT *, {src} AS src_ip, {dst} AS dst_ip, {KEY_SQL} AS key,"
               " CAST(ts AS DATE) AS day FROM packets_raw")
    slots = visible["slots"]
    if slots is not None:
        if slots:
            db.execute(f"CREATE VIEW slots_raw AS {_parquet_view(slots)}")
        else:
            db.register("_empty_slots", slot_schema().empty_table())
            db.execute("CREATE VIEW slots_raw AS SELECT *, CAST(NULL AS DATE) AS date FROM _empty_slots")
    sq = str(store / "manifest.sqlite").replace("'", "''")
    _attach_manifest(db, sq)
    return db


def _attach_manifest(db: duckdb.DuckDBPyConnection, path: str) -> None:
    """Expose the manifest's files and sensors tables (read through Python sqlite3)."""
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for name, sql in (("files", "SELECT * FROM files"), ("sensors", "SELECT * FROM sensors")):
            cur = con.execute(sql)
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
            data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
            db.register(f"_{name}", pa.table(data) if rows else pa.table({c: pa.array([], pa.string())
                                                                            for c in cols}))
            db.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
    finally:
        con.close()
