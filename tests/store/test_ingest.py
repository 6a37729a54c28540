"""Ingest into a store: counts, duplicates, errors, damage, crashes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from teiten.engine.duckdb import connect_sql
from teiten.ingest.pipeline import ingest_paths
from teiten.store import dataset
from tests.store.synth import syn_pcap

TEITEN = [sys.executable, "-m", "teiten.cli"]


def _count(store: Path, sql: str = "SELECT count(*) FROM packets") -> int:
    return int(connect_sql(store).execute(sql).fetchone()[0])  # type: ignore[index]


def test_ingest_counts_and_duplicates(tmp_path: Path) -> None:
    a = syn_pcap(tmp_path / "a.pcap", 5000, seed=1)
    b = syn_pcap(tmp_path / "b.pcap", 3000, seed=2)
    store = tmp_path / "store"
    results = list(ingest_paths(store, [a, b]))
    assert [r.status for r in results] == ["ok", "ok"]
    assert _count(store) == 8000
    # spread over 3 UTC days: one Parquet part per file and day
    days = {p.parent.name for p in (store / "packets").rglob("*.parquet")}
    assert len(days) >= 2
    assert _count(store, "SELECT count(DISTINCT day) FROM packets") == len(days)
    shutil.copy(a, tmp_path / "a-copy.pcap")
    again = list(ingest_paths(store, [a, tmp_path / "a-copy.pcap"]))
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert _count(store) == 8000


def test_bad_file_does_not_stop_the_batch(tmp_path: Path) -> None:
    good = syn_pcap(tmp_path / "good.pcap", 1000, seed=3)
    text = tmp_path / "notes.pcap"
    text.write_text("not a capture\n")
    raw = syn_pcap(tmp_path / "whole.pcap", 1000, seed=4).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[: 24 + 70 * 600 + 30])  # 600 whole records, then 30 bytes of the next
    store = tmp_path / "store"
    results = {Path(r.file).name: r for r in ingest_paths(store, [text, cut, good])}
    assert results["notes.pcap"].status == "error" and "not a pcap" in (results["notes.pcap"].error or "")
    assert results["cut.pcap"].status == "partial" and results["cut.pcap"].packets == 600
    assert results["good.pcap"].status == "ok"
    assert _count(store) == 1600
    tail = store / "quarantine" / f"f{results['cut.pcap'].file_id}.tail"
    assert tail.read_bytes() == raw[24 + 70 * 600: 24 + 70 * 600 + 30]


def test_cli_json_lines_and_exit_status(tmp_path: Path) -> None:
    good = syn_pcap(tmp_path / "good.pcap", 100, seed=5)
    (tmp_path / "bad.pcap").write_bytes(b"\x00" * 100)
    store = tmp_path / "store"
    p = subprocess.run([*TEITEN, "ingest", str(good), str(tmp_path / "bad.pcap"), "--store", str(store), "--json"],
                       capture_output=True, text=True, check=False)
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert p.returncode == 1
    assert [x["status"] for x in lines] == ["ok", "error"]
    assert lines[0]["packets"] == 100 and lines[0]["frames"] == 100 and lines[0]["nonip"] == 0
    assert lines[0]["first_ts"].endswith("Z") and len(lines[0]["first_ts"]) == 27
    assert set(lines[1]) >= {"file", "status", "frames", "packets", "nonip", "quarantined", "first_ts", "last_ts",
                             "error"}
    p2 = subprocess.run([*TEITEN, "ingest", str(good), "--store", str(store), "--json"],
                        capture_output=True, text=True, check=False)
    assert p2.returncode == 0 and json.loads(p2.stdout)["status"] == "duplicate"


def test_crash_between_commit_steps_rolls_forward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = syn_pcap(tmp_path / "a.pcap", 2000, seed=6)
    store = tmp_path / "store"

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("power cut after the manifest said committing")

    monkeypatch.setattr(dataset, "move_parts", crash)
    with pytest.raises(KeyboardInterrupt):
        list(ingest_paths(store, [a]))
    monkeypatch.undo()
    con = sqlite3.connect(store / "manifest.sqlite")
    assert con.execute("SELECT status FROM files").fetchall() == [("committing",)]
    assert _count(store) == 0  # nothing visible yet
    assert _count(store, "SELECT count(*) FROM slots_raw") == 0  # nor its hourly roll-ups
    # the next ingest recovers first: the commit is completed, the file is a duplicate
    assert [r.status for r in ingest_paths(store, [a, a])] == ["duplicate", "duplicate"]
    assert _count(store) == 2000
    assert _count(store, "SELECT sum(packets) FROM slots_raw") == 2000


def test_killed_ingest_then_rerun_counts_exactly(tmp_path: Path) -> None:
    src = tmp_path / "captures"
    src.mkdir()
    sizes = [150_000 + 20_000 * i for i in range(6)]
    for i, n in enumerate(sizes):
        syn_pcap(src / f"c{i}.pcap", n, seed=10 + i)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for delay in (0.8, 2.0, 3.5):
        proc = subprocess.Popen([*TEITEN, "ingest", str(src), "--store", str(store), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = subprocess.run([*TEITEN, "ingest", str(src), "--store", str(store), "--json"],
                           capture_output=True, text=True, check=False)
    assert final.returncode == 0, final.stdout + final.stderr
    statuses = [json.loads(x)["status"] for x in final.stdout.splitlines()]
    assert set(statuses) <= {"ok", "duplicate"} and len(statuses) == 6
    assert _count(store) == sum(sizes)
    assert _count(store, "SELECT count(DISTINCT file_id) FROM packets") == 6
    assert _count(store, "SELECT sum(packets) FROM slots_raw") == sum(sizes)  # the hourly roll-ups too
    con = sqlite3.connect(store / "manifest.sqlite")
    assert con.execute("SELECT count(*) FROM files WHERE status IN ('ok','partial')").fetchone() == (6,)
    assert not any((store / "staging").iterdir())
