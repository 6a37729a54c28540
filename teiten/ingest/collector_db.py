"""The collector's own records, ``<store>/collector/collector.sqlite``: the sensors allowed to
ship (their addresses, Ed25519 public key, the SHA-256 of their token, revoked or not), the
files they upload (``partial`` → ``complete`` → ``incoming`` → ``done``/``error``) and the
manifests accepted (each with the ``seq`` numbers skipped before it: a gap, recorded).

Sensors here are not incident users: a token is 32 random bytes (URL-safe base64) that the
collector never keeps, only its SHA-256, looked up by digest and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from teiten.errors import SettingError

__all__ = ["CollectorDB", "FileRow", "SensorRow", "now_iso", "token_digest"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sensors(
    name TEXT PRIMARY KEY, addresses TEXT NOT NULL, public_key TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE, revoked INTEGER NOT NULL DEFAULT 0, added_at TEXT NOT NULL,
    last_seq INTEGER, last_digest TEXT, last_received TEXT);
CREATE TABLE IF NOT EXISTS files(
    name TEXT PRIMARY KEY, sensor TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    state TEXT NOT NULL, received_at TEXT, ingested_at TEXT, result TEXT);
CREATE TABLE IF NOT EXISTS manifests(
    sensor TEXT NOT NULL, seq INTEGER NOT NULL, stem TEXT NOT NULL, digest TEXT NOT NULL UNIQUE,
    gap INTEGER NOT NULL, received_at TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY(sensor, seq));
"""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SensorRow:
    name: str
    addresses: tuple[str, ...]
    public_key: str
    revoked: bool
    last_seq: int | None
    last_digest: str | None
    last_received: str | None


@dataclass(frozen=True)
class FileRow:
    name: str
    sensor: str
    sha256: str
    size: int
    state: str


def _sensor(r: sqlite3.Row) -> SensorRow:
    return SensorRow(r["name"], tuple(json.loads(r["addresses"])), r["public_key"], bool(r["revoked"]),
                     r["last_seq"], r["last_digest"], r["last_received"])


class CollectorDB:
    """The collector's SQLite file (one short connection per use: the web server and the
    batch ingester share it from two threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        con = sqlite3.connect(path)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
        finally:
            con.close()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def add_sensor(self, name: str, addresses: tuple[str, ...], public_key: str) -> str:
        """Register (or re-register, with a new token) a sensor; its token, given once."""
        token = secrets.token_urlsafe(32)
        with self.connect() as con:
            con.execute("INSERT INTO sensors(name, addresses, public_key, token_sha256, added_at) VALUES (?,?,?,?,?)"
                        " ON CONFLICT(name) DO UPDATE SET addresses=excluded.addresses,"
                        " public_key=excluded.public_key, token_sha256=excluded.token_sha256, revoked=0",
                        (name, json.dumps(list(addresses)), public_key, token_digest(token), now_iso()))
        return token

    def revoke(self, name: str) -> None:
        with self.connect() as con:
            if con.execute("UPDATE sensors SET revoked=1 WHERE name=?", (name,)).rowcount == 0:
                raise SettingError(f"no sensor {name!r} at this collector")

    def sensor_of_token(self, token: str) -> SensorRow | None:
        """The sensor a bearer token belongs to; None when unknown or revoked."""
        digest = token_digest(token)
        with self.connect() as con:
            r = con.execute("SELECT * FROM sensors WHERE token_sha256=?", (digest,)).fetchone()
        if r is None or not hmac.compare_digest(r["token_sha256"], digest) or r["revoked"]:
            return None
        return _sensor(r)

    def sensors(self) -> list[SensorRow]:
        with self.connect() as con:
            return [_sensor(r) for r in con.execute("SELECT * FROM sensors ORDER BY name")]

    def file(self, name: str) -> FileRow | None:
        with self.connect() as con:
            r = con.execute("SELECT name, sensor, sha256, size, state FROM files WHERE name=?", (name,)).fetchone()
        return FileRow(*r) if r is not None else None

    def set_file(self, name: str, sensor: str, sha256: str, size: int, state: str) -> None:
        with self.connect() as con:
            con.execute("INSERT OR REPLACE INTO files(name, sensor, sha256, size, state, received_at)"
                        " VALUES (?,?,?,?,?,?)", (name, sensor, sha256, size, state, now_iso()))

    def drop_file(self, name: str) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM files WHERE name=? AND state IN ('partial', 'complete')", (name,))

    def files_in(self, state: str) -> list[FileRow]:
        with self.connect() as con:
            return [FileRow(*r) for r in con.execute(
                "SELECT name, sensor, sha256, size, state FROM files WHERE state=? ORDER BY name", (state,))]

    def ingested(self, outcomes: list[tuple[str, str, str]]) -> None:
        """Record (file, state, result) for files ingested, all in one transaction."""
        now = now_iso()
        with self.connect() as con:
            con.executemany("UPDATE files SET state=?, ingested_at=?, result=? WHERE name=?",
                            [(state, now, result, name) for name, state, result in outcomes])

    def last_manifest(self, sensor: str) -> bytes | None:
        with self.connect() as con:
            r = con.execute("SELECT body FROM manifests WHERE sensor=? ORDER BY seq DESC LIMIT 1", (sensor,)).fetchone()
        return bytes(r["body"]) if r is not None else None

    def has_manifest(self, digest: str) -> bool:
        with self.connect() as con:
            return con.execute("SELECT 1 FROM manifests WHERE digest=?", (digest,)).fetchone() is not None

    def accept_manifest(self, sensor: str, seq: int, stem: str, digest: str, gap: int, body: bytes,
                        file: str | None, received: str | None = None) -> None:
        """Record an accepted manifest, the sensor's latest, and its file as ``incoming``;
        received now (or at ``received``, an ISO time: a replay of days past)."""
        now = received or now_iso()
        with self.connect() as con:
            con.execute("INSERT INTO manifests(sensor, seq, stem, digest, gap, received_at, body)"
                        " VALUES (?,?,?,?,?,?,?)", (sensor, seq, stem, digest, gap, now, body))
            con.execute("UPDATE sensors SET last_seq=?, last_digest=?, last_received=? WHERE name=?",
                        (seq, digest, now, sensor))
            if file is not None:
                con.execute("UPDATE files SET state='incoming' WHERE name=?", (file,))

    def gaps(self, sensor: str) -> list[tuple[int, int]]:
        """(seq, how many skipped before it) for each gap of a sensor."""
        with self.connect() as con:
            return [(r["seq"], r["gap"]) for r in con.execute(
                "SELECT seq, gap FROM manifests WHERE sensor=? AND gap > 0 ORDER BY seq", (sensor,))]

    def manifests_since(self, sensor: str, since: str) -> list[tuple[str, int, bytes]]:
        """(received at, gap, manifest) of a sensor's manifests received at or after ``since``
        (ISO 8601 UTC), oldest first."""
        with self.connect() as con:
            return [(r["received_at"], int(r["gap"]), bytes(r["body"])) for r in con.execute(
                "SELECT received_at, gap, body FROM manifests WHERE sensor=? AND received_at >= ? ORDER BY seq",
                (sensor, since))]
