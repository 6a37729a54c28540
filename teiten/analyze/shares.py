"""Shares: the port mix of the world or of one region (pie), the port mix of each top
region (stacked bars), and the region mix of each top port (NPA Figures 3-1 to 3-3, 3-11, 3-12)."""

from __future__ import annotations

from typing import Any

from teiten.analyze.rankings import DIMENSIONS
from teiten.analyze.series import top_keys
from teiten.engine.observation import Observation
from teiten.errors import SettingError
from teiten.periods import Period

__all__ = ["OTHER", "mix", "mix_by", "top_shares"]

#: The key of everything outside the top N.
OTHER = "other"


def _other_of(dimension: str) -> str:
    try:
        return {"ports": "regions", "regions": "ports"}[dimension]
    except KeyError:
        raise SettingError(f"shares of ports or regions, not {dimension!r}") from None


def top_shares(counts: dict[str, int], top: int) -> list[dict[str, Any]]:
    """The ``top`` keys by count with their shares, the rest as one ``other`` row."""
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [{"key": k, "packets": n, "share": n / total} for k, n in ranked[:top]]
    rest = sum(n for _, n in ranked[top:])
    if rest:
        rows.append({"key": OTHER, "packets": rest, "share": rest / total})
    return rows


def mix(obs: Observation, dimension: str, period: Period, *, within: str | None = None, top: int = 10,
        group: str | None = None) -> dict[str, Any]:
    """Shares of the ``dimension`` keys in the period, of everything or ``within`` one key of
    the other dimension (the port mix of ``within="JP"``; the region mix of ``within="445/TCP"``)."""
    col = DIMENSIONS[dimension]
    t, measure = obs.tally(period, group)
    if within is not None:
        t = t.filter(t[DIMENSIONS[_other_of(dimension)]] == within)
    agg = t.group_by(col).aggregate(packets=measure(t)).to_pyarrow()
    counts = dict(zip(agg.column(col).to_pylist(), agg.column("packets").to_pylist(), strict=True))
    return {"period": period.to_json(), "dimension": dimension, "within": within,
            "packets": sum(counts.values()), "rows": top_shares(counts, top)}


def mix_by(obs: Observation, dimension: str, period: Period, *, groups: int = 5, top: int = 5,
           group: str | None = None) -> dict[str, Any]:
    """For each of the ``groups`` top keys of the other dimension, the shares of its ``top``
    ``dimension`` keys (``mix_by(obs, "ports", p)``: the port mix of each top region)."""
    other = _other_of(dimension)
    col, ocol = DIMENSIONS[dimension], DIMENSIONS[other]
    heads = top_keys(obs, other, period, groups, group)
    t, measure = obs.tally(period, group)
    t = t.filter(t[ocol].isin(heads))
    agg = t.group_by([ocol, col]).aggregate(packets=measure(t)).to_pyarrow()
    per: dict[str, dict[str, int]] = {h: {} for h in heads}
    for o, k, n in zip(*(agg.column(c).to_pylist() for c in (ocol, col, "packets")), strict=True):
        per[o][k] = int(n)
    return {"period": period.to_json(), "dimension": dimension, "by": other,
            "groups": [{"key": h, "packets": sum(per[h].values()), "rows": top_shares(per[h], top)} for h in heads]}
