"""Batch ingest of many small captures into one commit (teiten.ingest.batch): the same store
as one ingest_paths call per file, idempotent by content, a damaged file and a non-capture
among good ones, and a batch cut before and during its commit."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from teiten.capture.writer import write_pcapng
from teiten.ingest import batch as batch_module
from teiten.ingest.batch import ingest_batch
from teiten.ingest.pipeline import ingest_paths
from teiten.schema import rollup_schema
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from teiten.synth.radiation import radiation_batch
from tests.sensors.test_collector import T0, _sql

SENSOR = "b1"


def _store(path: Path) -> Path:
    with open_store(path) as con:
        add_sensor(con, Sensor(SENSOR, ("157.255.0.0/24",)))
    return path


def _captures(folder: Path, n: int, packets: int = 500, seed: int = 1) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        start = (T0 + 300 * k) * 1_000_000
        out.append(folder / f"{SENSOR}-{k:04d}.pcapng")
        write_pcapng(out[-1], radiation_batch(packets, start, start + 300_000_000, rng))
    return out


def _files(store: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(store / "manifest.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return con.execute("SELECT * FROM files ORDER BY id").fetchall()
    finally:
        con.close()


def _per_file(store: Path) -> list[tuple[str, int, int]]:
    """(file name, packets, sum of source addresses) of each file's stored packets."""
    rows = _sql(store, "SELECT f.path AS path, count(*) AS n, sum(p.src4) AS s FROM packets p"
                       " JOIN files f ON f.id = p.file_id GROUP BY 1 ORDER BY 1")
    return [(Path(str(r["path"])).name, int(str(r["n"])), int(str(r["s"]))) for r in rows]


def _slots(store: Path) -> dict[tuple[object, ...], int]:
    """The hourly roll-ups of a store: packets per (slot, key, version, country, sensor)."""
    keys = [n for n in rollup_schema().names if n != "packets"]
    out: Counter[tuple[object, ...]] = Counter()
    for r in pq.read_table(sorted(store.glob("slots/*/*.parquet"))).to_pylist():
        out[tuple(r[k] for k in keys)] += r["packets"]
    return dict(out)


def test_a_batch_stores_what_ingest_paths_stores_and_is_idempotent(tmp_path: Path) -> None:
    caps = _captures(tmp_path / "caps", 30)
    shutil.copyfile(caps[3], tmp_path / "caps" / "again.pcapng")  # the same content twice in one batch
    given = [*caps, tmp_path / "caps" / "again.pcapng"]
    one = _store(tmp_path / "one")
    for p in caps:
        assert [r.status for r in ingest_paths(one, [p], sensor=SENSOR)] == ["ok"]
    many = _store(tmp_path / "many")
    results = list(ingest_batch(many, given, sensor=SENSOR, group_packets=4_000))  # groups of 8 files
    assert [r.status for r in results] == ["ok"] * 30 + ["duplicate"]
    assert [r.file for r in results] == [str(p) for p in given]
    assert all(r.packets == 500 and r.file_id is not None for r in results[:30])
    assert _per_file(many) == _per_file(one) and len(_per_file(many)) == 30
    rows = _files(many)
    assert len(rows) == 30 and {r["status"] for r in rows} == {"ok"}  # one manifest row per file
    assert [r["packets"] for r in rows] == [500] * 30
    assert [r["first_ts"] for r in rows] == [r["first_ts"] for r in _files(one)]
    assert _sql(many, "SELECT sensor, count(*) AS n FROM packets GROUP BY 1") == [{"sensor": SENSOR, "n": 15_000}]
    assert _slots(many) == _slots(one)  # the hourly roll-ups count the same
    con = sqlite3.connect(many / "manifest.sqlite")
    kinds = con.execute("SELECT kind, count(DISTINCT file_id) FROM parts GROUP BY 1 ORDER BY 1").fetchall()
    con.close()
    assert kinds == [("packets", 4), ("slots", 4)]  # 30 files in 4 groups, the parts under each group's first

    again = list(ingest_batch(many, given, sensor=SENSOR))
    assert [r.status for r in again] == ["duplicate"] * 31
    assert len(_files(many)) == 30 and _per_file(many) == _per_file(one)
    assert not (many / "staging").exists() or not list((many / "staging").iterdir())


def test_a_damaged_file_and_a_non_capture_among_good_ones(tmp_path: Path) -> None:
    caps = _captures(tmp_path / "caps", 5)
    data = caps[1].read_bytes()
    damaged = tmp_path / "caps" / f"{SENSOR}-damaged.pcapng"
    damaged.write_bytes(data[: len(data) // 2] + b"\xff" * 64 + data[len(data) // 2:])  # a broken block midway
    junk = tmp_path / "caps" / f"{SENSOR}-junk.pcapng"
    junk.write_bytes(b"this is not a capture\n" * 50)
    given = [caps[0], damaged, caps[2], junk, caps[3], caps[4]]
    store = _store(tmp_path / "store")
    results = list(ingest_batch(store, given, sensor=SENSOR))
    assert [r.status for r in results] == ["ok", "partial", "ok", "error", "ok", "ok"], [r.error for r in results]
    assert 0 < results[1].packets < 500 and results[1].error and results[3].error
    good = {p.name: 500 for p in (caps[0], caps[2], caps[3], caps[4])}
    stored = {name: n for name, n, _ in _per_file(store)}
    assert stored == {**good, damaged.name: results[1].packets}
    rows = {Path(r["path"]).name: r for r in _files(store)}
    assert rows[junk.name]["status"] == "error" and rows[damaged.name]["status"] == "partial"
    fid = rows[damaged.name]["id"]
    assert rows[damaged.name]["tail_bytes"] > 0 and (store / "quarantine" / f"f{fid}.tail").exists()
    # a second pass: good and partial files are duplicates, the junk is tried again and fails again
    assert [r.status for r in ingest_batch(store, given, sensor=SENSOR)] == ["duplicate"] * 3 + ["error"] + [
        "duplicate"] * 2


def test_a_batch_cut_before_its_commit_leaves_nothing_and_one_cut_during_it_is_rolled_forward(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caps = _captures(tmp_path / "caps", 6)
    store = _store(tmp_path / "store")

    def cut(*_: object) -> None:
        raise KeyboardInterrupt  # the process stops here

    monkeypatch.setattr(batch_module.StagedFile, "close", cut)
    with pytest.raises(KeyboardInterrupt):
        list(ingest_batch(store, caps, sensor=SENSOR))
    monkeypatch.undo()
    assert _files(store) == [] and not list((store / "staging").iterdir())
    assert not list(store.glob("packets/*/*.parquet"))

    monkeypatch.setattr(batch_module, "move_parts", cut)
    with pytest.raises(KeyboardInterrupt):
        list(ingest_batch(store, caps, sensor=SENSOR))
    monkeypatch.undo()
    assert {r["status"] for r in _files(store)} == {"committing"}
    # the next open of the store finishes the commit: every file once
    assert [r.status for r in ingest_batch(store, caps, sensor=SENSOR)] == ["duplicate"] * 6
    assert {r["status"] for r in _files(store)} == {"ok"} and len(_files(store)) == 6
    assert _sql(store, "SELECT count(*) AS n FROM packets") == [{"n": 3_000}]
