"""kill -9 of the collector mid-ingest, then a restart: every packet is in the store once.

A real ``teiten collector serve`` process on 127.0.0.1 and a real ``teiten sensor ship``
process, a spool of many signed intervals (every packet from a source address of its own,
their total known). The collector is killed with SIGKILL while a batch ingest is under way,
three times, then restarted on the same store; at the end every file is accepted once, in
the store once (one row in its manifest, its packets counted exactly, the hourly roll-ups
too), ``done`` in collector.sqlite, and nothing is left in staging/, incoming/ or uploads/.

- From outside: the test watches the store's ``staging/`` and manifest and kills the process
  at the first file of the first batch, two thirds into the batch of the restart (which
  ingests again what the kill left), and in a batch of intervals the sensor closed later,
  the first ones all in the store.
- From inside, for windows too narrow to hit from outside: the collector, started through
  ``BOOT``, kills its own process with SIGKILL at an exact point: an upload's last byte
  written but not checked (this left the file ``partial`` for good, its manifest refused,
  before the collector finished such uploads as it starts: Collector.recover and its HEAD),
  a group committing (its parts not moved yet), the batch committed and its files moved to
  ``done/`` but not recorded in collector.sqlite (this left the files ``incoming`` for good
  before the batch ingester looked for them in ``done/`` too), and amid those moves.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from teiten.capture.frames import TCP, PacketColumns
from teiten.capture.writer import write_pcapng
from teiten.cli.main import cli
from teiten.sensors import credentials
from teiten.sensors.manifest import Manifest
from teiten.sensors.spool import Spool
from tests.sensors.live import collector_process, free_port, wait_until

SENSOR = "crash-1"
T0 = 1_780_000_200  # a multiple of 300
PACKETS = 3_000  # per interval (plus its number, so that the files differ in size too)

#: ``python -c BOOT POINT N teiten-args...``: the collector, killing its own process with
#: SIGKILL at the Nth passage of POINT, its batches committed in groups of 10,000 packets
#: (several per batch)
BOOT = """
import functools, hashlib, os, pathlib, signal, sys
from teiten.ingest import batch, collector_batch, collector_db
point, nth, calls = sys.argv[1], int(sys.argv[2]), [0]
def die_before(real, when=lambda *a: True):
    def wrapper(*a, **k):
        if when(*a):
            calls[0] += 1
            if calls[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*a, **k)
    return wrapper
collector_batch.ingest_batch = functools.partial(batch.ingest_batch, group_packets=10_000)
if point == "uploaded":  # an upload's last byte written, before its check
    hashlib.file_digest = die_before(hashlib.file_digest, lambda f, *a: f.name.endswith(".part"))
elif point == "move_parts":  # a group recorded committing, its parts not moved yet
    batch.move_parts = die_before(batch.move_parts)
elif point == "ingested":  # the batch committed and moved to done/, not recorded in collector.sqlite
    collector_db.CollectorDB.ingested = die_before(collector_db.CollectorDB.ingested)
elif point == "to_done":  # amid the moves to done/
    pathlib.Path.replace = die_before(pathlib.Path.replace, lambda src, dst: pathlib.Path(dst).parent.name == "done")
else:
    raise SystemExit(f"no point {point}")
sys.argv = ["teiten", *sys.argv[3:]]
from teiten.cli.main import main
main()
"""


def _run(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _sql(store: Path, query: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(_run("sql", "--store", str(store), "--json", query))["rows"]
    return rows


def _rows(db: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    """Rows of an SQLite file, read while another process may be writing it."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def _staging(store: Path) -> list[str]:
    try:
        return os.listdir(store / "staging")
    except FileNotFoundError:
        return []


@dataclass
class Site:
    """A collector's store, its sensor's credentials and spool, and the packets of each
    capture closed in the spool, by name."""

    store: Path
    creds: Path
    spool: Spool
    sent: dict[str, int]
    manifests: list[Manifest]

    @property
    def folder(self) -> Path:
        return self.store / "collector"

    @property
    def cdb(self) -> Path:
        return self.folder / "collector.sqlite"

    @property
    def mdb(self) -> Path:
        return self.store / "manifest.sqlite"

    def intervals(self, n: int) -> None:
        """The sensor closes ``n`` more intervals of PACKETS (+ k) TCP SYNs, every packet from
        a source address of its own."""
        key = credentials.load_private(self.creds)
        for k in range(len(self.manifests), len(self.manifests) + n):
            start = T0 + 300 * k
            count = PACKETS + k
            cap = self.spool.tmp / "open.pcapng"
            ts = (start * 1_000_000 + 1_000 + np.arange(count) * 1_000).astype(np.int64)
            write_pcapng(cap, PacketColumns.make(count, ts=ts, src=0x0B000000 + k * 10_000 + np.arange(count),
                                                 dst=0xC6336401 + k % 100, proto=TCP, sport=40000,
                                                 dport=1 + np.arange(count) % 1000, flags=2))
            m = self.spool.close_interval(start, start + 300, cap, packets=count, size=cap.stat().st_size,
                                          first=start + 0.001, last=start + 0.001 * count, dropped={},
                                          key=key, prev=self.manifests[-1] if self.manifests else None)
            assert m.file is not None
            self.manifests.append(m)
            self.sent[m.file] = count

    def files(self, state: str) -> set[str]:
        """The names of the files in ``state`` in collector.sqlite."""
        return {str(n) for (n,) in _rows(self.cdb, "SELECT name FROM files WHERE state=?", state)}

    def statuses(self) -> dict[str, int]:
        """How many files of the store's manifest are in each status."""
        return {str(s): int(str(n)) for s, n in _rows(self.mdb, "SELECT status, count(*) FROM files GROUP BY 1")}


@dataclass(frozen=True)
class Cut:
    """What a killed collector left."""

    staging: list[str]  # the store's staging folders
    store: dict[str, int]  # files of the store's manifest per status
    done: int  # files done in collector.sqlite
    incoming: int  # files incoming in collector.sqlite
    moved: set[str]  # incoming in collector.sqlite, but in done/ already


def _cut(site: Site) -> Cut:
    incoming = site.files("incoming")
    return Cut(_staging(site.store), site.statuses(), len(site.files("done")), len(incoming),
               incoming & {p.name for p in site.folder.glob("done/*")})


def _site(tmp_path: Path, intervals: int) -> Site:
    store, creds = tmp_path / "store", tmp_path / "creds"
    _run("collector", "init", "--store", str(store))
    _run("collector", "add-sensor", SENSOR, "--store", str(store), "--addresses", "198.51.100.0/24",
         "--out", str(creds))
    site = Site(store, creds, Spool(tmp_path / "spool", SENSOR), {}, [])
    site.intervals(intervals)  # the sensor's backlog when shipping starts
    return site


@contextmanager
def _shipper(site: Site, url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``teiten sensor ship`` of the site's spool, a pass every 0.2 s, until the block ends."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "teiten.cli", "sensor", "ship", "--spool",
                                 str(site.spool.root), "--collector", url, "--credentials", str(site.creds),
                                 "--poll", "0.2"], stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def _finish(site: Site, port: int, log: Path, shipper: subprocess.Popen[bytes]) -> None:
    """A collector (not killed this time) until every file is done and the spool shipped."""
    collector = collector_process(site.store, port, log)
    try:
        wait_until(lambda: len(site.files("done")) == len(site.sent), 30,
                   f"the collector did not ingest every file: {_cut(site)}")
        assert shipper.poll() is None
        wait_until(lambda: not list(site.spool.ready.iterdir()), 10, "the shipper did not finish")
    finally:
        shipper.terminate()  # first: uvicorn's shutdown waits for the shipper's connection to close
        shipper.wait(10)
        collector.terminate()
        collector.wait(10)


def _every_packet_once(site: Site) -> None:
    """Every capture shipped, accepted once, ingested once, its packets counted exactly, and
    nothing left half-way."""
    sent, store = site.sent, site.store
    assert sorted(p.name for p in site.spool.sent.glob("*.pcapng")) == sorted(sent)
    files = _rows(site.cdb, "SELECT name, state, result FROM files ORDER BY name")
    assert [(n, s) for n, s, _ in files] == [(n, "done") for n in sorted(sent)]
    assert {r for _, _, r in files} <= {"ok", "duplicate"}
    seqs = [s for (s,) in _rows(site.cdb, "SELECT seq FROM manifests ORDER BY seq")]
    assert seqs == list(range(1, len(sent) + 1))
    stored = _rows(site.mdb, "SELECT path, status, packets FROM files ORDER BY id")
    assert sorted(Path(str(p)).name for p, _, _ in stored) == sorted(sent)  # one row per file
    assert {Path(str(p)).name: (s, n) for p, s, n in stored} == {f: ("ok", n) for f, n in sent.items()}
    total = sum(sent.values())
    assert _sql(store, "SELECT count(*) AS n, count(DISTINCT src4) AS src FROM packets") == [
        {"n": total, "src": total}]
    per_file = _sql(store, "SELECT f.path AS path, count(*) AS n FROM packets p JOIN files f ON f.id = p.file_id"
                           " GROUP BY 1")
    assert {Path(str(r["path"])).name: r["n"] for r in per_file} == sent
    assert _sql(store, "SELECT sum(packets) AS n FROM slots_raw") == [{"n": total}]  # the hourly roll-ups
    assert _staging(store) == []
    assert sorted(os.listdir(site.folder / "done")) == sorted(sent)
    assert os.listdir(site.folder / "incoming") == [] and os.listdir(site.folder / "uploads") == []


def test_collector_killed_mid_ingest_three_times_takes_every_packet_once(tmp_path: Path) -> None:
    wave = 60
    site = _site(tmp_path, wave)
    port, log = free_port(), tmp_path / "collector.log"
    collector = collector_process(site.store, port, log)

    def ingesting() -> int:
        """Files being ingested into the store (staged, not committed)."""
        return site.statuses().get("ingesting", 0) if _staging(site.store) else 0

    def kill_when(cond: Callable[[], bool], what: str) -> Cut:
        deadline = time.monotonic() + 30
        while not cond():
            assert collector.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, what
            time.sleep(0.002)
        collector.send_signal(signal.SIGKILL)
        assert collector.wait(10) == -signal.SIGKILL
        return _cut(site)

    with _shipper(site, f"https://127.0.0.1:{port}", tmp_path / "ship.log") as shipper:
        # 1. the first batch, at its first file
        first = kill_when(lambda: ingesting() >= 1, "no first batch")
        assert first.done == 0 and first.incoming >= 1 and first.staging and set(first.store) == {"ingesting"}, first
        collector = collector_process(site.store, port, log)
        # 2. the batch of the restart, which ingests again what the kill left, two thirds in
        least = max(1, 2 * first.incoming // 3)
        second = kill_when(lambda: ingesting() >= least, "no batch after the restart")
        assert second.done == 0 and second.staging and second.store.get("ingesting", 0) >= least, second
        collector = collector_process(site.store, port, log)
        wait_until(lambda: len(site.files("done")) == wave, 30, "the first intervals were not ingested")
        # 3. the sensor closes more intervals: the batch that takes them, the first ones in the store
        site.intervals(wave)
        third = kill_when(lambda: ingesting() >= 1, "no batch of the later intervals")
        assert third.done == wave and third.staging and third.store.get("ok") == wave, third
        assert third.store.get("ingesting", 0) >= 1, third
        _finish(site, port, log, shipper)
    _every_packet_once(site)


def test_collector_killed_mid_commit_and_before_its_records_takes_every_packet_once(tmp_path: Path) -> None:
    site = _site(tmp_path, 40)
    port, log = free_port(), tmp_path / "collector.log"

    def killed_at(point: str, nth: int) -> Cut:
        """The collector until it kills itself at the ``nth`` passage of ``point``; what it left."""
        proc = collector_process(site.store, port, log, python=("-c", BOOT, point, str(nth)), wait=False)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the collector did not reach {point} {nth} times: {_cut(site)}") from None
        assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
        return _cut(site)

    with _shipper(site, f"https://127.0.0.1:{port}", tmp_path / "ship.log") as shipper:
        # 0. an upload whose bytes are all written, not checked yet
        cut = killed_at("uploaded", 3)
        part = site.spool.manifests(site.spool.ready)[0].file
        assert part is not None and site.files("partial") == {part}, cut
        assert (site.folder / "uploads" / f"{part}.part").stat().st_size == (site.spool.ready / part).stat().st_size
        # 1. a group committing: recorded so in the store, its parts still staged
        cut = killed_at("move_parts", 2)
        assert cut.staging and cut.store.get("committing", 0) >= 1, cut
        # 2. the restart's batch (the cut group rolled forward as the store opens), committed
        # and moved to done/, not recorded in collector.sqlite
        cut = killed_at("ingested", 1)
        assert not cut.staging and set(cut.store) == {"ok"} and cut.moved, cut
        # 3. amid the moves to done/ of the next restart's batch
        cut = killed_at("to_done", 3)
        assert not cut.staging and set(cut.store) == {"ok"} and cut.moved, cut
        _finish(site, port, log, shipper)
    _every_packet_once(site)
