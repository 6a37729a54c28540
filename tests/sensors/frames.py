"""Ethernet frames for the responder's tests, built by hand (struct), and a pcap writer."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from teiten.sensors.respond import checksum

SCANNER_MAC, SENSOR_MAC = bytes.fromhex("02aabbccdd01"), bytes.fromhex("02aabbccdd02")


def tcp4(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"",
         *, frag: int = 0) -> bytes:
    """An Ethernet/IPv4/TCP frame from the scanner to the sensor."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 1024, 0, 0) + payload
    tcp = tcp[:16] + struct.pack("!H", checksum(s + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 54321, frag, 48, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return SENSOR_MAC + SCANNER_MAC + b"\x08\x00" + ip + tcp


def tcp6(src: str, dst: str, sport: int, dport: int, seq: int, flags: int) -> bytes:
    """An Ethernet/IPv6/TCP frame from the scanner to the sensor."""
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 1024, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", checksum(s + d + struct.pack("!I3xB", len(tcp), 6) + tcp)) + tcp[18:]
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, s, d)
    return SENSOR_MAC + SCANNER_MAC + b"\x86\xdd" + ip + tcp


def arp_request(sender: str, target: str) -> bytes:
    return (b"\xff" * 6 + SCANNER_MAC + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01" + SCANNER_MAC
            + socket.inet_aton(sender) + b"\x00" * 6 + socket.inet_aton(target))


def write_pcap(path: Path, frames: list[tuple[float, bytes]]) -> Path:
    """Classic pcap (Ethernet, µs) of (time, frame)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, fr in frames:
            sec, us = int(t), round((t - int(t)) * 1e6)
            f.write(struct.pack("<IIII", sec, us, len(fr), len(fr)) + fr)
    return path
