"""The compiled kernel of ``content`` matching (see teiten.detect.signatures)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["contents_match"]


@njit(cache=True, nogil=True)
def contents_match(data, offs, rows, pats, pstart, pend, poff, pdepth, pnocase, pneg):
    """For each row: do all patterns match (or, negated, not match) in the row's payload?"""
    out = np.ones(len(rows), np.bool_)
    for i in range(len(rows)):
        r = rows[i]
        a, b = offs[r], offs[r + 1]
        n = b - a
        for p in range(len(pstart)):
            m = pend[p] - pstart[p]
            lo = poff[p]
            hi = n if pdepth[p] < 0 else min(n, lo + pdepth[p])
            found = False
            for s in range(lo, hi - m + 1):
                ok = True
                for k in range(m):
                    c = data[a + s + k]
                    if pnocase[p] and 65 <= c <= 90:
                        c += 32
                    if c != pats[pstart[p] + k]:
                        ok = False
                        break
                if ok:
                    found = True
                    break
            if found == pneg[p]:
                out[i] = False
                break
    return out
