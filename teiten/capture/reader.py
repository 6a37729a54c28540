"""Read a capture file into Arrow batches of decoded packets, bounded in memory.

The file (decompressed on the fly when gzip or zstd) is read in chunks into one
reusable buffer; a compiled walker finds the records in the chunk, the compiled
decoder turns them into columns, and each chunk becomes one Arrow table.  A
record cut by the end of a chunk is carried over to the next.  Damage stops the
walk: everything before it is returned, the rest of the file goes to
``tail_sink`` and is reported in the summary.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import zstandard

from teiten.capture import decode as dk
from teiten.capture import walk as wk
from teiten.capture.formats import linktype_name, open_stream, parse_pcap_header, sniff
from teiten.errors import CaptureError
from teiten.schema import decoded_schema

__all__ = ["CaptureBatch", "CaptureReader", "CaptureSummary", "read_capture"]

_STREAM_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError)


@dataclass
class CaptureSummary:
    """What one capture file held, filled in as it is read."""

    path: str
    format: str = ""
    compression: str = ""
    frames: int = 0  # records read
    packets: int = 0  # IP packets decoded
    nonip: int = 0  # frames that are not IP (incl. link types not decoded)
    quarantined: int = 0  # records kept aside as undecodable
    ts_inferred: int = 0  # packets whose record had no timestamp (pcapng simple packet blocks)
    first_ts: int | None = None  # µs since the epoch, first timestamped record in file order
    last_ts: int | None = None
    damage: str | None = None  # why reading stopped early
    damage_offset: int | None = None  # decompressed byte offset of the damage
    tail_bytes: int = 0  # bytes from the damage to the end, sent to the tail sink
    undecoded_linktypes: dict[int, int] = field(default_factory=dict)  # link type -> frames


@dataclass
class CaptureBatch:
    packets: pa.Table  # teiten.schema.DECODED_COLUMNS
    #: undecodable records: frame, offset, ts, link type, reason, raw bytes
    quarantine: list[tuple[int, int, int | None, int | None, str, bytes]]


class CaptureReader:
    """Iterate over a capture's packets; ``summary`` is complete once exhausted."""

    def __init__(self, path: Path | str, *, chunk_bytes: int = 64 << 20,
                 batch_records: int = 1 << 18, tail_sink: BinaryIO | None = None) -> None:
        self.path = Path(path)
        self.batch_records = batch_records
        self.chunk_bytes = max(chunk_bytes, 1 << 16)
        self.tail_sink = tail_sink
        self.summary = CaptureSummary(str(path))
        self._mapped = False

    def __iter__(self) -> Iterator[CaptureBatch]:
        try:
            stream, self.summary.compression = open_stream(self.path)
        except OSError as e:
            raise CaptureError(f"cannot open {self.path}: {e.strerror or e}") from e
        with stream:
            mapped = _map(stream) if not self.summary.compression else None
            try:
                yield from self._read(stream, mapped)
            finally:
                if mapped is not None:
                    # an exception's traceback may still hold the array; then GC unmaps it
                    with contextlib.suppress(BufferError):
                        mapped.close()

    # -- the walk ---------------------------------------------------------------
    def _read(self, stream: BinaryIO, mapped: mmap.mmap | None) -> Iterator[CaptureBatch]:
        """Walk the file: in a memory map when it is a plain file, else in chunks."""
        s = self.summary
        self._mapped = mapped is not None
        if mapped is not None:
            buf = np.frombuffer(mapped, dtype=np.uint8)
            fill, eof, stream_error = len(buf), True, None
        else:
            buf = np.empty(self.chunk_bytes, dtype=np.uint8)
            fill, eof, stream_error = self._fill(stream, buf, 0)
        head = bytes(buf[: min(fill, 24)])
        try:
            s.format = sniff(head)
        except CaptureError:
            if stream_error and s.compression:
                raise CaptureError(f"damaged {s.compression} stream: {stream_error}") from None
            raise
        pos = 0
        if s.format == "pcap":
            hdr = parse_pcap_header(head)
            pos = 24
            if hdr.nanosecond:
                s.format = "nsecpcap"
            if hdr.record_header == 24:
                s.format = "modpcap"
        else:
            state = np.zeros(wk.STATE_SLOTS, dtype=np.int64)
            state[wk.ST_MTIME] = self._mtime_us()
            if_lt = np.zeros(wk.MAX_IFACES, dtype=np.int64)
            if_pow2 = np.zeros(wk.MAX_IFACES, dtype=np.int64)
            if_exp = np.zeros(wk.MAX_IFACES, dtype=np.int64)
            if_off = np.zeros(wk.MAX_IFACES, dtype=np.int64)
            if_snap = np.zeros(wk.MAX_IFACES, dtype=np.int64)
        base = 0  # decompressed offset of buf[0]
        released = 0  # mapped bytes already handed back to the page cache
        while True:
            limit = max(1, min(self.batch_records, (fill - pos) // 12 + 1))
            rec = _alloc_records(limit)
            if s.format == "pcapng":
                n, newpos, code = wk.walk_pcapng(  # type: ignore[call-arg]
                    buf, pos, fill, state, if_lt, if_pow2, if_exp, if_off, if_snap, s.frames, *rec, limit)
            else:
                n, newpos, code = wk.walk_pcap(  # type: ignore[call-arg]
                    buf, pos, fill, hdr.big_endian, hdr.nanosecond, hdr.record_header, hdr.linktype,
                    s.frames, *rec, limit)
            if n:
                yield self._decode(buf, rec, n, base, newpos - pos)
            if mapped is not None:
                released = _release(mapped, released, newpos)
            pos = newpos
            if code == wk.FULL:
                continue
            if code in (wk.DAMAGED, wk.UNSUPPORTED):
                why = "pcapng section version not supported" if code == wk.UNSUPPORTED else (
                    "invalid record header")
                self._stop(stream, buf, pos, fill, base, why)
                return
            # NEED_MORE
            if eof:
                if pos < fill:
                    why = "file ends inside a record"
                    if stream_error:
                        why = f"damaged {s.compression} stream ({stream_error})"
                    self._stop(stream, buf, pos, fill, base, why)
                elif stream_error:
                    s.damage = f"damaged {s.compression} stream ({stream_error})"
                    s.damage_offset = base + fill
                return
            rest = fill - pos
            if rest >= len(buf) // 2:
                if len(buf) >= wk.MAX_RECORD * 2:
                    self._stop(stream, buf, pos, fill, base, "record larger than the maximum")
                    return
                bigger = np.empty(len(buf) * 2, dtype=np.uint8)
                bigger[:rest] = buf[pos:fill]
                buf = bigger
            else:
                buf[:rest] = buf[pos:fill]
            base += pos
            pos = 0
            fill, eof, stream_error = self._fill(stream, buf, rest)

    @staticmethod
    def _fill(stream: BinaryIO, buf: np.ndarray, fill: int) -> tuple[int, bool, str | None]:
        """Read into buf[fill:] until full or the stream ends: (fill, eof, error)."""
        view = memoryview(buf)  # type: ignore[arg-type]
        while fill < len(buf):
            try:
                got = stream.readinto(view[fill:])  # type: ignore[attr-defined]
            except _STREAM_ERRORS as e:
                return fill, True, str(e) or type(e).__name__
            if not got:
                return fill, True, None
            fill += got
        return fill, False, None

    def _stop(self, stream: BinaryIO, buf: np.ndarray, pos: int, fill: int, base: int, why: str) -> None:
        """Record damage at ``pos``; send every byte from there to the end to the tail sink."""
        s = self.summary
        s.damage = why
        s.damage_offset = base + pos
        s.tail_bytes = fill - pos
        if self.tail_sink is not None:
            for k in range(pos, fill, 1 << 20):
                self.tail_sink.write(buf[k:min(k + (1 << 20), fill)].tobytes())
        if self._mapped:
            return  # the map holds the whole file: nothing more to read
        while True:
            try:
                more = stream.read(1 << 20)
            except _STREAM_ERRORS:
                break
            if not more:
                break
            s.tail_bytes += len(more)
            if self.tail_sink is not None:
                self.tail_sink.write(more)

    def _mtime_us(self) -> int:
        """The file's modification time in µs: the timestamp of last resort (see walk_pcapng)."""
        try:
            return os.stat(self.path).st_mtime_ns // 1000
        except OSError:
            return 0

    # -- decoding ---------------------------------------------------------------
    def _decode(self, buf: np.ndarray, rec: tuple[np.ndarray, ...], n: int, base: int,
                span: int) -> CaptureBatch:
        s = self.summary
        off, cap, _wire, ts, lt, frame, kind = (a[:n] for a in rec)
        out = _alloc_outputs(n, span)
        outcome = np.empty(n, dtype=np.uint8)
        reason = np.empty(n, dtype=np.uint8)
        j = dk.decode_records(buf, off, cap, ts, lt, frame, kind, n, *out, outcome, reason)  # type: ignore[call-arg]
        s.frames += n
        s.packets += j
        s.ts_inferred += int(np.count_nonzero(out[_TSINF][:j]))
        stamped = np.flatnonzero(kind == wk.REC_PACKET)
        if not len(stamped) and s.first_ts is None:
            stamped = np.arange(n)  # only inferred timestamps so far: the file's range is theirs
        if len(stamped):
            if s.first_ts is None:
                s.first_ts = int(ts[stamped[0]])
            s.last_ts = int(ts[stamped[-1]])
        s.nonip += int(np.count_nonzero(outcome == dk.NON_IP))
        unsup = outcome == dk.UNSUPPORTED_LINK
        if unsup.any():
            s.nonip += int(np.count_nonzero(unsup))
            kinds, counts = np.unique(lt[unsup], return_counts=True)
            for k, c in zip(kinds.tolist(), counts.tolist(), strict=True):
                s.undecoded_linktypes[k] = s.undecoded_linktypes.get(k, 0) + c
        quarantine = []
        for i in np.flatnonzero(outcome == dk.BAD).tolist():
            o, c = int(off[i]), int(cap[i])
            quarantine.append((int(frame[i]), base + o, int(ts[i]) if kind[i] == wk.REC_PACKET else None,
                               int(lt[i]) if lt[i] != wk.UNDESCRIBED_IFACE else None,
                               dk.REASONS[reason[i]], bytes(buf[o:o + c])))
        s.quarantined += len(quarantine)
        return CaptureBatch(_to_table(out, j), quarantine)

    def undecoded_note(self) -> str:
        return ", ".join(f"link type {linktype_name(k)}: {v} frames not decoded"
                         for k, v in sorted(self.summary.undecoded_linktypes.items()))


def read_capture(path: Path | str, **kw: object) -> tuple[pa.Table, CaptureSummary]:
    """Read a whole (small) capture into one table; for tests and exploration."""
    reader = CaptureReader(path, **kw)  # type: ignore[arg-type]
    tables = [b.packets for b in reader]
    table = pa.concat_tables(tables) if tables else decoded_schema().empty_table()
    return table, reader.summary


def _map(stream: BinaryIO) -> mmap.mmap | None:
    """A read-only map of a plain, non-empty regular file; None when it cannot be mapped."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or os.fstat(fd).st_size == 0:
            return None
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    mapped.madvise(mmap.MADV_SEQUENTIAL)
    return mapped


def _release(mapped: mmap.mmap, released: int, upto: int) -> int:
    """Drop the pages before ``upto`` from this process's memory (they stay in the page cache),
    so reading a large file needs memory for one batch, not for the file."""
    end = upto - upto % mmap.PAGESIZE
    if end > released:
        mapped.madvise(mmap.MADV_DONTNEED, released, end - released)
        return end
    return released


def _alloc_records(n: int) -> tuple[np.ndarray, ...]:
    return (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64),
            np.empty(n, np.int64), np.empty(n, np.uint32), np.empty(n, np.uint8))


_OUT_TYPES = (
    ("ts", np.int64), ("frame", np.uint32), ("linktype", np.uint16), ("ip_version", np.uint8),
    ("src4", np.uint32), ("dst4", np.uint32), ("src6", None), ("dst6", None), ("proto", np.uint8),
    ("sport", np.uint16), ("dport", np.uint16), ("icmp_type", np.uint8), ("icmp_code", np.uint8),
    ("tcp_flags", np.uint8), ("seq", np.uint32), ("ack", np.uint32), ("window", np.uint16),
    ("tcp_hlen", np.uint8), ("opts_off", np.int32), ("opts", None), ("mss", np.uint16),
    ("ip_id", np.uint16), ("ttl", np.uint8), ("ip_len", np.uint32), ("frag", np.uint8),
    ("caplen", np.uint32), ("payload_len", np.uint32), ("pay_off", np.int32), ("pay", None),
    ("mirai", np.bool_), ("zmap", np.bool_), ("masscan", np.bool_), ("backscatter", np.bool_),
    ("ts_inferred", np.bool_), ("ip_flags", np.uint8), ("icmp_id", np.uint16), ("icmp_seq", np.uint16),
)

_TSINF = [name for name, _ in _OUT_TYPES].index("ts_inferred")


def _empty(shape: int | tuple[int, int], dtype: type) -> np.ndarray:
    """An uninitialised array; the Arrow arrays built on it own it from then on."""
    return np.empty(shape, dtype)


def _alloc_outputs(n: int, span: int) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for name, dt in _OUT_TYPES:
        if name in ("src6", "dst6"):
            out.append(_empty((n, 16), np.uint8))
        elif name == "opts":
            out.append(_empty(n * dk.OPTS_BYTES, np.uint8))
        elif name == "pay":
            out.append(_empty(min(n * dk.PAYLOAD_BYTES, span), np.uint8))
        elif name in ("opts_off", "pay_off"):
            out.append(_empty(n + 1, np.int32))
        else:
            out.append(_empty(n, dt))  # type: ignore[arg-type]
    out.append(_empty((dk.VALID_ROWS, n), np.uint8))  # validity
    return out


# validity column of each nullable output (see decode_records)
_VALID = {"src4": dk.V_ADDR4, "dst4": dk.V_ADDR4, "src6": dk.V_ADDR6, "dst6": dk.V_ADDR6,
          "sport": dk.V_PORTS, "dport": dk.V_PORTS, "icmp_type": dk.V_ICMP_TYPE,
          "tcp_flags": dk.V_TCP_FLAGS, "opts": dk.V_TCP_FLAGS, "seq": dk.V_SEQ, "ack": dk.V_ACK,
          "window": dk.V_WINDOW, "tcp_hlen": dk.V_WINDOW, "mss": dk.V_MSS, "ip_id": dk.V_IP_ID,
          "payload_len": dk.V_PAYLOAD_LEN, "pay": dk.V_PAYLOAD, "icmp_code": dk.V_ICMP_CODE,
          "ip_flags": dk.V_IP_FLAGS, "icmp_id": dk.V_ICMP_ID, "icmp_seq": dk.V_ICMP_ID}


def _bitmap(mask: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask, bitorder="little"))


def _to_table(out: list[np.ndarray], j: int) -> pa.Table:
    cols = {name: arr for (name, _), arr in zip(_OUT_TYPES, out, strict=False)}
    valid = out[-1][:, :j].view(np.bool_)
    schema = decoded_schema()
    arrays: list[pa.Array] = []
    for f in schema:
        name = {"tcp_opts": "opts", "payload": "pay"}.get(f.name, f.name)
        vcol = _VALID.get(name)
        ok = valid[vcol] if vcol is not None else None
        if f.name in ("src6", "dst6"):
            assert ok is not None
            data = np.ascontiguousarray(cols[name][:j])
            arrays.append(pa.FixedSizeBinaryArray.from_buffers(
                f.type, j, [_bitmap(ok), pa.py_buffer(data)]))
        elif f.name in ("tcp_opts", "payload"):
            assert ok is not None
            offs = cols["opts_off" if name == "opts" else "pay_off"][: j + 1]
            data = cols[name][: int(offs[j])] if j else cols[name][:0]
            arrays.append(pa.Array.from_buffers(
                f.type, j, [_bitmap(ok), pa.py_buffer(offs), pa.py_buffer(data)]))
        elif f.name == "ts":
            arrays.append(pa.array(cols["ts"][:j].view("datetime64[us]"), type=f.type))
        else:
            vals = cols[name][:j]
            if vals.dtype == np.bool_:
                vals = np.packbits(vals, bitorder="little")
            bitmap = None if ok is None else _bitmap(ok)
            arrays.append(pa.Array.from_buffers(f.type, j, [bitmap, pa.py_buffer(vals)]))
    return pa.Table.from_arrays(arrays, schema=schema)
