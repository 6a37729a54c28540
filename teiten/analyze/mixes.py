"""What one port key's (or region's) packets look like: their TTL mix (and the initial TTL
it suggests: 64, 128 or 255, the usual starting values) and the shares of the packets that
carry the tool fingerprints of the decoder (``mirai``, ``zmap``, ``masscan``).

Each is one grouped query over the period's packets of the key.
"""

from __future__ import annotations

from typing import Any

from teiten.analyze.rankings import DIMENSIONS
from teiten.analyze.shares import top_shares
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["FINGERPRINTS", "INITIAL_TTLS", "fingerprint_shares", "initial_ttl", "ttl_mix"]

#: The fingerprint columns whose shares are given.
FINGERPRINTS = ("mirai", "zmap", "masscan")
#: The initial TTLs a received TTL is rounded up to.
INITIAL_TTLS = (32, 64, 128, 255)


def initial_ttl(ttl: int) -> int:
    """The initial TTL a packet received with ``ttl`` most likely left with."""
    return next(i for i in INITIAL_TTLS if ttl <= i)


def _of_key(obs: Observation, dimension: str, key: str, period: Period, group: str | None) -> Any:
    t = obs.in_period(period, group)
    return t.filter(t[DIMENSIONS[dimension]] == key)


def ttl_mix(obs: Observation, dimension: str, key: str, period: Period, *, top: int = 10,
            group: str | None = None) -> dict[str, Any]:
    """The ``top`` TTLs of the key's packets with their shares (the rest as ``other``), and
    the packets per initial TTL."""
    t = _of_key(obs, dimension, key, period, group)
    agg = t.group_by("ttl").aggregate(packets=t.count()).to_pyarrow()
    counts = {int(v): int(n) for v, n in zip(agg.column("ttl").to_pylist(), agg.column("packets").to_pylist(),
                                              strict=True)}
    total = sum(counts.values())
    initial: dict[int, int] = {}
    for v, n in counts.items():
        i = initial_ttl(v)
        initial[i] = initial.get(i, 0) + n
    rows = [{**r, "key": str(r["key"])} for r in top_shares({str(k): n for k, n in counts.items()}, top)]
    return {"packets": total, "rows": rows,
            "initial": [{"initial": i, "packets": n, "share": n / total} for i, n in sorted(initial.items())]}


def fingerprint_shares(obs: Observation, dimension: str, key: str, period: Period, *,
                       group: str | None = None) -> dict[str, Any]:
    """The key's packets and, per fingerprint, how many carry it and their share."""
    t = _of_key(obs, dimension, key, period, group)
    got = t.aggregate(packets=t.count(), **{f: t[f].cast("int64").sum() for f in FINGERPRINTS}).to_pyarrow()
    row = got.to_pylist()[0]
    total = int(row["packets"] or 0)
    return {"packets": total,
            **{f: {"packets": int(row[f] or 0), "share": int(row[f] or 0) / total if total else None}
               for f in FINGERPRINTS}}
