"""The collector and the shipper, for real: a collector served by uvicorn over TLS 1.3 on
127.0.0.1 (certificates of ``teiten collector init``), spools filled by ``Spool.close_interval``
with small real pcapng captures, ``teiten sensor ship --once``, then ``teiten sql`` over the
store; and every refusal: token, signature, chain, names, sizes, another sensor's manifest."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from teiten.capture.frames import TCP, PacketColumns
from teiten.capture.writer import write_pcapng
from teiten.cli.main import cli
from teiten.ingest.collector import Limits, collector_folder
from teiten.ingest.collector_batch import BatchIngester, ingest_incoming
from teiten.ingest.collector_db import CollectorDB
from teiten.sensors import credentials
from teiten.sensors.manifest import Manifest
from teiten.sensors.ship import client, read_credentials
from teiten.sensors.spool import Spool
from tests.sensors.live import collector

T0 = 1_780_000_200  # a multiple of 300
NET = 0xC6336400  # 198.51.100.0
MAX_FILE = 200_000


def _run(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@dataclass
class Live:
    store: Path
    url: str
    creds: dict[str, Path]
    ingester: BatchIngester

    @property
    def db(self) -> CollectorDB:
        return CollectorDB(collector_folder(self.store) / "collector.sqlite")

    def http(self, sensor: str, token: str | None = None) -> httpx.Client:
        _, real, ca = read_credentials(self.creds[sensor])
        return client(self.url, token or real, ca)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("collector")
    store = tmp / "store"
    _run("collector", "init", "--store", str(store))
    creds = {}
    for name, net in (("s1", "198.51.100.0/26"), ("s2", "198.51.100.64/26"), ("s3", "198.51.100.128/26")):
        creds[name] = tmp / f"creds-{name}"
        _run("collector", "add-sensor", name, "--store", str(store), "--addresses", net, "--out", str(creds[name]))
    with collector(store, limits=Limits(max_file=MAX_FILE)) as (url, ingester):
        yield Live(store, url, creds, ingester)


def _interval(spool: Spool, key: Ed25519PrivateKey, k: int, packets: int, host: int) -> Manifest:
    """Close interval ``k`` of the spool with ``packets`` TCP SYNs to 198.51.100.``host``."""
    start = T0 + 300 * k
    cap = None
    if packets:
        cap = spool.tmp / "open.pcapng"
        ts = (start * 1_000_000 + 1_000 + np.arange(packets) * 1_000).astype(np.int64)
        write_pcapng(cap, PacketColumns.make(packets, ts=ts, src=0xCB007100 + np.arange(packets), dst=NET + host,
                                             proto=TCP, sport=40000, dport=23 + np.arange(packets), flags=2))
    return spool.close_interval(start, start + 300, cap, packets=packets, size=cap.stat().st_size if cap else 0,
                                first=start + 0.001, last=start + 0.001 * packets, dropped={}, key=key)


def _sql(store: Path, query: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(_run("sql", "--store", str(store), "--json", query))["rows"]
    return rows


def _wait_ingested(live: Live, names: set[str]) -> None:
    deadline = time.monotonic() + 10
    while {f.name for f in live.db.files_in("done")} < names:
        assert time.monotonic() < deadline, "not ingested in time"
        time.sleep(0.05)


def _stem(m: Manifest) -> str:
    return f"{m.sensor}-{m.interval_start.replace('-', '').replace(':', '')}"


def test_shipped_intervals_are_ingested_once_and_a_cut_upload_resumes(live: Live, tmp_path: Path) -> None:
    key = credentials.load_private(live.creds["s1"])
    spool = Spool(tmp_path / "spool", "s1")
    ms = [_interval(spool, key, 0, 5, 1), _interval(spool, key, 1, 0, 0), _interval(spool, key, 2, 7, 2)]
    # a cut upload: half the bytes of the third capture arrive, then the connection goes
    assert ms[2].file is not None
    data = (spool.ready / ms[2].file).read_bytes()
    half = len(data) // 2
    url = f"/v1/sensors/s1/files/{ms[2].file}"
    with live.http("s1") as http:
        r = http.put(url, content=data[:half], headers={"teiten-sha256": ms[2].sha256 or "",
                                                        "content-range": f"bytes 0-{half - 1}/{len(data)}"})
        assert r.status_code == 202 and r.headers["upload-offset"] == str(half)
        assert http.head(url).headers["upload-offset"] == str(half)
    out = _run("sensor", "ship", "--spool", str(spool.root), "--collector", live.url,
               "--credentials", str(live.creds["s1"]), "--once")
    assert "3 interval(s) shipped" in out
    assert list(spool.ready.iterdir()) == [] and len(list(spool.sent.iterdir())) == 5
    files = {m.file for m in ms if m.file}
    _wait_ingested(live, files)
    rows = _sql(live.store, "SELECT sensor, dst4 & 255 AS host, count(*) AS n FROM packets GROUP BY 1, 2 ORDER BY 2")
    assert rows == [{"sensor": "s1", "host": 1, "n": 5}, {"sensor": "s1", "host": 2, "n": 7}]
    assert sorted(p.name for p in (collector_folder(live.store) / "done").iterdir()) == sorted(files)

    # a repeat is a no-op: the file (200, nothing read again), the manifest, a second pass
    with live.http("s1") as http:
        first = spool.sent / (ms[0].file or "")
        r = http.put(f"/v1/sensors/s1/files/{first.name}", content=first.read_bytes(),
                     headers={"teiten-sha256": ms[0].sha256 or ""})
        assert r.status_code == 200 and r.json()["status"] == "already received"
        r = http.put(f"/v1/sensors/s1/manifests/{_stem(ms[0])}.json", content=ms[0].to_bytes())
        assert r.status_code == 200 and r.json()["status"] == "already accepted"
    # the quota prunes sent/
    out = _run("sensor", "ship", "--spool", str(spool.root), "--collector", live.url,
               "--credentials", str(live.creds["s1"]), "--once", "--quota", "0")
    assert "0 interval(s) shipped" in out and list(spool.sent.iterdir()) == []

    # a collector killed mid-ingest leaves files in incoming/: they are ingested again, once
    done = collector_folder(live.store) / "done" / (ms[0].file or "")
    live.ingester.stop()
    live.ingester.join(5)
    done.replace(collector_folder(live.store) / "incoming" / done.name)
    with live.db.connect() as con:
        con.execute("UPDATE files SET state='incoming' WHERE name=?", (done.name,))
    results = ingest_incoming(collector_folder(live.store), live.store, live.db)
    assert [r.status for r in results] == ["duplicate"]
    assert _sql(live.store, "SELECT count(*) AS n FROM packets") == [{"n": 12}]


def test_refusals_keep_nothing(live: Live, tmp_path: Path) -> None:
    uploads = collector_folder(live.store) / "uploads"
    before = set(uploads.iterdir())
    name = "s2-20260528T202500Z.pcapng"
    sha = {"teiten-sha256": "0" * 64}
    with live.http("s2", token="forged-token") as http:
        r = http.put(f"/v1/sensors/s2/files/{name}", content=b"x", headers=sha)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    with live.http("s1") as http:  # s1's token for s2's files
        assert http.put(f"/v1/sensors/s2/files/{name}", content=b"x", headers=sha).status_code == 403
    with live.http("s2") as http:
        for bad in ("..%2F..%2Fetc%2Fpasswd", "s2-20260528T202500Z.pcapng%00", "s1-20260528T202500Z.pcapng",
                    "s2-20260528T202500Z.pcapx", "s2-2026.pcapng", "%2e%2e"):
            assert http.put(f"/v1/sensors/s2/files/{bad}", content=b"x", headers=sha).status_code == 400, bad
        assert http.put("/v1/sensors/..%2Fs2/files/x", content=b"x", headers=sha).status_code == 400
        r = http.put(f"/v1/sensors/s2/files/{name}", content=b"x" * (MAX_FILE + 1), headers=sha)
        assert r.status_code == 413
        r = http.put(f"/v1/sensors/s2/files/{name}", content=b"x" * 10,
                     headers={**sha, "content-range": f"bytes 0-9/{10 ** 9}"})
        assert r.status_code == 413
        r = http.put(f"/v1/sensors/s2/files/{name}", content=b"not what the hash says", headers=sha)
        assert r.status_code == 422 and "SHA-256" in r.json()["error"]
        junk = b"not a capture at all"
        r = http.put(f"/v1/sensors/s2/files/{name}", content=junk,
                     headers={"teiten-sha256": hashlib.sha256(junk).hexdigest()})
        assert r.status_code == 422 and "not a capture" in r.json()["error"]
        # s2 (198.51.100.64/26) sending a capture of packets to s1's addresses: refused whole
        theirs = _interval(Spool(tmp_path / "spool", "s2"), credentials.load_private(live.creds["s2"]), 0, 3, 5)
        assert theirs.file is not None
        data = (tmp_path / "spool" / "ready" / theirs.file).read_bytes()
        r = http.put(f"/v1/sensors/s2/files/{theirs.file}", content=data,
                     headers={"teiten-sha256": theirs.sha256 or ""})
        assert r.status_code == 422, r.text
        assert "3 of 3 packets are to addresses not sensor 's2''s (the first to 198.51.100.5)" in r.json()["error"]
        assert http.head(f"/v1/sensors/s2/files/{name}").status_code == 404
    assert set(uploads.iterdir()) == before
    assert live.db.file(name) is None


def test_manifests_are_checked_and_gaps_recorded(live: Live, tmp_path: Path) -> None:
    key = credentials.load_private(live.creds["s3"])
    spool = Spool(tmp_path / "spool", "s3")
    ms = [_interval(spool, key, k, 3 if k == 0 else 0, 130) for k in range(4)]
    put = "/v1/sensors/s3/manifests/{}.json"
    with live.http("s3") as http:
        assert http.put(put.format(_stem(ms[0])), content=ms[0].to_bytes()).status_code == 409  # file first
        forged = replace(ms[0], packets=4)  # the signature no longer holds
        r = http.put(put.format(_stem(ms[0])), content=forged.to_bytes())
        assert r.status_code == 422 and "signature" in r.json()["error"]
        other = replace(ms[0], sensor="s1").signed(key)  # s3 sending s1's manifest
        assert http.put(put.format(_stem(ms[0])), content=other.to_bytes()).status_code == 403
        assert http.put(put.format(_stem(ms[0])), content=b"{}").status_code == 422
        assert http.put(put.format(_stem(ms[1])), content=ms[0].to_bytes()).status_code == 422  # not its stem
    shipped = _run("sensor", "ship", "--spool", str(spool.root), "--collector", live.url,
                   "--credentials", str(live.creds["s3"]), "--once")
    assert "4 interval(s) shipped" in shipped
    more = [_interval(spool, key, k, 0, 0) for k in range(4, 7)]
    with live.http("s3") as http:
        broken = replace(more[0], prev="f" * 64).signed(key)
        r = http.put(put.format(_stem(more[0])), content=broken.to_bytes())
        assert r.status_code == 422 and "chain is broken" in r.json()["error"]
        r = http.put(put.format(_stem(more[1])), content=more[1].to_bytes())  # seq 6 after 4: a gap of 1
        assert r.status_code == 201 and r.json()["gap"] == 1
        assert http.put(put.format(_stem(more[0])), content=more[0].to_bytes()).status_code == 422  # too late
    assert live.db.gaps("s3") == [(6, 1)]
    sensors = {s.name: s for s in live.db.sensors()}
    assert sensors["s3"].last_seq == 6 and sensors["s3"].last_digest == more[1].digest()
