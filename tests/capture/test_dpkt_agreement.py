"""Decoded fields agree with dpkt, packet by packet, on the undamaged corpus files."""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Any

import dpkt
import pytest

from teiten.capture.reader import CaptureReader
from teiten.schema import PAYLOAD_BYTES
from tests.conftest import CORPUS, corpus_rows

LINKTYPES = {"1", "0", "101", "113", "228", "229", "276"}
ROWS = [r for r in corpus_rows()
        if r["damaged"] == "no" and int(r["frames"]) > 0 and r["format"].startswith(("pcap", "nsecpcap"))
        and {lt.split(":")[0] for lt in r["linktypes"].split(";")} <= LINKTYPES
        and (not r["format"].startswith("pcapng") or ";" not in r["linktypes"])]


def _dpkt_frames(path: Path, pcapng: bool) -> tuple[int, list[bytes]] | None:
    """(link type, frames) as dpkt reads them; None when dpkt cannot read the file."""
    with open(path, "rb") as f:
        try:
            reader = dpkt.pcapng.Reader(f) if pcapng else dpkt.pcap.Reader(f)
            return reader.datalink() & 0xFFFF, [bytes(buf) for _ts, buf in reader]
        except (ValueError, dpkt.UnpackError, dpkt.NeedData, struct.error):
            if not pcapng:
                raise
            return None  # dpkt's pcapng reader knows one section and interface only


def _spb_frames(path: Path) -> set[int]:
    """Frame numbers of the simple packet blocks of a (one-byte-order) pcapng file, in our
    numbering: every packet block counts."""
    data = path.read_bytes()
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos, frame, spb = 0, 0, set()
    while pos + 8 <= len(data):
        btype, blen = struct.unpack_from(order + "II", data, pos)
        if btype == 0x0A0D0D0A:
            order = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            btype, blen = struct.unpack_from(order + "II", data, pos)
        if btype in (2, 3, 6):
            frame += 1
            if btype == 3:
                spb.add(frame)
        pos += max(blen, 12)
    return spb


def _dpkt_ip(linktype: int, frame: bytes) -> Any:
    """The outermost IP header of a frame as dpkt sees it, or None."""
    try:
        if linktype == 1:
            eth = dpkt.ethernet.Ethernet(frame)
            ip = eth.data
        elif linktype == 113:
            ip = dpkt.sll.SLL(frame).data
        elif linktype == 276:
            ip = dpkt.sll2.SLL2(frame).data
        elif linktype == 0:
            ip = dpkt.loopback.Loopback(frame).data
        elif linktype in (101, 228):
            ip = dpkt.ip.IP(frame) if frame[:1] and frame[0] >> 4 == 4 else dpkt.ip6.IP6(frame)
        elif linktype == 229:
            ip = dpkt.ip6.IP6(frame)
        else:
            return None
    except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return ip if isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) else None


def _check(ip: Any, row: dict[str, Any]) -> list[str]:
    bad: list[str] = []

    def eq(name: str, ours: Any, theirs: Any) -> None:
        if ours != theirs:
            bad.append(f"{name}: ours {ours!r} dpkt {theirs!r}")

    if isinstance(ip, dpkt.ip.IP):
        eq("ip_version", row["ip_version"], 4)
        eq("src", row["src4"], int.from_bytes(ip.src, "big"))
        eq("dst", row["dst4"], int.from_bytes(ip.dst, "big"))
        eq("ttl", row["ttl"], ip.ttl)
        eq("ip_id", row["ip_id"], ip.id)
        eq("proto", row["proto"], ip.p)
        eq("ip_len", row["ip_len"], ip.len)
        eq("ip_flags", row["ip_flags"], ip.off >> 13)
        fragmented = bool(ip.off & (dpkt.ip.IP_MF | dpkt.ip.IP_OFFMASK))
    else:
        eq("ip_version", row["ip_version"], 6)
        eq("src", socket.inet_ntop(socket.AF_INET6, row["src6"]), socket.inet_ntop(socket.AF_INET6, ip.src))
        eq("ttl", row["ttl"], ip.hlim)
        fragmented = 44 in getattr(ip, "extension_hdrs", {}) and ip.extension_hdrs[44] is not None
        if not fragmented:
            eq("proto", row["proto"], ip.p)
    l4 = ip.data
    if row["frag"] != 0 or fragmented:
        return bad
    if isinstance(l4, dpkt.tcp.TCP):
        eq("sport", row["sport"], l4.sport)
        eq("dport", row["dport"], l4.dport)
        eq("seq", row["seq"], l4.seq)
        eq("ack", row["ack"], l4.ack)
        eq("flags", row["tcp_flags"], l4.flags & 0xFF)
        eq("window", row["window"], l4.win)
        eq("payload", row["payload"], bytes(l4.data)[:PAYLOAD_BYTES])
        for opt, val in dpkt.tcp.parse_opts(l4.opts):
            if opt == dpkt.tcp.TCP_OPT_MSS and len(val) == 2:
                eq("mss", row["mss"], int.from_bytes(val, "big"))
                break
    elif isinstance(l4, dpkt.udp.UDP):
        eq("sport", row["sport"], l4.sport)
        eq("dport", row["dport"], l4.dport)
    elif isinstance(l4, dpkt.icmp.ICMP | dpkt.icmp6.ICMP6):
        eq("icmp_type", row["icmp_type"], l4.type)
        eq("icmp_code", row["icmp_code"], l4.code)
        echo = isinstance(l4.data, dpkt.icmp.ICMP.Echo | dpkt.icmp6.ICMP6.Echo)
        if echo and l4.type in (0, 8, 128, 129):
            eq("icmp_id", row["icmp_id"], l4.data.id)
            eq("icmp_seq", row["icmp_seq"], l4.data.seq)
        elif l4.type in (3, 5, 11, 1, 2, 4):
            eq("icmp_id", row["icmp_id"], None)
    return bad


def test_enough_files_compared() -> None:
    assert len(ROWS) >= 250
    assert sum(r["format"].startswith("pcapng") for r in ROWS) >= 50


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_fields_agree_with_dpkt(row: dict[str, str]) -> None:
    path = CORPUS / row["path"]
    reader = CaptureReader(path)
    ours: dict[int, dict[str, Any]] = {}
    quarantined: dict[int, str] = {}
    for batch in reader:
        ours.update((r["frame"], r) for r in batch.packets.to_pylist())
        quarantined.update((q[0], q[4]) for q in batch.quarantine)
    summary = reader.summary
    compared = 0
    problems: list[str] = []
    read = _dpkt_frames(path, row["format"].startswith("pcapng"))
    if read is None:
        return
    linktype, dpkt_frames = read
    # dpkt skips simple packet blocks; number its frames the way we do
    spb = _spb_frames(path) if row["format"].startswith("pcapng") else set()
    assert all(ours[f]["ts_inferred"] for f in spb if f in ours)
    assert not any(r["ts_inferred"] for f, r in ours.items() if f not in spb)
    numbers = [f for f in range(1, summary.frames + 1) if f not in spb]
    assert len(numbers) == len(dpkt_frames)
    for frame_no, frame in zip(numbers, dpkt_frames, strict=True):
        ip = _dpkt_ip(linktype, frame)
        if ip is None:
            continue
        row_ours = ours.get(frame_no)
        if frame_no in quarantined:
            # dpkt does not check the version nibble; we keep such headers aside
            assert quarantined[frame_no] == "IP version does not match the link type"
            continue
        if row_ours is None:
            problems.append(f"frame {frame_no}: dpkt decodes IP, we stored nothing")
            continue
        compared += 1
        problems += [f"frame {frame_no}: {p}" for p in _check(ip, row_ours)]
    assert not problems, "\n".join(problems[:20])
    assert compared <= summary.packets


def test_dpkt_reads_most_pcapng_files() -> None:
    """The comparison is not vacuous for pcapng: dpkt reads most of the files."""
    pcapng_rows = [r for r in ROWS if r["format"].startswith("pcapng")]
    readable = [r for r in pcapng_rows if _dpkt_frames(CORPUS / r["path"], True) is not None]
    assert len(readable) >= len(pcapng_rows) // 2, (len(readable), len(pcapng_rows))
