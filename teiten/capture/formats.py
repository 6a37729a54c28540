"""Recognise a capture file: compression, pcap or pcapng, and the pcap file header."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from teiten.errors import CaptureError, UnsupportedCapture

__all__ = ["LINKTYPE_NAMES", "PcapHeader", "linktype_name", "open_stream", "parse_pcap_header", "sniff"]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

# magic -> (big endian, nanosecond, modified "Kuznetsov" record header)
_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": (False, False, False),
    b"\xa1\xb2\xc3\xd4": (True, False, False),
    b"\x4d\x3c\xb2\xa1": (False, True, False),
    b"\xa1\xb2\x3c\x4d": (True, True, False),
    b"\x34\xcd\xb2\xa1": (False, False, True),
    b"\xa1\xb2\xcd\x34": (True, False, True),
}

LINKTYPE_NAMES = {
    0: "NULL", 1: "ETHERNET", 8: "SLIP", 9: "PPP", 12: "RAW", 14: "RAW", 50: "PPP_HDLC",
    101: "RAW", 104: "C_HDLC", 105: "IEEE802_11", 108: "LOOP", 113: "LINUX_SLL",
    127: "IEEE802_11_RADIOTAP", 228: "IPV4", 229: "IPV6", 276: "LINUX_SLL2",
}


def linktype_name(lt: int) -> str:
    return LINKTYPE_NAMES.get(lt, str(lt))


@dataclass(frozen=True)
class PcapHeader:
    big_endian: bool
    nanosecond: bool
    record_header: int  # 16, or 24 for the modified format
    snaplen: int
    linktype: int
    version: tuple[int, int]


class DecompressingStream(io.RawIOBase):
    """A gzip or zstd stream (several members or frames allowed) that gives back
    every byte it could decompress before it raises on damage or truncation."""

    def __init__(self, raw: BinaryIO, codec: str) -> None:
        self.raw = raw
        self.codec = codec
        self._obj = self._new()
        self._pending = b""
        self._done = False

    def _new(self) -> Any:
        if self.codec == "gzip":
            return zlib.decompressobj(wbits=31)
        return zstandard.ZstdDecompressor().decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._pending and not self._done:
            self._pending = self._more()
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _more(self) -> bytes:
        chunk = self.raw.read(1 << 20)
        if not chunk:
            self._done = True
            if not self._obj.eof:
                raise EOFError(f"{self.codec} stream ends before its end marker (file cut short)")
            return b""
        out = self._obj.decompress(chunk)
        while self._obj.eof and self._obj.unused_data:  # next member / frame
            rest = self._obj.unused_data
            self._obj = self._new()
            out += self._obj.decompress(rest)
        return bytes(out)

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_stream(path: Path) -> tuple[BinaryIO, str]:
    """Open ``path`` for reading, decompressing gzip or zstd by their magic."""
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    head = f.read(4)
    f.seek(0)
    if head[:2] == GZIP_MAGIC:
        return DecompressingStream(f, "gzip"), "gzip"  # type: ignore[return-value]
    if head == ZSTD_MAGIC:
        return DecompressingStream(f, "zstd"), "zstd"  # type: ignore[return-value]
    return f, ""


def sniff(head: bytes) -> str:
    """'pcap' or 'pcapng' from the first bytes, or raise CaptureError."""
    if len(head) == 0:
        raise CaptureError("empty file: not a capture")
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    if len(head) < 4:
        raise CaptureError(f"file too short to be a capture ({len(head)} bytes)")
    raise CaptureError(f"not a pcap or pcapng capture (starts with 0x{head[:4].hex()})")


def parse_pcap_header(head: bytes) -> PcapHeader:
    if len(head) < 24:
        raise CaptureError(f"pcap file header cut short ({len(head)} of 24 bytes)")
    big, nanos, modified = _PCAP_MAGICS[head[:4]]
    e = ">" if big else "<"
    major, minor, _zone, _sigfigs, snaplen, network = struct.unpack(e + "HHiIII", head[4:24])
    if major != 2:
        raise UnsupportedCapture(f"pcap major version {major} is not supported (only 2.x)")
    return PcapHeader(big, nanos, 24 if modified else 16, snaplen, network & 0xFFFF, (major, minor))
