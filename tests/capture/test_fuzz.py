"""Mutated captures never raise anything but CaptureError, and the counts stay consistent."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teiten.capture.reader import CaptureReader
from teiten.errors import CaptureError
from tests.capture.builders import icmp, tcp_syn, udp, write_pcap, write_pcapng
from tests.conftest import CORPUS

SEEDS = [
    CORPUS / "dnscap" / "dns.pcap",
    CORPUS / "dnscap" / "frags.pcap",
    CORPUS / "dnscap" / "sll2.pcap",
    CORPUS / "pcapng-test-generator" / "output_le" / "difficult" / "test202.pcapng",
    CORPUS / "pcapng-test-generator" / "output_be" / "advanced" / "test102.pcapng",
    CORPUS / "tcpdump" / "ipv6_jumbogram_1.pcap",
]


def _generated(tmp: Path) -> list[bytes]:
    fr = [(1e9 + i, f) for i, f in enumerate([
        tcp_syn("1.2.3.4", "5.6.7.8", 1, 23, 0x05060708, opts=b"\x02\x04\x05\xb4\x01\x03\x03\x07"),
        udp("1.2.3.4", "5.6.7.8", 53, 5060, b"INVITE"), icmp("1.2.3.4", "5.6.7.8", 3, 1)])]
    return [write_pcap(tmp / "g.pcap", fr).read_bytes(), write_pcapng(tmp / "g.pcapng", fr, big=True).read_bytes()]


def _read(path: Path) -> None:
    reader = CaptureReader(path, chunk_bytes=1 << 16)
    try:
        rows = sum(b.packets.num_rows for b in reader)
    except CaptureError:
        return
    s = reader.summary
    assert rows == s.packets
    assert s.packets + s.nonip + s.quarantined == s.frames


#: more examples for a longer campaign: TEITEN_FUZZ_EXAMPLES=5000 pytest tests/capture/test_fuzz.py
EXAMPLES = int(os.environ.get("TEITEN_FUZZ_EXAMPLES", "300"))

mutation = st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(min_value=0, max_value=255))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=len(SEEDS) + 1), flips=st.lists(mutation, max_size=12),
       cut=st.integers(min_value=0, max_value=1 << 16), compress=st.booleans())
def test_mutated_captures(tmp_path: Path, seed: int, flips: list[tuple[int, int]], cut: int,
                          compress: bool) -> None:
    data = bytearray(SEEDS[seed].read_bytes() if seed < len(SEEDS) else _generated(tmp_path)[seed - len(SEEDS)])
    for pos, val in flips:
        data[pos % len(data)] = val
    if cut:
        del data[len(data) - cut % len(data):]
    blob = gzip.compress(bytes(data)) if compress else bytes(data)
    path = tmp_path / "m.pcap"
    path.write_bytes(blob)
    _read(path)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=2048), head=st.sampled_from([b"", b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00",
                                                          b"\x0a\x0d\x0d\x0a", b"\x1f\x8b", b"\x28\xb5\x2f\xfd"]))
def test_random_bytes(tmp_path: Path, blob: bytes, head: bytes) -> None:
    path = tmp_path / "r.pcap"
    path.write_bytes(head + blob)
    _read(path)
