"""The compiled kernel of a rule's payload tests (run by teiten.detect.signatures.match), and ``pcre``.

A rule's ``content``, ``byte_test``, ``byte_jump`` and ``isdataat`` options, in rule order,
are a small program (one row of :data:`OP_FIELDS` per option) run over each candidate
packet's stored payload bytes by :func:`payload_match`. As in Snort and Suricata, a
detection cursor follows the options: a content match puts it after the match, a
``byte_jump`` moves it, and ``relative`` options (``distance``/``within``, ``relative``)
count from it; when a later option fails, earlier contents are tried at their next match
(a bounded search: :data:`STEP_LIMIT` steps per packet, as the engines bound their
backtracking). Relative content regions: from cursor + ``distance``, ``within`` bytes
long (Suricata's reading). Bytes past the stored ones (the store keeps the first bytes of
each payload) are not there to match; ``isdataat`` asks the wire length instead.

``pcre`` runs with Python's ``re`` once per distinct payload among the rows that passed
every other test (darknet payloads repeat: a few hundred distinct ones per million packets),
not once per packet.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

__all__ = ["K_BYTE_JUMP", "K_BYTE_TEST", "K_CONTENT", "K_ISDATAAT", "OPS", "OP_FIELDS", "STEP_LIMIT", "payload_match",
           "pcre_match"]

#: The columns of a payload program row.
OP_FIELDS = ("kind", "relative", "offset", "depth", "negated", "a", "b", "c", "value", "bitmask", "from_beginning",
             "post_offset")
K_CONTENT, K_BYTE_TEST, K_BYTE_JUMP, K_ISDATAAT = 0, 1, 2, 3
#: byte_test operators
OPS = {"<": 0, ">": 1, "=": 2, "&": 3, "^": 4, "<=": 5, ">=": 6}
STEP_LIMIT = 4096


@njit(cache=True, nogil=True)
def _read(data, a, n, pos, nbytes, base, little, bitmask):  # type: ignore[no-untyped-def]
    """The number at payload position ``pos`` (binary of ``nbytes``, or as text in ``base``),
    masked; -1 when it cannot be read."""
    if pos < 0 or pos + nbytes > n:
        return -1
    v = np.int64(0)
    if base == 0:
        for k in range(nbytes):
            b = np.int64(data[a + pos + (nbytes - 1 - k if little else k)])
            v = (v << 8) | b
    else:
        digits = 0
        for k in range(nbytes):
            c = np.int64(data[a + pos + k])
            if 48 <= c <= 57:
                d = c - 48
            elif 97 <= c <= 102:
                d = c - 87
            elif 65 <= c <= 70:
                d = c - 55
            else:
                break
            if d >= base:
                break
            v = v * base + d
            digits += 1
        if digits == 0:
            return -1
    if bitmask > 0:
        v &= bitmask
        m = bitmask
        while m & 1 == 0:
            v >>= 1
            m >>= 1
    return v


@njit(cache=True, nogil=True)
def _row(data, a, n, wlen, ops, pats, cur_at, next_at):  # type: ignore[no-untyped-def]
    k_all = ops.shape[0]
    k = 0
    cur_at[0] = 0
    next_at[0] = -1
    steps = 0
    while True:
        if k == k_all:
            return True
        steps += 1
        if steps > STEP_LIMIT:
            return False
        cur = cur_at[k]
        kind = ops[k, 0]
        rel = ops[k, 1]
        ok = False
        new = cur
        if kind == K_CONTENT:
            ps, pe, nocase, neg = ops[k, 5], ops[k, 6], ops[k, 7], ops[k, 4]
            m = pe - ps
            lo = (cur if rel else 0) + ops[k, 2]
            hi = n if ops[k, 3] < 0 else min(n, lo + ops[k, 3])
            lo = max(lo, 0)
            start = lo if next_at[k] == -1 else next_at[k]
            if neg and next_at[k] != -1:
                ok = False
            else:
                found = -1
                for s in range(start, hi - m + 1):
                    hit = True
                    for j in range(m):
                        c = data[a + s + j]
                        if nocase and 65 <= c <= 90:
                            c += 32
                        if c != pats[ps + j]:
                            hit = False
                            break
                    if hit:
                        found = s
                        break
                if neg:
                    ok = found < 0
                    next_at[k] = -2
                elif found >= 0:
                    ok = True
                    next_at[k] = found + 1
                    new = found + m
        else:
            if next_at[k] == -1:
                next_at[k] = -2
                base = cur if rel else 0
                if kind == K_ISDATAAT:
                    ok = (base + ops[k, 2] < wlen) != (ops[k, 4] != 0)
                else:
                    pos = base + ops[k, 2]
                    v = _read(data, a, n, pos, ops[k, 3], ops[k, 5], ops[k, 6], ops[k, 9])
                    if v >= 0 and kind == K_BYTE_TEST:
                        op, x = ops[k, 7], ops[k, 8]
                        r = (v < x if op == 0 else v > x if op == 1 else v == x if op == 2 else (v & x) != 0
                             if op == 3 else (v ^ x) != 0 if op == 4 else v <= x if op == 5 else v >= x)
                        ok = r != (ops[k, 4] != 0)
                    elif v >= 0:  # byte_jump
                        v = v * ops[k, 7]
                        if ops[k, 8] and v % 4:
                            v += 4 - v % 4
                        new = (v if ops[k, 10] else pos + ops[k, 3] + v) + ops[k, 11]
                        ok = 0 <= new <= n
        if ok:
            k += 1
            if k < k_all:
                cur_at[k] = new
                next_at[k] = -1
        else:
            k -= 1
            if k < 0:
                return False


@njit(cache=True, nogil=True)
def _match(data, offs, rows, wlen, ops, pats):  # type: ignore[no-untyped-def]
    out = np.zeros(len(rows), np.bool_)
    cur_at = np.zeros(ops.shape[0] + 1, np.int64)
    next_at = np.zeros(ops.shape[0] + 1, np.int64)
    for i in range(len(rows)):
        r = rows[i]
        a = offs[r]
        out[i] = _row(data, a, offs[r + 1] - a, wlen[r], ops, pats, cur_at, next_at)
    return out


def payload_match(data: npt.NDArray[np.uint8], offs: npt.NDArray[np.int64], rows: npt.NDArray[np.int64],
                  wire_len: npt.NDArray[np.int64], ops: npt.NDArray[np.int64],
                  pats: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """For each of ``rows``: does the payload program ``ops`` (patterns in ``pats``) pass on
    the row's stored bytes ``data[offs[r]:offs[r + 1]]`` (wire payload length ``wire_len[r]``)?"""
    if not len(rows):
        return np.zeros(0, bool)
    return np.asarray(_match(data, offs, rows, wire_len, ops, pats))


def pcre_match(payload: pa.Array | pa.ChunkedArray, rows: npt.NDArray[np.int64],
               patterns: tuple[tuple[re.Pattern[bytes], bool], ...]) -> npt.NDArray[np.bool_]:
    """For each of ``rows``: do all ``(regex, negated)`` pass on the row's payload? Each
    distinct payload is searched once."""
    if not len(rows):
        return np.zeros(0, bool)
    sub = payload.take(pa.array(rows))
    enc: Any = pc.dictionary_encode(sub)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    values = enc.dictionary.to_pylist()
    ok = np.array([v is not None and all(bool(rx.search(v)) != neg for rx, neg in patterns) for v in values] + [False],
                  bool)
    idx = np.asarray(enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False), np.int64)
    return ok[idx]
