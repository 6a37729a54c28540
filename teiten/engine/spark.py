"""The scale-out engine: Apache Spark (pyspark, through Ibis's pyspark backend) over the
committed Parquet parts of a store, locally (``local[*]``) or on a cluster (a master URL).

``open_spark`` opens a store's :class:`~teiten.engine.observation.Observation` on it, with
the same ``packets`` and roll-ups as ``teiten.engine.duckdb.open_duckdb``; ``run_sql`` runs
Spark SQL over the views of ``teiten sql`` (teiten.engine.views). What differs from DuckDB
is handled here, not in the analyses:

- the parts read are exactly the manifest's committed files (never a directory listing),
  with the schema of ``teiten.schema`` given, so that an empty store needs no inference
  and parts written before :data:`~teiten.engine.duckdb.LATER_COLUMNS` read those
  columns as null (``ts_inferred`` as false);
- Spark has no unsigned integers: uint8/16/32 columns read as short/int/bigint, binary(16)
  as binary, dictionary columns as text; the values are the same;
- Spark's timestamps are instants shown in the session's zone (UTC): Ibis sees them as
  UTC timestamps, as it sees DuckDB's;
- results come back through Arrow (``DataFrame.toArrow``), and a stream of batches is
  encoded on the executors and fetched one partition at a time (never the whole result
  in the driver);
- a materialised table is a cached DataFrame behind a temporary view (the pyspark backend
  has no temporary tables);
- ``bit_or`` (and ``bit_and``/``bit_xor``) compile to Spark's aggregates.

One SparkSession per process (:func:`spark_session`, stopped by :func:`stop_spark`); each
opened store gets its own child session (``newSession``: its own temporary views, the
same SparkContext).
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.pyspark import Backend as _PySparkBackend
from ibis.backends.sql.compilers.pyspark import PySparkCompiler
from ibis.formats.pyarrow import PyArrowData

from teiten.engine.observation import Observation, packets_table
from teiten.engine.views import DERIVED, ip6_texts, manifest_tables
from teiten.errors import SettingError, StoreError
from teiten.schema import packet_schema, rollup_schema
from teiten.store.open import StoreState, read_state

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

__all__ = ["SparkEngine", "default_conf", "open_spark", "run_sql", "spark_session", "stop_spark"]

_SESSION: list[SparkSession] = []  # the process's session, once made


# -- the session ---------------------------------------------------------------------------

def _local_cores(master: str) -> int | None:
    """The cores of a local master (``local``, ``local[N]``, ``local[*]``, ``local[N,F]``), else None."""
    m = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master.strip())
    if m is None:
        return None
    return os.cpu_count() or 1 if m.group(1) in (None, "*") else max(1, int(m.group(1)))


def _driver_memory() -> str:
    """The driver's heap: TEITEN_MEMORY_LIMIT as for DuckDB, else 40 % of the physical memory
    (in local mode the executors run in the driver)."""
    from teiten.engine.duckdb import memory_limit

    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B)", memory_limit()).groups()  # type: ignore[union-attr]
    power = "KMGT".index(unit[0]) + 1
    size = float(number) * (1024 ** power if "i" in unit else 1000 ** power)
    return f"{max(512, int(size) >> 20)}m"


def default_conf(master: str = "local[*]") -> dict[str, str]:
    """The session settings teiten starts Spark with (given ``conf`` overrides them): UTC,
    Arrow on, no UI, ANSI off (a division by zero is null, as in DuckDB), the parts' file
    list kept on the driver; in local mode ~2 shuffle partitions per core (not 200), a heap
    within the machine and the driver on the loopback address."""
    conf = {
        "spark.app.name": "teiten",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.ansi.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # the committed parts are listed by the manifest: no listing job for thousands of paths
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
        "spark.sql.adaptive.enabled": "true",
    }
    cores = _local_cores(master)
    if cores is not None:
        conf.update({
            "spark.sql.shuffle.partitions": str(2 * cores),
            "spark.default.parallelism": str(2 * cores),
            "spark.driver.memory": _driver_memory(),
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        })
    return conf


def spark_session(master: str = "local[*]", conf: Mapping[str, str] | None = None) -> SparkSession:
    """The process's SparkSession, started on ``master`` with :func:`default_conf` and
    ``conf`` the first time, reused after (a session already running, e.g. under
    spark-submit, is reused as it is)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SettingError("the Spark engine needs pyspark: pip install 'teiten[spark]' (and a Java 17 runtime)"
                           ) from None
    if _SESSION:
        return _SESSION[0]
    # the executors' Python workers (Arrow streams, the ip6_text function) run this interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if _local_cores(master) is not None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master)
    for k, v in {**default_conf(master), **(conf or {})}.items():
        builder = builder.config(k, v)
    try:
        session = builder.getOrCreate()
    except Exception as e:  # no Java, a master that does not answer
        raise SettingError(f"cannot start Spark on {master}: {e}") from None
    session.sparkContext.setLogLevel("ERROR")
    _SESSION.append(session)
    return session


def stop_spark() -> None:
    """Stop the process's SparkSession (a later :func:`spark_session` starts a new one)."""
    while _SESSION:
        _SESSION.pop().stop()


# -- Ibis's pyspark backend, with what teiten needs of it ---------------------------------

class _Compiler(PySparkCompiler):  # type: ignore[misc]
    """Ibis 12's PySpark compiler plus the bitwise aggregates (Spark SQL has had them since 3.0)."""

    __slots__ = ()

    SIMPLE_OPS = PySparkCompiler.SIMPLE_OPS | {ops.BitOr: "bit_or", ops.BitAnd: "bit_and", ops.BitXor: "bit_xor"}


def _utc(schema: sch.Schema) -> sch.Schema:
    """``schema`` with Spark's timestamps (instants in µs, shown in the session's zone, UTC) as UTC."""
    return sch.Schema({n: dt.Timestamp(timezone="UTC", scale=6 if t.scale is None else t.scale, nullable=t.nullable)
                       if t.is_timestamp() and t.timezone is None else t for n, t in schema.items()})


def _to_arrow(df: DataFrame) -> pa.Table:
    to_arrow: Any = getattr(df, "toArrow", None)  # pyspark >= 4.0
    if to_arrow is not None:
        table: pa.Table = to_arrow()
        return table
    collect: Any = df._collect_as_arrow  # pyspark 3.5
    return pa.Table.from_batches(collect(), _arrow_schema(df.schema))


def _arrow_schema(struct: StructType) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(struct)


def _stream(df: DataFrame, rows: int) -> Iterator[pa.RecordBatch]:
    """``df``'s rows as Arrow batches of at most ``rows`` rows, read one partition at a time:
    on the executors, a partition's batches become Arrow IPC streams of about ``rows`` rows,
    one binary value each (few values cross to the driver, whatever the rows)."""

    def encode(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # pickled with the query (by value, as a nested function): the executors need pyarrow only
        held: list[pa.RecordBatch] = []
        n = 0
        for b in batches:
            held.append(b)
            n += b.num_rows
            if n >= rows:
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, held[0].schema) as w:
                    for x in held:
                        w.write_batch(x)
                yield pa.record_batch([pa.array([sink.getvalue().to_pybytes()], pa.binary())], names=["ipc"])
                held, n = [], 0
        if held:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, held[0].schema) as w:
                for x in held:
                    w.write_batch(x)
            yield pa.record_batch([pa.array([sink.getvalue().to_pybytes()], pa.binary())], names=["ipc"])

    for row in df.mapInArrow(encode, "ipc binary").toLocalIterator():
        with pa.ipc.open_stream(row.ipc) as r:
            for b in r:
                for start in range(0, b.num_rows, rows):
                    yield b.slice(start, rows)


class _Backend(_PySparkBackend):  # type: ignore[misc]
    """Ibis's pyspark backend whose timestamps are UTC, whose results come through Arrow and
    whose streams of batches stream."""

    compiler = _Compiler()

    def get_schema(self, table_name: str, *, catalog: str | None = None, database: str | None = None) -> sch.Schema:
        return _utc(super().get_schema(table_name, catalog=catalog, database=database))

    def _get_schema_using_query(self, query: str) -> sch.Schema:
        return _utc(super()._get_schema_using_query(query))

    def _frame(self, expr: ir.Expr, params: Mapping[ir.Scalar, Any] | None = None, limit: int | str | None = None,
               **kwargs: Any) -> DataFrame:
        table = expr.as_table()
        self._run_pre_execute_hooks(table)
        df: DataFrame = self._session.sql(self.compile(table, params=params, limit=limit, **kwargs))
        return df

    def to_pyarrow(self, expr: ir.Expr, /, *, params: Mapping[ir.Scalar, Any] | None = None,
                   limit: int | str | None = None, **kwargs: Any) -> Any:
        schema = expr.as_table().schema()
        table = PyArrowData.convert_table(_to_arrow(self._frame(expr, params, limit, **kwargs)), schema)
        return expr.__pyarrow_result__(table)

    def to_pyarrow_batches(self, expr: ir.Expr, /, *, params: Mapping[ir.Scalar, Any] | None = None,
                           limit: int | str | None = None, chunk_size: int = 1_000_000,
                           **kwargs: Any) -> pa.ipc.RecordBatchReader:
        target = expr.as_table().schema().to_pyarrow()
        df = self._frame(expr, params, limit, **kwargs)
        batches = (PyArrowData.convert_table(pa.Table.from_batches([b]), expr.as_table().schema()).to_batches()
                   for b in _stream(df, chunk_size))
        return pa.ipc.RecordBatchReader.from_batches(target, (x for bs in batches for x in bs))


def _same_types(a: dt.DataType, b: dt.DataType) -> bool:
    return bool(a.copy(nullable=True) == b.copy(nullable=True))


class SparkEngine:
    """The Spark engine: a child session of the process's SparkSession and its Ibis backend."""

    name = "spark"

    def __init__(self, session: SparkSession) -> None:
        self.session = session
        self.backend = _Backend().connect(session)
        self._tables = itertools.count(1)
        self._cached: list[DataFrame] = []
        # the cached results are let go with the engine (the observation that holds it)
        weakref.finalize(self, _unpersist, self._cached)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def materialize(self, expr: ir.Table, what: str) -> ir.Table:
        df = self.backend._frame(expr).cache()
        df.count()  # computed now, once
        self._cached.append(df)
        name = f"teiten_{what}_{next(self._tables)}"
        df.createOrReplaceTempView(name)
        t = self.table(name)
        # the expression's types where Spark's differ (its timestamps, its integer widths)
        want = expr.schema()
        cast = {c: want[c] for c in want.names if not _same_types(t.schema()[c], want[c])}
        return t.cast(cast) if cast else t

    def batches(self, expr: ir.Table, rows: int) -> Iterator[pa.RecordBatch]:
        yield from self.backend.to_pyarrow_batches(expr, chunk_size=rows)

    def hinted(self, hint: str) -> AbstractContextManager[None]:
        # small_build_side: Spark broadcasts the small side of a join by its size estimate
        return nullcontext()

    def close(self) -> None:
        """Let go of the cached results now."""
        _unpersist(self._cached)


def _unpersist(frames: list[DataFrame]) -> None:
    while frames:
        with suppress(Exception):  # the session may be gone already
            frames.pop().unpersist()


# -- the store's tables ----------------------------------------------------------------------

def _spark_type(t: pa.DataType) -> DataType:
    """The Spark type a Parquet column of Arrow type ``t`` reads as."""
    from pyspark.sql import types as st

    if pa.types.is_dictionary(t):
        return _spark_type(t.value_type)
    simple: list[tuple[Any, DataType]] = [
        (pa.types.is_boolean, st.BooleanType()), (pa.types.is_int8, st.ByteType()), (pa.types.is_int16, st.ShortType()),
        (pa.types.is_int32, st.IntegerType()), (pa.types.is_int64, st.LongType()),
        (pa.types.is_uint8, st.ShortType()), (pa.types.is_uint16, st.IntegerType()),
        (pa.types.is_uint32, st.LongType()), (pa.types.is_uint64, st.DecimalType(20, 0)),
        (pa.types.is_float32, st.FloatType()), (pa.types.is_float64, st.DoubleType()),
        (pa.types.is_string, st.StringType()), (pa.types.is_large_string, st.StringType()),
        (pa.types.is_binary, st.BinaryType()), (pa.types.is_fixed_size_binary, st.BinaryType()),
        (pa.types.is_large_binary, st.BinaryType()), (pa.types.is_timestamp, st.TimestampType()),
        (pa.types.is_date32, st.DateType()),
    ]
    for test, out in simple:
        if test(t):
            return out
    raise StoreError(f"no Spark type for the stored type {t}")


def _struct(schema: pa.Schema, partitioned: bool = True) -> StructType:
    """The Spark schema of parts of Arrow ``schema``, with ``date`` (the UTC day of the part's
    directory, ``date=YYYY-MM-DD``) when ``partitioned``."""
    from pyspark.sql import types as st

    fields = [st.StructField(f.name, _spark_type(f.type), True) for f in schema]
    if partitioned:
        fields.append(st.StructField("date", st.DateType(), True))
    return st.StructType(fields)


def _parts(session: SparkSession, paths: list[Path], schema: pa.Schema, base: Path) -> DataFrame:
    """Exactly the parts ``paths`` (under ``base``, by day), read with ``schema``: nothing
    inferred, nothing listed beyond them; no parts, no rows."""
    struct = _struct(schema)
    if not paths:
        return session.createDataFrame([], struct)
    return session.read.schema(struct).option("basePath", str(base)).parquet(*map(str, paths))


def _register_views(session: SparkSession, state: StoreState) -> None:
    """The views of ``teiten sql`` and the analyses' ``teiten_packets``/``teiten_slots`` over
    ``state``'s parts, in ``session``."""
    from pyspark.sql import functions as F

    store = state.store
    parts = _parts(session, state.packets, packet_schema(), store / "packets")
    if state.legacy != "none":  # parts from before ts_inferred: their records all carried timestamps
        parts = parts.withColumn("ts_inferred", F.coalesce(F.col("ts_inferred"), F.lit(False)))
    names = packet_schema().names
    parts.select(*names).createOrReplaceTempView("packets_raw")
    parts.select(*names, F.col("date").alias("part_day"), F.unix_micros("ts").alias("ts_us")
                 ).createOrReplaceTempView("teiten_packets")
    session.udf.register("ip6_text", _ip6_udf())
    session.sql(f"SELECT *, {DERIVED} FROM packets_raw").createOrReplaceTempView("packets")
    out = _parts(session, state.outbound, packet_schema(), store / "outbound").select(*names)
    out.createOrReplaceTempView("_outbound_raw")
    session.sql(f"SELECT *, {DERIVED} FROM _outbound_raw").createOrReplaceTempView("outbound")
    if state.rollups is not None:
        slots = _parts(session, state.rollups, rollup_schema(), store / "slots")
        slots.createOrReplaceTempView("slots_raw")
        kept = [c for c in rollup_schema().names if c not in ("slot", "kc")]
        slots.select(*kept, F.col("date").alias("part_day"),
                     (F.col("slot").cast("bigint") * 3600000000).alias("ts_us"),
                     F.col("kc").cast("bigint").alias("kc")).createOrReplaceTempView("teiten_slots")


def _ip6_udf() -> Any:
    from pyspark.sql.functions import udf

    def ip6_text(b: bytes | None) -> str | None:
        return ip6_texts([b])[0]

    return udf(ip6_text, "string")


def _store_session(master: str, conf: Mapping[str, str] | None) -> SparkSession:
    """A child session of the process's session, with ``conf``'s SQL settings (those that can
    change at run time)."""
    session = spark_session(master, conf).newSession()
    for k, v in {**default_conf(master), **(conf or {})}.items():
        if k.startswith("spark.sql.") and session.conf.isModifiable(k) is not False:
            try:
                session.conf.set(k, v)
            except Exception:
                continue
    return session


def open_spark(store: Path, *, master: str = "local[*]", conf: dict[str, str] | None = None) -> Observation:
    """The store's observation on Spark (the manifest read once): the same ``packets`` (with
    ``part_day`` and ``ts_us``) and roll-ups as on DuckDB."""
    state = read_state(store)
    session = _store_session(master, conf)
    _register_views(session, state)
    engine = SparkEngine(session)
    rollups = engine.table("teiten_slots") if state.rollups is not None else None
    return Observation(packets_table(engine.table("teiten_packets")), state.sensors,
                       {"geo_sources": state.geo_sources, "store": store}, engine, rollups=rollups)


def run_sql(store: Path, query: str, *, master: str = "local[*]", conf: dict[str, str] | None = None,
            ) -> tuple[list[str], list[dict[str, Any]]] | None:
    """``query`` in Spark SQL over the views of ``teiten sql``: its columns and rows (None when
    it returns none); an error of the query is a SettingError."""
    from pyspark.errors import PySparkException

    state = read_state(store)
    session = _store_session(master, conf)
    _register_views(session, state)
    for name, table in manifest_tables(store).items():
        table = table.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                                      for f in table.schema]))
        session.createDataFrame(table.to_pandas(), _struct(table.schema, partitioned=False)
                                ).createOrReplaceTempView(name)
    try:
        df = session.sql(query)
        if not df.columns:
            df.collect()
            return None
        rows = _to_arrow(df).to_pylist()
    except PySparkException as e:
        raise SettingError(f"SQL error: {e}") from None
    return list(df.columns), rows
