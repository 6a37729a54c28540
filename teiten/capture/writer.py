"""Write :class:`PacketColumns` as classic pcap or pcapng, vectorised.

Packets are grouped by frame layout; each group becomes one byte matrix (record
header, frame, trailer) built by :func:`teiten.capture.frames.build_group`.  The rows are
put back in packet order in a padded matrix that is compressed with a length mask, and
each batch of records reaches the file in one ``write``.
"""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from teiten.capture.frames import (
    PacketColumns,
    build_group,
    frame_length,
    layout_keys,
)

__all__ = ["BATCH", "CaptureWriter", "PacketColumns", "encode_records", "write_pcap",
           "write_pcapng"]

#: Packets encoded per batch (small enough for the padded record matrix to stay in cache).
BATCH = 1 << 16
#: Threads encoding batches (numpy releases the GIL in the copies and sums).
THREADS = 2
LINKTYPES = (1, 101)  # Ethernet, raw IP


def _header_spec(pcapng: bool, width: int, end: str) -> list[tuple[str, str, int]]:
    if pcapng:
        return [("type", end + "u4", 0), ("blen", end + "u4", 4), ("ts_hi", end + "u4", 12),
                ("ts_lo", end + "u4", 16), ("incl", end + "u4", 20), ("orig", end + "u4", 24),
                ("blen2", end + "u4", width - 4)]
    return [("sec", end + "u4", 0), ("frac", end + "u4", 4), ("incl", end + "u4", 8), ("orig", end + "u4", 12)]


def encode_records(packets: PacketColumns, *, pcapng: bool = False, nanosecond: bool = False,
                   big_endian: bool = False, linktype: int = 1) -> npt.NDArray[np.uint8]:
    """The pcap records (or pcapng enhanced packet blocks) of ``packets``, in order, as bytes."""
    if linktype not in LINKTYPES:
        raise ValueError(f"linktype {linktype} not supported (1 Ethernet, 101 raw IP)")
    n = len(packets)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    end = ">" if big_endian else "<"
    ethernet = linktype == 1
    keys = layout_keys(packets)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.diff(sorted_keys, prepend=sorted_keys[0] - 1))
    uniq, bounds = sorted_keys[starts], np.append(starts, n)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(np.diff(sorted_keys, prepend=sorted_keys[0]) != 0)
    unit = 1000 if nanosecond else 1
    lead = 28 if pcapng else 16
    widths = np.zeros(len(uniq), dtype=np.int64)
    mats = []
    for g, key in enumerate(uniq.tolist()):
        idx = order[bounds[g] : bounds[g + 1]]
        flen = frame_length(key, ethernet)
        tail = (-flen % 4) + 4 if pcapng else 0
        mat = build_group(packets, idx, key, lead=lead, tail=tail, ethernet=ethernet)
        width = mat.shape[1]
        rec = mat.view(np.dtype({"names": [s[0] for s in _header_spec(pcapng, width, end)],
                                 "formats": [s[1] for s in _header_spec(pcapng, width, end)],
                                 "offsets": [s[2] for s in _header_spec(pcapng, width, end)],
                                 "itemsize": width}))[:, 0]
        ts = packets.ts[idx]
        if pcapng:
            t = ts * unit
            rec["type"], rec["blen"], rec["blen2"] = 6, width, width
            rec["ts_hi"], rec["ts_lo"] = t >> 32, t & 0xFFFFFFFF
        else:
            rec["sec"], rec["frac"] = ts // 1_000_000, (ts % 1_000_000) * unit
        rec["incl"], rec["orig"] = flen, flen
        widths[g] = width
        mats.append((idx, mat))
    if len(mats) == 1:
        return mats[0][1].reshape(-1)
    padded = np.empty((n, int(widths.max())), dtype=np.uint8)
    for idx, mat in mats:
        padded[idx, : mat.shape[1]] = mat
    keep = np.arange(padded.shape[1]) < widths[:, None]  # one mask row per layout
    out: npt.NDArray[np.uint8] = padded[np.take(keep, inverse, axis=0)]
    return out


class CaptureWriter:
    """A pcap or pcapng file written batch by batch (``with CaptureWriter(path) as w: w.write(p)``)."""

    def __init__(self, path: Path | str, *, pcapng: bool = False, nanosecond: bool = False,
                 big_endian: bool = False, linktype: int = 1, snaplen: int = 262144) -> None:
        self.pcapng, self.nanosecond, self.big_endian, self.linktype = pcapng, nanosecond, big_endian, linktype
        self.packets = 0
        self._f: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed by close/__exit__)
        end = ">" if big_endian else "<"
        if pcapng:
            shb = struct.pack(end + "IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
            opts = struct.pack(end + "HHB3xHH", 9, 1, 9 if nanosecond else 6, 0, 0)
            idb = struct.pack(end + "IIHHI", 1, 20 + len(opts), linktype, 0, snaplen) + opts
            self._f.write(shb + idb + struct.pack(end + "I", 20 + len(opts)))
        else:
            magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
            self._f.write(struct.pack(end + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def _encode(self, packets: PacketColumns, start: int) -> npt.NDArray[np.uint8]:
        return encode_records(packets.take(slice(start, start + BATCH)), pcapng=self.pcapng,
                              nanosecond=self.nanosecond, big_endian=self.big_endian, linktype=self.linktype)

    def write(self, packets: PacketColumns) -> None:
        """Append ``packets`` (in the order given) to the file."""
        starts = list(range(0, len(packets), BATCH))
        if len(starts) <= 1:
            self._f.write(self._encode(packets, 0).data)
        else:
            with ThreadPoolExecutor(THREADS) as pool:
                for w in range(0, len(starts), 2 * THREADS):  # a bounded window of batches in flight
                    for records in pool.map(lambda s: self._encode(packets, s), starts[w : w + 2 * THREADS]):
                        self._f.write(records.data)
        self.packets += len(packets)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def write_pcap(path: Path | str, packets: PacketColumns, *, nanosecond: bool = False, big_endian: bool = False,
               linktype: int = 1) -> int:
    """Write ``packets`` as a classic pcap file (µs or ns, little- or big-endian); returns the packet count."""
    with CaptureWriter(path, nanosecond=nanosecond, big_endian=big_endian, linktype=linktype) as w:
        w.write(packets)
    return len(packets)


def write_pcapng(path: Path | str, packets: PacketColumns, *, nanosecond: bool = False, big_endian: bool = False,
                 linktype: int = 1) -> int:
    """Write ``packets`` as pcapng (one SHB, one IDB, one EPB per packet); returns the packet count."""
    with CaptureWriter(path, pcapng=True, nanosecond=nanosecond, big_endian=big_endian, linktype=linktype) as w:
        w.write(packets)
    return len(packets)
