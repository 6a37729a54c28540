"""A small reader of IPFire libloc databases (format version 1), numpy only.

The file (``location.db`` from Debian's ``libloc-database``) is big-endian::

    magic "LOCDBXX" + u8 version
    header: u64 created_at, u32 vendor, description, license (string-pool offsets),
            then (offset, length) u32 pairs for: ASes, network data, network tree,
            countries, string pool
    AS        : u32 number, u32 name (pool offset)                      8 bytes
    network   : char[2] country, u32 asn, u16 flags, 2 padding          12 bytes
    tree node : u32 zero, u32 one (child node index, 0 = none),
                u32 network (index into network data, 0xFFFFFFFF = none)  12 bytes
    country   : char[2] code, char[2] continent, u32 name               8 bytes
    pool      : NUL-terminated UTF-8 strings

Addresses live in one IPv6 binary tree (IPv4 as ``::ffff:a.b.c.d``); the answer for
an address is the deepest node with a network on its path (longest prefix match).
:func:`read_libloc` walks the tree level by level with array operations and returns
every network as a prefix (start, depth) with its country, AS number and flags.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from teiten.errors import GeoDataError

__all__ = ["LibLoc", "read_libloc"]

MAGIC = b"LOCDBXX"
_HEADER = struct.Struct(">QIII" + "II" * 5)
_NO_NETWORK = 0xFFFFFFFF

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class LibLoc:
    """Every network of a libloc database as a prefix, plus its AS names."""

    created_at: datetime
    vendor: str
    description: str
    license: str
    hi: U64  # prefix start, upper 64 bits
    lo: U64  # prefix start, lower 64 bits
    depth: npt.NDArray[np.uint8]  # prefix length 0..128
    country: npt.NDArray[np.bytes_]  # S2, b"" when none
    asn: npt.NDArray[np.uint32]  # 0 when none
    flags: npt.NDArray[np.uint16]
    as_names: dict[int, str]


def _pool_string(pool: bytes, offset: int) -> str:
    end = pool.find(b"\0", offset)
    return pool[offset : end if end >= 0 else len(pool)].decode("utf-8", "replace")


def _section(buf: bytes, offset: int, length: int, dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
    if offset + length > len(buf) or length % dtype.itemsize:
        raise GeoDataError(f"libloc database is truncated or damaged (section at {offset})")
    return np.frombuffer(buf, dtype=dtype, count=length // dtype.itemsize, offset=offset)


_AS = np.dtype([("number", ">u4"), ("name", ">u4")])
_NET = np.dtype([("cc", "S2"), ("pad0", "V2"), ("asn", ">u4"), ("flags", ">u2"), ("pad1", "V2")])
_NODE = np.dtype([("zero", ">u4"), ("one", ">u4"), ("network", ">u4")])


def _walk_tree(nodes: npt.NDArray[np.void]) -> tuple[U64, U64, npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Breadth-first walk: (hi, lo, depth, network index) of every node holding a network."""
    zero = nodes["zero"].astype(np.int64)
    one = nodes["one"].astype(np.int64)
    network = nodes["network"].astype(np.int64)
    frontier = np.zeros(1, dtype=np.int64)
    hi = np.zeros(1, dtype=np.uint64)
    lo = np.zeros(1, dtype=np.uint64)
    out_hi, out_lo, out_depth, out_net = [], [], [], []
    for depth in range(129):
        has = network[frontier] != _NO_NETWORK
        out_hi.append(hi[has])
        out_lo.append(lo[has])
        out_depth.append(np.full(int(has.sum()), depth, dtype=np.uint8))
        out_net.append(network[frontier[has]])
        if depth == 128:
            break
        z, o = zero[frontier], one[frontier]
        zm, om = z != 0, o != 0
        hi_one, lo_one = hi[om].copy(), lo[om].copy()
        if depth < 64:
            hi_one |= np.uint64(1 << (63 - depth))
        else:
            lo_one |= np.uint64(1 << (127 - depth))
        frontier = np.concatenate([z[zm], o[om]])
        hi = np.concatenate([hi[zm], hi_one])
        lo = np.concatenate([lo[zm], lo_one])
        if frontier.size == 0:
            break
        if frontier.max() >= len(nodes):
            raise GeoDataError("libloc database tree points outside the tree (damaged file)")
    return (np.concatenate(out_hi), np.concatenate(out_lo), np.concatenate(out_depth),
            np.concatenate(out_net))


def read_libloc(path: Path) -> LibLoc:
    """Read a libloc v1 database; raises GeoDataError when it is not one."""
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise GeoDataError(
            f"cannot read the libloc database {path}: {exc.strerror}; "
            "run `make install` or `apt-get install libloc-database`"
        ) from exc
    if buf[:7] != MAGIC or len(buf) < 8 + _HEADER.size:
        raise GeoDataError(f"{path} is not a libloc database (no LOCDBXX magic)")
    if buf[7] != 1:
        raise GeoDataError(f"{path}: libloc database version {buf[7]} is not supported (only 1)")
    (created, vendor, desc, lic, as_off, as_len, net_off, net_len, tree_off, tree_len,
     _cc_off, _cc_len, pool_off, pool_len) = _HEADER.unpack_from(buf, 8)
    pool = buf[pool_off : pool_off + pool_len]
    ases = _section(buf, as_off, as_len, _AS)
    nets = _section(buf, net_off, net_len, _NET)
    nodes = _section(buf, tree_off, tree_len, _NODE)
    hi, lo, depth, net_index = _walk_tree(nodes)
    if net_index.size and net_index.max() >= len(nets):
        raise GeoDataError(f"{path}: tree points outside the network data (damaged file)")
    chosen = nets[net_index]
    as_names = {int(n): _pool_string(pool, int(o)) for n, o in zip(ases["number"], ases["name"], strict=True)}
    return LibLoc(
        created_at=datetime.fromtimestamp(created, UTC),
        vendor=_pool_string(pool, vendor),
        description=_pool_string(pool, desc),
        license=_pool_string(pool, lic),
        hi=hi,
        lo=lo,
        depth=depth,
        country=chosen["cc"].astype("S2"),
        asn=chosen["asn"].astype(np.uint32),
        flags=chosen["flags"].astype(np.uint16),
        as_names=as_names,
    )
