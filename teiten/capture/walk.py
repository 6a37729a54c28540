"""Compiled record walkers: find the records of a pcap or pcapng byte buffer.

Each walker scans ``buf[pos:end]`` and writes, for every complete record, its
payload offset, captured length, timestamp (µs since the epoch) and link type
into preallocated arrays.  It stops at the end of the buffer (returning the
offset of the first incomplete record so the caller can read more), when the
output arrays are full, or at damage.  No Python runs per record.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# walker exit codes
NEED_MORE = 0  # the buffer ends inside a record: read more, resume at `pos`
FULL = 1  # the output arrays are full: emit a batch, resume at `pos`
DAMAGED = 2  # the bytes at `pos` are not a valid record header
UNSUPPORTED = 3  # a pcapng section in a version we do not read

#: Largest record a capture may hold (libpcap/Wireshark use 256 KiB; D-Bus and
#: USB captures may be larger, so allow some room before calling it damage).
MAX_RECORD = 0x4000000  # 64 MiB

# record kinds (pcapng), reported for records that cannot be decoded as packets
REC_PACKET = 0
REC_NO_TIMESTAMP = 1  # simple packet block: its timestamp is inferred (see walk_pcapng)

#: the link type given to a record that names an interface never described (pcap link
#: types are 16 bits and 65535 is reserved); the decoder quarantines such records
UNDESCRIBED_IFACE = 0xFFFF

# pcapng walker state, kept across calls (one file)
ST_BIG, ST_IFACES, ST_SECTIONS = 0, 1, 2
ST_LAST0, ST_HAS_LAST0 = 3, 4  # last timestamp on interface 0 in this section
ST_FIRST, ST_FIRST_KNOWN = 5, 6  # first timed block of this section, and whether it is known:
FIRST_UNKNOWN, FIRST_KNOWN, FIRST_NONE = 0, 1, 2  # not looked for yet / ST_FIRST holds it / none
ST_MTIME = 7  # the file's modification time, µs: the last resort
STATE_SLOTS = 8

MAX_IFACES = 4096


@njit(cache=True, inline="always")
def _u16(buf, p, big):
    if big:
        return (np.uint32(buf[p]) << 8) | np.uint32(buf[p + 1])
    return (np.uint32(buf[p + 1]) << 8) | np.uint32(buf[p])


@njit(cache=True, inline="always")
def _u32(buf, p, big):
    if big:
        return (
            (np.uint32(buf[p]) << 24)
            | (np.uint32(buf[p + 1]) << 16)
            | (np.uint32(buf[p + 2]) << 8)
            | np.uint32(buf[p + 3])
        )
    return (
        (np.uint32(buf[p + 3]) << 24)
        | (np.uint32(buf[p + 2]) << 16)
        | (np.uint32(buf[p + 1]) << 8)
        | np.uint32(buf[p])
    )


@njit(cache=True, nogil=True)
def walk_pcap(buf, pos, end, big, nanos, rec_hdr, linktype, frame0,
              off, cap, wire, ts, lt, frame, kind, limit):
    """Walk classic pcap records.  Returns (count, pos, code)."""
    n = 0
    while True:
        if n >= limit:
            return n, pos, FULL
        if end - pos < rec_hdr:
            return n, pos, NEED_MORE
        sec = np.int64(_u32(buf, pos, big))
        frac = np.int64(_u32(buf, pos + 4, big))
        caplen = np.int64(_u32(buf, pos + 8, big))
        origlen = np.int64(_u32(buf, pos + 12, big))
        if caplen > MAX_RECORD:
            return n, pos, DAMAGED
        if end - pos - rec_hdr < caplen:
            return n, pos, NEED_MORE
        off[n] = pos + rec_hdr
        cap[n] = caplen
        wire[n] = origlen
        if nanos:
            ts[n] = sec * 1000000 + frac // 1000
        else:
            ts[n] = sec * 1000000 + frac
        lt[n] = linktype
        frame[n] = frame0 + n + 1
        kind[n] = REC_PACKET
        n += 1
        pos += rec_hdr + caplen


@njit(cache=True, inline="always")
def _units_to_us(units, res_pow2, res_exp, tsoffset):
    """Convert a pcapng timestamp in interface units to µs since the epoch."""
    if res_pow2:
        if res_exp >= 64:
            return tsoffset * 1000000
        hi = units >> np.uint64(res_exp)
        lo = units & ((np.uint64(1) << np.uint64(res_exp)) - np.uint64(1))
        # lo < 2**res_exp; keep lo * 1e6 within 64 bits for res_exp <= 44
        if res_exp <= 44:
            frac = np.int64((lo * np.uint64(1000000)) >> np.uint64(res_exp))
        else:
            frac = np.int64((lo >> np.uint64(res_exp - 44)) * np.uint64(1000000) >> np.uint64(44))
        return np.int64(hi) * 1000000 + frac + tsoffset * 1000000
    if res_exp <= 6:
        mul = np.int64(1)
        for _ in range(6 - res_exp):
            mul *= 10
        return np.int64(units) * mul + tsoffset * 1000000
    div = np.uint64(1)
    for _ in range(min(res_exp - 6, 19)):
        div *= np.uint64(10)
    return np.int64(units // div) + tsoffset * 1000000


@njit(cache=True, inline="always")
def _read_idb(buf, body, bend, big, k, if_lt, if_pow2, if_exp, if_off, if_snap):
    """Describe interface ``k`` from the interface description block body[body:bend]."""
    if_lt[k] = _u16(buf, body, big)
    if_snap[k] = _u32(buf, body + 4, big)
    if_pow2[k] = 0
    if_exp[k] = 6
    if_off[k] = 0
    p = body + 8
    while p + 4 <= bend:
        code = _u16(buf, p, big)
        olen = np.int64(_u16(buf, p + 2, big))
        if code == 0:
            break
        if p + 4 + olen > bend:
            break
        if code == 9 and olen >= 1:
            v = buf[p + 4]
            if v & 0x80:
                if_pow2[k] = 1
                if_exp[k] = v & 0x7F
            else:
                if_pow2[k] = 0
                if_exp[k] = v
        elif code == 14 and olen >= 8:
            hi = np.int64(_u32(buf, p + 4, big))
            lo = np.int64(_u32(buf, p + 8, big))
            if big:
                if_off[k] = (hi << 32) | lo
            else:
                if_off[k] = (lo << 32) | hi
        p += 4 + ((olen + 3) // 4) * 4


@njit(cache=True, inline="always")
def _timed_ts(buf, body, big, btype, n_ifaces, if_pow2, if_exp, if_off):
    """(interface, µs) of an enhanced or obsolete packet block."""
    if btype == 6:
        iface = np.int64(_u32(buf, body, big))
    else:
        iface = np.int64(_u16(buf, body, big))
    hi = np.uint64(_u32(buf, body + 4, big))
    lo = np.uint64(_u32(buf, body + 8, big))
    units = (hi << np.uint64(32)) | lo
    if iface < n_ifaces:
        return iface, _units_to_us(units, if_pow2[iface], if_exp[iface], if_off[iface])
    return iface, _units_to_us(units, 0, 6, 0)


@njit(cache=True)
def _first_timed_ahead(buf, pos, end, big, n_ifaces, if_lt, if_pow2, if_exp, if_off, if_snap):
    """The timestamp of the first enhanced/obsolete packet block of this section after
    ``pos`` within buf[:end], reading the interfaces described on the way into the free
    slots after ``n_ifaces`` (the main walk rewrites them identically); -1 when the section
    or the buffer ends first, or at damage."""
    k = n_ifaces
    while end - pos >= 12:
        if buf[pos] == 0x0A and buf[pos + 1] == 0x0D and buf[pos + 2] == 0x0D and buf[pos + 3] == 0x0A:
            return np.int64(-1)  # next section
        btype = _u32(buf, pos, big)
        blen = np.int64(_u32(buf, pos + 4, big))
        if blen < 12 or blen % 4 != 0 or blen > MAX_RECORD or end - pos < blen:
            return np.int64(-1)
        body = pos + 8
        bend = pos + blen - 4
        if btype == 1 and bend - body >= 8 and k < MAX_IFACES:
            _read_idb(buf, body, bend, big, k, if_lt, if_pow2, if_exp, if_off, if_snap)
            k += 1
        elif (btype == 6 or btype == 2) and bend - body >= 20:
            _, t = _timed_ts(buf, body, big, btype, k, if_pow2, if_exp, if_off)
            return t
        pos += blen
    return np.int64(-1)


@njit(cache=True, nogil=True)
def walk_pcapng(buf, pos, end, state, if_lt, if_pow2, if_exp, if_off, if_snap, frame0,
                off, cap, wire, ts, lt, frame, kind, limit):
    """Walk pcapng blocks.  Returns (count, pos, code).

    ``state`` (``STATE_SLOTS`` int64, ``ST_*``) is kept across calls: byte order,
    interfaces and sections seen, and what a simple packet block's timestamp is
    inferred from; the interface arrays hold the current section's interfaces.
    A simple packet block (interface 0, no timestamp) gets the timestamp of the
    previous packet on interface 0 in its section, else that of the section's first
    timed block (looked for ahead within the buffer, once per section), else the
    file's modification time (``state[ST_MTIME]``); its ``kind`` says it was inferred.
    """
    n = 0
    while True:
        if n >= limit:
            return n, pos, FULL
        if end - pos < 12:
            return n, pos, NEED_MORE
        # the section header block announces its byte order itself
        if buf[pos] == 0x0A and buf[pos + 1] == 0x0D and buf[pos + 2] == 0x0D and buf[pos + 3] == 0x0A:
            m = pos + 8
            if buf[m] == 0x1A and buf[m + 1] == 0x2B and buf[m + 2] == 0x3C and buf[m + 3] == 0x4D:
                big = True
            elif buf[m] == 0x4D and buf[m + 1] == 0x3C and buf[m + 2] == 0x2B and buf[m + 3] == 0x1A:
                big = False
            else:
                return n, pos, DAMAGED
            blen = np.int64(_u32(buf, pos + 4, big))
            if blen < 28 or blen % 4 != 0 or blen > MAX_RECORD:
                return n, pos, DAMAGED
            if end - pos < blen:
                return n, pos, NEED_MORE
            if np.int64(_u32(buf, pos + blen - 4, big)) != blen:
                return n, pos, DAMAGED
            major = _u16(buf, pos + 12, big)
            minor = _u16(buf, pos + 14, big)
            if major != 1 or minor > 0:
                # 1.0 is the only version in use (1.2 is read by libpcap as 1.0
                # too, but nothing writes it); 0.1 and 1.1 were never standard
                if not (major == 1 and minor == 2):
                    return n, pos, UNSUPPORTED
            state[ST_BIG] = 1 if big else 0
            state[ST_IFACES] = 0
            state[ST_SECTIONS] += 1
            state[ST_HAS_LAST0] = 0
            state[ST_FIRST_KNOWN] = FIRST_UNKNOWN
            pos += blen
            continue
        if state[ST_SECTIONS] == 0:
            return n, pos, DAMAGED  # blocks before any section header
        big = state[ST_BIG] == 1
        btype = _u32(buf, pos, big)
        blen = np.int64(_u32(buf, pos + 4, big))
        if blen < 12 or blen % 4 != 0 or blen > MAX_RECORD:
            return n, pos, DAMAGED
        if end - pos < blen:
            return n, pos, NEED_MORE
        if np.int64(_u32(buf, pos + blen - 4, big)) != blen:
            return n, pos, DAMAGED
        body = pos + 8
        bend = pos + blen - 4
        if btype == 1:  # interface description block
            if bend - body < 8:
                return n, pos, DAMAGED
            k = state[ST_IFACES]
            if k >= MAX_IFACES:
                return n, pos, DAMAGED
            _read_idb(buf, body, bend, big, k, if_lt, if_pow2, if_exp, if_off, if_snap)
            state[ST_IFACES] = k + 1
        elif btype == 6 or btype == 2:  # enhanced / obsolete packet block
            if bend - body < 20:
                return n, pos, DAMAGED
            caplen = np.int64(_u32(buf, body + 12, big))
            origlen = np.int64(_u32(buf, body + 16, big))
            if caplen > bend - body - 20:
                return n, pos, DAMAGED
            iface, t = _timed_ts(buf, body, big, btype, state[ST_IFACES], if_pow2, if_exp, if_off)
            off[n] = body + 20
            cap[n] = caplen
            wire[n] = origlen
            frame[n] = frame0 + n + 1
            kind[n] = REC_PACKET
            ts[n] = t
            # a record naming an interface that was never described is kept aside by the decoder
            lt[n] = if_lt[iface] if iface < state[ST_IFACES] else UNDESCRIBED_IFACE
            if iface == 0:
                state[ST_LAST0] = t
                state[ST_HAS_LAST0] = 1
            if state[ST_FIRST_KNOWN] != FIRST_KNOWN:
                state[ST_FIRST] = t
                state[ST_FIRST_KNOWN] = FIRST_KNOWN
            n += 1
        elif btype == 3:  # simple packet block: interface 0, no timestamp
            if bend - body < 4:
                return n, pos, DAMAGED
            origlen = np.int64(_u32(buf, body, big))
            caplen = min(origlen, bend - body - 4)
            if state[ST_IFACES] > 0 and if_snap[0] > 0:
                caplen = min(caplen, np.int64(if_snap[0]))
            off[n] = body + 4
            cap[n] = caplen
            wire[n] = origlen
            frame[n] = frame0 + n + 1
            kind[n] = REC_NO_TIMESTAMP
            # the previous packet on interface 0, else the section's first timed block
            # (looked ahead for once), else the file's modification time
            if state[ST_HAS_LAST0]:
                ts[n] = state[ST_LAST0]
            else:
                if state[ST_FIRST_KNOWN] == FIRST_UNKNOWN:
                    t = _first_timed_ahead(buf, pos + blen, end, big, state[ST_IFACES],
                                           if_lt, if_pow2, if_exp, if_off, if_snap)
                    state[ST_FIRST_KNOWN] = FIRST_KNOWN if t >= 0 else FIRST_NONE
                    state[ST_FIRST] = t
                ts[n] = state[ST_FIRST] if state[ST_FIRST_KNOWN] == FIRST_KNOWN else state[ST_MTIME]
            lt[n] = if_lt[0] if state[ST_IFACES] > 0 else UNDESCRIBED_IFACE
            n += 1
        # every other block (name resolution, statistics, custom, decryption
        # secrets, unknown) carries no packet and is skipped
        pos += blen
