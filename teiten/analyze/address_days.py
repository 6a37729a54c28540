"""The denominator of 一日・1IP当たり (per day per sensor address), docs/analysis.md.

With a sensor catalog: the sum over the period's days of the catalogued addresses
active that day (an IPv6 prefix counts as one address).  Without one: the sum over
days of the distinct destination addresses seen that day.
"""

from __future__ import annotations

import ipaddress
from datetime import date

from teiten.engine.local_time import day_of, local_day
from teiten.engine.observation import Observation
from teiten.periods import Period
from teiten.store.catalog import Sensor

__all__ = ["address_days", "addresses_by_day", "addresses_on", "sensor_weight"]


def sensor_weight(s: Sensor) -> int:
    """Addresses a sensor contributes per day: its IPv4 addresses plus one per IPv6 prefix."""
    return sum(n.num_addresses if isinstance(n, ipaddress.IPv4Network) else 1 for n in s.networks)


def _active(s: Sensor, d: date) -> bool:
    return (s.active_from is None or date.fromisoformat(s.active_from) <= d) and (
        s.active_to is None or d <= date.fromisoformat(s.active_to))


def addresses_on(sensors: list[Sensor], d: date) -> int:
    return sum(sensor_weight(s) for s in sensors if _active(s, d))


def addresses_by_day(obs: Observation, period: Period, group: str | None = None) -> dict[date, int]:
    """Each day of ``period`` -> the sensor addresses observing that day (see the module doc);
    without a catalog, only the days that saw packets."""
    chosen = obs.sensors_of(group)
    if chosen is not None:
        return {d: addresses_on(chosen, d) for d in period.day_list()}
    t = obs.in_period(period)
    t = t.mutate(day=local_day(t, period))
    agg = t.group_by("day").aggregate(n=t.dst4.nunique() + t.dst6.nunique()).to_pyarrow()
    return {day_of(d): int(n) for d, n in zip(agg.column("day").to_pylist(), agg.column("n").to_pylist(),
                                               strict=True)}


def address_days(obs: Observation, period: Period, group: str | None = None) -> int:
    """Σ over the days of ``period`` of the sensor addresses observing (see the module doc)."""
    return sum(addresses_by_day(obs, period, group).values())
