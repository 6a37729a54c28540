"""A sensor network end to end: ``teiten sensor run`` captures in its namespace what a scanner
namespace sends to the darknet prefix, ``teiten sensor ship`` sends the signed intervals to a
``teiten collector`` over TLS on 127.0.0.1, which ingests them; ``teiten sql`` and
``teiten top ports`` then find exactly what was sent."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.ingest.collector import collector_folder
from teiten.ingest.collector_db import CollectorDB
from tests.sensors.live import collector, wait_until
from tests.sensors.netns import darknet


def _run(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_capture_ship_collect_ingest(tmp_path: Path) -> None:
    store, creds, spool = tmp_path / "store", tmp_path / "creds", tmp_path / "spool"
    _run("collector", "init", "--store", str(store))
    with darknet() as net:
        _run("collector", "add-sensor", "s1", "--store", str(store), "--addresses", net.prefix, "--out", str(creds))
        sensor = net.sensor_run(spool, creds)
        try:
            wait_until(lambda: (spool / "tmp" / "s1-open.pcap").exists(), 20, "the capture did not start")
            time.sleep(0.3)
            net.send(12, 4, 3)
            time.sleep(2.5)
        finally:
            sensor.send_signal(signal.SIGTERM)
            _, err = sensor.communicate(timeout=20)
        assert sensor.returncode == 0, err
    with collector(store) as (url, _):
        out = _run("sensor", "ship", "--once", "--spool", str(spool), "--collector", url, "--credentials", str(creds))
        shipped = int(out.split()[0])
        assert shipped >= 2 and not list((spool / "ready").iterdir())
        db = CollectorDB(collector_folder(store) / "collector.sqlite")
        files = {p.name for p in (spool / "sent").glob("*.pcap")}
        wait_until(lambda: {f.name for f in db.files_in("done")} >= files, 20, "not ingested")
    rows = json.loads(_run("sql", "--store", str(store), "--json",
                           "SELECT sensor, key, count(*) AS n FROM packets GROUP BY 1, 2 ORDER BY 2"))["rows"]
    assert rows == [{"sensor": "s1", "key": "445/TCP", "n": 3}, {"sensor": "s1", "key": "5060/UDP", "n": 12},
                    {"sensor": "s1", "key": "8/ICMP", "n": 4}]
    top = json.loads(_run("top", "ports", "--store", str(store), "--json", "--compare", "none"))
    assert {r["key"]: r["packets"] for r in top["rows"]} == {"5060/UDP": 12, "8/ICMP": 4, "445/TCP": 3}
