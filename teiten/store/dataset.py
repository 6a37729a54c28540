"""Write one capture's packets into the partitioned Parquet dataset, atomically.

Layout of a store directory::

    packets/date=YYYY-MM-DD/f<file_id>-<n>.parquet  parts of a capture, by UTC day
    slots/date=YYYY-MM-DD/f<file_id>.parquet     its packets counted per hour (teiten.store.rollups)
    outbound/date=YYYY-MM-DD/f<file_id>.parquet  packets a sensor sent (a responder's replies):
                                                 kept, in the packet schema, and counted nowhere
    quarantine/f<file_id>.parquet                undecodable records, with the reason
    quarantine/f<file_id>.tail                   the bytes after damage, as they were
    staging/f<file_id>/...                       files being written (never read)
    manifest.sqlite                              files, parts, sensors, metadata

A capture is written to ``staging/`` first.  Commit then records the parts in
the manifest (status ``committing``), renames them into place, and marks the
file ``ok``/``partial``.  ``recover`` rolls a ``committing`` file forward and an
``ingesting`` one back, so a crash at any point leaves exactly the committed
files visible and a re-run ingests the rest once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from teiten.schema import packet_schema, quarantine_schema
from teiten.store.manifest import transaction
from teiten.store.rollups import merge_rollups, rollup_counts, rollup_path, write_rollups

__all__ = ["LAYOUT", "PART_ROWS", "WRITER_OPTIONS", "StagedFile", "commit", "move_parts", "recover"]

US_PER_DAY = 86_400_000_000


def _day(day_index: int) -> str:
    return datetime.fromtimestamp(day_index * 86400, UTC).strftime("%Y-%m-%d")


#: How each column is laid out in Parquet: (encoding, codec).  Chosen per column by
#: timing every encoding × codec on generated darknet traffic (`bench/parquet_layout.py`):
#: ``dict`` for columns with few values, ``delta`` (DELTA_BINARY_PACKED) for times and
#: counters, uncompressed ``plain`` for random 32-bit values that no codec shrinks, and
#: zstd where it still pays.  The parts are about the size of all-zstd parts and are
#: written in about two thirds of the time.  Unlisted columns: plain, zstd.
LAYOUT: dict[str, tuple[str, str]] = {
    "ts": ("delta", "none"), "frame": ("delta", "none"), "src4": ("plain", "none"),
    "dst4": ("delta", "none"), "seq": ("plain", "none"), "ip_id": ("delta", "none"),
    "dport": ("dict", "zstd"), "window": ("dict", "none"), "tcp_hlen": ("dict", "none"),
    "ttl": ("dict", "none"), "ip_len": ("dict", "none"), "caplen": ("dict", "zstd"),
    "tcp_opts": ("dict", "zstd"), "country": ("dict", "none"), "asn": ("dict", "none"),
    "sensor": ("dict", "none"),
}
#: Columns with min/max statistics: those whose values cluster within a part (time,
#: the capture file, the sensor's destination range), so that queries can skip parts.
STATISTICS_COLUMNS = ["ts", "dst4", "sensor", "file_id"]
#: Rows per Parquet part (one row group each).
PART_ROWS = 1 << 18


def _writer_options(names: list[str]) -> dict[str, object]:
    layout = {n: LAYOUT.get(n, ("plain", "zstd")) for n in names}
    return {
        "compression": {n: codec for n, (_, codec) in layout.items()},
        "use_dictionary": [n for n, (enc, _) in layout.items() if enc == "dict"],
        "column_encoding": {n: "DELTA_BINARY_PACKED" for n, (enc, _) in layout.items() if enc == "delta"},
        "write_statistics": [n for n in STATISTICS_COLUMNS if n in layout],
    }


#: The Parquet writer options of packet parts (encodings and codecs of LAYOUT).
WRITER_OPTIONS = _writer_options(packet_schema().names)


def _write_part(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=PART_ROWS, **WRITER_OPTIONS)


class StagedFile:
    """The parts of one capture being written to ``staging/f<id>/``.

    Rows are gathered per UTC day into parts of about ``PART_ROWS`` rows, and
    parts are compressed and written by two background threads while the
    next batch is decoded; at most two parts wait, so memory stays bounded.
    """

    def __init__(self, store: Path, file_id: int) -> None:
        self.store = store
        self.file_id = file_id
        self.dir = store / "staging" / f"f{file_id}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self._pending: dict[int, list[pa.Table]] = {}
        self._pending_rows: dict[int, int] = {}
        self._parts: list[tuple[str, str | None, int]] = []  # relative path, day, rows
        self._futures: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parquet")
        self._quarantine: list[dict[str, object]] = []
        self._rollups: dict[int, list[pa.Table]] = {}  # per UTC day, the roll-ups of the rows so far
        self._outbound: list[pa.Table] = []  # what sensors sent: a responder's few replies, held to the end
        self.schema = packet_schema()

    def write(self, table: pa.Table) -> None:
        """Append enriched packet rows, split by UTC day; rows marked ``outbound`` (sent by a
        sensor) are set apart in the ``outbound`` parts."""
        if table.num_rows == 0:
            return
        if "outbound" in table.column_names:
            sent = table.column("outbound")
            if pc.any(sent).as_py():
                self._outbound.append(table.filter(sent).select(self.schema.names))
                table = table.filter(pc.invert(sent))
                if table.num_rows == 0:
                    return
        table = table.select(self.schema.names)
        if not table.schema.equals(self.schema):
            table = table.cast(self.schema)
        us = np.asarray(table.column("ts").cast(pa.int64()))
        days = us // US_PER_DAY
        lo, hi = int(days.min()), int(days.max())
        if lo == hi:
            self._append(lo, table)
            return
        order = np.argsort(days, kind="stable")
        bounds = np.flatnonzero(np.diff(days[order])) + 1
        for chunk in np.split(order, bounds):
            self._append(int(days[chunk[0]]), table.take(pa.array(chunk)))

    def _append(self, day: int, table: pa.Table) -> None:
        counts = self._rollups.setdefault(day, [])
        counts.append(rollup_counts(table))
        if len(counts) >= 32:
            self._rollups[day] = [merge_rollups(counts)]
        self._pending.setdefault(day, []).append(table)
        self._pending_rows[day] = self._pending_rows.get(day, 0) + table.num_rows
        if self._pending_rows[day] >= PART_ROWS:
            self._flush(day)
        elif sum(self._pending_rows.values()) >= 2 * PART_ROWS:
            self._flush(max(self._pending_rows, key=self._pending_rows.__getitem__))

    def _flush(self, day: int) -> None:
        tables = self._pending.pop(day)
        rows = self._pending_rows.pop(day)
        rel = f"packets/date={_day(day)}/f{self.file_id}-{len(self._parts):05d}.parquet"
        self._parts.append((rel, _day(day), rows))
        while len([f for f in self._futures if not f.done()]) >= 2:
            wait(self._futures, return_when=FIRST_COMPLETED)
        self._check()
        self._futures.append(self._pool.submit(_write_part, pa.concat_tables(tables), self.dir / rel))

    def _check(self) -> None:
        for f in [f for f in self._futures if f.done()]:
            f.result()  # raises the writer's exception here
            self._futures.remove(f)

    def quarantine(self, rows: list[tuple[int, int, int | None, int | None, str, bytes]]) -> None:
        for frame, offset, ts, lt, reason, data in rows:
            self._quarantine.append({"file_id": self.file_id, "frame": frame, "offset": offset, "ts": ts,
                                     "linktype": lt, "reason": reason, "data": data})

    def tail_path(self) -> Path:
        return self.dir / "tail"

    def close(self) -> list[tuple[str, str, str | None, int]]:
        """Finish writing; return the parts as (kind, staged path, day, rows)."""
        for day in sorted(self._pending):
            self._flush(day)
        wait(self._futures)
        self._check()
        self._pool.shutdown()
        parts: list[tuple[str, str, str | None, int]] = [("packets", rel, day, rows)
                                                          for rel, day, rows in self._parts]
        for day in sorted(self._rollups):
            merged, rel = merge_rollups(self._rollups[day]), rollup_path(self.file_id, _day(day))
            write_rollups(merged, self.dir / rel, durable=False)  # synced below with the packets
            parts.append(("slots", rel, _day(day), merged.num_rows))
        parts += self._write_outbound()
        if self._quarantine:
            qs = quarantine_schema()
            cols = {f.name: [r[f.name] for r in self._quarantine] for f in qs}
            q = pa.table({k: pa.array(v, qs.field(k).type) for k, v in cols.items()}, schema=qs)
            pq.write_table(q, self.dir / "quarantine.parquet", compression="zstd")
            parts.append(("quarantine", "quarantine.parquet", None, q.num_rows))
        tail = self.tail_path()
        if tail.exists():
            if tail.stat().st_size:
                parts.append(("tail", "tail", None, 0))
            else:
                tail.unlink()
        for d in (self.dir,):
            _fsync_tree(d)
        return parts

    def _write_outbound(self) -> list[tuple[str, str, str | None, int]]:
        """The outbound rows, one part per UTC day."""
        if not self._outbound:
            return []
        t = pa.concat_tables(self._outbound)
        if not t.schema.equals(self.schema):
            t = t.cast(self.schema)
        days = np.asarray(t.column("ts").cast(pa.int64())) // US_PER_DAY
        out: list[tuple[str, str, str | None, int]] = []
        for day in np.unique(days):
            rel = f"outbound/date={_day(int(day))}/f{self.file_id}.parquet"
            _write_part(t.filter(pa.array(days == day)), self.dir / rel)
            out.append(("outbound", rel, _day(int(day)), int((days == day).sum())))
        return out

    def abort(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def _final(file_id: int, kind: str, staged_rel: str) -> str:
    if kind in ("packets", "slots", "outbound"):
        return staged_rel
    if kind == "quarantine":
        return f"quarantine/f{file_id}.parquet"
    return f"quarantine/f{file_id}.tail"


def _fsync_tree(d: Path) -> None:
    for p in d.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def commit(con: sqlite3.Connection, staged: StagedFile, parts: list[tuple[str, str, str | None, int]],
           status: str, fields: dict[str, object]) -> None:
    """Record the parts, move them into place, and mark the file committed."""
    fid = staged.file_id
    sets = ", ".join(f"{k}=?" for k in fields)
    with transaction(con):
        for kind, rel, day, rows in parts:
            con.execute("INSERT INTO parts(file_id, kind, path, staged, day, rows) VALUES (?,?,?,?,?,?)",
                        (fid, kind, _final(fid, kind, rel), f"staging/f{fid}/{rel}", day, rows))
        con.execute(f"UPDATE files SET status='committing', outcome=?, {sets} WHERE id=?",
                    (status, *fields.values(), fid))
    move_parts(con, staged.store, fid)
    with transaction(con):
        con.execute("UPDATE files SET status=outcome WHERE id=?", (fid,))
    shutil.rmtree(staged.dir, ignore_errors=True)


def move_parts(con: sqlite3.Connection, store: Path, fid: int) -> None:
    """Move file ``fid``'s staged parts to where the manifest says they live (a part moved
    already is skipped: the move is idempotent, for recovery)."""
    for r in con.execute("SELECT path, staged FROM parts WHERE file_id=?", (fid,)).fetchall():
        src, dst = store / r["staged"], store / r["path"]
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)


def recover(con: sqlite3.Connection, store: Path) -> list[str]:
    """Finish or undo what an interrupted ingest left; return what was done."""
    done = []
    for r in con.execute("SELECT id, path, status FROM files WHERE status IN ('committing','ingesting')"
                         ).fetchall():
        fid = r["id"]
        if r["status"] == "committing":
            move_parts(con, store, fid)
            with transaction(con):
                con.execute("UPDATE files SET status=outcome WHERE id=?", (fid,))
            done.append(f"completed the commit of {r['path']}")
        else:
            with transaction(con):
                con.execute("DELETE FROM parts WHERE file_id=?", (fid,))
                con.execute("DELETE FROM files WHERE id=?", (fid,))
            done.append(f"rolled back the interrupted ingest of {r['path']}")
        shutil.rmtree(store / "staging" / f"f{fid}", ignore_errors=True)
    staging = store / "staging"
    if staging.exists():
        live = {f"f{r[0]}" for r in con.execute("SELECT id FROM files WHERE status IN ('committing','ingesting')")}
        for d in staging.iterdir():
            if d.name not in live:
                shutil.rmtree(d, ignore_errors=True)
    return done
