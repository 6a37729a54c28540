"""Hourly roll-ups of the packets: counts per UTC hour, port key, IP version, country and sensor.

Ingest writes one roll-up per capture file and UTC day (``slots/date=YYYY-MM-DD/f<id>.parquet``,
columns ``teiten.schema.SLOT_COLUMNS``), committed with the file's packets, so that a
roll-up holds exactly the packets its file made visible: re-ingesting, crashing and
quarantining treat both alike.  The analyses that only count packets per day or hour, key
and region (the cube, the diurnal profiles) read these instead of the packets: a tenth of
the rows or fewer on a telescope's traffic.

A store ingested before roll-ups existed gets them from its stored packets
(:func:`backfill_rollups`, run when the store is opened for writing).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from teiten.keys import key_codes_of
from teiten.schema import rollup_schema
from teiten.store.manifest import COMMITTED, transaction

__all__ = ["SLOT_US", "backfill_rollups", "files_without_rollups", "merge_rollups", "rollup_counts",
           "rollup_path", "write_rollups"]

#: One slot is one UTC hour.
SLOT_US = 3_600_000_000
_KEYS = ["slot", "kc", "ip_version", "country", "sensor"]


def rollup_counts(packets: pa.Table) -> pa.Table:
    """Packets (stored columns ts, proto, dport, icmp_type, frag, ip_version, country,
    sensor) counted per slot, key code, IP version, country and sensor."""
    schema = rollup_schema()
    if packets.num_rows == 0:
        return schema.empty_table()
    us = np.asarray(packets.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False))
    t = pa.table({
        "slot": pa.array((us // SLOT_US).astype(np.int32)),
        "kc": pa.array(key_codes_of(packets).astype(np.int32)),
        "ip_version": packets.column("ip_version"),
        "country": packets.column("country"),
        "sensor": packets.column("sensor"),
        "packets": pa.array(np.ones(packets.num_rows, np.int64)),
    })
    return _grouped(t)


def _grouped(t: pa.Table) -> pa.Table:
    schema = rollup_schema()
    t = t.cast(schema).unify_dictionaries().combine_chunks()
    g = t.group_by(_KEYS, use_threads=False).aggregate([("packets", "sum")])
    return g.rename_columns([*_KEYS, "packets"]).select(schema.names).cast(schema)


def merge_rollups(tables: Iterable[pa.Table]) -> pa.Table:
    """Roll-ups of the same packets' pieces summed into one."""
    ts = [t for t in tables if t.num_rows]
    if not ts:
        return rollup_schema().empty_table()
    return _grouped(pa.concat_tables(ts)) if len(ts) > 1 else ts[0]


def rollup_path(file_id: int, day: str) -> str:
    """Where a file's roll-up of one UTC day is stored, relative to the store."""
    return f"slots/date={day}/f{file_id}.parquet"


def write_rollups(table: pa.Table, path: Path, *, durable: bool = True) -> None:
    """Write a roll-up, in time order; ``durable``: under a temporary name, synced to disk
    and renamed (staged files are synced with the rest of their file instead)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.take(pc.sort_indices(table, [("slot", "ascending"), ("kc", "ascending")]))
    target = path.with_name(path.name + ".tmp") if durable else path
    pq.write_table(table, target, compression="zstd", use_dictionary=["country", "sensor", "ip_version"],
                   column_encoding={"slot": "DELTA_BINARY_PACKED"}, write_statistics=["slot"])
    if not durable:
        return
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(target, path)


def files_without_rollups(con: sqlite3.Connection) -> list[int]:
    """The committed files with packets and no roll-ups (ingested before roll-ups existed)."""
    marks = ",".join("?" * len(COMMITTED))
    return [r[0] for r in con.execute(
        f"SELECT f.id FROM files f WHERE f.status IN ({marks}) AND EXISTS (SELECT 1 FROM parts p WHERE"
        " p.file_id = f.id AND p.kind = 'packets') AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.file_id = f.id"
        " AND p.kind = 'slots') ORDER BY f.id", COMMITTED).fetchall()]


_READ = ["ts", "proto", "dport", "icmp_type", "frag", "ip_version", "country", "sensor"]


def backfill_rollups(con: sqlite3.Connection, store: Path) -> int:
    """Give every committed file without roll-ups its roll-ups, from its stored packets;
    return how many files got them. Each file's roll-ups are written under their final name
    (atomically) and then recorded, in one transaction per file: a crash leaves at most an
    unrecorded file, which no query reads and the next run overwrites."""
    files = files_without_rollups(con)
    for fid in files:
        by_day: dict[str, list[pa.Table]] = {}
        for r in con.execute("SELECT path, day FROM parts WHERE file_id = ? AND kind = 'packets' ORDER BY path",
                             (fid,)).fetchall():
            pf = pq.ParquetFile(store / r["path"])
            for batch in pf.iter_batches(batch_size=1 << 20, columns=_READ):
                by_day.setdefault(r["day"], []).append(rollup_counts(pa.Table.from_batches([batch])))
        rows = []
        for day, parts in sorted(by_day.items()):
            merged = merge_rollups(parts)
            rel = rollup_path(fid, day)
            write_rollups(merged, store / rel)
            rows.append((fid, "slots", rel, rel, day, merged.num_rows))
        with transaction(con):
            con.executemany("INSERT INTO parts(file_id, kind, path, staged, day, rows) VALUES (?,?,?,?,?,?)", rows)
    return len(files)
