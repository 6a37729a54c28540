"""What every analysis reads: an :class:`Observation`, the stored packets of a store as an
Ibis table, its sensor catalog and hourly roll-ups, on some :class:`Engine`.

The analyses are Ibis expressions over :func:`packets_table` (the stored columns plus
``ts_us``, the capture time in µs since the epoch, and the port key and region), so one
definition runs on every engine; what differs between engines (materialising a result,
streaming one, planner hints) is behind :class:`Engine`, whose implementations live in
``teiten.engine`` alone (``duckdb.py``). ``teiten.engine.open_observation`` opens a store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from teiten.engine.local_time import day_number, epoch_us, local_day, whole_hours
from teiten.errors import SettingError
from teiten.keys import key_code, key_text, port_key
from teiten.periods import Period
from teiten.store.catalog import Sensor

__all__ = ["HINTS", "UNKNOWN_REGION", "Cube", "Engine", "Observation", "packets_table", "region_key"]

#: The source region of packets whose country is unknown.
UNKNOWN_REGION = "--"
#: Planner hints: ``small_build_side`` keeps a join's hash table on its small side (the
#: side the query names second) whatever the engine estimates.
HINTS = ("small_build_side",)


class Engine(Protocol):
    """What an analysis needs of an engine beyond Ibis expressions."""

    name: str

    def materialize(self, expr: ir.Table, what: str) -> ir.Table:
        """``expr`` computed once into a table of the engine, for the session."""

    def batches(self, expr: ir.Table, rows: int) -> Iterator[pa.RecordBatch]:
        """``expr``'s rows streamed as Arrow batches, without holding the whole result."""

    def hinted(self, hint: str) -> AbstractContextManager[None]:
        """A context within which the engine plans with ``hint`` (one of :data:`HINTS`)."""


def region_key(t: ir.Table) -> ir.StringValue:
    """The source region: ISO 3166 alpha-2, ``--`` when unknown."""
    return t.country.cast("string").fill_null(UNKNOWN_REGION)


def packets_table(raw: ir.Table) -> ir.Table:
    """The stored packet columns plus ``key`` (port key), ``kc`` (its code) and ``region``."""
    return raw.mutate(key=port_key(raw), kc=key_code(raw), region=region_key(raw))


Measure = Callable[[ir.Table], ir.IntegerScalar]


@dataclass(frozen=True)
class Cube:
    """Packets counted per local day, port key and region over a window, for one sensor group:
    what rankings, daily series and shares need, materialised once in the engine."""

    table: ir.Table  # day (days since 1970-01-01, local), key, region, packets
    window: Period
    group: str | None

    def covers(self, period: Period, group: str | None) -> bool:
        return (group == self.group and period.tz == self.window.tz and self.window.first <= period.first
                and period.last <= self.window.last)


@dataclass
class Observation:
    """The packets of a store (an Ibis table), its sensor catalog and provenance."""

    packets: ir.Table
    sensors: list[Sensor]
    meta: dict[str, Any] = field(default_factory=dict)
    engine: Engine | None = None  # None: plain Ibis expressions, nothing materialised
    cube: Cube | None = None
    rollups: ir.Table | None = None  # the hourly roll-ups (teiten.store.rollups), when the store has them
    memo: dict[str, Any] = field(default_factory=dict)  # facts of the whole store, computed once

    def tally(self, period: Period, group: str | None = None) -> tuple[ir.Table, Measure]:
        """The period's packets counted per ``day``, ``key`` and ``region`` (column ``packets``),
        and how to total them: from the cube when it covers the period, else computed (from
        the hourly roll-ups when :meth:`counted` can use them)."""
        c = self.cube
        if c is not None and c.covers(period, group):
            t = c.table
            t = t.filter((t.day >= day_number(period.first)) & (t.day <= day_number(period.last)))
        else:
            t = self._cube_expr(period, group)
        return t, lambda x: x.packets.sum()

    def counted(self, period: Period, group: str | None = None) -> tuple[ir.Table, Measure]:
        """Rows standing for the period's packets, with ``ts_us``, ``kc``, ``ip_version``,
        ``country`` and ``sensor``, and how to count the packets of a selection of them:
        the hourly roll-ups (``ts_us`` the start of the UTC hour, a sum of ``packets``) when the
        store has them and every UTC offset of the period's zone is a whole number of hours
        (so that no hour straddles a local day or hour), else the packets themselves."""
        s = self.rollups
        if s is not None and whole_hours(period):
            s = s.filter((s.ts_us >= epoch_us(period.start)) & (s.ts_us < epoch_us(period.end)))
            return self._parts_and_sensors(s, period, group), lambda x: x.packets.sum()
        return self.in_period(period, group), lambda x: x.count()

    def _cube_expr(self, window: Period, group: str | None) -> ir.Table:
        """Packets per local day, key and region over ``window`` (an expression)."""
        t, measure = self.counted(window, group)
        t = t.mutate(day=local_day(t, window))
        # grouped on the integer key code and the stored country; the text is made per row of the result
        agg = t.group_by(["day", "kc", "country"]).aggregate(packets=measure(t))
        return agg.select("day", key=key_text(agg.kc), region=region_key(agg), packets=agg.packets)

    def batches(self, expr: ir.Table, rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        """Stream a table expression as Arrow record batches of at most ``rows`` rows."""
        if self.engine is None:
            yield from expr.to_pyarrow_batches(chunk_size=rows)
        else:
            yield from self.engine.batches(expr, rows)

    def with_cube(self, window: Period, group: str | None = None) -> Observation:
        """This observation with a cube over ``window`` (one pass over the packets)."""
        return replace(self, cube=Cube(self.materialize(self._cube_expr(window, group), "cube"), window, group))

    def materialize(self, expr: ir.Table, what: str = "table") -> ir.Table:
        """``expr`` computed once into a temporary table of the engine (without an engine, the
        expression itself), for results that several queries read."""
        return expr if self.engine is None else self.engine.materialize(expr, what)

    def hinted(self, hint: str) -> AbstractContextManager[None]:
        """A planner hint of :data:`HINTS` for the queries run within (engines without it ignore it)."""
        if hint not in HINTS:
            raise ValueError(f"unknown engine hint {hint!r}")
        return nullcontext() if self.engine is None else self.engine.hinted(hint)

    def in_period(self, period: Period, group: str | None = None) -> ir.Table:
        """Packets within ``period`` ([start, end) in UTC), seen by the sensors of ``group``
        (with a catalog, packets to catalogued sensors only)."""
        t = self.packets
        t = t.filter((t.ts >= ibis.literal(period.start)) & (t.ts < ibis.literal(period.end)))
        return self._parts_and_sensors(t, period, group)

    def _parts_and_sensors(self, t: ir.Table, period: Period, group: str | None) -> ir.Table:
        """Rows of packets or roll-ups ``t`` in the parts of the period's UTC days, of the
        sensors counted."""
        if "part_day" in t.columns:  # the store's parts are by UTC day: the others are not read
            last = period.end.astimezone(UTC) - timedelta(microseconds=1)
            t = t.filter(t.part_day.between(period.start.astimezone(UTC).date(), last.date()))
        names = self._sensor_filter(group)
        if names is not None:
            t = t.filter(t.sensor.cast("string").isin(names))
        return t

    def _sensor_filter(self, group: str | None) -> list[str] | None:
        """The sensors to keep packets of, or None when every packet of the store is from one
        of them anyway (a test per packet saved: on a store whose packets are all from
        catalogued sensors, the catalog's test costs each pass over 100 M packets ~2 s)."""
        names = self.sensor_names(group)
        if names is None:
            return None
        present = self.stored_sensors()
        return None if present is not None and present <= set(names) else names

    def stored_sensors(self) -> set[str | None] | None:
        """The sensor values the store's packets carry (None among them: unknown), read from
        the hourly roll-ups; None when the store has none."""
        if self.rollups is None:
            return None
        if "sensors" not in self.memo:
            col = self.rollups.select(s=self.rollups.sensor.cast("string")).distinct().to_pyarrow().column("s")
            self.memo["sensors"] = set(col.to_pylist())
        return set(self.memo["sensors"])

    def sensor_names(self, group: str | None) -> list[str] | None:
        """Sensors counted (None: no catalog, every packet counts)."""
        if group is not None:
            names = [s.name for s in self.sensors if s.group == group]
            if not names:
                groups = sorted({s.group for s in self.sensors if s.group})
                raise SettingError(f"no sensor in group {group!r}"
                                   + (f" (groups: {', '.join(groups)})" if groups else " (no groups in the catalog)"))
            return names
        return [s.name for s in self.sensors] if self.sensors else None

    def of_kind(self, kind: str | None) -> Observation:
        """This observation narrowed to the sensors of one kind (``passive`` or ``responder``):
        their packets alone, and their addresses alone in every per-address figure (a
        responder's addresses draw more packets than a passive sensor's: the seeds' tables
        count one kind). None: every sensor."""
        if kind is None:
            return self
        if not self.sensors:
            raise SettingError("--sensor-kind needs the sensor catalog (teiten sensors add ... --kind)")
        chosen = [s for s in self.sensors if s.kind == kind]
        if not chosen:
            kinds = sorted({s.kind for s in self.sensors})
            raise SettingError(f"no {kind} sensor in the catalog (its kinds: {', '.join(kinds)})")
        return replace(self, sensors=chosen, cube=None)

    def of_version(self, version: int | None) -> Observation:
        """This observation narrowed to the packets of one IP version (4 or 6; None: both).
        The per-address figures keep every address of the sensors as denominator."""
        if version is None:
            return self
        if version not in (4, 6):
            raise SettingError(f"an IP version is 4 or 6, not {version!r}")
        rollups = None if self.rollups is None else self.rollups.filter(self.rollups.ip_version == version)
        return replace(self, packets=self.packets.filter(self.packets.ip_version == version), rollups=rollups,
                       cube=None, memo={})

    def sensors_of(self, group: str | None) -> list[Sensor] | None:
        """The catalogued sensors counted (None: no catalog)."""
        names = self.sensor_names(group)
        return None if names is None else [s for s in self.sensors if s.name in set(names)]

    def data_span(self) -> tuple[datetime, datetime] | None:
        """First and last packet time in the store (UTC)."""
        r = self.packets.aggregate(lo=self.packets.ts.min(), hi=self.packets.ts.max()).to_pyarrow().to_pylist()[0]
        if r["lo"] is None:
            return None
        return r["lo"].astimezone(UTC), r["hi"].astimezone(UTC)
