"""Engines: where the analyses' Ibis expressions run. ``open_observation`` opens a store
on one: the embedded default DuckDB (``duckdb.py``) or Apache Spark (``spark.py``, the
``spark`` extra), locally or on a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teiten.engine.observation import Observation
from teiten.errors import SettingError

__all__ = ["ENGINES", "open_observation", "run_sql"]

#: The engines a store can be analysed on.
ENGINES = ("duckdb", "spark")


def _unknown(engine: str) -> SettingError:
    return SettingError(f"unknown engine {engine!r} (engines: {', '.join(ENGINES)})")


def open_observation(store: Path, *, engine: str = "duckdb", threads: int | None = None,
                     master: str = "local[*]", conf: dict[str, str] | None = None) -> Observation:
    """The store's packets, catalog and roll-ups on ``engine`` (the manifest read once);
    ``threads`` for DuckDB, ``master`` (a Spark master URL) and ``conf`` (Spark settings)
    for Spark."""
    if engine == "duckdb":
        from teiten.engine.duckdb import open_duckdb

        return open_duckdb(store, threads=threads)
    if engine == "spark":
        from teiten.engine.spark import open_spark

        return open_spark(store, master=master, conf=conf)
    raise _unknown(engine)


def run_sql(store: Path, query: str, *, engine: str = "duckdb", master: str = "local[*]",
            conf: dict[str, str] | None = None) -> tuple[list[str], list[dict[str, Any]]] | None:
    """``query`` over the store's SQL views (``teiten sql``; Spark SQL on Spark): its columns
    and rows, None when the statement returns none; an error of the query is a SettingError."""
    if engine == "duckdb":
        from teiten.engine.duckdb import run_sql as duckdb_sql

        return duckdb_sql(store, query)
    if engine == "spark":
        from teiten.engine.spark import run_sql as spark_sql

        return spark_sql(store, query, master=master, conf=conf)
    raise _unknown(engine)
