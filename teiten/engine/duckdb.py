"""The embedded engine: DuckDB over the committed Parquet parts of a store.

``open_duckdb`` opens a store's :class:`~teiten.engine.observation.Observation` on it;
``connect_sql`` returns a DuckDB connection with these views (``teiten sql``):

``packets_raw``  the stored columns, exactly as in ``teiten.schema``
``packets``      the same plus ``src_ip``/``dst_ip`` (text), ``key`` (port key,
                 teiten.keys) and ``day`` (UTC date): teiten.engine.views, shared
                 with the Spark engine
``files``        the manifest of ingested files
``sensors``      the sensor catalog
``outbound``     packets the sensors sent (a responder's SYN-ACKs and RSTs), with the
                 columns of ``packets``; counted by no analysis
``slots_raw``    the hourly roll-ups (``teiten.store.rollups``), only when every committed
                 file has them (a store from before them gets them at its next ingest)
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from teiten.engine.observation import Observation, packets_table
from teiten.engine.views import DERIVED, ip6_texts, manifest_tables
from teiten.errors import SettingError, StoreError
from teiten.schema import packet_schema, rollup_schema
from teiten.settings import setting
from teiten.store.open import StoreState, read_state

__all__ = ["LATER_COLUMNS", "DuckDBEngine", "connect_sql", "memory_limit", "open_duckdb", "run_sql"]


def _ip6_text(col: pa.Array) -> pa.Array:
    return pa.array(ip6_texts(col.to_pylist()), pa.string())


#: packet columns that parts written before them lack, and what such parts read as: their
#: records all carried timestamps; the new header fields are unknown there
LATER_COLUMNS = {"ts_inferred": "false", "ip_flags": "CAST(NULL AS UTINYINT)",
                 "icmp_id": "CAST(NULL AS USMALLINT)", "icmp_seq": "CAST(NULL AS USMALLINT)"}


def _files(paths: list[Path]) -> str:
    """A SQL list of file names."""
    return ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)


def _parquet_view(paths: list[Path], legacy: str = "none") -> str:
    """All parts as one relation; parts written before :data:`LATER_COLUMNS` existed
    (``legacy`` "some" or "all") read those columns as given there."""
    files = _files(paths)
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
    given = setting("memory_limit")
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


def _connection(state: StoreState, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views of the module docstring over ``state``'s parts
    (all but ``files`` and ``sensors``)."""
    parts = state.packets
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
        db.execute(f"CREATE VIEW _packets_parts AS {_parquet_view(parts, state.legacy)}")
    else:
        db.register("_empty_packets", packet_schema().empty_table())
        db.execute("CREATE VIEW _packets_parts AS SELECT *, CAST(NULL AS DATE) AS date FROM _empty_packets")
    # ``date`` is the UTC day of the part's directory (packets/date=YYYY-MM-DD): a filter on it
    # skips whole files, footers unread
    db.execute("CREATE VIEW packets_raw AS SELECT * EXCLUDE (date) FROM _packets_parts")
    db.execute(f"CREATE VIEW packets AS SELECT *, {DERIVED} FROM packets_raw")
    if state.outbound:
        db.execute(f"CREATE VIEW outbound AS SELECT * EXCLUDE (date), {DERIVED}"
                   f" FROM read_parquet([{_files(state.outbound)}], hive_partitioning = true)")
    else:
        db.execute(f"CREATE VIEW outbound AS SELECT *, {DERIVED} FROM packets_raw WHERE false")
    rollups = state.rollups
    if rollups is not None:
        if rollups:
            db.execute(f"CREATE VIEW slots_raw AS {_parquet_view(rollups)}")
        else:
            db.register("_empty_slots", rollup_schema().empty_table())
            db.execute("CREATE VIEW slots_raw AS SELECT *, CAST(NULL AS DATE) AS date FROM _empty_slots")
    return db


def connect_sql(store: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every view of the module docstring: what ``teiten sql`` queries."""
    db = _connection(read_state(store))
    _attach_manifest(db, store)
    return db


def run_sql(store: Path, query: str) -> tuple[list[str], list[dict[str, Any]]] | None:
    """``query`` over :func:`connect_sql`'s views: its columns and rows (None when it returns none)."""
    db = connect_sql(store)
    try:
        rel = db.execute(query)
    except duckdb.Error as e:
        raise SettingError(f"SQL error: {e}") from None
    if rel.description is None:
        return None
    columns = [d[0] for d in rel.description]
    return columns, [dict(zip(columns, r, strict=True)) for r in rel.fetchall()]


class DuckDBEngine:
    """The embedded engine: one DuckDB connection and its Ibis backend."""

    name = "duckdb"

    def __init__(self, db: duckdb.DuckDBPyConnection) -> None:
        self.db = db
        self.backend = ibis.duckdb.from_connection(db)
        self._tables = itertools.count(1)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def materialize(self, expr: ir.Table, what: str) -> ir.Table:
        return self.backend.create_table(f"teiten_{what}_{next(self._tables)}", expr, temp=True)

    def batches(self, expr: ir.Table, rows: int) -> Iterator[pa.RecordBatch]:
        # ibis 12's own streaming calls a DuckDB method that DuckDB 2 removed; a cursor (a
        # second connection to the same database) keeps the main connection free for queries
        # while the stream is read (the stream cannot see temporary tables)
        yield from self.db.cursor().sql(str(self.backend.compile(expr))).to_arrow_reader(rows)

    @contextmanager
    def hinted(self, hint: str) -> Iterator[None]:
        # small_build_side: DuckDB's estimate of a filtered Parquet scan can make it hash the
        # big side of a join (the packets tested against a few (bucket, window) pairs: 1.6×
        # slower); without the build/probe side optimizer, the plan's order stands
        self.db.execute("SET disabled_optimizers = 'build_side_probe_side'")
        try:
            yield
        finally:
            self.db.execute("RESET disabled_optimizers")


def open_duckdb(store: Path, *, threads: int | None = None) -> Observation:
    """The store's observation on the embedded DuckDB engine (the manifest read once)."""
    state = read_state(store)
    db = _connection(state, threads=threads)
    engine = DuckDBEngine(db)
    # the analyses read the stored columns plus ts_us (µs since the epoch, an integer: day and
    # hour arithmetic on it is engine-neutral and cheap) and part_day, the UTC day of the part
    # a packet is stored in, for in_period to skip files
    db.execute("CREATE VIEW teiten_packets AS SELECT * EXCLUDE (date), date AS part_day, epoch_us(ts) AS ts_us"
               " FROM _packets_parts")
    rollups = None
    if state.rollups is not None:
        db.execute("CREATE VIEW teiten_slots AS SELECT * EXCLUDE (date, slot, kc), date AS part_day,"
                   " CAST(slot AS BIGINT) * 3600000000 AS ts_us, CAST(kc AS BIGINT) AS kc FROM slots_raw")
        rollups = engine.table("teiten_slots")
    return Observation(packets_table(engine.table("teiten_packets")), state.sensors,
                       {"geo_sources": state.geo_sources, "store": store}, engine, rollups=rollups)


def _attach_manifest(db: duckdb.DuckDBPyConnection, store: Path) -> None:
    """Expose the manifest's files and sensors tables."""
    for name, table in manifest_tables(store).items():
        db.register(f"_{name}", table)
        db.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
