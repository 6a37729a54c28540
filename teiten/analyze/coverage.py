"""Coverage: whether each sensor still sees its share of the Internet's scanners.

A sensor whose heartbeats arrive may still see too little: an upstream route withdrawn, a
filter added. Scanners sweep address space evenly, so on one day the distinct sources per
sensor address are alike across sensors of one kind; a sensor far below its peers' median
(:data:`LOW`, a quarter) on a day is flagged for that day. Peers are the other catalogued
sensors of the same kind (passive or responder) with packets that day; at least
:data:`PEERS` of them are needed for a judgement.
"""

from __future__ import annotations

import statistics
from typing import Any

from teiten.analyze.address_days import sensor_weight
from teiten.engine.local_time import day_of, local_day
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["LOW", "PEERS", "coverage"]

LOW = 0.25
PEERS = 2


def coverage(obs: Observation, period: Period, *, low: float = LOW, peers: int = PEERS) -> list[dict[str, Any]]:
    """Per catalogued sensor and local day of ``period`` with packets: distinct sources per
    sensor address, the peers' median, and ``low`` (True when below ``low`` × that median)."""
    sensors = {s.name: s for s in obs.sensors}
    if not sensors:
        return []
    t = obs.in_period(period)
    t = t.mutate(day=local_day(t, period), name=t.sensor.cast("string"))
    agg = t.group_by(["name", "day"]).aggregate(sources=t.src4.nunique() + t.src6.nunique()).to_pyarrow()
    per: dict[str, dict[str, float]] = {}
    for name, day, n in zip(agg.column("name").to_pylist(), agg.column("day").to_pylist(),
                            agg.column("sources").to_pylist(), strict=True):
        if name in sensors and sensor_weight(sensors[name]):
            per.setdefault(day_of(day).isoformat(), {})[name] = int(n) / sensor_weight(sensors[name])
    out = []
    for day in sorted(per):
        for name, value in sorted(per[day].items()):
            others = [v for k, v in per[day].items() if k != name and sensors[k].kind == sensors[name].kind]
            median = statistics.median(others) if len(others) >= peers else None
            out.append({"sensor": name, "day": day, "sources_per_address": value, "peers_median": median,
                        "low": median is not None and value < low * median})
    return out
