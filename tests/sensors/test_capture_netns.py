"""`teiten sensor run` on a real interface: a scanner namespace sends UDP, ICMP and TCP SYNs
to a darknet prefix routed over a veth pair into the sensor's namespace, where the sensor
captures with libpcap and rotates on the clock; the intervals, their signed manifests and
the packets the store then holds are exactly what was sent."""

from __future__ import annotations

import itertools
import json
import signal
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.ingest.pipeline import ingest_paths
from teiten.sensors import credentials
from teiten.sensors.manifest import chain_problems
from teiten.sensors.spool import Spool
from tests.sensors.live import wait_until
from tests.sensors.netns import darknet


def test_capture_rotates_signs_and_counts_exactly(tmp_path: Path) -> None:
    creds, spool_dir = tmp_path / "creds", tmp_path / "spool"
    key = credentials.generate(creds)
    with darknet() as net:
        sensor = net.sensor_run(spool_dir, creds)
        try:
            wait_until(lambda: (spool_dir / "tmp" / "s1-open.pcap").exists(), 20, "the capture did not start")
            time.sleep(0.3)
            net.send(30, 10, 5)
            # and packets the sensor must not see: to an address outside its prefix
            net.run(net.scanner, "ip", "route", "add", "203.0.113.0/24", "via", "10.199.0.2")
            net.run(net.scanner, sys.executable, "-c",
                    "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
                    " [s.sendto(b'x', ('203.0.113.5', 53)) for _ in range(7)]")
            time.sleep(4.5)  # at least one interval without a packet: a heartbeat
        finally:
            sensor.send_signal(signal.SIGTERM)
            out, err = sensor.communicate(timeout=20)
        assert sensor.returncode == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    spool = Spool(spool_dir, "s1")
    ms = spool.manifests()
    assert [m.seq for m in ms] == [x["seq"] for x in lines] == list(range(1, len(ms) + 1)) and len(ms) >= 3
    pub = key.public_key()
    assert all(m.verified(pub) for m in ms)
    assert all(chain_problems(a, b) == ([], 0) for a, b in itertools.pairwise(ms))
    assert sum(m.packets for m in ms) == 45  # exactly what was sent to the prefix, nothing else
    assert any(m.heartbeat for m in ms) and all(m.dropped == {"kernel": 0, "interface": 0} for m in ms)
    assert list(spool.tmp.iterdir()) == []
    # interior intervals start and end on multiples of the rotation
    for m in ms[1:-1]:
        assert m.interval_start[17:19] in {f"{s:02d}" for s in range(0, 60, 2)}, m.interval_start
    for m in ms:
        if m.file:
            assert m.first_ts is not None and m.interval_start[:19] <= m.first_ts[:19]
    # the store holds them, by port key
    store = tmp_path / "store"
    files = [spool.ready / m.file for m in ms if m.file]
    assert all(r.status == "ok" for r in ingest_paths(store, files, sensor="s1"))
    r = CliRunner().invoke(cli, ["sql", "SELECT key, count(*) AS n FROM packets GROUP BY 1 ORDER BY 1", "--store",
                                 str(store), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    got = {row["key"]: row["n"] for row in json.loads(r.output)["rows"]}
    assert got == {"445/TCP": 5, "5060/UDP": 30, "8/ICMP": 10}


def test_kill_9_loses_at_most_the_open_interval_and_the_chain_goes_on(tmp_path: Path) -> None:
    creds, spool_dir = tmp_path / "creds", tmp_path / "spool"
    key = credentials.generate(creds)
    open_file = spool_dir / "tmp" / "s1-open.pcap"
    with darknet() as net:
        first = net.sensor_run(spool_dir, creds)
        wait_until(lambda: open_file.exists(), 20, "the capture did not start")
        net.send(10, 0, 0)
        wait_until(lambda: len(Spool(spool_dir, "s1").manifests()) >= 2, 10, "no interval closed")
        net.send(4, 0, 0)  # lost
        first.kill()  # kill -9 in the middle of an interval
        first.communicate(timeout=10)
        before = Spool(spool_dir, "s1").manifests()
        assert open_file.exists()  # the open interval is left half-written in tmp/
        second = net.sensor_run(spool_dir, creds)
        try:
            wait_until(lambda: len(Spool(spool_dir, "s1").manifests()) > len(before), 10, "the restart closed nothing")
            net.send(6, 0, 0)
            time.sleep(2.5)
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=20)
        assert second.returncode == 0, err
    ms = Spool(spool_dir, "s1").manifests()
    assert [m.seq for m in ms] == list(range(1, len(ms) + 1))  # the sequence resumed, nothing reused
    assert all(chain_problems(a, b) == ([], 0) for a, b in itertools.pairwise(ms))  # and the chain held
    assert all(m.verified(key.public_key()) for m in ms)
    assert sum(m.packets for m in ms) == 16  # 10 before and 6 after; the 4 of the killed interval are lost
    assert list((spool_dir / "tmp").iterdir()) == []
