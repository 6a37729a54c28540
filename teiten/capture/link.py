"""The compiled link-layer reader: where a frame's IP header starts.

``ip_start`` reads the link-layer header of one captured frame (Ethernet with
VLAN tags and LLC/SNAP, raw IP, Linux cooked v1/v2, BSD loopback, PPP, Cisco
HDLC) and says where its IP header begins, which IP version the link layer
announced, and a ``LINK_*`` code for what it found.  The codes are plain module
ints, so numba freezes them into the kernels that compare against them.

Numba's cache checks only the file of a cached function: ``decode_records``
inlines ``ip_start``, so after editing this file clear ``__pycache__`` (or touch
``decode.py``); ``tests/capture/test_kernel_cache.py`` fails on a stale kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# what the link layer of a frame holds (the third value ``ip_start`` returns)
LINK_IP = 0  # an IPv4 or IPv6 packet at the returned offset
LINK_NOT_IP = 1  # a frame of the link type carrying something else (ARP, LLDP, ...)
LINK_UNSUPPORTED = 2  # a link type teiten does not decode
LINK_TRUNCATED = 3  # the capture ends inside the link-layer header

#: the IP version ``ip_start`` returns when the link layer does not say (raw IP):
#: read it from the version nibble of the IP header
VERSION_FROM_HEADER = 0

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD


@njit(cache=True, inline="always")
def be16(b, p):
    """The big-endian 16-bit number at ``b[p]``."""
    return (np.uint32(b[p]) << 8) | np.uint32(b[p + 1])


@njit(cache=True, inline="always")
def be32(b, p):
    """The big-endian 32-bit number at ``b[p]``."""
    return (np.uint32(b[p]) << 24) | (np.uint32(b[p + 1]) << 16) | (np.uint32(b[p + 2]) << 8) | np.uint32(b[p + 3])


@njit(cache=True, inline="always")
def _by_ethertype(et, q):
    """(offset, version, code) of a frame whose protocol field ``et`` is followed by byte ``q``."""
    if et == ETHERTYPE_IPV4:
        return q, 4, LINK_IP
    if et == ETHERTYPE_IPV6:
        return q, 6, LINK_IP
    return 0, VERSION_FROM_HEADER, LINK_NOT_IP


@njit(cache=True, inline="always")
def ip_start(b, p, caplen, lt):
    """The frame of ``caplen`` bytes at ``b[p]`` on link type ``lt``: (offset of the IP
    header from ``p``, IP version 4 / 6 / ``VERSION_FROM_HEADER``, ``LINK_*`` code)."""
    if lt == 1 or lt == 0xFFFE:  # Ethernet
        if caplen < 14:
            return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
        q = 12
        et = be16(b, p + q)
        while et == 0x8100 or et == 0x88A8 or et == 0x9100:  # VLAN tags (802.1Q, 802.1ad, QinQ)
            q += 4
            if caplen < q + 2:
                return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
            et = be16(b, p + q)
        q += 2
        # an 802.3 length instead of a type: an LLC/SNAP header may carry IP
        if et <= 1500 and caplen >= q + 8 and b[p + q] == 0xAA and b[p + q + 1] == 0xAA and b[p + q + 2] == 0x03:
            et = be16(b, p + q + 6)
            q += 8
        return _by_ethertype(et, q)
    if lt == 101 or lt == 12 or lt == 14:  # RAW: version from the header
        if caplen < 1:
            return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
        return 0, VERSION_FROM_HEADER, LINK_IP
    if lt == 228:  # IPV4
        return 0, 4, LINK_IP
    if lt == 229:  # IPV6
        return 0, 6, LINK_IP
    if lt == 113:  # LINUX_SLL
        if caplen < 16:
            return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
        return _by_ethertype(be16(b, p + 14), 16)
    if lt == 276:  # LINUX_SLL2
        if caplen < 20:
            return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
        return _by_ethertype(be16(b, p), 20)
    if lt == 0 or lt == 108:  # NULL (host byte order) / LOOP (network byte order)
        if caplen < 4:
            return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
        fam = be32(b, p)
        if lt == 0 and fam > 0xFFFF:
            fam = (fam >> 24) | ((fam >> 8) & 0xFF00) | ((fam << 8) & 0xFF0000) | ((fam << 24) & 0xFF000000)
        if fam == 2:  # AF_INET
            return 4, 4, LINK_IP
        if fam == 10 or fam == 24 or fam == 28 or fam == 30:  # AF_INET6 of Linux, the BSDs, macOS
            return 4, 6, LINK_IP
        return 0, VERSION_FROM_HEADER, LINK_NOT_IP
    if lt == 9 or lt == 50 or lt == 104:  # PPP, PPP in HDLC framing, Cisco HDLC
        q = 0
        if (caplen >= 2 and b[p] == 0xFF and b[p + 1] == 0x03) or (lt == 104 and caplen >= 2):
            q = 2
        if lt == 104:
            if caplen < q + 2:
                return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
            return _by_ethertype(be16(b, p + q), q + 2)
        if caplen < q + 1:
            return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
        if b[p + q] & 1:  # compressed one-byte protocol field
            proto = np.uint32(b[p + q])
            q += 1
        else:
            if caplen < q + 2:
                return 0, VERSION_FROM_HEADER, LINK_TRUNCATED
            proto = be16(b, p + q)
            q += 2
        if proto == 0x21:  # PPP: IPv4
            return q, 4, LINK_IP
        if proto == 0x57:  # PPP: IPv6
            return q, 6, LINK_IP
        return 0, VERSION_FROM_HEADER, LINK_NOT_IP
    return 0, VERSION_FROM_HEADER, LINK_UNSUPPORTED
