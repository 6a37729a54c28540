"""Fast synthetic pcap files for store tests (numpy-built Ethernet/IPv4/TCP SYNs)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PORTS = np.array([23, 445, 22, 80, 1433, 6379], dtype=np.uint16)


def syn_pcap(path: Path, n: int, seed: int, start: int = 1_700_000_000, seconds: int = 2 * 86400) -> Path:
    """n TCP SYNs to 203.0.113.0/24 from random public sources, spread over `seconds`."""
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(0, seconds * 1_000_000, n)) + start * 1_000_000
    rec = np.zeros((n, 16 + 54), np.uint8)
    hdr = np.zeros(n, dtype=[("s", "<u4"), ("us", "<u4"), ("cl", "<u4"), ("ol", "<u4")])
    hdr["s"], hdr["us"], hdr["cl"], hdr["ol"] = ts // 1_000_000, ts % 1_000_000, 54, 54
    rec[:, :16] = hdr.view(np.uint8).reshape(n, 16)
    e = 16
    rec[:, e + 12] = 8
    ip = e + 14
    rec[:, ip] = 0x45
    rec[:, ip + 3] = 40
    rec[:, ip + 8] = 64
    rec[:, ip + 9] = 6

    def put(col: int, values: np.ndarray, dt: str) -> None:
        width = np.dtype(dt).itemsize
        rec[:, col:col + width] = values.astype(dt).view(np.uint8).reshape(n, width)

    put(ip + 4, rng.integers(0, 65536, n), ">u2")
    put(ip + 12, rng.integers(0x01000000, 0xDF000000, n), ">u4")
    put(ip + 16, 0xCB007100 + rng.integers(0, 256, n), ">u4")
    tcp = ip + 20
    put(tcp, rng.integers(1024, 65536, n), ">u2")
    put(tcp + 2, rng.choice(PORTS, n), ">u2")
    put(tcp + 4, rng.integers(0, 1 << 32, n, dtype=np.uint64), ">u4")
    rec[:, tcp + 12] = 0x50
    rec[:, tcp + 13] = 0x02
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(rec.tobytes())
    return path
