"""Collector ingest benchmark: many small rotated captures against one file of the same packets.

    .venv/bin/python bench/collector.py [--files 1000] [--packets 2000] [--per-file-sample 200]

Writes --files pcapng captures of --packets background-radiation packets each (one sensor's
five-minute intervals, `teiten.synth.radiation.radiation_batch`), then, each into a fresh
store with the kernels and geo tables already warm, prints packets per second of
  * collector batch      the collector's batch ingester end to end (`ingest_incoming`: the files
                         waiting in collector/incoming/, into the store, moved to done/, their
                         rows in collector.sqlite updated)
  * one single file      the same packets as one capture, one `ingest_paths` call
  * ingest_paths / file  one `ingest_paths` call per file (open the store, lock, recover, ...),
                         over the first --per-file-sample files
and the ratios against the single file, with the overhead per small file in milliseconds.
The issue's target: >= 1 M packets/s for the collector batch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from teiten.capture.writer import CaptureWriter, write_pcapng
from teiten.ingest.collector import collector_folder
from teiten.ingest.collector_batch import ingest_incoming
from teiten.ingest.collector_db import CollectorDB
from teiten.ingest.pipeline import ingest_paths
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from teiten.synth.radiation import radiation_batch

SENSOR = "bench-1"
T0 = 1_780_000_200  # a multiple of 300


def stem(k: int) -> str:
    return SENSOR + "-" + datetime.fromtimestamp(T0 + 300 * k, UTC).strftime("%Y%m%dT%H%M%SZ")


def write_captures(src: Path, files: int, packets: int) -> Path:
    """``files`` small captures in ``src`` and one capture of all their packets; the big one."""
    rng = np.random.default_rng(1)
    big = src / "all.pcapng"
    with CaptureWriter(big, pcapng=True) as w:
        for k in range(files):
            start = (T0 + 300 * k) * 1_000_000
            cols = radiation_batch(packets, start, start + 300_000_000, rng)
            write_pcapng(src / f"{stem(k)}.pcapng", cols)
            w.write(cols)
    return big


def new_store(path: Path) -> CollectorDB:
    """A store with the sensor in its catalog and a collector, warm: kernels compiled and geo
    tables loaded by ingesting a small capture of another sensor's."""
    shutil.rmtree(path, ignore_errors=True)
    with open_store(path) as con:
        add_sensor(con, Sensor(SENSOR, ("157.255.0.0/24",)))
    folder = collector_folder(path)
    folder.mkdir(parents=True)
    db = CollectorDB(folder / "collector.sqlite")
    db.add_sensor(SENSOR, ("157.255.0.0/24",), "00" * 32)
    warm = path.parent / "warm.pcapng"
    write_pcapng(warm, radiation_batch(5_000, T0 * 1_000_000 - 10**9, T0 * 1_000_000, np.random.default_rng(2)))
    assert [r.status for r in ingest_paths(path, [warm])] == ["ok"]
    return db


def stage_incoming(store: Path, db: CollectorDB, smalls: list[Path]) -> None:
    """The small captures in collector/incoming/, as the upload API leaves them (their
    manifests accepted)."""
    incoming = collector_folder(store) / "incoming"
    incoming.mkdir(exist_ok=True)
    with db.connect() as con:
        for p in smalls:
            shutil.copyfile(p, incoming / p.name)
            sha = hashlib.sha256(p.read_bytes()).hexdigest()
            con.execute("INSERT INTO files(name, sensor, sha256, size, state) VALUES (?,?,?,?, 'incoming')",
                        (p.name, SENSOR, sha, p.stat().st_size))
    os.sync()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=2000, help="packets per small file")
    ap.add_argument("--per-file-sample", type=int, default=200, help="files given one ingest_paths call each")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="teiten-bench-collector-"))
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    big = write_captures(src, args.files, args.packets)
    smalls = sorted(p for p in src.iterdir() if p.name.startswith(SENSOR))
    total = args.files * args.packets
    print(f"wrote {args.files:,} captures of {args.packets:,} packets ({smalls[0].stat().st_size / 1e3:.0f} kB each)"
          f" and one of {total:,} ({big.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    rates: dict[str, tuple[float, float]] = {}  # name -> (packets/s, seconds per file)

    store = work / "batch"
    db = new_store(store)
    stage_incoming(store, db, smalls)
    t = time.perf_counter()
    results = ingest_incoming(collector_folder(store), store, db)
    dt = time.perf_counter() - t
    assert len(results) == args.files and {r.status for r in results} == {"ok"}, {r.status for r in results}
    assert sum(r.packets for r in results) == total
    rates["collector batch (incoming/ to store)"] = (total / dt, dt / args.files)

    store = work / "single"
    new_store(store)
    os.sync()
    t = time.perf_counter()
    (one,) = ingest_paths(store, [big], sensor=SENSOR)
    dt = time.perf_counter() - t
    assert one.status == "ok" and one.packets == total
    rates["one single file (ingest_paths)"] = (total / dt, dt / args.files)

    store = work / "per-file"
    new_store(store)
    sample = smalls[: args.per_file_sample]
    os.sync()
    t = time.perf_counter()
    for p in sample:
        (r,) = ingest_paths(store, [p], sensor=SENSOR)
        assert r.status == "ok"
    dt = time.perf_counter() - t
    rates[f"ingest_paths per file ({len(sample)} files)"] = (len(sample) * args.packets / dt, dt / len(sample))

    base, per_single = rates["one single file (ingest_paths)"]
    print(f"\n{'':40}{'packets/s':>12}{'× single':>10}{'ms/file':>10}{'overhead ms/file':>18}")
    for name, (r, per) in rates.items():
        print(f"{name:40}{r:>12,.0f}{r / base:>10.3f}{per * 1e3:>10.1f}{(per - per_single) * 1e3:>18.1f}")
    target = rates["collector batch (incoming/ to store)"][0]
    print(f"\ntarget >= 1,000,000 packets/s for the collector batch: {'met' if target >= 1e6 else 'NOT met'}"
          f" ({target:,.0f})")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
