"""Coverage: a sensor that sees far fewer sources per address than its peers on a day is
flagged, even though its packets (and heartbeats) keep coming."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from teiten.analyze.coverage import coverage
from teiten.capture.frames import TCP, PacketColumns
from teiten.capture.writer import write_pcap
from teiten.cli.main import cli
from teiten.engine import open_observation
from teiten.ingest.pipeline import ingest_paths
from teiten.periods import period_between

NET = 0xC6336400  # 198.51.100.0


def store_with_three_sensors(tmp: Path, t0: float) -> Path:
    """Sensors a, b, c with 16 addresses each; a and b see 200 sources, c only 10."""
    store = tmp / "store"
    for i, name in enumerate("abc"):
        r = CliRunner().invoke(cli, ["sensors", "add", name, "--addresses", f"198.51.100.{16 * i}/28",
                                     "--store", str(store)])
        assert r.exit_code == 0, r.output
    files = []
    for i, sources in enumerate((200, 200, 10)):
        n = 2000
        rng = np.random.default_rng(i)
        ts = (t0 * 1e6 + np.sort(rng.integers(0, 3_600_000_000, n))).astype(np.int64)
        cols = PacketColumns.make(n, ts=ts, src=0x0B000000 + rng.integers(0, sources, n),
                                  dst=NET + 16 * i + rng.integers(0, 16, n), proto=TCP, sport=40000, dport=23, flags=2)
        write_pcap(tmp / f"{i}.pcap", cols)
        files.append(tmp / f"{i}.pcap")
    assert all(r.status == "ok" for r in ingest_paths(store, files))
    return store


def test_a_sensor_far_below_its_peers_is_flagged(tmp_path: Path) -> None:
    t0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z
    store = store_with_three_sensors(tmp_path, t0)
    rows = coverage(open_observation(store), period_between("2026-05-28", "2026-05-28"))
    got = {r["sensor"]: r for r in rows}
    assert set(got) == {"a", "b", "c"} and all(r["day"] == "2026-05-28" for r in rows)
    assert got["c"]["low"] and not got["a"]["low"] and not got["b"]["low"]
    assert got["c"]["sources_per_address"] == 10 / 16 and got["a"]["sources_per_address"] > 10
    assert got["c"]["peers_median"] == (got["a"]["sources_per_address"] + got["b"]["sources_per_address"]) / 2
    # with too few peers there is no judgement
    assert not any(r["low"] for r in coverage(open_observation(store), period_between("2026-05-28", "2026-05-28"),
                                              peers=3))


def test_status_says_coverage_for_a_sensor_whose_heartbeats_arrive(tmp_path: Path) -> None:
    from teiten.ingest.collector import collector_folder
    from teiten.ingest.collector_db import CollectorDB
    from teiten.sensors.spool import Spool, interval_of
    from tests.sensors.test_health import ROTATE, _ship

    now = time.time()
    store = store_with_three_sensors(tmp_path, now - 7200)
    runner = CliRunner(env={"COLUMNS": "200"})
    assert runner.invoke(cli, ["collector", "init", "--store", str(store)]).exit_code == 0
    db = CollectorDB(collector_folder(store) / "collector.sqlite")
    end = float(interval_of(now, ROTATE)[0])
    for i, name in enumerate("abc"):
        creds = tmp_path / f"creds-{name}"
        r = runner.invoke(cli, ["collector", "add-sensor", name, "--store", str(store), "--addresses",
                                f"198.51.100.{16 * i}/28", "--out", str(creds)])
        assert r.exit_code == 0, r.output
        _ship(db, Spool(tmp_path / f"spool-{name}", name), creds, [end - ROTATE, end])
    r = runner.invoke(cli, ["sensors", "status", "--store", str(store), "--json"])
    states = {x["sensor"]: x["state"] for x in json.loads(r.output)["sensors"]}
    assert states == {"a": "ok", "b": "ok", "c": "coverage"} and r.exit_code == 1
