"""Tool names in first payloads: SIP User-Agent headers, hostile bytes included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from teiten.capture.frames import UDP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.payloads import payload_tool_findings, payload_tools
from teiten.engine import open_observation
from teiten.periods import period_between


def _sip(agent: bytes) -> bytes:
    return (b"OPTIONS sip:100@203.0.113.9 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1;rport\r\n"
            b"Max-Forwards: 70\r\nTo: \"100\" <sip:100@203.0.113.9>\r\nFrom: \"100\" <sip:100@1.1.1.1>;tag=3\r\n"
            b"User-Agent: " + agent + b"\r\nCall-ID: 839503419\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


AGENTS = [b"friendly-scanner", b"sipvicious", b"<script>alert(1)</script>", b"\xff\xfe binary\x00tool"]


def test_user_agents_by_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 400
    which = rng.integers(0, len(AGENTS), n)
    payloads = (*(_sip(a) for a in AGENTS), bytes(range(256)))
    pid = np.where(np.arange(n) % 10 == 0, len(AGENTS), which)  # every tenth: binary junk
    pk = PacketColumns.make(n, payloads=payloads, ts=1_783_000_000_000_000 + np.arange(n) * 10_000_000,
                            src=0x0B000000 + rng.integers(0, 8, n), dst=0xCB007109, proto=UDP,
                            sport=5070, dport=5060, payload_id=pid)
    with CaptureWriter(tmp_path / "sip.pcap") as w:
        w.write(pk)
    store = tmp_path / "store"
    assert CliRunner().invoke(cli, ["ingest", str(tmp_path / "sip.pcap"), "--store", str(store), "-q"]).exit_code == 0
    obs = open_observation(store)
    period = period_between("2026-07-01", "2026-07-03")
    got = {r["tool"]: r for r in payload_tools(obs, period, min_packets=1)}
    expected = {a: int(((pid == i)).sum()) for i, a in enumerate(AGENTS)}
    assert got["friendly-scanner"]["packets"] == expected[b"friendly-scanner"]
    assert got["sipvicious"]["packets"] == expected[b"sipvicious"]
    assert got["<script>alert(1)</script>"]["packets"] == expected[b"<script>alert(1)</script>"]  # text, not markup
    binary = [k for k in got if "binary" in k]
    assert len(binary) == 1 and got[binary[0]]["packets"] == expected[b"\xff\xfe binary\x00tool"]
    assert all(r["key"] == "5060/UDP" and r["sources"] <= 8 for r in got.values())
    assert len(got) == len(AGENTS)  # the binary junk names no tool
    findings = payload_tool_findings(obs, period)
    assert {f.tool for f in findings} == set(got) and all(f.kind == "payload_tool" for f in findings)
