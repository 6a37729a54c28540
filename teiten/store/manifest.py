"""The store's manifest: ingested files, their Parquet parts, sensors and metadata.

One SQLite database (``manifest.sqlite``) inside the store directory.  A file's
rows become visible to queries only when its manifest row is committed, so a
crash mid-ingest never shows half a file; ``recover`` finishes or rolls back
what a crash left behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["COMMITTED", "LEGACY_PARTS_BELOW", "connect", "transaction"]

#: statuses whose rows are visible to queries
COMMITTED = ("ok", "partial")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,          -- ingesting | committing | ok | partial | error
    outcome TEXT,                  -- the status a committing file ends in
    format TEXT, compression TEXT, sensor TEXT,
    frames INTEGER DEFAULT 0, packets INTEGER DEFAULT 0, nonip INTEGER DEFAULT 0,
    quarantined INTEGER DEFAULT 0, ts_inferred INTEGER DEFAULT 0,
    first_ts INTEGER, last_ts INTEGER,  -- µs since the epoch
    damage TEXT, damage_offset INTEGER, tail_bytes INTEGER DEFAULT 0,
    error TEXT, notes TEXT,
    started_at TEXT NOT NULL, finished_at TEXT
);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS parts (
    file_id INTEGER NOT NULL REFERENCES files(id),
    kind TEXT NOT NULL,            -- packets | slots | quarantine | tail
    path TEXT NOT NULL,            -- relative to the store
    staged TEXT NOT NULL,          -- where it was written first, relative to the store
    day TEXT, rows INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS parts_file ON parts(file_id);
CREATE TABLE IF NOT EXISTS sensors (
    name TEXT PRIMARY KEY,
    addresses TEXT NOT NULL,       -- JSON list of CIDRs
    country TEXT, grp TEXT, kind TEXT NOT NULL DEFAULT 'passive', operator TEXT,
    active_from TEXT, active_to TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def connect(store: Path) -> sqlite3.Connection:
    con = sqlite3.connect(store / "manifest.sqlite", timeout=60, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a power cut may lose the last commit, never consistency (parts are fsynced
    # before their commit; a lost commit leaves unlisted parts that queries never read)
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript(_SCHEMA)
    _add_columns(con)
    return con


#: columns added to ``files`` after stores were first written: (name, declaration)
_ADDED = (("ts_inferred", "INTEGER DEFAULT 0"),)


#: meta key: files with a lower id were stored before packet parts had ``ts_inferred``,
#: ``ip_flags``, ``icmp_id`` and ``icmp_seq`` (teiten.engine.duckdb.LATER_COLUMNS)
LEGACY_PARTS_BELOW = "packets_without_ts_inferred_below"


def _add_columns(con: sqlite3.Connection) -> None:
    """Bring an older store's manifest up to the current columns (old rows get the default),
    and note which files' packet parts were written without the ``ts_inferred`` column."""
    have = {r[1] for r in con.execute("PRAGMA table_info(files)")}
    if all(name in have for name, _ in _ADDED):
        return
    with transaction(con):
        have = {r[1] for r in con.execute("PRAGMA table_info(files)")}  # another process may have won
        for name, decl in _ADDED:
            if name not in have:
                con.execute(f"ALTER TABLE files ADD COLUMN {name} {decl}")
        if "ts_inferred" not in have:
            below = con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM files").fetchone()[0]
            if below > 1:
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (LEGACY_PARTS_BELOW, str(below)))


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
