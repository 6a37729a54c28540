"""Opening a store: for writing (the ingest lock, crash recovery) or for reading (what is
committed, in one read transaction).

A store is a folder: ``manifest.sqlite`` (the files ingested, their parts, the sensor
catalog, meta) and the Parquet parts it names (docs/architecture.md, "The store").
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teiten.errors import StoreError
from teiten.store.catalog import Sensor, list_sensors
from teiten.store.dataset import recover
from teiten.store.manifest import COMMITTED, LEGACY_PARTS_BELOW, connect
from teiten.store.rollups import backfill_rollups, files_without_rollups

__all__ = ["StoreState", "StoreVersion", "open_store", "read_state", "store_version"]


@contextmanager
def open_store(store: Path, *, create: bool = True, lock: bool = True) -> Iterator[sqlite3.Connection]:
    """The store's manifest for writing (created when ``create``); with ``lock``, holding its
    ingest lock after recovering from a crashed ingest."""
    if not store.exists():
        if not create:
            raise StoreError(f"no store at {store}")
        store.mkdir(parents=True)
    con = connect(store)
    if not lock:
        try:
            yield con
        finally:
            con.close()
        return
    fd = os.open(store / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"another ingest holds the store {store}") from None
        recover(con, store)
        backfill_rollups(con, store)  # a store from before the hourly roll-ups gets them once
        yield con
    finally:
        os.close(fd)
        con.close()


@dataclass(frozen=True)
class StoreState:
    """What a reader of the store sees: the committed packet parts, the hourly roll-up parts
    (None when some committed file with packets has none), whether the packet parts predate
    the later columns (``legacy``: "none", "some" or "all"; teiten.store.manifest), the
    sensor catalog, the meta values and the parts of packets the sensors sent (``outbound``,
    counted nowhere)."""

    store: Path
    packets: list[Path]
    rollups: list[Path] | None
    legacy: str
    sensors: list[Sensor]
    meta: dict[str, str]
    outbound: list[Path] = field(default_factory=list)

    @property
    def geo_sources(self) -> list[Any]:
        """The geolocation sources the store's packets were enriched with."""
        return list(json.loads(self.meta.get("geo_sources", "[]")))


def read_state(store: Path) -> StoreState:
    """The store as committed, read in one transaction (a file committed meanwhile is in
    every part of the answer or in none)."""
    if not (store / "manifest.sqlite").exists():
        raise StoreError(f"no store at {store} (run teiten ingest first)")
    con = connect(store)
    marks = ",".join("?" * len(COMMITTED))
    try:
        con.execute("BEGIN")
        rows = con.execute(
            "SELECT p.kind, p.path FROM parts p JOIN files f ON f.id = p.file_id"
            f" WHERE p.kind IN ('packets', 'slots', 'outbound') AND f.status IN ({marks}) ORDER BY p.path",
            COMMITTED).fetchall()
        missing = files_without_rollups(con)
        below = con.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?",
                            (LEGACY_PARTS_BELOW,)).fetchone()
        legacy = "none"
        if below is not None:
            old, new = con.execute(
                "SELECT COALESCE(SUM(f.id < ?), 0), COALESCE(SUM(f.id >= ?), 0) FROM files f"
                f" WHERE f.status IN ({marks}) AND f.packets > 0", (below[0], below[0], *COMMITTED)).fetchone()
            legacy = "none" if not old else "all" if not new else "some"
        sensors = list_sensors(con)
        meta = {r["key"]: r["value"] for r in con.execute("SELECT key, value FROM meta")}
        con.execute("COMMIT")
    finally:
        con.close()
    return StoreState(store, [store / r[1] for r in rows if r[0] == "packets"],
                      None if missing else [store / r[1] for r in rows if r[0] == "slots"], legacy, sensors, meta,
                      [store / r[1] for r in rows if r[0] == "outbound"])


@dataclass(frozen=True)
class StoreVersion:
    """What identifies the committed content of a store: it changes with every commit (a
    cache of answers is keyed by it) and says when the last file was committed."""

    files: int
    last_id: int
    as_of: str | None  # when the last committed file finished (ISO, UTC)

    @property
    def key(self) -> str:
        return f"{self.files}-{self.last_id}"


def store_version(store: Path) -> StoreVersion:
    """The store's :class:`StoreVersion` (one query of its manifest, no lock)."""
    if not (store / "manifest.sqlite").exists():
        raise StoreError(f"no store at {store} (run teiten ingest first)")
    con = connect(store)
    marks = ",".join("?" * len(COMMITTED))
    try:
        n, last, as_of = con.execute(f"SELECT count(*), COALESCE(max(id), 0), max(finished_at) FROM files"
                                     f" WHERE status IN ({marks})", COMMITTED).fetchone()
    finally:
        con.close()
    return StoreVersion(int(n), int(last), as_of)
