"""Ingest capture files into a store: decode, enrich, attribute, write, commit.

One bad file never stops a batch: each file ends as ``ok``, ``partial`` (read
up to damage; the rest quarantined), ``duplicate`` (same content already
committed: nothing is added) or ``error`` (not a capture; nothing is added).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from teiten.capture.reader import CaptureReader
from teiten.enrich import GeoDB, enrich, load_geo
from teiten.errors import CaptureError
from teiten.store.catalog import SensorMap, list_sensors, sensor_map
from teiten.store.dataset import StagedFile, commit
from teiten.store.manifest import COMMITTED, transaction
from teiten.store.open import open_store

__all__ = ["CAPTURE_SUFFIXES", "IngestResult", "enriched", "expand_paths", "file_sha256", "ingest_one", "ingest_paths",
           "iso_us"]

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp", ".ntar")
COMPRESSED_SUFFIXES = ("", ".gz", ".zst", ".zstd")


def iso_us(us: int | None) -> str | None:
    if us is None:
        return None
    sec, frac = divmod(us, 1_000_000)
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:06d}Z"


@dataclass
class IngestResult:
    file: str
    status: str  # ok | partial | duplicate | error
    frames: int = 0
    packets: int = 0
    nonip: int = 0
    quarantined: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    error: str | None = None
    file_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    ts_inferred: int = 0  # packets stored with an inferred timestamp (pcapng simple packet blocks)

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        if not d["warnings"]:
            del d["warnings"]
        if d["error"] is None:
            del d["error"]
        return d


def _is_capture_name(p: Path) -> bool:
    name = p.name.lower()
    return any(name.endswith(s + c) for s in CAPTURE_SUFFIXES for c in COMPRESSED_SUFFIXES)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders walked for capture files (by suffix), sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and _is_capture_name(f))
        else:
            out.append(p)
    return out


def file_sha256(path: Path) -> tuple[str, int]:
    """A file's SHA-256 (hex) and size, read in one pass."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    return digest.hexdigest(), path.stat().st_size


def ingest_paths(store: Path, paths: list[Path], *, sensor: str | None = None,
                 on_packets: Callable[[int], None] | None = None) -> Iterator[IngestResult]:
    """Ingest each capture file; yield one result per file, in order."""
    with open_store(store) as con:
        sensors = list_sensors(con)
        if sensor is not None and sensor not in {s.name for s in sensors}:
            sensors_note = f"sensor {sensor!r} is not in the catalog (teiten sensors add)"
        else:
            sensors_note = ""
        smap = sensor_map(sensors)
        geo = load_geo(store)
        with transaction(con):
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('geo_sources', ?)",
                        (json.dumps([asdict(s) for s in geo.sources]),))
        for path in expand_paths(paths):
            r = ingest_one(con, store, path, sensor, smap, geo, on_packets)
            if sensors_note and r.status in ("ok", "partial"):
                r.warnings.append(sensors_note)
            yield r


def ingest_one(con: sqlite3.Connection, store: Path, path: Path, sensor: str | None, smap: SensorMap,
                geo: GeoDB, on_packets: Callable[[int], None] | None) -> IngestResult:
    """One file into the store inside the caller's ingest lock: staged, committed or
    quarantined, never half (what ingest_paths does per file)."""
    try:
        sha, size = file_sha256(path)
    except OSError as e:
        return IngestResult(str(path), "error", error=f"cannot read {path}: {e.strerror or e}")
    row = con.execute("SELECT id FROM files WHERE sha256=? AND status IN (?,?) ORDER BY id LIMIT 1",
                      (sha, *COMMITTED)).fetchone()
    if row is not None:
        prev = con.execute("SELECT * FROM files WHERE id=?", (row["id"],)).fetchone()
        return IngestResult(str(path), "duplicate", prev["frames"], 0, 0, 0, iso_us(prev["first_ts"]),
                            iso_us(prev["last_ts"]), file_id=row["id"],
                            warnings=[f"same content as {prev['path']} (file {row['id']}), ingested before:"
                                      " nothing added"])
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with transaction(con):
        cur = con.execute("INSERT INTO files(sha256, path, size, status, sensor, started_at)"
                          " VALUES (?,?,?,?,?,?)",
                          (sha, str(path), size, "ingesting", sensor, now))
        fid = int(cur.lastrowid or 0)
    staged = StagedFile(store, fid)
    try:
        with open(staged.tail_path(), "wb") as tail:
            reader = CaptureReader(path, tail_sink=tail)
            for batch in reader:
                if batch.packets.num_rows:
                    staged.write(enriched(batch.packets, geo, smap, sensor, fid))
                if batch.quarantine:
                    staged.quarantine(batch.quarantine)
                if on_packets is not None:
                    on_packets(batch.packets.num_rows)
            s = reader.summary
        parts = staged.close()
    except CaptureError as e:
        staged.abort()
        with transaction(con):
            con.execute("UPDATE files SET status='error', error=?, finished_at=? WHERE id=?",
                        (str(e), datetime.now(UTC).isoformat(timespec="seconds"), fid))
        return IngestResult(str(path), "error", error=str(e), file_id=fid)
    except BaseException:
        staged.abort()
        with transaction(con):
            con.execute("DELETE FROM files WHERE id=?", (fid,))
        raise
    status = "partial" if s.damage else "ok"
    warnings = []
    if s.undecoded_linktypes:
        warnings.append(reader.undecoded_note())
    error = None
    if s.damage:
        error = (f"{s.damage} at byte {s.damage_offset}; read {s.frames} records before it, "
                 f"{s.tail_bytes} bytes after it quarantined")
    commit(con, staged, parts, status, {
        "format": s.format, "compression": s.compression, "frames": s.frames, "packets": s.packets,
        "nonip": s.nonip, "quarantined": s.quarantined, "ts_inferred": s.ts_inferred,
        "first_ts": s.first_ts, "last_ts": s.last_ts,
        "damage": s.damage, "damage_offset": s.damage_offset, "tail_bytes": s.tail_bytes, "error": error,
        "notes": "; ".join(warnings) or None, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    return IngestResult(str(path), status, s.frames, s.packets, s.nonip, s.quarantined, iso_us(s.first_ts),
                        iso_us(s.last_ts), error, fid, warnings, s.ts_inferred)


def enriched(table: pa.Table, geo: GeoDB, smap: SensorMap, sensor: str | None, fid: int) -> pa.Table:
    """Decoded packets with their source country and AS, their sensor (``sensor``, else by
    destination address from the catalog), the id of the file they came from and
    ``outbound``: whether a sensor sent it (from a catalogued address to none; the store
    keeps those apart, teiten.store.dataset)."""
    t = enrich(table, geo).append_column("outbound", pa.array(smap.sent(table)))
    if sensor is not None:
        names = pa.DictionaryArray.from_arrays(pa.array(np.zeros(t.num_rows, np.int32)),
                                               pa.array([sensor]))
    else:
        names = smap.attribute(t)
    t = t.append_column("sensor", names)
    return t.append_column("file_id", pa.array(np.full(t.num_rows, fid, np.uint32)))
