"""Rankings of port keys and source regions in a period against the compared period.

``ranking(obs, "ports", period)`` is NPA Table 3-1 (Table 3-2 for ``"regions"``) and
the TSUBAME top-5 tables: per-day-per-address counts, ranks, previous ranks, deltas,
change ratios and rise/fall ranks (see :mod:`teiten.analyze.compare`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from teiten.analyze.address_days import address_days
from teiten.analyze.compare import compare_counts
from teiten.engine.observation import Observation
from teiten.enrich import country_name, key_label
from teiten.errors import SettingError
from teiten.periods import Period

__all__ = ["DIMENSIONS", "Ranking", "counts", "ranking"]

#: Ranking dimension -> column of the packets table.
DIMENSIONS = {"ports": "key", "regions": "region"}


@dataclass
class Ranking:
    dimension: str
    period: Period
    previous: Period | None
    compare: str
    group: str | None
    total: dict[str, Any]
    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def with_shares(self) -> Ranking:
        """Each row with its ``share`` of the period's packets (None when there is none)."""
        total = self.total["packets"] or 0
        rows = [{**row, "share": row["packets"] / total if total else None} for row in self.rows]
        return replace(self, rows=rows)

    def to_json(self) -> dict[str, Any]:
        prev = None
        if self.previous is not None:
            prev = {**self.previous.to_json(), "packets": self.total["prev_packets"] or 0,
                    "address_days": self.total["prev_address_days"]}
        return {"dimension": self.dimension, "compare": self.compare, "sensor_group": self.group,
                "period": {**self.period.to_json(), "packets": self.total["packets"],
                           "address_days": self.total["address_days"]},
                "previous": prev, "total": self.total, "rows": self.rows, **self.meta}

    def row(self, key: str) -> dict[str, Any]:
        for r in self.rows:
            if r["key"] == key:
                return r
        raise KeyError(key)


def counts(obs: Observation, dimension: str, period: Period, group: str | None = None) -> dict[str, int]:
    """Packets per key (or region) in the period."""
    try:
        col = DIMENSIONS[dimension]
    except KeyError:
        raise SettingError(f"rank ports or regions, not {dimension!r}") from None
    t, measure = obs.tally(period, group)
    agg = t.group_by(col).aggregate(packets=measure(t)).to_pyarrow()
    return dict(zip(agg.column(col).to_pylist(), agg.column("packets").to_pylist(), strict=True))


def ranking(obs: Observation, dimension: str, period: Period, *, compare: str = "previous",
            group: str | None = None) -> Ranking:
    """Every key of either period, ranked, with the comparison of docs/analysis.md.

    ``compare``: ``previous`` (the preceding period of the same kind), ``year`` (a year
    before) or ``none``.  When the compared period holds no packets at all, the
    comparison fields are null.
    """
    cur = counts(obs, dimension, period, group)
    cur_days = address_days(obs, period, group)
    prev_period = None if compare == "none" else period.compared(compare)
    prev: dict[str, int] | None = None
    prev_days: int | None = None
    if prev_period is not None:
        prev = counts(obs, dimension, prev_period, group)
        prev_days = address_days(obs, prev_period, group) if prev else 0
        if not prev:
            prev = None
    cmp = compare_counts(cur, prev, cur_days, prev_days)
    for r in cmp.rows:
        if dimension == "ports":
            r["label"] = key_label(r["key"])
        else:
            code = None if r["key"] == "--" else r["key"]
            r["name_ja"], r["name_en"] = country_name(code, "ja"), country_name(code, "en")
    sensors = obs.sensor_names(group)
    meta = {"sensors": len(sensors) if sensors is not None else None,
            "geo_sources": obs.meta.get("geo_sources", [])}
    return Ranking(dimension, period, prev_period, compare, group, cmp.total, cmp.rows, meta)
