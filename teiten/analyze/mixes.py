"""What one port key's (or region's) packets look like: their TTL mix (and the initial TTL
it suggests: 32, 64, 128 or 255, the usual starting values) and the shares of the packets
that carry the tool fingerprints of the decoder (``mirai``, ``zmap``, ``masscan``).

Pure functions of the counts that :func:`teiten.analyze.drilldown.drill` gathers in its
passes over the key's packets (the TTLs with the source ports, the fingerprints with the
sources per day).
"""

from __future__ import annotations

from typing import Any

from teiten.analyze.shares import top_shares

__all__ = ["FINGERPRINTS", "INITIAL_TTLS", "fingerprint_shares", "initial_ttl", "ttl_mix"]

#: The fingerprint columns whose shares are given.
FINGERPRINTS = ("mirai", "zmap", "masscan")
#: The initial TTLs a received TTL is rounded up to.
INITIAL_TTLS = (32, 64, 128, 255)


def initial_ttl(ttl: int) -> int:
    """The initial TTL a packet received with ``ttl`` most likely left with."""
    return next(i for i in INITIAL_TTLS if ttl <= i)


def ttl_mix(counts: dict[int, int], *, top: int = 10) -> dict[str, Any]:
    """The ``top`` TTLs of packets counted per TTL, with their shares (the rest as
    ``other``), and the packets per initial TTL."""
    total = sum(counts.values())
    initial: dict[int, int] = {}
    for v, n in counts.items():
        i = initial_ttl(v)
        initial[i] = initial.get(i, 0) + n
    rows = [{**r, "key": str(r["key"])} for r in top_shares({str(k): n for k, n in counts.items()}, top)]
    return {"packets": total, "rows": rows,
            "initial": [{"initial": i, "packets": n, "share": n / total} for i, n in sorted(initial.items())]}


def fingerprint_shares(total: int, carrying: dict[str, int]) -> dict[str, Any]:
    """Of ``total`` packets, per fingerprint, how many carry it and their share."""
    return {"packets": total,
            **{f: {"packets": carrying.get(f, 0), "share": carrying.get(f, 0) / total if total else None}
               for f in FINGERPRINTS}}
