"""Small capture files built with dpkt, for tests that need exact bytes."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import dpkt


def tcp_syn(src: str, dst: str, sport: int, dport: int, seq: int, ip_id: int = 1, ttl: int = 64,
            opts: bytes = b"", payload: bytes = b"", flags: int = dpkt.tcp.TH_SYN) -> bytes:
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, flags=flags, win=1024, opts=opts, data=payload)
    tcp.off = (20 + len(opts)) // 4
    ip = dpkt.ip.IP(src=_a(src), dst=_a(dst), p=6, id=ip_id, ttl=ttl, data=tcp)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x02" * 6, type=0x0800, data=ip))


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"") -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    u.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=_a(src), dst=_a(dst), p=17, data=u)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x02" * 6, type=0x0800, data=ip))


def icmp(src: str, dst: str, type_: int, code: int = 0) -> bytes:
    ic = dpkt.icmp.ICMP(type=type_, code=code, data=dpkt.icmp.ICMP.Echo(id=1, seq=1, data=b"x" * 8))
    ip = dpkt.ip.IP(src=_a(src), dst=_a(dst), p=1, data=ic)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x02" * 6, type=0x0800, data=ip))


def _a(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def write_pcap(path: Path, frames: list[tuple[float, bytes]], *, nano: bool = False, big: bool = False,
               linktype: int = 1, snaplen: int = 65535) -> Path:
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for ts, data in frames:
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out.append(struct.pack(e + "IIII", sec, frac, len(data), len(data)) + data)
    path.write_bytes(b"".join(out))
    return path


def write_pcapng(path: Path, frames: list[tuple[float, bytes]], *, big: bool = False, tsresol: int = 6) -> Path:
    e = ">" if big else "<"

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)

    shb = block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opt = struct.pack(e + "HH", 9, 1) + bytes([tsresol]) + b"\x00" * 3 + struct.pack(e + "HH", 0, 0)
    idb = block(1, struct.pack(e + "HHI", 1, 0, 65535) + opt)
    out = [shb, idb]
    for ts, data in frames:
        units = round(ts * 10**tsresol)
        body = struct.pack(e + "IIIII", 0, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data
        out.append(block(6, body))
    path.write_bytes(b"".join(out))
    return path


class PcapngBlocks:
    """pcapng blocks one at a time, for files mixing block kinds and interfaces.

    ``tsresol`` is the raw if_tsresol byte: ``9`` for ns, ``0x80 | 20`` for 2^-20 s."""

    def __init__(self, *, big: bool = False) -> None:
        self.e = ">" if big else "<"
        self.resol: list[int] = []
        self.out: list[bytes] = []

    def _block(self, btype: int, body: bytes) -> PcapngBlocks:
        body += b"\x00" * (-len(body) % 4)
        n = len(body) + 12
        self.out.append(struct.pack(self.e + "II", btype, n) + body + struct.pack(self.e + "I", n))
        return self

    def section(self) -> PcapngBlocks:
        self.resol = []
        return self._block(0x0A0D0D0A, struct.pack(self.e + "IHHq", 0x1A2B3C4D, 1, 0, -1))

    def interface(self, tsresol: int = 6, linktype: int = 1, snaplen: int = 65535) -> PcapngBlocks:
        self.resol.append(tsresol)
        opt = struct.pack(self.e + "HH", 9, 1) + bytes([tsresol]) + b"\x00" * 3 + struct.pack(self.e + "HH", 0, 0)
        return self._block(1, struct.pack(self.e + "HHI", linktype, 0, snaplen) + opt)

    def epb(self, iface: int, ts: float | Fraction, data: bytes) -> PcapngBlocks:
        r = self.resol[iface]
        units = round(Fraction(ts) * (2 ** (r & 0x7F) if r & 0x80 else 10 ** r))
        return self._block(6, struct.pack(self.e + "IIIII", iface, units >> 32, units & 0xFFFFFFFF,
                                          len(data), len(data)) + data)

    def spb(self, data: bytes) -> PcapngBlocks:
        return self._block(3, struct.pack(self.e + "I", len(data)) + data)

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(self.out))
        return path
