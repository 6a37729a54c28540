"""Packet columns and their wire layout, built as byte matrices.

:class:`PacketColumns` holds one numpy array per header field (one element per
packet).  :func:`build_group` turns packets that share a layout (IP version,
protocol, TCP option layout, quoted packet, payload length) into an ``(n, width)``
``uint8`` matrix of Ethernet II (or raw IP) frames: the fixed header fields are
written through a numpy structured view of the matrix, checksums are sums of
big-endian 16-bit word views.  No Python runs per packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "ICMP",
    "ICMP6",
    "OPTION_LAYOUTS",
    "OPT_LINUX",
    "OPT_MACOS",
    "OPT_MSS",
    "OPT_NONE",
    "OPT_WINDOWS",
    "TCP",
    "UDP",
    "PacketColumns",
    "build_group",
    "frame_length",
    "layout_keys",
]

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

#: TCP option layouts: (template bytes, MSS offset, window-scale offset, TSval offset); -1 = absent.
OPTION_LAYOUTS: tuple[tuple[bytes, int, int, int], ...] = (
    (b"", -1, -1, -1),  # OPT_NONE
    (b"\x02\x04\x00\x00", 2, -1, -1),  # OPT_MSS: M (nmap, zmap)
    (b"\x02\x04\x00\x00\x04\x02\x08\x0a" + bytes(8) + b"\x01\x03\x03\x00", 2, 19, 8),  # OPT_LINUX: M,S,T,N,W
    (b"\x02\x04\x00\x00\x01\x03\x03\x00\x01\x01\x04\x02", 2, 7, -1),  # OPT_WINDOWS: M,N,W,N,N,S
    (b"\x02\x04\x00\x00\x01\x03\x03\x00\x01\x01\x08\x0a" + bytes(8) + b"\x04\x02\x00\x00", 2, 7, 12),  # OPT_MACOS
)
OPT_NONE, OPT_MSS, OPT_LINUX, OPT_WINDOWS, OPT_MACOS = range(5)
ETH_DST = bytes.fromhex("02005e00530a")  # the sensor's interface
ETH_SRC = bytes.fromhex("0200c0a80001")  # the upstream router


@dataclass
class PacketColumns:
    """One numpy array per field, all of the same length (one element per packet).

    ``ts`` capture time, µs since the epoch (int64); ``version`` 4 or 6; ``src``/``dst``
    IPv4 addresses (uint32, ignored for IPv6); ``src6``/``dst6`` IPv6 addresses as
    ``(n, 16)`` uint8 (ignored for IPv4); ``proto`` 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6;
    ``sport``/``dport`` (TCP/UDP); ``flags``, ``seq``, ``ack``, ``window`` (TCP; for
    ICMP echo ``seq`` is the 4 bytes after the checksum: identifier << 16 | sequence);
    ``ip_id`` and ``ip_flags`` (IPv4: reserved 4, DF 2, MF 1; the fragment offset is 0),
    ``ttl`` (IPv4 TTL / IPv6 hop limit); ``icmp_type``/``icmp_code``;
    ``tcp_opts`` an index into :data:`OPTION_LAYOUTS` with the values ``mss``,
    ``wscale`` and ``tsval`` filled into it; ``inner_*`` the IPv4 packet quoted by an
    ICMP destination-unreachable (3) or time-exceeded (11) error: its protocol
    (UDP or TCP), addresses, ports and (TCP) sequence number; ``payload_id`` an index
    into ``payloads`` (the table of distinct payloads) or -1 for none.
    """

    ts: npt.NDArray[np.int64]
    version: npt.NDArray[np.uint8]
    src: npt.NDArray[np.uint32]
    dst: npt.NDArray[np.uint32]
    src6: npt.NDArray[np.uint8]
    dst6: npt.NDArray[np.uint8]
    proto: npt.NDArray[np.uint8]
    sport: npt.NDArray[np.uint16]
    dport: npt.NDArray[np.uint16]
    flags: npt.NDArray[np.uint8]
    seq: npt.NDArray[np.uint32]
    ack: npt.NDArray[np.uint32]
    window: npt.NDArray[np.uint16]
    ip_id: npt.NDArray[np.uint16]
    ttl: npt.NDArray[np.uint8]
    icmp_type: npt.NDArray[np.uint8]
    icmp_code: npt.NDArray[np.uint8]
    tcp_opts: npt.NDArray[np.uint8]
    mss: npt.NDArray[np.uint16]
    wscale: npt.NDArray[np.uint8]
    tsval: npt.NDArray[np.uint32]
    inner_proto: npt.NDArray[np.uint8]
    inner_src: npt.NDArray[np.uint32]
    inner_dst: npt.NDArray[np.uint32]
    inner_sport: npt.NDArray[np.uint16]
    inner_dport: npt.NDArray[np.uint16]
    inner_seq: npt.NDArray[np.uint32]
    payload_id: npt.NDArray[np.int32]
    ip_flags: npt.NDArray[np.uint8]
    payloads: tuple[bytes, ...] = field(default=())

    DTYPES: ClassVar[dict[str, str]] = {
        "ts": "i8", "version": "u1", "src": "u4", "dst": "u4", "src6": "u1", "dst6": "u1", "proto": "u1",
        "sport": "u2", "dport": "u2", "flags": "u1", "seq": "u4", "ack": "u4", "window": "u2", "ip_id": "u2",
        "ttl": "u1", "icmp_type": "u1", "icmp_code": "u1", "tcp_opts": "u1", "mss": "u2", "wscale": "u1",
        "tsval": "u4", "inner_proto": "u1", "inner_src": "u4", "inner_dst": "u4", "inner_sport": "u2",
        "inner_dport": "u2", "inner_seq": "u4", "payload_id": "i4", "ip_flags": "u1",
    }

    @classmethod
    def make(cls, n: int, payloads: tuple[bytes, ...] = (), **values: Any) -> PacketColumns:
        """``n`` packets: IPv4, TTL 64, no payload, zeros elsewhere, then ``values``
        (arrays of length ``n`` or scalars) cast to each field's type."""
        cols: dict[str, Any] = {}
        for name, dt in cls.DTYPES.items():
            shape: tuple[int, ...] = (n, 16) if name in ("src6", "dst6") else (n,)
            cols[name] = np.zeros(shape, dtype=dt)
        cols["version"][:] = 4
        cols["ttl"][:] = 64
        cols["payload_id"][:] = -1
        for name, value in values.items():
            if name not in cls.DTYPES:
                raise TypeError(f"PacketColumns has no field {name!r}")
            cols[name][:] = np.asarray(value).astype(cls.DTYPES[name], copy=False)
        return cls(**cols, payloads=tuple(payloads))

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "payloads"}

    def take(self, idx: npt.NDArray[np.integer[Any]] | slice) -> PacketColumns:
        """The packets at ``idx`` (an index array, or a slice giving views)."""
        cols: dict[str, Any] = {k: v[idx] for k, v in self.arrays().items()}
        return replace(self, **cols)

    @staticmethod
    def concat(parts: list[PacketColumns]) -> PacketColumns:
        """All packets of ``parts`` in order; payload tables are concatenated."""
        if not parts:
            return PacketColumns.make(0)
        tables: list[bytes] = []
        ids = []
        for p in parts:
            ids.append(np.where(p.payload_id >= 0, p.payload_id + len(tables), -1).astype(np.int32))
            tables.extend(p.payloads)
        cols = {k: np.concatenate([getattr(p, k) for p in parts]) for k in parts[0].arrays()}
        cols["payload_id"] = np.concatenate(ids)
        return PacketColumns(**cols, payloads=tuple(tables))


def _payload_lengths(c: PacketColumns) -> I64:
    table = np.array([len(p) for p in c.payloads] + [0], dtype=np.int64)
    return table[c.payload_id]  # -1 -> the trailing 0


def _quotes(c: PacketColumns) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = (c.version == 4) & (c.proto == ICMP) & ((c.icmp_type == 3) | (c.icmp_type == 11))
    return out


def layout_keys(c: PacketColumns) -> I64:
    """One integer per packet; packets with equal keys share a frame layout."""
    plen = _payload_lengths(c)
    opts = np.where(c.proto == TCP, c.tcp_opts, 0).astype(np.int64)
    v6 = (c.version == 6).astype(np.int64)
    keys: I64 = (((v6 * 256 + c.proto) * 16 + opts) * 2 + _quotes(c)) * 65536 + plen
    return keys


def frame_length(key: int, ethernet: bool = True) -> int:
    """Bytes of the frame described by a :func:`layout_keys` key."""
    plen, quote = key % 65536, (key // 65536) % 2
    opt, proto, v6 = (key // 131072) % 16, (key // 2097152) % 256, key // 536870912
    l4 = {TCP: 20 + len(OPTION_LAYOUTS[opt][0]), UDP: 8}.get(proto, 8 + 28 * quote)
    return (14 if ethernet else 0) + (40 if v6 else 20) + l4 + plen


def _words(mat: U8, start: int, length: int) -> npt.NDArray[np.uint64]:
    """Per row: sum of the 16-bit words in ``mat[:, start:start+length]`` read in *little*-endian
    order (cheaper; the one's complement sum is byte-order independent, RFC 1071 §2, so
    :func:`_fold` swaps the folded result back)."""
    n, width = mat.shape
    w = np.ndarray((n, length // 2), dtype="<u2", buffer=mat, offset=start, strides=(width, 2))
    s: npt.NDArray[np.uint64] = w.sum(axis=1, dtype=np.uint64)
    if length % 2:
        s += mat[:, start + length - 1].astype(np.uint64)
    return s


def _fold(s: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
    """Internet checksum (big-endian value) from a little-endian word sum of :func:`_words`."""
    for _ in range(3):
        s = (s & np.uint64(0xFFFF)) + (s >> np.uint64(16))
    c = (~s & np.uint64(0xFFFF)).astype(np.uint16)
    return c.byteswap()


def _swapped(*words: int) -> np.uint64:
    """16-bit constants as they add into a little-endian word sum of :func:`_words`."""
    return np.uint64(sum(((w & 0xFF) << 8) | ((w >> 8) & 0xFF) for w in words))


def _view(mat: U8, spec: list[tuple[str, str, int]]) -> npt.NDArray[np.void]:
    dt = np.dtype({"names": [s[0] for s in spec], "formats": [s[1] for s in spec],
                   "offsets": [s[2] for s in spec], "itemsize": mat.shape[1]})
    return mat.view(dt)[:, 0]


def build_group(c: PacketColumns, idx: I64, key: int, *, lead: int = 0, tail: int = 0,
                ethernet: bool = True) -> U8:
    """Frames of the packets ``idx`` (all with layout ``key``) as an ``(n, lead + frame + tail)``
    matrix; the ``lead`` and ``tail`` bytes (record header and trailer) are left zero."""
    plen, quote = key % 65536, bool((key // 65536) % 2)
    opt, proto, v6 = (key // 131072) % 16, (key // 2097152) % 256, bool(key // 536870912)
    flen = frame_length(key, ethernet)
    n = idx.shape[0]
    mat = np.zeros((n, lead + flen + tail), dtype=np.uint8)
    ip0 = lead + (14 if ethernet else 0)
    l4 = ip0 + (40 if v6 else 20)
    seglen = flen - (l4 - lead)
    if ethernet:
        mat[:, lead : lead + 12] = np.frombuffer(ETH_DST + ETH_SRC, dtype=np.uint8)
        mat[:, lead + 12] = 0x86 if v6 else 0x08
        mat[:, lead + 13] = 0xDD if v6 else 0x00
    if v6:
        r = _view(mat, [("vtc", ">u4", ip0), ("plen", ">u2", ip0 + 4), ("nh", "u1", ip0 + 6),
                        ("hlim", "u1", ip0 + 7)])
        r["vtc"], r["plen"], r["nh"], r["hlim"] = 0x60000000, seglen, proto, c.ttl[idx]
        mat[:, ip0 + 8 : ip0 + 24] = c.src6[idx]
        mat[:, ip0 + 24 : ip0 + 40] = c.dst6[idx]
        pseudo = _words(mat, ip0 + 8, 32) + _swapped(seglen, proto)
    else:
        r = _view(mat, [("vihl", "u1", ip0), ("tlen", ">u2", ip0 + 2), ("id", ">u2", ip0 + 4),
                        ("fl", "u1", ip0 + 6), ("ttl", "u1", ip0 + 8), ("proto", "u1", ip0 + 9),
                        ("csum", ">u2", ip0 + 10),
                        ("src", ">u4", ip0 + 12), ("dst", ">u4", ip0 + 16)])
        r["vihl"], r["tlen"], r["id"], r["ttl"], r["proto"] = 0x45, flen - (ip0 - lead), c.ip_id[idx], c.ttl[idx], proto
        r["fl"] = c.ip_flags[idx] << 5
        r["src"], r["dst"] = c.src[idx], c.dst[idx]
        r["csum"] = _fold(_words(mat, ip0, 20))
        pseudo = _words(mat, ip0 + 12, 8) + _swapped(seglen, proto)
    if proto == TCP:
        tmpl, mss_off, ws_off, ts_off = OPTION_LAYOUTS[opt]
        olen = len(tmpl)
        spec = [("sport", ">u2", l4), ("dport", ">u2", l4 + 2), ("seq", ">u4", l4 + 4), ("ack", ">u4", l4 + 8),
                ("off", "u1", l4 + 12), ("flags", "u1", l4 + 13), ("win", ">u2", l4 + 14)]
        spec += [(n_, f, l4 + 20 + o) for n_, f, o in (("mss", ">u2", mss_off), ("ws", "u1", ws_off),
                                                       ("tsv", ">u4", ts_off)) if o >= 0]
        if olen:
            mat[:, l4 + 20 : l4 + 20 + olen] = np.frombuffer(tmpl, dtype=np.uint8)
        t = _view(mat, spec)
        t["sport"], t["dport"], t["seq"], t["ack"] = c.sport[idx], c.dport[idx], c.seq[idx], c.ack[idx]
        t["off"], t["flags"], t["win"] = (20 + olen) << 2, c.flags[idx], c.window[idx]
        for name, col in (("mss", c.mss), ("ws", c.wscale), ("tsv", c.tsval)):
            if name in t.dtype.names:  # type: ignore[operator]
                t[name] = col[idx]
        csum_at = l4 + 16
    elif proto == UDP:
        u = _view(mat, [("sport", ">u2", l4), ("dport", ">u2", l4 + 2), ("len", ">u2", l4 + 4)])
        u["sport"], u["dport"], u["len"] = c.sport[idx], c.dport[idx], seglen
        csum_at = l4 + 6
    else:
        m = _view(mat, [("type", "u1", l4), ("code", "u1", l4 + 1), ("rest", ">u4", l4 + 4)])
        m["type"], m["code"] = c.icmp_type[idx], c.icmp_code[idx]
        if quote:
            _quote(mat, c, idx, l4 + 8)
        else:
            m["rest"] = c.seq[idx]
        csum_at = l4 + 2
        if not v6:
            pseudo = np.zeros(n, dtype=np.uint64)  # ICMPv4 has no pseudo-header
    if plen:
        start = l4 + seglen - plen
        ids = c.payload_id[idx]
        uniq, inv = np.unique(ids, return_inverse=True)
        table = np.frombuffer(b"".join(c.payloads[int(i)] for i in uniq), dtype=np.uint8).reshape(-1, plen)
        mat[:, start : start + plen] = table[inv.reshape(-1)]
    csum = _fold(pseudo + _words(mat, l4, seglen))
    if proto == UDP:
        csum[csum == 0] = 0xFFFF
    _view(mat, [("csum", ">u2", csum_at)])["csum"] = csum
    return mat


def _quote(mat: U8, c: PacketColumns, idx: I64, q: int) -> None:
    """The quoted IPv4 header + first 8 transport bytes of an ICMP error, at column ``q``."""
    ip = _view(mat, [("vihl", "u1", q), ("tlen", ">u2", q + 2), ("id", ">u2", q + 4), ("ttl", "u1", q + 8),
                     ("proto", "u1", q + 9), ("csum", ">u2", q + 10), ("src", ">u4", q + 12), ("dst", ">u4", q + 16),
                     ("sport", ">u2", q + 20), ("dport", ">u2", q + 22), ("seq", ">u4", q + 24)])
    proto = c.inner_proto[idx]
    tcp = proto == TCP
    ip["vihl"], ip["ttl"], ip["proto"], ip["id"] = 0x45, 50, proto, c.ip_id[idx] ^ 0x5A5A
    ip["tlen"] = np.where(tcp, 40, 28)
    ip["src"], ip["dst"] = c.inner_src[idx], c.inner_dst[idx]
    ip["sport"], ip["dport"] = c.inner_sport[idx], c.inner_dport[idx]
    ip["seq"] = np.where(tcp, c.inner_seq[idx], np.uint32(8 << 16))  # UDP: length 8, checksum 0
    ip["csum"] = _fold(_words(mat, q, 20))
