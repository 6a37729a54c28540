"""Capture variants, compression, truncation and damage."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import dpkt
import pytest
import zstandard

from teiten.capture.reader import CaptureReader, read_capture
from teiten.errors import CaptureError
from tests.capture.builders import icmp, tcp_syn, udp, write_pcap, write_pcapng

T0 = 1_500_000_000.25


def frames() -> list[tuple[float, bytes]]:
    return [
        (T0, tcp_syn("1.2.3.4", "203.0.113.9", 40000, 23, seq=0xCB007109)),
        (T0 + 1, udp("5.6.7.8", "203.0.113.10", 53, 5060, b"OPTIONS sip:x SIP/2.0\r\n")),
        (T0 + 2, icmp("9.9.9.9", "203.0.113.11", 8)),
        (T0 + 86400, icmp("9.9.9.9", "203.0.113.11", 0)),
    ]


def _check(table) -> None:  # type: ignore[no-untyped-def]
    rows = table.to_pylist()
    assert [r["proto"] for r in rows] == [6, 17, 1, 1]
    assert rows[0]["dport"] == 23 and rows[0]["sport"] == 40000
    assert rows[0]["mirai"] is True  # seq == destination address 203.0.113.9
    assert rows[1]["payload"].startswith(b"OPTIONS sip:")
    assert rows[1]["backscatter"] is True  # UDP from port 53
    assert rows[2]["icmp_type"] == 8 and rows[2]["backscatter"] is False
    assert rows[3]["icmp_type"] == 0 and rows[3]["backscatter"] is True
    assert rows[0]["ts"].timestamp() == pytest.approx(T0)


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big", [False, True])
def test_pcap_variants(tmp_path: Path, nano: bool, big: bool) -> None:
    table, s = read_capture(write_pcap(tmp_path / "a.pcap", frames(), nano=nano, big=big))
    assert s.frames == 4 and s.packets == 4 and s.damage is None
    _check(table)


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("tsresol", [6, 9, 3])
def test_pcapng_variants(tmp_path: Path, big: bool, tsresol: int) -> None:
    table, s = read_capture(write_pcapng(tmp_path / "a.pcapng", frames(), big=big, tsresol=tsresol))
    assert s.format == "pcapng" and s.packets == 4
    _check(table)


def test_pcapng_sections_in_both_byte_orders(tmp_path: Path) -> None:
    a = write_pcapng(tmp_path / "le.pcapng", frames()[:2]).read_bytes()
    b = write_pcapng(tmp_path / "be.pcapng", frames()[2:], big=True).read_bytes()
    (tmp_path / "both.pcapng").write_bytes(a + b)
    table, s = read_capture(tmp_path / "both.pcapng")
    assert s.frames == 4
    _check(table)


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_compressed(tmp_path: Path, codec: str) -> None:
    raw = write_pcap(tmp_path / "a.pcap", frames()).read_bytes()
    data = gzip.compress(raw) if codec == "gzip" else zstandard.ZstdCompressor().compress(raw)
    (tmp_path / "a.pcap.x").write_bytes(data)
    table, s = read_capture(tmp_path / "a.pcap.x")
    assert s.compression == codec and s.packets == 4 and s.damage is None
    _check(table)


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    raw = write_pcap(tmp_path / "a.pcap", frames()).read_bytes()
    (tmp_path / "m.pcap.gz").write_bytes(gzip.compress(raw[:100]) + gzip.compress(raw[100:]))
    _, s = read_capture(tmp_path / "m.pcap.gz")
    assert s.packets == 4 and s.damage is None


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_truncated_compressed_stream_is_partial(tmp_path: Path, codec: str) -> None:
    rng = random.Random(7)
    fr = [(T0 + i, udp("5.6.7.8", "203.0.113.10", 1, 2, rng.randbytes(1000))) for i in range(400)]
    raw = write_pcap(tmp_path / "a.pcap", fr).read_bytes()
    data = gzip.compress(raw) if codec == "gzip" else zstandard.ZstdCompressor().compress(raw)
    (tmp_path / "cut.pcap.gz").write_bytes(data[: len(data) * 2 // 3])
    _, s = read_capture(tmp_path / "cut.pcap.gz")
    assert 0 < s.packets < 400
    assert s.damage is not None and codec in s.damage


def test_file_cut_inside_a_record(tmp_path: Path) -> None:
    raw = write_pcap(tmp_path / "a.pcap", frames()).read_bytes()
    (tmp_path / "cut.pcap").write_bytes(raw[:-10])
    sink = tmp_path / "tail"
    with open(sink, "wb") as f:
        reader = CaptureReader(tmp_path / "cut.pcap", tail_sink=f)
        n = sum(b.packets.num_rows for b in reader)
    s = reader.summary
    assert n == 3 and s.damage == "file ends inside a record"
    # nothing is lost: the tail holds exactly the bytes after the last whole record
    assert sink.read_bytes() == raw[s.damage_offset: -10]
    assert s.tail_bytes == len(raw) - 10 - s.damage_offset


def test_bogus_record_header_stops_with_tail(tmp_path: Path) -> None:
    raw = bytearray(write_pcap(tmp_path / "a.pcap", frames()).read_bytes())
    second = 24 + 16 + len(frames()[0][1])
    raw[second + 8: second + 12] = (0x7FFFFFFF).to_bytes(4, "little")  # caplen 2 GiB
    (tmp_path / "bad.pcap").write_bytes(bytes(raw))
    _, s = read_capture(tmp_path / "bad.pcap")
    assert s.packets == 1 and s.damage == "invalid record header" and s.damage_offset == second
    assert s.tail_bytes == len(raw) - second


def test_truncated_tcp_header_keeps_ports(tmp_path: Path) -> None:
    full = tcp_syn("1.2.3.4", "203.0.113.9", 40000, 445, seq=7)
    cut = full[: 14 + 20 + 4]  # Ethernet + IPv4 + first 4 bytes of TCP
    table, _ = read_capture(write_pcap(tmp_path / "t.pcap", [(T0, cut)]))
    r = table.to_pylist()[0]
    assert (r["sport"], r["dport"], r["proto"]) == (40000, 445, 6)
    assert r["seq"] is None and r["tcp_flags"] is None and r["ip_len"] == 40 and r["caplen"] == 24


def test_tcp_options_and_fingerprints(tmp_path: Path) -> None:
    mss = b"\x02\x04\x05\xb4"
    dst = (203 << 24) | (0 << 16) | (113 << 8) | 9
    seq = 0x12345678
    masscan_id = (dst ^ 80 ^ seq) & 0xFFFF
    fr = [
        (T0, tcp_syn("1.2.3.4", "203.0.113.9", 1, 80, seq=seq, ip_id=masscan_id)),
        (T0, tcp_syn("1.2.3.4", "203.0.113.9", 1, 80, seq=5, ip_id=54321, opts=mss)),
        (T0, tcp_syn("1.2.3.4", "203.0.113.9", 80, 1, seq=5, flags=dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)),
        (T0, tcp_syn("1.2.3.4", "203.0.113.9", 80, 1, seq=5, flags=dpkt.tcp.TH_RST)),
    ]
    rows = read_capture(write_pcap(tmp_path / "f.pcap", fr))[0].to_pylist()
    assert [r["masscan"] for r in rows] == [True, False, False, False]
    assert [r["zmap"] for r in rows] == [False, True, False, False]
    assert [r["backscatter"] for r in rows] == [False, False, True, True]
    assert rows[1]["mss"] == 1460 and rows[1]["tcp_opts"] == "M" and rows[0]["tcp_opts"] == ""


def test_not_a_capture(tmp_path: Path) -> None:
    (tmp_path / "x.pcap").write_text("hello, this is text\n")
    with pytest.raises(CaptureError, match="not a pcap or pcapng"):
        read_capture(tmp_path / "x.pcap")
    (tmp_path / "empty.pcap").write_bytes(b"")
    with pytest.raises(CaptureError, match="empty"):
        read_capture(tmp_path / "empty.pcap")


def test_small_chunks_carry_records_over(tmp_path: Path) -> None:
    """Records cut by the chunk boundary are carried over; big records grow the buffer."""
    big = udp("5.6.7.8", "203.0.113.10", 1, 2, b"z" * 60_000)
    fr = frames() * 300 + [(T0, big)]
    path = write_pcap(tmp_path / "many.pcap", fr, snaplen=262144)
    whole, _ = read_capture(path)
    chunked, s = read_capture(path, chunk_bytes=1 << 16)
    assert s.packets == len(fr) and chunked.num_rows == len(fr)
    assert chunked.equals(whole)
