"""A capture of many small packets to the darknet prefix, for replaying into the veth
(``tcpreplay``): numpy-built Ethernet/IPv4/UDP, addressed to the sensor's interface."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def burst_pcap(path: Path, n: int, dst_mac: bytes, *, seed: int = 1) -> Path:
    """``n`` UDP datagrams (60-byte frames) from 10.199.0.1 to 198.51.100.1-100, random ports."""
    rng = np.random.default_rng(seed)
    size = 60
    rec = np.zeros((n, 16 + size), np.uint8)
    hdr = np.zeros(n, dtype=[("s", "<u4"), ("us", "<u4"), ("cl", "<u4"), ("ol", "<u4")])
    hdr["s"], hdr["us"] = 1_780_000_000 + np.arange(n) // 1_000_000, np.arange(n) % 1_000_000
    hdr["cl"] = hdr["ol"] = size
    rec[:, :16] = hdr.view(np.uint8).reshape(n, 16)
    e = 16
    rec[:, e:e + 6] = np.frombuffer(dst_mac, np.uint8)
    rec[:, e + 6:e + 12] = np.frombuffer(bytes.fromhex("02000000aa01"), np.uint8)
    rec[:, e + 12] = 8
    ip = e + 14

    def put(col: int, values: np.ndarray, dt: str) -> None:
        width = np.dtype(dt).itemsize
        rec[:, col:col + width] = values.astype(dt).view(np.uint8).reshape(n, width)

    rec[:, ip] = 0x45
    put(ip + 2, np.full(n, 46), ">u2")
    rec[:, ip + 8] = 64
    rec[:, ip + 9] = 17
    put(ip + 12, np.full(n, 0x0AC70001), ">u4")
    put(ip + 16, 0xC6336401 + rng.integers(0, 100, n), ">u4")
    udp = ip + 20
    put(udp, rng.integers(1024, 65536, n), ">u2")
    put(udp + 2, rng.integers(1, 65536, n), ">u2")
    put(udp + 4, np.full(n, 26), ">u2")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(rec.tobytes())
    return path
