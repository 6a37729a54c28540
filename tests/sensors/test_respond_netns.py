"""``teiten sensor run --respond`` on a real interface: ordinary ``connect()`` calls from the
scanner namespace succeed against the darknet, their first payload is captured, the
connection is reset, every reply is counted in the manifests, and the store keeps the
replies apart from what the sensor received."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.ingest.pipeline import ingest_paths
from teiten.payload_text import escaped
from teiten.sensors import credentials
from teiten.sensors.respond import ACK, RST, SYN
from teiten.sensors.spool import Spool
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from tests.sensors.live import wait_until
from tests.sensors.netns import darknet

PAYLOAD = b"GET /teiten-first-payload HTTP/1.1\r\nHost: x\r\n\r\n"


def _sql(store: Path, q: str) -> list[dict[str, object]]:
    r = CliRunner().invoke(cli, ["sql", q, "--store", str(store), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows: list[dict[str, object]] = json.loads(r.output)["rows"]
    return rows


def test_connect_succeeds_the_payload_is_kept_and_the_replies_are_set_apart(tmp_path: Path) -> None:
    creds, spool_dir = tmp_path / "creds", tmp_path / "spool"
    credentials.generate(creds)
    targets = [f"198.51.100.{10 + i}:{port}" for i, port in enumerate((80, 23, 8080, 2323))]
    with darknet() as net:
        sensor = net.sensor_run(spool_dir, creds, "r1", 2, "--respond", "--payload-bytes", "200")
        try:
            wait_until(lambda: (spool_dir / "tmp" / "r1-open.pcap").exists(), 20, "the capture did not start")
            time.sleep(0.5)
            ended = net.connect(PAYLOAD, *targets)
            net.send(0, 0, 5)  # and raw SYNs (the scanner's kernel resets our SYN-ACKs to them)
            time.sleep(2.5)
        finally:
            sensor.send_signal(signal.SIGTERM)
            out, err = sensor.communicate(timeout=20)
        assert sensor.returncode == 0, err
    assert [e["connected"] for e in ended] == [True] * 4, ended  # connect() succeeds against the darknet
    assert [e["ended"] for e in ended] == ["reset"] * 4  # and the payload is answered with a reset
    ms = Spool(spool_dir, "r1").manifests()
    assert sum(m.replies for m in ms) == 4 + 4 + 5  # a SYN-ACK per SYN, a RST per first payload
    assert [json.loads(x)["replies"] for x in out.splitlines()] == [m.replies for m in ms]
    store = tmp_path / "store"
    with open_store(store) as con:
        add_sensor(con, Sensor("r1", ("198.51.100.0/25",), kind="responder"))
    files = [Spool(spool_dir, "r1").ready / m.file for m in ms if m.file]
    assert all(r.status == "ok" for r in ingest_paths(store, files))
    # what the sensor sent is in outbound, exactly its replies: the kernel added no RST of its own
    sent = _sql(store, "SELECT tcp_flags, count(*) AS n FROM outbound GROUP BY 1 ORDER BY 1")
    assert sent == [{"tcp_flags": RST, "n": 4}, {"tcp_flags": SYN | ACK, "n": 9}]
    assert _sql(store, "SELECT count(*) AS n FROM packets WHERE src_ip LIKE '198.51.100.%'")[0]["n"] == 0
    # the first payload of each handshake, kept whole (within --payload-bytes)
    got = _sql(store, "SELECT dst_ip, dport, hex(payload) AS payload FROM packets WHERE payload_len > 0"
                      " ORDER BY dst_ip")
    assert [(g["dst_ip"], g["dport"]) for g in got] == [(t.split(":")[0], int(t.split(":")[1])) for t in targets]
    assert all(g["payload"] == PAYLOAD.hex().upper() for g in got)
    # each connection: SYN, ACK, the payload, then our RST ends it (nothing after: no retransmission)
    per_flow = _sql(store, "SELECT dport, count(*) AS n FROM packets WHERE dport IN (80, 23, 8080, 2323)"
                    " GROUP BY 1 ORDER BY 1")
    assert per_flow == [{"dport": p, "n": 3} for p in (23, 80, 2323, 8080)]
    r = CliRunner().invoke(cli, ["top", "ports", "--store", str(store), "--sensor-kind", "responder", "--json",
                                 "--from", ms[0].interval_start[:10], "--to", ms[-1].interval_end[:10]],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    top = {x["key"]: x["packets"] for x in json.loads(r.output)["rows"] if x["packets"]}
    assert top["80/TCP"] == 3 and top["445/TCP"] >= 5  # the raw SYNs, and the scanner kernel's RSTs to them
    # and the first payload, attached to its flow
    r = CliRunner().invoke(cli, ["payloads", "80/TCP", "--store", str(store), "--json", "--from",
                                 ms[0].interval_start[:10], "--to", ms[-1].interval_end[:10]], catch_exceptions=False)
    [row] = json.loads(r.output)["rows"]
    assert (row["flows"], row["with_payload"], row["with_syn"]) == (1, 1, 1) and row["median_wait_s"] < 1
    assert row["payloads"] == [{"text": escaped(PAYLOAD), "bytes": len(PAYLOAD), "flows": 1, "sources": 1}]


def test_the_rate_limit_holds_on_the_wire(tmp_path: Path) -> None:
    creds, spool_dir = tmp_path / "creds", tmp_path / "spool"
    credentials.generate(creds)
    with darknet() as net:
        sensor = net.sensor_run(spool_dir, creds, "r1", 2, "--respond", "--per-source-limit", "1")
        try:
            wait_until(lambda: (spool_dir / "tmp" / "r1-open.pcap").exists(), 20, "the capture did not start")
            time.sleep(0.5)
            net.send(0, 0, 60)  # 60 SYNs from one source in well under a second
            time.sleep(2.5)
        finally:
            sensor.send_signal(signal.SIGTERM)
            _, err = sensor.communicate(timeout=20)
        assert sensor.returncode == 0, err
    ms = Spool(spool_dir, "r1").manifests()
    replies = sum(m.replies for m in ms)
    assert 2 <= replies <= 4, replies  # a burst of two, and at most a token a second after it
    # every SYN captured, answered or not, and each reply (and the scanner kernel's RST to it)
    assert sum(m.packets for m in ms) == 60 + 2 * replies
