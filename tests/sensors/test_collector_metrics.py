"""The collector's Prometheus metrics, for real: a collector served over TLS on 127.0.0.1 with
``metrics=True``, a sensor shipping intervals (packets, drops, a heartbeat, a gap) with
``teiten sensor ship``, then ``GET /metrics`` parsed with prometheus-client's parser; a refused
upload counts; /metrics is not served without ``--metrics`` nor to a client off loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from teiten.capture.frames import TCP, PacketColumns
from teiten.capture.writer import write_pcapng
from teiten.ingest.collector import Collector, collector_folder
from teiten.ingest.collector_db import CollectorDB
from teiten.sensors import credentials
from teiten.sensors.manifest import Manifest
from teiten.sensors.ship import client, read_credentials
from teiten.sensors.spool import Spool
from tests.sensors.live import collector
from tests.sensors.test_collector import NET, T0, _run

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:
    tmp = tmp_path_factory.mktemp("collector-metrics")
    store, creds = tmp / "store", tmp / "creds"
    _run("collector", "init", "--store", str(store))
    _run("collector", "add-sensor", "m1", "--store", str(store), "--addresses", "198.51.100.0/26", "--out", str(creds))
    with collector(store, metrics=True) as (url, _):
        yield store, url, creds


def _interval(spool: Spool, key: Ed25519PrivateKey, k: int, packets: int, dropped: int) -> Manifest:
    start = T0 + 300 * k
    cap = None
    if packets:
        cap = spool.tmp / "open.pcapng"
        ts = (start * 1_000_000 + 1_000 + np.arange(packets) * 1_000).astype(np.int64)
        write_pcapng(cap, PacketColumns.make(packets, ts=ts, src=0xCB007100 + np.arange(packets), dst=NET + 1,
                                             proto=TCP, sport=40000, dport=23 + np.arange(packets), flags=2))
    return spool.close_interval(start, start + 300, cap, packets=packets, size=cap.stat().st_size if cap else 0,
                                first=start + 0.001, last=start + 0.001 * packets,
                                dropped={"kernel": dropped, "interface": 1 if dropped else 0}, key=key)


def _scrape(http: httpx.Client) -> Samples:
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(r.text) for s in fam.samples}


def _ship(spool: Spool, url: str, creds: Path) -> str:
    return _run("sensor", "ship", "--spool", str(spool.root), "--collector", url, "--credentials", str(creds), "--once")


def test_metrics_count_a_shipped_sensor_and_refusals(live: tuple[Path, str, Path], tmp_path: Path) -> None:
    store, url, creds = live
    key = credentials.load_private(creds)
    spool = Spool(tmp_path / "spool", "m1")
    ms = [_interval(spool, key, 0, 5, 3), _interval(spool, key, 1, 0, 0), _interval(spool, key, 2, 7, 0)]
    assert "3 interval(s) shipped" in _ship(spool, url, creds)
    lost = _interval(spool, key, 3, 4, 0)  # lost on the sensor: seq 5 comes after 3, a gap of 1
    ms.append(_interval(spool, key, 4, 2, 0))
    for f in (lost.file, f"{lost.sensor}-{lost.interval_start.replace('-', '').replace(':', '')}.json"):
        (spool.ready / str(f)).unlink()
    assert "1 interval(s) shipped" in _ship(spool, url, creds)
    sizes = [(spool.sent / m.file).stat().st_size for m in ms if m.file]
    db = CollectorDB(collector_folder(store) / "collector.sqlite")
    deadline = time.monotonic() + 10
    while len(db.files_in("done")) < 3:
        assert time.monotonic() < deadline, "not ingested in time"
        time.sleep(0.05)

    _, token, ca = read_credentials(creds)
    with client(url, token, ca) as http:
        del http.headers["authorization"]  # no token needed on loopback
        got = _scrape(http)
        m1 = (("sensor", "m1"),)
        p = "teiten_collector_"
        assert got[(p + "manifests_accepted_total", m1)] == 4
        assert got[(p + "files_received_total", m1)] == 3
        assert got[(p + "received_bytes_total", m1)] == sum(sizes)
        assert got[(p + "gap_intervals_total", m1)] == 1
        assert got[(p + "reported_packets_total", m1)] == 5 + 7 + 2
        assert got[(p + "reported_drops_total", m1)] == 3 + 1
        assert got[(p + "last_manifest_seq", m1)] == 5
        assert 0 <= got[(p + "seconds_since_last_manifest", m1)] < 30
        assert got[(p + "ingested_files_total", (("status", "ok"),))] == 3
        assert got[(p + "ingest_batch_seconds_count", ())] >= 1
        assert got[(p + "incoming_files", ())] == 0
        assert (p + "refusals_total", (("status", "401"),)) not in got

        name = "m1-20260528T202500Z.pcapng"
        with client(url, "forged-token", ca) as forged:
            r = forged.put(f"/v1/sensors/m1/files/{name}", content=b"x", headers={"teiten-sha256": "0" * 64})
            assert r.status_code == 401
        with client(url, token, ca) as good:
            r = good.put(f"/v1/sensors/m1/files/{name}", content=b"x", headers={"teiten-sha256": "0" * 64})
            assert r.status_code == 422
        after = _scrape(http)
        assert after[(p + "refusals_total", (("status", "401"),))] == 1
        assert after[(p + "refusals_total", (("status", "422"),))] == 1
        assert after[(p + "manifests_accepted_total", m1)] == 4


def _call(app: Collector, path: str, client_ip: str) -> tuple[int, bytes]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: MutableMapping[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": (client_ip, 5000)}
    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"]), bytes(sent[1]["body"])


def test_metrics_only_with_the_option_and_on_loopback(live: tuple[Path, str, Path]) -> None:
    store, _, _ = live
    app = Collector(collector_folder(store))
    assert _call(app, "/metrics", "127.0.0.1")[0] == 404  # not exposed: no such resource
    app.metrics.exposed = True
    assert _call(app, "/metrics", "127.0.0.1")[0] == 200
    assert _call(app, "/metrics", "::1")[0] == 200
    status, body = _call(app, "/metrics", "192.0.2.7")
    assert status == 403 and b"loopback" in body
    assert _call(app, "/metrics", "127.0.0.1")[1].count(b'teiten_collector_refusals_total{status="403"} 1.0') == 1
