"""Read captures with dpkt (the independent reference) into plain Python rows."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import dpkt
import zstandard


def open_capture(path: Path) -> Any:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 30)
    f = io.BytesIO(data)
    return dpkt.pcapng.Reader(f) if data[:4] == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(f)


def rows(path: Path, linktype: int = 1) -> list[dict[str, Any]]:
    """One dict per packet with the header fields the demo writer sets."""
    out = []
    for ts, buf in open_capture(path):
        raw = bytes(buf[14:] if linktype == 1 else buf)
        cls = dpkt.ip6.IP6 if raw[0] >> 4 == 6 else dpkt.ip.IP
        ip = dpkt.ethernet.Ethernet(buf).data if linktype == 1 else cls(raw)
        r: dict[str, Any] = {"ts": ts, "len": len(buf)}
        if isinstance(ip, dpkt.ip6.IP6):
            r.update(version=6, src6=bytes(ip.src), dst6=bytes(ip.dst), proto=ip.nxt, ttl=ip.hlim)
        else:
            r.update(version=4, src=int.from_bytes(ip.src, "big"), dst=int.from_bytes(ip.dst, "big"), proto=ip.p,
                     ttl=ip.ttl, ip_id=ip.id, ip_sum_ok=_ip_sum_ok(raw))
        l4 = ip.data
        if isinstance(l4, dpkt.tcp.TCP):
            r.update(sport=l4.sport, dport=l4.dport, flags=l4.flags, seq=l4.seq, ack=l4.ack, window=l4.win,
                     opts=bytes(l4.opts), payload=bytes(l4.data))
        elif isinstance(l4, dpkt.udp.UDP):
            r.update(sport=l4.sport, dport=l4.dport, payload=bytes(l4.data))
        elif isinstance(l4, dpkt.icmp.ICMP | dpkt.icmp6.ICMP6):
            r.update(icmp_type=l4.type, icmp_code=l4.code, icmp_body=bytes(l4)[4:])
        r["l4_sum_ok"] = _l4_sum_ok(raw)
        out.append(r)
    return out


def _ones(raw: bytes) -> int:
    if len(raw) % 2:
        raw += b"\x00"
    s = sum(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _ip_sum_ok(raw_ip: bytes) -> bool:
    return _ones(raw_ip[:20]) == 0xFFFF


def _l4_sum_ok(raw_ip: bytes) -> bool:
    """The transport checksum, recomputed here (pseudo-header + segment sums to 0xFFFF)."""
    if raw_ip[0] >> 4 == 6:
        seg, nh = raw_ip[40:], raw_ip[6]
        pseudo = raw_ip[8:40] + len(seg).to_bytes(4, "big") + bytes([0, 0, 0, nh])
    else:
        seg, p = raw_ip[(raw_ip[0] & 15) * 4 :], raw_ip[9]
        pseudo = b"" if p == 1 else raw_ip[12:20] + bytes([0, p]) + len(seg).to_bytes(2, "big")
    return _ones(pseudo + seg) == 0xFFFF
