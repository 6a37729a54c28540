"""The compiled packet decoder: IPv4/IPv6, transport, fingerprints.

``decode_records`` reads the records a walker found and writes the packet
columns of ``teiten.schema.DECODED_COLUMNS`` for the IP packets among them,
compacted, into preallocated arrays.  Every field that was captured is kept: a
TCP header cut after four bytes still yields its ports.  Records are classified
as stored IP packets, non-IP frames (counted only) or undecodable (quarantined
with a reason code from ``REASONS``).  Where the IP header starts in a frame is
read by :func:`teiten.capture.link.ip_start`, inlined here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from teiten.capture.link import LINK_NOT_IP, LINK_TRUNCATED, LINK_UNSUPPORTED, VERSION_FROM_HEADER, be16, be32, ip_start
from teiten.capture.walk import REC_PACKET, UNDESCRIBED_IFACE

PAYLOAD_BYTES = 512  # keep in step with teiten.schema.PAYLOAD_BYTES
OPTS_BYTES = 24  # at most this many characters of TCP option kinds per packet

# per-record outcome
STORED = 0
NON_IP = 1
UNSUPPORTED_LINK = 2
BAD = 3  # quarantined; `reason` says why

REASONS = (
    "",  # R_NONE
    "truncated link-layer header",
    "truncated IPv4 header",
    "bad IPv4 header length",
    "truncated IPv6 header",
    "IP version does not match the link type",
    "record names an undescribed interface",
)
R_NONE, R_LINK_TRUNC, R_V4_TRUNC, R_V4_IHL, R_V6_TRUNC, R_VERSION, R_NO_IFACE = 0, 1, 2, 3, 4, 5, 6

# the `frag` column (teiten.schema)
NOT_FRAGMENT, FIRST_FRAGMENT, LATER_FRAGMENT = 0, 1, 2

# rows of the `valid` matrix: which nullable columns hold a value (teiten.capture.reader maps
# the columns onto them)
V_ADDR4, V_ADDR6, V_PORTS, V_ICMP_TYPE, V_TCP_FLAGS = 0, 1, 2, 3, 4  # V_TCP_FLAGS: flags and options
V_SEQ, V_ACK, V_WINDOW, V_MSS, V_IP_ID = 5, 6, 7, 8, 9  # V_WINDOW: window and header length
V_PAYLOAD_LEN, V_PAYLOAD, V_ICMP_CODE, V_IP_FLAGS, V_ICMP_ID = 10, 11, 12, 13, 14  # V_ICMP_ID: id and seq
VALID_ROWS = 15

_BACKSCATTER_ICMP4 = (0, 3, 4, 5, 11, 12, 14, 16, 18)
_BACKSCATTER_ICMP6 = (1, 2, 3, 4, 129)


@njit(cache=True, nogil=True)
def decode_records(buf, off, cap, ts, lt, frame, kind, n,
                   o_ts, o_frame, o_lt, o_ver, o_src4, o_dst4, o_src6, o_dst6, o_proto,
                   o_sport, o_dport, o_itype, o_icode, o_flags, o_seq, o_ack, o_win, o_thl,
                   o_opts_off, o_opts, o_mss, o_ipid, o_ttl, o_iplen, o_frag, o_caplen,
                   o_plen, o_pay_off, o_pay, o_mirai, o_zmap, o_masscan, o_bs, o_tsinf,
                   o_ipflags, o_icmpid, o_icmpseq,
                   valid, outcome, reason):
    """Decode ``n`` records.  Returns the number of IP packets written.

    ``valid`` is a (``VALID_ROWS``, n) uint8 matrix of validity flags for the
    nullable columns, one row per ``V_*``.  ``outcome`` gets each record's
    ``STORED`` / ``NON_IP`` / ``UNSUPPORTED_LINK`` / ``BAD``, ``reason`` the
    ``R_*`` of a ``BAD`` one (``R_NONE`` otherwise).
    """
    j = 0
    valid[:, :] = 0
    o_mirai[:] = False
    o_masscan[:] = False
    o_bs[:] = False
    o_opts_off[0] = 0
    o_pay_off[0] = 0
    for i in range(n):
        p = off[i]
        c = cap[i]
        reason[i] = R_NONE
        if lt[i] == UNDESCRIBED_IFACE:
            outcome[i] = BAD
            reason[i] = R_NO_IFACE
            continue
        q, ver, code = ip_start(buf, p, c, lt[i])
        if code == LINK_NOT_IP:
            outcome[i] = NON_IP
            continue
        if code == LINK_UNSUPPORTED:
            outcome[i] = UNSUPPORTED_LINK
            continue
        if code == LINK_TRUNCATED:
            outcome[i] = BAD
            reason[i] = R_LINK_TRUNC
            continue
        ip = p + q
        avail = c - q
        if avail < 1:
            outcome[i] = BAD
            reason[i] = R_V4_TRUNC if ver != 6 else R_V6_TRUNC
            continue
        nib = buf[ip] >> 4
        if ver == VERSION_FROM_HEADER:
            if nib == 4 or nib == 6:
                ver = nib
            else:
                outcome[i] = NON_IP
                continue
        elif nib != ver:
            outcome[i] = BAD
            reason[i] = R_VERSION
            continue
        o_opts_off[j + 1] = o_opts_off[j]
        frag = NOT_FRAGMENT
        ipid = np.uint32(0)
        if ver == 4:
            if avail < 20:
                outcome[i] = BAD
                reason[i] = R_V4_TRUNC
                continue
            ihl = np.int64(buf[ip] & 0x0F) * 4
            if ihl < 20:
                outcome[i] = BAD
                reason[i] = R_V4_IHL
                continue
            iplen = np.int64(be16(buf, ip + 2))
            ipid = be16(buf, ip + 4)
            ff = be16(buf, ip + 6)
            o_ipflags[j] = ff >> 13  # reserved 4, DF 2, MF 1
            valid[V_IP_FLAGS, j] = 1
            if ff & 0x1FFF:
                frag = LATER_FRAGMENT
            elif ff & 0x2000:
                frag = FIRST_FRAGMENT
            ttl = buf[ip + 8]
            proto = np.int64(buf[ip + 9])
            o_src4[j] = be32(buf, ip + 12)
            o_dst4[j] = be32(buf, ip + 16)
            valid[V_ADDR4, j] = 1
            valid[V_IP_ID, j] = 1
            ip_end = ip + avail
            if iplen >= ihl and iplen < avail:
                ip_end = ip + iplen  # drop link-layer padding and trailers
            if iplen < ihl:  # zero length (TSO) or bogus: trust the capture
                iplen_eff = avail
            else:
                iplen_eff = iplen
            l4 = ip + ihl
        else:
            if avail < 40:
                outcome[i] = BAD
                reason[i] = R_V6_TRUNC
                continue
            iplen = np.int64(be16(buf, ip + 4)) + 40
            ttl = buf[ip + 7]
            for k in range(16):
                o_src6[j, k] = buf[ip + 8 + k]
                o_dst6[j, k] = buf[ip + 24 + k]
            valid[V_ADDR6, j] = 1
            ip_end = ip + avail
            if 40 < iplen < avail:
                ip_end = ip + iplen  # drop link-layer padding and trailers
            # payload length 0: a jumbogram (or a segmentation-offload capture)
            iplen_eff = iplen if iplen > 40 else avail
            nh = np.int64(buf[ip + 6])
            l4 = ip + 40
            cap_end = ip + avail
            for _ in range(16):
                # mobility (135), HIP (139) and shim6 (140) end the chain: they are
                # the protocol of the packet, with no transport beneath
                if nh == 0 or nh == 43 or nh == 60:
                    if l4 + 2 > cap_end:
                        break
                    nxt = np.int64(buf[l4])
                    l4 += (np.int64(buf[l4 + 1]) + 1) * 8
                    nh = nxt
                elif nh == 51:
                    if l4 + 2 > cap_end:
                        break
                    nxt = np.int64(buf[l4])
                    l4 += (np.int64(buf[l4 + 1]) + 2) * 4
                    nh = nxt
                elif nh == 44:
                    if l4 + 8 > cap_end:
                        break
                    nxt = np.int64(buf[l4])
                    fo = be16(buf, l4 + 2)
                    ipid = be32(buf, l4 + 4) & 0xFFFF
                    valid[V_IP_ID, j] = 1
                    l4 += 8
                    nh = nxt
                    if fo & 0xFFF8:
                        frag = LATER_FRAGMENT
                        break
                    if fo & 1:
                        frag = FIRST_FRAGMENT
                else:
                    break
            proto = nh
        o_ts[j] = ts[i]
        o_tsinf[j] = kind[i] != REC_PACKET  # a simple packet block: the walker inferred its timestamp
        o_frame[j] = frame[i]
        o_lt[j] = lt[i]
        o_ver[j] = ver
        o_proto[j] = proto
        o_ttl[j] = ttl
        o_iplen[j] = iplen
        o_frag[j] = frag
        o_caplen[j] = avail
        o_ipid[j] = ipid
        o_zmap[j] = ver == 4 and ipid == 54321
        l4_end = ip_end  # captured bytes of the transport header and payload
        l4_wire = ip + iplen_eff  # where the payload ends on the wire
        la = l4_end - l4
        pay = -1
        if frag != LATER_FRAGMENT and la > 0:
            if proto == 6 or proto == 17 or proto == 132 or proto == 136 or proto == 33:
                if la >= 4:
                    o_sport[j] = be16(buf, l4)
                    o_dport[j] = be16(buf, l4 + 2)
                    valid[V_PORTS, j] = 1
                if proto == 6:
                    if la >= 8:
                        o_seq[j] = be32(buf, l4 + 4)
                        valid[V_SEQ, j] = 1
                    if la >= 12:
                        o_ack[j] = be32(buf, l4 + 8)
                        valid[V_ACK, j] = 1
                    thl = 20
                    if la >= 14:
                        thl = np.int64(buf[l4 + 12] >> 4) * 4
                        o_flags[j] = buf[l4 + 13]
                        valid[V_TCP_FLAGS, j] = 1
                    if la >= 16:
                        o_win[j] = be16(buf, l4 + 14)
                        o_thl[j] = thl
                        valid[V_WINDOW, j] = 1
                    # options
                    oe = min(l4 + thl, l4_end)
                    q2 = l4 + 20
                    w = o_opts_off[j]
                    while q2 < oe and thl > 20:
                        kd = buf[q2]
                        if w - o_opts_off[j] + 4 <= OPTS_BYTES:
                            if w > o_opts_off[j]:
                                o_opts[w] = 44  # ','
                                w += 1
                            if kd == 2:
                                o_opts[w] = 77  # M
                                w += 1
                            elif kd == 1:
                                o_opts[w] = 78  # N
                                w += 1
                            elif kd == 3:
                                o_opts[w] = 87  # W
                                w += 1
                            elif kd == 4:
                                o_opts[w] = 83  # S
                                w += 1
                            elif kd == 8:
                                o_opts[w] = 84  # T
                                w += 1
                            elif kd == 0:
                                o_opts[w] = 69  # E
                                w += 1
                            else:
                                if kd >= 100:
                                    o_opts[w] = 48 + kd // 100
                                    w += 1
                                if kd >= 10:
                                    o_opts[w] = 48 + (kd // 10) % 10
                                    w += 1
                                o_opts[w] = 48 + kd % 10
                                w += 1
                        if kd == 0:
                            break
                        if kd == 1:
                            q2 += 1
                            continue
                        if q2 + 1 >= oe:
                            break
                        ol = np.int64(buf[q2 + 1])
                        if kd == 2 and ol == 4 and q2 + 4 <= oe:
                            o_mss[j] = be16(buf, q2 + 2)
                            valid[V_MSS, j] = 1
                        if ol < 2:
                            break
                        q2 += ol
                    o_opts_off[j + 1] = w
                    if la >= 14:
                        fl = buf[l4 + 13]
                        syn_only = (fl & 0x12) == 0x02
                        if ver == 4 and syn_only and la >= 20 and o_seq[j] == o_dst4[j]:
                            o_mirai[j] = True
                        if ver == 4 and syn_only and (
                            ipid == ((o_dst4[j] ^ o_dport[j] ^ o_seq[j]) & 0xFFFF)
                        ):
                            o_masscan[j] = True
                        if (fl & 0x12) == 0x12 or (fl & 0x04):
                            o_bs[j] = True
                    pay = l4 + max(thl, 20)
                    o_plen[j] = max(l4_wire - pay, 0)
                    valid[V_PAYLOAD_LEN, j] = 1
                elif proto == 17 or proto == 136:
                    pay = l4 + 8
                    o_plen[j] = max(l4_wire - pay, 0)
                    valid[V_PAYLOAD_LEN, j] = 1
                    if valid[V_PORTS, j] == 1 and o_sport[j] == 53:
                        o_bs[j] = True
                elif proto == 132:
                    pay = l4 + 12
                    o_plen[j] = max(l4_wire - pay, 0)
                    valid[V_PAYLOAD_LEN, j] = 1
            elif proto == 1 or proto == 58:
                o_itype[j] = buf[l4]
                valid[V_ICMP_TYPE, j] = 1
                if la >= 2:
                    o_icode[j] = buf[l4 + 1]
                    valid[V_ICMP_CODE, j] = 1
                t = buf[l4]
                # echo (reply), timestamp, information, address mask (ICMPv6: echo) carry id and seq
                if proto == 58:
                    has_id = t == 128 or t == 129
                else:
                    has_id = t == 0 or t == 8 or (t >= 13 and t <= 18)
                if la >= 8 and has_id:
                    o_icmpid[j] = be16(buf, l4 + 4)
                    o_icmpseq[j] = be16(buf, l4 + 6)
                    valid[V_ICMP_ID, j] = 1
                if proto == 1:
                    for bt in _BACKSCATTER_ICMP4:
                        if t == bt:
                            o_bs[j] = True
                else:
                    for bt in _BACKSCATTER_ICMP6:
                        if t == bt:
                            o_bs[j] = True
                pay = l4 + 8
                o_plen[j] = max(l4_wire - pay, 0)
                valid[V_PAYLOAD_LEN, j] = 1
        # first payload bytes
        w = o_pay_off[j]
        if pay >= 0 and pay < l4_end:
            m = min(l4_end - pay, PAYLOAD_BYTES)
            for k in range(m):
                o_pay[w + k] = buf[pay + k]
            w += m
            valid[V_PAYLOAD, j] = 1
        elif pay >= 0:
            valid[V_PAYLOAD, j] = 1  # header complete, no payload captured: empty bytes
        o_pay_off[j + 1] = w
        outcome[i] = STORED
        j += 1
    return j
