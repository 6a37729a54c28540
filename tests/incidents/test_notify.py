"""``teiten notify``: sources the sensors saw, sent to their networks' contacts over SMTP
(aiosmtpd on 127.0.0.1) with CSV and JSON evidence, recorded as coordinations, and the
same evidence never sent twice."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from teiten.capture.frames import TCP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.incidents.coordination import Smtp, add_organisation
from teiten.incidents.db import open_db
from teiten.incidents.stats import incident_stats
from teiten.periods import parse_period

from .conftest import Inbox

T0 = 1_783_000_000_000_000  # 2026-07-02
S = 1_000_000
NET = 0xCB007100  # 203.0.113.0/24, the sensors


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("notify")
    rows: list[tuple[int, int, int, int, int]] = []  # (µs, source, destination, port, seq); source ports vary,
    # as a real Mirai's do (a constant one would also make seq ^ dst ^ ports constant: unicornscan's mark)
    rows += [(T0 + i * S, 0x0A000001, NET + i, 23, NET + i) for i in range(5)]  # 10.0.0.1: Mirai (seq = dst)
    rows += [(T0 + i * S, 0x0A000105, NET + 20 + i, 445, 7919 * i + 3) for i in range(20)]  # 10.0.1.5 scans
    rows += [(T0 + i * S, 0xAC100009, NET + 50 + i, 2323, NET + 50 + i) for i in range(3)]  # 172.16.0.9: Mirai
    rows.sort()
    ts, src, dst, dport, seq = (np.array(c) for c in zip(*rows, strict=True))
    pk = PacketColumns.make(len(rows), ts=ts, src=src, dst=dst, proto=TCP, sport=40000 + np.arange(len(rows)),
                            dport=dport, flags=0x02,
                            seq=seq, window=64240)
    path = tmp / "seen.pcap"
    with CaptureWriter(path) as w:
        w.write(pk)
    s = tmp / "store"
    assert CliRunner().invoke(cli, ["ingest", str(path), "--store", str(s), "-q"]).exit_code == 0
    return s


def _notify(store: Path, url: str, *more: str) -> dict[str, object]:
    r = CliRunner().invoke(cli, ["notify", "--period", "2026-07", "--store", str(store), "--db", url, *more],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_notices_go_once_to_each_network(store: Path, db_url: str, smtp: tuple[Smtp, Inbox], tmp_path: Path) -> None:
    cfg, inbox = smtp
    db = open_db(db_url)
    with db.session("admin") as s:
        add_organisation(s, "ISP A", networks=["10.0.0.0/24"], contacts=[{"email": "abuse@a.example"}])
        add_organisation(s, "ISP B", networks=["10.0.1.0/24"],
                         contacts=[{"email": "abuse@b.example", "language": "en"}])
    dry = _notify(store, db_url, "--dry-run", "--out", str(tmp_path / "dry"))
    assert sorted((n["contact"], n["status"], n["rows"]) for n in dry["notices"]) == [  # type: ignore[union-attr]
        ("abuse@a.example", "dry-run", 1), ("abuse@b.example", "dry-run", 1)]
    assert dry["unmatched_sources"] == 1 and not inbox.messages
    assert (tmp_path / "dry" / "abuse@a.example" / "notice.csv").exists()

    args = ("--smtp-host", cfg.host, "--smtp-port", str(cfg.port), "--sender", "csirt@cert.example")
    sent = _notify(store, db_url, *args)
    assert sorted((n["contact"], n["status"]) for n in sent["notices"]) == [  # type: ignore[union-attr]
        ("abuse@a.example", "sent"), ("abuse@b.example", "sent")]
    got = {}
    for _, rcpts, raw in inbox.messages:
        msg = message_from_bytes(raw, policy=policy.default)
        files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
        assert "[TEITEN#" in str(msg["Subject"])
        got[rcpts[0]] = (list(csv.DictReader(io.StringIO(files["notice.csv"]))), json.loads(files["notice.json"]))
    (a_csv, a_json), (b_csv, b_json) = got["abuse@a.example"], got["abuse@b.example"]
    assert [r["source"] for r in b_json] == ["10.0.1.5"]  # the JSON holds the CSV's rows
    assert [(r["source"], r["port"], r["tag"], r["count"]) for r in a_csv] == [("10.0.0.1", "23/tcp", "mirai", "5")]
    assert [(r["source"], r["port"], r["tag"], r["count"]) for r in b_csv] == [("10.0.1.5", "445/tcp", "scan", "20")]
    assert a_json[0]["source"] == "10.0.0.1" and list(a_json[0]) == ["time", "source", "port", "asn", "country",
                                                                      "tag", "count"]
    assert a_json[0]["time"] == datetime.fromtimestamp(T0 / S, UTC).isoformat().replace("+00:00", "Z")  # the first
    with db.session() as s:
        st = incident_stats(s, parse_period(f"{datetime.now(UTC):%Y-%m}"))  # sent now, counted now
        assert st["coordinations"]["total"] == 2 and st["incidents"]["total"] == 0  # no report names a notice
    # the same evidence is never sent again
    again = _notify(store, db_url, *args)
    assert again["notices"] == [] and len(inbox.messages) == 2
    db.close()
