"""pcapng simple packet blocks (no timestamp) are kept as packets with an inferred time:
the previous packet's on interface 0, else the section's first timed block's, else the
file's modification time; tshark reads the same frames."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from teiten.capture.reader import read_capture
from teiten.cli.main import cli
from teiten.engine.duckdb import connect_sql
from tests.capture.builders import PcapngBlocks, tcp_syn, udp

T0 = Fraction(1_700_000_000)
MTIME = 1_650_000_000  # set on the file: the timestamp of last resort


def _p(k: int) -> bytes:
    return tcp_syn("198.51.100.7", "192.0.2.1", 40000 + k, 23, seq=k)


def _mixed(path: Path) -> tuple[Path, list[tuple[int, bool, Fraction]]]:
    """A three-section file; returns it and (sport, inferred, expected ts) per packet."""
    b = PcapngBlocks()
    want: list[tuple[int, bool, Fraction]] = []

    def epb(iface: int, k: int, ts: Fraction) -> None:
        b.epb(iface, ts, _p(k))
        want.append((40000 + k, False, ts))

    def spb(k: int, ts: Fraction) -> None:
        b.spb(_p(k))
        want.append((40000 + k, True, ts))

    # section 1: ns interface 0, 2^-20 s interface 1 described after the first packets
    b.section().interface(tsresol=9)
    spb(1, T0 + Fraction(1_000_000_001, 10**9))        # before any timed block: the section's first (ahead)
    epb(0, 2, T0 + Fraction(1_000_000_001, 10**9))
    spb(3, T0 + Fraction(1_000_000_001, 10**9))        # the previous packet on interface 0
    b.interface(tsresol=0x80 | 20)
    epb(1, 4, T0 + Fraction(11, 2))
    spb(5, T0 + Fraction(1_000_000_001, 10**9))        # interface 1's packet is not interface 0's
    epb(0, 6, T0 + Fraction(29, 4))
    spb(7, T0 + Fraction(29, 4))
    # section 2: the only timed block is on interface 1 and comes after the SPB
    b.section().interface(tsresol=6).interface(tsresol=3)
    spb(8, T0 + 20)
    epb(1, 9, T0 + 20)
    spb(10, T0 + 20)              # the section's first timed block (interface 0 has none)
    # section 3: no timed block at all: the file's modification time
    b.section().interface(tsresol=6)
    spb(11, Fraction(MTIME))
    b.spb(udp("198.51.100.7", "192.0.2.1", 53000, 53, b"x"))
    want.append((53000, True, Fraction(MTIME)))
    b.write(path)
    os.utime(path, (MTIME, MTIME))
    return path, want


def _us(ts: Fraction) -> int:
    """µs since the epoch, truncated as the reader does."""
    return int(ts * 1_000_000)


def test_every_simple_packet_block_is_a_packet_with_an_inferred_time(tmp_path: Path) -> None:
    path, want = _mixed(tmp_path / "mixed.pcapng")
    table, s = read_capture(path)
    rows = sorted(table.to_pylist(), key=lambda r: r["frame"])
    assert s.frames == len(want) == len(rows)
    assert s.quarantined == 0
    assert s.ts_inferred == sum(1 for _, inferred, _ in want if inferred) == 8
    for row, (sport, inferred, ts) in zip(rows, want, strict=True):
        assert row["sport"] == sport
        assert row["ts_inferred"] is inferred, row["frame"]
        got = int(row["ts"].timestamp()) * 1_000_000 + row["ts"].microsecond
        assert got == _us(ts), (row["frame"], got, _us(ts))
    # the file's time range comes from its timestamped records
    assert s.first_ts == _us(T0 + Fraction(1_000_000_001, 10**9))
    assert s.last_ts == _us(T0 + 20)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is installed by make install")
def test_frame_count_equals_tsharks(tmp_path: Path) -> None:
    path, want = _mixed(tmp_path / "mixed.pcapng")
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number",
                          "-e", "tcp.srcport", "-e", "udp.srcport"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    lines = [ln.split("\t") for ln in out if ln.strip()]
    assert len(lines) == len(want)
    ports = [int(t or u) for _, t, u in lines]
    assert ports == [sport for sport, _, _ in want]


def test_ingest_counts_and_stores_the_flag(tmp_path: Path) -> None:
    path, want = _mixed(tmp_path / "mixed.pcapng")
    store = tmp_path / "store"
    res = CliRunner().invoke(cli, ["ingest", "--store", str(store), "--json", str(path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output.strip().splitlines()[-1])
    assert doc["frames"] == doc["packets"] == len(want)
    assert doc["ts_inferred"] == 8 and doc["quarantined"] == 0
    text = CliRunner().invoke(cli, ["ingest", "--store", str(tmp_path / "s2"), str(path)])
    assert "8 with inferred timestamps" in text.output
    db = connect_sql(store)
    got = db.execute("SELECT sport, ts_inferred FROM packets ORDER BY frame").fetchall()
    assert got == [(sport, inferred) for sport, inferred, _ in want]
    assert db.execute("SELECT ts_inferred FROM files").fetchall() == [(8,)]


def test_a_store_written_before_the_flag_reads_it_as_false(tmp_path: Path) -> None:
    """Parts and a manifest from before ``ts_inferred``: still readable, old rows false."""
    old = PcapngBlocks().section().interface()
    for k in range(3):
        old.epb(0, T0 + k, _p(k))
    store = tmp_path / "store"
    assert CliRunner().invoke(cli, ["ingest", "--store", str(store), str(old.write(tmp_path / "old.pcapng"))]
                              ).exit_code == 0
    # make it an old store: no column in the parts, none in the manifest
    for part in (store / "packets").rglob("*.parquet"):
        t = pq.read_table(part)
        pq.write_table(t.drop_columns(["ts_inferred", "ip_flags", "icmp_id", "icmp_seq"]), part)
    con = sqlite3.connect(store / "manifest.sqlite")
    con.execute("ALTER TABLE files DROP COLUMN ts_inferred")
    con.commit()
    con.close()
    db = connect_sql(store)
    assert db.execute("SELECT count(*), bool_or(ts_inferred), count(ip_flags) FROM packets").fetchone() == (
        3, False, 0)
    db.close()
    path, want = _mixed(tmp_path / "mixed.pcapng")
    assert CliRunner().invoke(cli, ["ingest", "--store", str(store), str(path)]).exit_code == 0
    db = connect_sql(store)
    assert db.execute("SELECT count(*), count(*) FILTER (WHERE ts_inferred), count(ip_flags) FROM packets"
                      ).fetchone() == (3 + len(want), 8, len(want))


def test_the_result_line_is_whole_in_a_log(tmp_path: Path) -> None:
    """stderr to a file (a log): each file's result is one line, not wrapped at 80 columns."""
    folder = tmp_path / ("a-long-directory-name-" * 3)
    folder.mkdir()
    path, _ = _mixed(folder / "mixed.pcapng")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    run = subprocess.run([sys.executable, "-m", "teiten.cli", "ingest", "--store", str(tmp_path / "s"), str(path)],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    line = next(ln for ln in run.stderr.splitlines() if str(path) in ln)
    assert len(line) > 80 and line.endswith("8 with inferred timestamps (simple packet blocks)")
