"""Ingest many small captures into one commit (the collector's rotated intervals).

:func:`ingest_paths` commits each file on its own: a staging folder, Parquet parts and
their fsync, two manifest transactions and a rename per file, about 40 ms however small
the file (docs/performance.md). :func:`ingest_batch` reads the small clean files of a
group whole into memory, enriches them together, writes their packets into shared Parquet
parts and commits the group at once, with the same outcome per file:

- one manifest row per file (its SHA-256, path, size, counts, times), ``ok`` like
  :func:`ingest_paths` would make it; each packet's ``file_id`` is its own file's;
- idempotent by content: a file whose SHA-256 is committed already (or earlier in the same
  call) is a ``duplicate`` and adds nothing;
- crash-safe as a single file is: the group's rows are ``ingesting`` while its parts are
  staged, ``committing`` with the parts recorded, then all ``ok`` in one transaction, so
  teiten.store.dataset.recover rolls a cut group back or forward whole. The shared parts
  (packets and hourly roll-ups) are recorded under the group's first file; the other
  files of the group have none of their own;
- anything out of the ordinary goes through :func:`ingest_paths`' own code, one file at a
  time: a file that is not a capture (``error``), one read up to damage (``partial``, its
  tail quarantined), one with undecodable records or link types not decoded, and any file
  larger than ``small`` bytes.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from teiten.capture.reader import CaptureReader, CaptureSummary
from teiten.enrich import GeoDB, load_geo
from teiten.errors import CaptureError
from teiten.ingest.pipeline import IngestResult, enriched, expand_paths, file_sha256, ingest_one, iso_us
from teiten.store.catalog import SensorMap, list_sensors, sensor_map
from teiten.store.dataset import PART_ROWS, StagedFile, move_parts
from teiten.store.manifest import COMMITTED, transaction
from teiten.store.open import open_store

__all__ = ["ingest_batch"]

#: files up to this size are read whole and committed in groups
SMALL = 16 << 20
#: a group is committed when it holds this many packets (memory: ~200 bytes a packet)
GROUP_PACKETS = 1 << 20


@dataclass
class _Read:
    path: Path
    sha: str
    size: int
    table: pa.Table
    summary: CaptureSummary


class _Group:
    """Small clean files being staged together: each file's row is ``ingesting`` from the
    moment it is read, its packets staged with the group's (shared parts, written by the
    staging threads while the next files are read); :meth:`commit` makes them all ``ok``."""

    def __init__(self, con: sqlite3.Connection, store: Path, sensor: str | None, smap: SensorMap,
                 geo: GeoDB) -> None:
        self.con, self.store, self.sensor, self.smap, self.geo = con, store, sensor, smap, geo
        self.files: list[tuple[_Read, int]] = []
        self.waiting: list[tuple[pa.Table, int]] = []  # read, not yet staged: (packets, file id)
        self.waiting_rows = self.rows = 0
        self.staged: StagedFile | None = None
        self.seen: dict[str, str] = {}  # SHA-256 -> path
        self.committing = False

    def add(self, r: _Read) -> int:
        """Stage a file read whole; its file id."""
        with transaction(self.con):
            cur = self.con.execute("INSERT INTO files(sha256, path, size, status, sensor, started_at)"
                                   " VALUES (?,?,?,?,?,?)", (r.sha, str(r.path), r.size, "ingesting", self.sensor,
                                                            datetime.now(UTC).isoformat(timespec="seconds")))
        fid = int(cur.lastrowid or 0)
        if self.staged is None:
            self.staged = StagedFile(self.store, fid)
        self.files.append((r, fid))
        self.seen[r.sha] = str(r.path)
        self.waiting.append((r.table, fid))
        self.waiting_rows += r.table.num_rows
        self.rows += r.table.num_rows
        if self.waiting_rows >= PART_ROWS:
            self._stage()
        return fid

    def _stage(self) -> None:
        """Enrich what waits, all at once, and hand it to the staging threads."""
        if not self.waiting or self.staged is None:
            return
        packets = pa.concat_tables([t for t, _ in self.waiting])
        ids = np.repeat(np.array([f for _, f in self.waiting], np.uint32), [t.num_rows for t, _ in self.waiting])
        self.waiting, self.waiting_rows = [], 0
        t = enriched(packets, self.geo, self.smap, self.sensor, 0)
        self.staged.write(t.set_column(t.schema.get_field_index("file_id"), "file_id", pa.array(ids)))

    def abort(self) -> None:
        """Undo the group's staging; once committing, recover() rolls it forward instead."""
        if self.committing:
            return
        if self.staged is not None:
            self.staged.abort()
        with transaction(self.con):
            self.con.executemany("DELETE FROM files WHERE id=?", [(f,) for _, f in self.files])

    def commit(self) -> None:
        """Record the shared parts under the group's first file, every file ``committing``,
        move the parts into place, then every file ``ok`` in one transaction."""
        if self.staged is None:
            return
        con, leader = self.con, self.staged.file_id
        self._stage()
        parts = self.staged.close()
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        self.committing = True
        with transaction(con):
            for kind, rel, day, n in parts:  # packets and slots only: the group has no quarantine
                con.execute("INSERT INTO parts(file_id, kind, path, staged, day, rows) VALUES (?,?,?,?,?,?)",
                            (leader, kind, rel, f"staging/f{leader}/{rel}", day, n))
            con.executemany(
                "UPDATE files SET status='committing', outcome='ok', format=?, compression=?, frames=?, packets=?,"
                " nonip=?, quarantined=0, ts_inferred=?, first_ts=?, last_ts=?, tail_bytes=0, finished_at=?"
                " WHERE id=?",
                [(r.summary.format, r.summary.compression, r.summary.frames, r.summary.packets, r.summary.nonip,
                  r.summary.ts_inferred, r.summary.first_ts, r.summary.last_ts, finished, fid)
                 for r, fid in self.files])
        move_parts(con, self.store, leader)
        with transaction(con):
            con.executemany("UPDATE files SET status=outcome WHERE id=?", [(f,) for _, f in self.files])
        self.staged.abort()  # its staging folder, emptied by the moves


def ingest_batch(store: Path, paths: list[Path], *, sensor: str | None = None, small: int = SMALL,
                 group_packets: int = GROUP_PACKETS) -> Iterator[IngestResult]:
    """Ingest each capture file as :func:`ingest_paths` does, committing small clean files in
    groups; yield one result per file, in order (a group's when it is committed)."""
    with open_store(store) as con:
        sensors = list_sensors(con)
        note = (f"sensor {sensor!r} is not in the catalog (teiten sensors add)"
                if sensor is not None and sensor not in {s.name for s in sensors} else "")
        smap = sensor_map(sensors)
        geo = load_geo(store)
        with transaction(con):
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('geo_sources', ?)",
                        (json.dumps([asdict(s) for s in geo.sources]),))
        group = _Group(con, store, sensor, smap, geo)
        pending: list[IngestResult] = []  # in file order, yielded when the group is committed
        try:
            for path in expand_paths(paths):
                r = _read(con, path, small, group.seen)
                if r is None:  # out of the ordinary: ingest_paths' own code
                    r = ingest_one(con, store, path, sensor, smap, geo, None)
                    if note and r.status in ("ok", "partial"):
                        r.warnings.append(note)
                elif isinstance(r, _Read):
                    s = r.summary
                    r = IngestResult(str(path), "ok", s.frames, s.packets, s.nonip, 0, iso_us(s.first_ts),
                                     iso_us(s.last_ts), None, group.add(r), [note] if note else [], s.ts_inferred)
                pending.append(r)
                if group.rows >= group_packets:
                    group.commit()
                    yield from pending
                    pending, group = [], _Group(con, store, sensor, smap, geo)
            group.commit()
        except BaseException:
            group.abort()
            raise
        yield from pending


def _read(con: sqlite3.Connection, path: Path, small: int,
          seen: dict[str, str]) -> _Read | IngestResult | None:
    """A small clean file read whole, a duplicate's result, or None (ingest it on its own)."""
    try:
        sha, size = file_sha256(path)
    except OSError:
        return None
    row = con.execute("SELECT * FROM files WHERE sha256=? AND status IN (?,?) ORDER BY id LIMIT 1",
                      (sha, *COMMITTED)).fetchone()
    if row is not None:
        return IngestResult(str(path), "duplicate", row["frames"], 0, 0, 0, iso_us(row["first_ts"]),
                            iso_us(row["last_ts"]), file_id=row["id"],
                            warnings=[f"same content as {row['path']} (file {row['id']}), ingested before:"
                                      " nothing added"])
    if sha in seen:
        return IngestResult(str(path), "duplicate", warnings=[f"same content as {seen[sha]}, in the same batch:"
                                                              " nothing added"])
    if size > small:
        return None
    try:
        reader = CaptureReader(path, tail_sink=io.BytesIO())
        tables, clean = [], True
        for batch in reader:
            tables.append(batch.packets)
            clean = clean and not batch.quarantine
        s = reader.summary
    except CaptureError:
        return None
    if not clean or s.damage or s.quarantined or s.undecoded_linktypes or not tables:
        return None
    return _Read(path, sha, size, pa.concat_tables(tables), s)
