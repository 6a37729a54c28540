"""The hours in which a sensor recorded no packet at all, as every chart of the dashboard
shades them: a sensor down for some hours makes the per-address figures of those hours
and days low, and the shading keeps an outage from reading as a fall in scanning.

:func:`hour_gaps` finds them (the UTC hours, from the hourly roll-ups); :class:`Outages`
places them on a chart's axes: the local days that hold one (the daily charts), the
(local day, local hour) cells (the hour × day heatmaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from teiten.engine.observation import Observation
from teiten.periods import Period, zone
from teiten.web.observe_query import ObserveQuery, narrowed

__all__ = ["HOUR_US", "Outages", "hour_gaps", "outages"]

HOUR_US = 3_600_000_000


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def _quiet_hours(obs: Observation, period: Period, group: str | None) -> list[int]:
    """The UTC hours (hours since the epoch) in which a sensor of the catalog (without one:
    any named sensor) recorded no packet, between its first and its last packet of the
    period: one grouped query over the hourly roll-ups (the packets when the store has none)."""
    t, _ = obs.counted(period, group)
    t = t.filter(t.sensor.notnull())
    t = t.mutate(name=t.sensor.cast("string"), hour=t.ts_us // HOUR_US)
    got = t.select("name", "hour").distinct().to_pyarrow()
    names = obs.sensor_names(group)
    per: dict[str, set[int]] = {}
    for name, hour in zip(got.column("name").to_pylist(), got.column("hour").to_pylist(), strict=True):
        if names is None or name in names:
            per.setdefault(name, set()).add(int(hour))
    quiet: set[int] = set()
    for hours in per.values():
        quiet |= set(range(min(hours), max(hours) + 1)) - hours
    return sorted(quiet)


def hour_gaps(obs: Observation, period: Period, group: str | None = None) -> list[str]:
    """The UTC hours (ISO, ``2026-07-01T03:00:00Z``) of the period in which a sensor
    recorded no packet at all (see :func:`_quiet_hours`)."""
    return Outages(obs, period, group).iso()


@dataclass
class Outages:
    """A period's hours without a packet from a sensor, placed in the period's zone.
    Computed when first asked for (a page without a time axis never asks)."""

    obs: Observation
    period: Period
    group: str | None

    @cached_property
    def hours(self) -> list[int]:
        return _quiet_hours(self.obs, self.period, self.group)

    def iso(self) -> list[str]:
        """The quiet UTC hours, ISO (``2026-07-01T03:00:00Z``)."""
        return [_iso(h * HOUR_US) for h in self.hours]

    @cached_property
    def local(self) -> list[tuple[date, int]]:
        """The local (day, hour of day) of each quiet hour: both local hours that a UTC hour
        straddles where the zone's offset is not a whole number of hours."""
        tz = zone(self.period.tz)
        out: set[tuple[date, int]] = set()
        for h in self.hours:
            start = datetime.fromtimestamp(h * HOUR_US / 1e6, UTC)
            for t in {start.astimezone(tz), (start + timedelta(minutes=59)).astimezone(tz)}:
                if self.period.first <= t.date() <= self.period.last:
                    out.add((t.date(), t.hour))
        return sorted(out)

    def days(self) -> list[tuple[str, str]]:
        """Runs (first, last) of the local days holding a quiet hour: a daily chart shades them."""
        runs: list[tuple[str, str]] = []
        for d in sorted({d for d, _ in self.local}):
            if runs and (d - date.fromisoformat(runs[-1][1])).days == 1:
                runs[-1] = (runs[-1][0], d.isoformat())
            else:
                runs.append((d.isoformat(), d.isoformat()))
        return runs

    def cells(self) -> list[tuple[int, int]]:
        """(index of the local day in the period, local hour) of each quiet hour: a heatmap shades them."""
        return [((d - self.period.first).days, hour) for d, hour in self.local]


def outages(obs: Observation, q: ObserveQuery, period: Period) -> Outages:
    """The outages of the query's sensors (of its kind and group, every IP version: a quiet
    hour of a sensor is one whatever the packets shown)."""
    return Outages(narrowed(obs, ObserveQuery(tz=q.tz, group=q.group, kind=q.kind)), period, q.group)
