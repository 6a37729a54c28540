"""A tiny MaxMind DB (.mmdb) writer for tests: IPv6 tree, 24-bit records.

Enough of the format (https://maxmind.github.io/MaxMind-DB/) to build small
country or ASN databases; networks must not nest.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any


def _ctrl(type_: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    else:
        head, extra = 30, struct.pack(">H", size - 285)
    if type_ <= 7:
        return bytes([(type_ << 5) | head]) + extra
    return bytes([head, type_ - 7]) + extra


class U16(int):
    pass


class U64(int):
    pass


def encode(value: Any) -> bytes:
    if isinstance(value, (U16, U64)):
        raw = int(value).to_bytes(8, "big").lstrip(b"\0")
        return _ctrl(5 if isinstance(value, U16) else 9, len(raw)) + raw
    if isinstance(value, str):
        raw = value.encode()
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, dict):
        return _ctrl(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _ctrl(11, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, int):
        raw = value.to_bytes(8, "big").lstrip(b"\0")
        return _ctrl(6 if value < 2**32 else 9, len(raw)) + raw
    raise TypeError(value)


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], database_type: str, build_epoch: int) -> None:
    nodes: list[list[Any]] = [[None, None]]
    data = b""
    for cidr, record in networks.items():
        net = ipaddress.ip_network(cidr)
        depth = net.prefixlen + (96 if net.version == 4 else 0)  # IPv4 lives under ::/96
        value = int(net.network_address)
        node = 0
        for i in range(depth):
            bit = (value >> (127 - i)) & 1
            if i == depth - 1:
                nodes[node][bit] = ("data", len(data))
            else:
                if nodes[node][bit] is None:
                    nodes.append([None, None])
                    nodes[node][bit] = len(nodes) - 1
                node = nodes[node][bit]
        data += encode(record)
    count = len(nodes)

    def rec(r: Any) -> int:
        if r is None:
            return count
        if isinstance(r, tuple):
            return count + 16 + r[1]
        return int(r)

    tree = b"".join(rec(left).to_bytes(3, "big") + rec(right).to_bytes(3, "big") for left, right in nodes)
    meta = {
        "node_count": count, "record_size": U16(24), "ip_version": U16(6), "database_type": database_type,
        "languages": ["en"], "binary_format_major_version": U16(2), "binary_format_minor_version": U16(0),
        "build_epoch": U64(build_epoch), "description": {"en": "teiten test database"},
    }
    path.write_bytes(tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + encode(meta))
