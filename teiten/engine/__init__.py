"""Engines: where the analyses' Ibis expressions run. ``open_observation`` opens a store
on one; the embedded default is DuckDB (``duckdb.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teiten.engine.observation import Observation
from teiten.errors import SettingError

__all__ = ["ENGINES", "open_observation", "run_sql"]

#: The engines a store can be analysed on.
ENGINES = ("duckdb",)


def open_observation(store: Path, *, engine: str = "duckdb", threads: int | None = None) -> Observation:
    """The store's packets, catalog and roll-ups on ``engine`` (the manifest read once)."""
    if engine == "duckdb":
        from teiten.engine.duckdb import open_duckdb

        return open_duckdb(store, threads=threads)
    raise SettingError(f"unknown engine {engine!r} (engines: {', '.join(ENGINES)})")


def run_sql(store: Path, query: str, *, engine: str = "duckdb") -> tuple[list[str], list[dict[str, Any]]] | None:
    """``query`` over the store's SQL views (``teiten sql``): its columns and rows, None when
    the statement returns none; an error of the query is a SettingError."""
    if engine == "duckdb":
        from teiten.engine.duckdb import run_sql as duckdb_sql

        return duckdb_sql(store, query)
    raise SettingError(f"unknown engine {engine!r} (engines: {', '.join(ENGINES)})")
