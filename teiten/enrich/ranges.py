"""Address range tables: the one structure every geo lookup runs on.

A :class:`Segments` table covers the whole address space (IPv4 in the low 32 bits, or
IPv6 as two unsigned 64-bit halves) with consecutive segments: segment ``i`` runs from
its start up to the next segment's start minus one.  Each segment carries a country
(an index into a code list, 0 = unknown) and an AS number (0 = unknown).  A lookup is
one ``searchsorted`` over the starts, so it costs the same whatever the data source.

Sources describe their data either as disjoint ranges (:func:`from_ranges`) or as
nested prefixes where the most specific wins (:func:`flatten_prefixes`); two tables
combine with :func:`overlay`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["Segments", "flatten_prefixes", "from_ranges", "halves6", "locate", "overlay", "prefix_end", "within6"]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
U16 = npt.NDArray[np.uint16]
I64 = npt.NDArray[np.int64]
_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


@dataclass(frozen=True)
class Segments:
    """Consecutive segments covering the address space from address 0."""

    hi: U64
    lo: U64
    cc: U16
    asn: U32

    def __len__(self) -> int:
        return len(self.hi)


def prefix_end(hi: U64, lo: U64, depth: npt.NDArray[np.uint8]) -> tuple[U64, U64]:
    """Last address of each prefix (start hi/lo, length 0..128)."""
    d = depth.astype(np.int64)
    host_hi = np.where(d >= 64, 0, 64 - d)  # host bits in the upper half
    host_lo = np.where(d >= 64, 128 - d, 64)
    mask_hi = np.where(host_hi >= 64, _ONES, (np.uint64(1) << host_hi.astype(np.uint64)) - np.uint64(1))
    mask_lo = np.where(host_lo >= 64, _ONES, (np.uint64(1) << host_lo.astype(np.uint64)) - np.uint64(1))
    return hi | mask_hi.astype(np.uint64), lo | mask_lo.astype(np.uint64)


def halves6(addrs: pa.Array) -> tuple[U64, U64]:
    """16-byte IPv6 addresses (an Arrow ``fixed_size_binary(16)`` array; a null reads as
    whatever its slot holds) as their high and low 64 bits, each a contiguous array."""
    n = len(addrs)
    buf = addrs.buffers()[1]
    if buf is None or not n:
        return np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    raw = np.frombuffer(buf, np.uint8)[addrs.offset * 16:(addrs.offset + n) * 16]
    both = raw.view(">u8").astype(np.uint64).reshape(-1, 2)
    return both[:, 0].copy(), both[:, 1].copy()


def within6(hi: U64, lo: U64, first: int, last: int) -> npt.NDArray[np.bool_]:
    """Whether each IPv6 address (its 64-bit halves) lies in [first, last] (128-bit ints)."""
    f_hi, f_lo = np.uint64(first >> 64), np.uint64(first & 0xFFFF_FFFF_FFFF_FFFF)
    l_hi, l_lo = np.uint64(last >> 64), np.uint64(last & 0xFFFF_FFFF_FFFF_FFFF)
    out: npt.NDArray[np.bool_] = (((hi > f_hi) | ((hi == f_hi) & (lo >= f_lo)))
                                  & ((hi < l_hi) | ((hi == l_hi) & (lo <= l_lo))))
    return out


def _next(hi: U64, lo: U64) -> tuple[U64, U64]:
    lo1 = lo + np.uint64(1)
    return hi + (lo1 == 0).astype(np.uint64), lo1


def _less(ahi: U64, alo: U64, bhi: U64, blo: U64) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = (ahi < bhi) | ((ahi == bhi) & (alo < blo))
    return out


def from_ranges(shi: U64, slo: U64, ehi: U64, elo: U64, cc: U16, asn: U32) -> Segments:
    """Segments from disjoint ranges [start, end] sorted by start (gaps become unknown)."""
    k = len(shi)
    if k == 0:
        return Segments(np.zeros(1, np.uint64), np.zeros(1, np.uint64), np.zeros(1, np.uint16),
                        np.zeros(1, np.uint32))
    nhi, nlo = _next(ehi, elo)
    g_hi = np.concatenate([np.zeros(1, np.uint64), nhi[:-1]])  # where the gap before range i starts
    g_lo = np.concatenate([np.zeros(1, np.uint64), nlo[:-1]])
    # piece 2i: gap before range i (if any); piece 2i+1: range i; piece 2k: tail gap
    hi, lo = np.empty(2 * k + 1, np.uint64), np.empty(2 * k + 1, np.uint64)
    out_cc, out_asn = np.zeros(2 * k + 1, np.uint16), np.zeros(2 * k + 1, np.uint32)
    keep = np.ones(2 * k + 1, dtype=bool)
    hi[0 : 2 * k : 2], lo[0 : 2 * k : 2] = g_hi, g_lo
    hi[1::2], lo[1::2], out_cc[1::2], out_asn[1::2] = shi, slo, cc, asn
    hi[2 * k], lo[2 * k] = nhi[-1], nlo[-1]
    keep[0 : 2 * k : 2] = _less(g_hi, g_lo, shi, slo)
    keep[2 * k] = not (ehi[-1] == _ONES and elo[-1] == _ONES)
    return compress(Segments(hi[keep], lo[keep], out_cc[keep], out_asn[keep]))


def compress(seg: Segments) -> Segments:
    """Merge neighbouring segments with the same values."""
    if len(seg) == 0:
        return seg
    keep = np.ones(len(seg), dtype=bool)
    keep[1:] = (seg.cc[1:] != seg.cc[:-1]) | (seg.asn[1:] != seg.asn[:-1])
    return Segments(seg.hi[keep], seg.lo[keep], seg.cc[keep], seg.asn[keep])


@numba.njit(cache=False)
def _sweep(shi, slo, ehi, elo):  # type: ignore[no-untyped-def]
    """Laminar prefixes sorted by (start, depth) -> disjoint pieces (start, end, owner)."""
    n = len(shi)
    o_shi = np.empty(2 * n + 1, np.uint64)
    o_slo = np.empty(2 * n + 1, np.uint64)
    o_ehi = np.empty(2 * n + 1, np.uint64)
    o_elo = np.empty(2 * n + 1, np.uint64)
    o_own = np.empty(2 * n + 1, np.int64)
    stack = np.empty(130, np.int64)
    top = -1
    m = 0
    cur_hi = np.uint64(0)
    cur_lo = np.uint64(0)
    done = False
    one = np.uint64(1)
    for i in range(n + 1):
        while top >= 0:
            j = stack[top]
            if i < n and not (ehi[j] < shi[i] or (ehi[j] == shi[i] and elo[j] < slo[i])):
                break
            if not done and (cur_hi < ehi[j] or (cur_hi == ehi[j] and cur_lo <= elo[j])):
                o_shi[m], o_slo[m], o_ehi[m], o_elo[m], o_own[m] = cur_hi, cur_lo, ehi[j], elo[j], j
                m += 1
            if ehi[j] == ~np.uint64(0) and elo[j] == ~np.uint64(0):
                done = True
            else:
                cur_lo = elo[j] + one
                cur_hi = ehi[j] + (one if cur_lo == 0 else np.uint64(0))
            top -= 1
        if i == n:
            break
        if top >= 0 and (cur_hi < shi[i] or (cur_hi == shi[i] and cur_lo < slo[i])):
            j = stack[top]
            b_lo = slo[i] - one
            b_hi = shi[i] - (one if slo[i] == 0 else np.uint64(0))
            o_shi[m], o_slo[m], o_ehi[m], o_elo[m], o_own[m] = cur_hi, cur_lo, b_hi, b_lo, j
            m += 1
        top += 1
        stack[top] = i
        cur_hi = shi[i]
        cur_lo = slo[i]
        done = False
    return o_shi[:m], o_slo[:m], o_ehi[:m], o_elo[:m], o_own[:m]


def flatten_prefixes(hi: U64, lo: U64, depth: npt.NDArray[np.uint8], cc: U16, asn: U32) -> Segments:
    """Segments from nested prefixes (a tree's networks); the longest prefix wins."""
    order = np.lexsort((depth, lo, hi))
    hi, lo, depth = hi[order], lo[order], depth[order]
    ehi, elo = prefix_end(hi, lo, depth)
    p_shi, p_slo, p_ehi, p_elo, own = _sweep(hi, lo, ehi, elo)
    return from_ranges(p_shi, p_slo, p_ehi, p_elo, cc[order][own], asn[order][own])


def overlay(a: Segments, b: Segments) -> tuple[Segments, I64, I64]:
    """Common refinement of two tables: its starts and, per segment, the index in a and b."""
    keys = np.concatenate([a.hi, b.hi]), np.concatenate([a.lo, b.lo])
    order = np.lexsort((keys[1], keys[0]))
    hi, lo = keys[0][order], keys[1][order]
    first = np.ones(len(hi), dtype=bool)
    first[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    hi, lo = hi[first], lo[first]
    ia, ib = locate(a, hi, lo), locate(b, hi, lo)
    return Segments(hi, lo, np.zeros(len(hi), np.uint16), np.zeros(len(hi), np.uint32)), ia, ib


def locate(seg: Segments, qhi: U64, qlo: U64) -> I64:
    """Index of the segment holding each address (vectorised 128-bit search)."""
    left = np.searchsorted(seg.hi, qhi, side="left").astype(np.int64)
    right = np.searchsorted(seg.hi, qhi, side="right").astype(np.int64)
    active = np.nonzero(right > left)[0]
    lo_b, hi_b = left[active], right[active]
    q = qlo[active]
    while active.size:  # bisect on the low half among segments sharing the high half
        mid = (lo_b + hi_b) // 2
        go = seg.lo[mid] <= q
        lo_b = np.where(go, mid + 1, lo_b)
        hi_b = np.where(go, hi_b, mid)
        left[active] = lo_b
        still = lo_b < hi_b
        active, lo_b, hi_b, q = active[still], lo_b[still], hi_b[still], q[still]
    return left - 1


def bucket_index(starts: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """For each /16 block b (and b = 65536), the segment holding address b << 16.

    ``starts`` must begin at 0.  An address in block b lies in a segment
    between ``bucket[b]`` and ``bucket[b + 1]``, a handful at most.
    """
    edges = np.arange(65537, dtype=np.uint64) << np.uint64(16)
    edges[-1] = (1 << 32) - 1
    return (np.searchsorted(starts.astype(np.uint64), edges, side="right") - 1).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _locate4(starts, bucket, addrs, out):  # type: ignore[no-untyped-def]
    for i in range(addrs.shape[0]):
        a = addrs[i]
        b = a >> 16
        lo = bucket[b]
        hi = bucket[b + 1]
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if starts[mid] <= a:
                lo = mid
            else:
                hi = mid - 1
        out[i] = lo


def locate4(starts: npt.NDArray[np.uint32], bucket: npt.NDArray[np.int64], addrs: npt.NDArray[np.uint32]) -> I64:
    """Index of the segment holding each IPv4 address (two-level search, compiled)."""
    out = np.empty(addrs.shape[0], dtype=np.int64)
    _locate4(starts, bucket, addrs, out)
    return out
