"""libpcap (Debian's ``libpcap0.8``) through ctypes: what a sensor needs to capture without
Python per packet.

Packets go from the kernel's ring to the capture file inside libpcap: ``pcap_dispatch`` is
called with libpcap's own ``pcap_dump`` as the per-packet callback, so Python runs once per
batch (at most every read timeout), never per packet. ``pcap_stats`` gives the kernel's and
the interface's drop counters, read at each interval's end.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import select
from dataclasses import dataclass
from pathlib import Path

from teiten.errors import SettingError

__all__ = ["Capture", "Stats", "socket_filter"]


class _Stat(ctypes.Structure):
    _fields_ = [("ps_recv", ctypes.c_uint), ("ps_drop", ctypes.c_uint), ("ps_ifdrop", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p)]


_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_ERRBUF = 256


def _load() -> ctypes.CDLL:
    name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise SettingError("libpcap is not installed (Debian: apt install libpcap0.8)") from None
    c, p, i, s = ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint
    for fn, args, res in (
        ("pcap_create", [c, c], p), ("pcap_set_snaplen", [p, i], i), ("pcap_set_promisc", [p, i], i),
        ("pcap_set_timeout", [p, i], i), ("pcap_set_buffer_size", [p, i], i), ("pcap_activate", [p], i),
        ("pcap_geterr", [p], c), ("pcap_compile", [p, ctypes.POINTER(_Program), c, i, s], i),
        ("pcap_setfilter", [p, ctypes.POINTER(_Program)], i), ("pcap_freecode", [ctypes.POINTER(_Program)], None),
        ("pcap_dump_open", [p, c], p), ("pcap_dump_flush", [p], i), ("pcap_dump_close", [p], None),
        ("pcap_dispatch", [p, i, _HANDLER, p], i), ("pcap_stats", [p, ctypes.POINTER(_Stat)], i),
        ("pcap_breakloop", [p], None), ("pcap_close", [p], None), ("pcap_setnonblock", [p, i, c], i),
        ("pcap_get_selectable_fd", [p], i), ("pcap_lib_version", [], c), ("pcap_open_dead", [i, i], p),
    ):
        f = getattr(lib, fn)
        f.argtypes, f.restype = args, res
    return lib


_LIB: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    global _LIB
    if _LIB is None:
        _LIB = _load()
    return _LIB


@dataclass(frozen=True)
class Stats:
    """libpcap's counters since the capture began: packets the filter passed (``received``),
    dropped by the kernel for want of buffer (``kernel``), dropped by the interface."""

    received: int
    kernel: int
    interface: int


#: Linux's DLT_EN10MB: Ethernet
ETHERNET = 1


def socket_filter(bpf: str, *, linktype: int = ETHERNET, snaplen: int = 65535) -> bytes:
    """``bpf`` compiled by libpcap into the classic BPF program that Linux attaches to a
    packet socket (``SO_ATTACH_FILTER``): the instructions, 8 bytes each."""
    lb = lib()
    h = lb.pcap_open_dead(linktype, snaplen)
    if not h:
        raise SettingError("libpcap: pcap_open_dead failed")
    prog = _Program()
    try:
        if lb.pcap_compile(h, ctypes.byref(prog), bpf.encode(), 1, 0xFFFFFFFF) < 0:
            raw = lb.pcap_geterr(h)
            raise SettingError(f"filter {bpf!r}: {raw.decode(errors='replace') if raw else 'does not compile'}")
        code = ctypes.string_at(prog.bf_insns, prog.bf_len * 8)
        lb.pcap_freecode(ctypes.byref(prog))
        return code
    finally:
        lb.pcap_close(h)


class Capture:
    """An activated capture on ``interface`` with a BPF filter, writing to the file opened by
    :meth:`open_file` (classic pcap, as libpcap writes it)."""

    def __init__(self, interface: str, bpf: str, *, snaplen: int = 65535, promiscuous: bool = False,
                 buffer_bytes: int = 64 << 20, timeout_ms: int = 100) -> None:
        self._lib = lib()
        err = ctypes.create_string_buffer(_ERRBUF)
        h = self._lib.pcap_create(interface.encode(), err)
        if not h:
            raise SettingError(f"capture on {interface}: {err.value.decode(errors='replace')}")
        self._h = h
        self._lib.pcap_set_snaplen(h, snaplen)
        self._lib.pcap_set_promisc(h, 1 if promiscuous else 0)
        self._lib.pcap_set_timeout(h, timeout_ms)
        self._lib.pcap_set_buffer_size(h, buffer_bytes)
        if (rc := self._lib.pcap_activate(h)) < 0:
            msg = self._error()
            self._lib.pcap_close(h)
            raise SettingError(f"capture on {interface}: {msg or f'pcap_activate returned {rc}'}")
        prog = _Program()
        if self._lib.pcap_compile(h, ctypes.byref(prog), bpf.encode(), 1, 0xFFFFFFFF) < 0:
            msg = self._error()
            self._lib.pcap_close(h)
            raise SettingError(f"capture filter {bpf!r}: {msg}")
        try:
            if self._lib.pcap_setfilter(h, ctypes.byref(prog)) < 0:
                raise SettingError(f"capture filter {bpf!r}: {self._error()}")
        finally:
            self._lib.pcap_freecode(ctypes.byref(prog))
        if self._lib.pcap_setnonblock(h, 1, err) < 0:
            self._lib.pcap_close(h)
            raise SettingError(f"capture on {interface}: {err.value.decode(errors='replace')}")
        self._fd = int(self._lib.pcap_get_selectable_fd(h))
        self._wait = timeout_ms / 1000
        self._dumper: int | None = None
        addr = ctypes.cast(self._lib.pcap_dump, ctypes.c_void_p).value
        if addr is None:
            raise SettingError("libpcap without pcap_dump")
        self._dump = _HANDLER(addr)  # libpcap's own writer as the per-packet callback: no Python per packet

    def _error(self) -> str:
        raw = self._lib.pcap_geterr(self._h)
        return raw.decode(errors="replace") if raw else ""

    def open_file(self, path: Path) -> None:
        """Write the packets from now on to ``path`` (the previous file must be closed)."""
        d = self._lib.pcap_dump_open(self._h, str(path).encode())
        if not d:
            raise SettingError(f"cannot write {path}: {self._error()}")
        self._dumper = d

    def close_file(self) -> None:
        if self._dumper:
            self._lib.pcap_dump_close(self._dumper)
            self._dumper = None

    def dispatch(self) -> int:
        """Write what the kernel holds, waiting at most the read timeout for something to
        come (the handle is non-blocking and waited on with select: on Linux, libpcap's own
        timeout starts only with a first packet, and a sensor must wake up to close an empty
        interval and to see a signal); packets written."""
        try:
            select.select([self._fd], [], [], self._wait)
        except InterruptedError:  # a signal: the caller looks at its flags
            return 0
        n = int(self._lib.pcap_dispatch(self._h, -1, self._dump, self._dumper))
        if n < 0 and n != -2:  # -2: pcap_breakloop
            raise SettingError(f"capture: {self._error()}")
        return max(n, 0)

    def stats(self) -> Stats:
        st = _Stat()
        if self._lib.pcap_stats(self._h, ctypes.byref(st)) < 0:
            raise SettingError(f"capture statistics: {self._error()}")
        return Stats(st.ps_recv, st.ps_drop, st.ps_ifdrop)

    def close(self) -> None:
        self.close_file()
        if self._h:
            self._lib.pcap_close(self._h)
            self._h = None
