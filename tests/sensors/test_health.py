"""`teiten sensors status`: a healthy, a silent, a gapped and a dropping sensor as the
collector sees them, in JSON and as a table, with the exit status monitoring reads."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.ingest.collector import collector_folder
from teiten.ingest.collector_db import CollectorDB
from teiten.ingest.health import sensor_health
from teiten.sensors import credentials
from teiten.sensors.manifest import chain_problems
from teiten.sensors.spool import Spool, interval_name, interval_of

ROTATE = 300


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def _ship(db: CollectorDB, spool: Spool, creds: Path, ends: list[float], *, skip: set[int] = frozenset(),
          drops: int = 0) -> None:
    """Close an interval ending at each of ``ends`` (packets or not) and record at the collector
    those whose position is not in ``skip`` (lost on the way: a gap)."""
    key = credentials.load_private(creds)
    last = None
    for i, end in enumerate(ends):
        start = end - ROTATE
        cap = spool.tmp / "open.pcap"
        cap.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(20 + 40 * (i + 1)))
        m = spool.close_interval(start, end, cap, packets=i + 1, size=64, first=start + 1, last=end - 1,
                                 dropped={"kernel": drops, "interface": 0}, key=key)
        if i in skip:
            continue
        _, gap = chain_problems(last, m)
        db.accept_manifest(spool.sensor, m.seq, interval_name(spool.sensor, start), m.digest(), gap, m.to_bytes(),
                           None)
        last = m


def test_states_of_four_sensors(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert _run("collector", "init", "--store", str(store))[0] == 0
    creds = {}
    for i, name in enumerate(("healthy", "silent", "gapped", "dropping")):
        creds[name] = tmp_path / f"creds-{name}"
        code, out = _run("collector", "add-sensor", name, "--store", str(store), "--addresses",
                         f"198.51.100.{i * 16}/28", "--out", str(creds[name]))
        assert code == 0, out
    db = CollectorDB(collector_folder(store) / "collector.sqlite")
    now = float(interval_of(time.time(), ROTATE)[0])  # the last interval just closed
    recent = [now - ROTATE * k for k in range(5, -1, -1)]
    _ship(db, Spool(tmp_path / "s-healthy", "healthy"), creds["healthy"], recent)
    _ship(db, Spool(tmp_path / "s-silent", "silent"), creds["silent"], [r - 3 * 3600 for r in recent])
    _ship(db, Spool(tmp_path / "s-gapped", "gapped"), creds["gapped"], recent, skip={2, 3})
    _ship(db, Spool(tmp_path / "s-dropping", "dropping"), creds["dropping"], recent, drops=3)
    states = {h.sensor: h for h in sensor_health(store)}
    assert {k: h.state for k, h in states.items()} == {"healthy": "ok", "silent": "silent", "gapped": "gap",
                                                        "dropping": "dropping"}
    assert states["healthy"].intervals == 6 and states["healthy"].packets == 21
    assert states["healthy"].interval_s == ROTATE and states["healthy"].lag_s is not None
    assert states["healthy"].lag_s < 2 * ROTATE
    assert states["gapped"].gaps == [{"seq": 5, "missing": 2}]
    assert states["dropping"].dropped == 18
    assert states["silent"].lag_s is not None and states["silent"].lag_s > 3 * 3600
    code, out = _run("sensors", "status", "--store", str(store), "--json")
    assert code == 1  # not every sensor is ok
    rows = {r["sensor"]: r for r in json.loads(out)["sensors"]}
    assert rows["gapped"]["state"] == "gap" and rows["healthy"]["state"] == "ok"
    code, out = _run("sensors", "status", "--store", str(store))
    assert code == 1 and "silent" in out and "5(-2)" in out
    # a revoked sensor says so
    assert _run("collector", "revoke-sensor", "silent", "--store", str(store))[0] == 0
    assert {h.sensor: h.state for h in sensor_health(store)}["silent"] == "revoked"
