"""What every analysis reads: the stored packets as an Ibis table, and the sensor catalog.

The analyses are Ibis expressions over :func:`packets_table` (the stored columns plus
``ts_us``, the capture time in µs since the epoch), so one definition runs on
the embedded DuckDB engine (:func:`open_observation`) and on any other Ibis backend
that can read the same Parquet dataset (PySpark for scale-out).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from teiten.engine.duckdb import connect_store
from teiten.errors import SettingError
from teiten.keys import key_code, key_text, port_key
from teiten.periods import Period
from teiten.settings import zone
from teiten.store.catalog import Sensor, list_sensors
from teiten.store.manifest import connect

__all__ = ["Cube", "Observation", "day_number", "day_of", "local_day", "local_hour", "local_seconds", "open_observation",
           "packets_table", "region_key"]

UNKNOWN_REGION = "--"
_CUBES = itertools.count(1)


def region_key(t: ir.Table) -> ir.StringValue:
    """The source region: ISO 3166 alpha-2, ``--`` when unknown."""
    return t.country.cast("string").fill_null(UNKNOWN_REGION)


def packets_table(raw: ir.Table) -> ir.Table:
    """The stored packet columns plus ``key`` (port key), ``kc`` (its :func:`key_code`) and ``region``."""
    return raw.mutate(key=port_key(raw), kc=key_code(raw), region=region_key(raw))


def _utc_offsets(period: Period) -> list[tuple[int, int]]:
    """(epoch second from which, UTC offset in seconds) over the period, at 15-minute resolution."""
    z = zone(period.tz)
    t, end = period.start, period.end
    out: list[tuple[int, int]] = []
    while t < end:
        off = int(t.astimezone(z).utcoffset().total_seconds())  # type: ignore[union-attr]
        if not out or out[-1][1] != off:
            out.append((int(t.timestamp()), off))
        t += timedelta(minutes=15)
    return out or [(int(period.start.timestamp()), 0)]


def local_seconds(t: ir.Table, period: Period) -> ir.IntegerValue:
    """Seconds since 1970-01-01 00:00 local time of each packet, in the period's time zone
    (the UTC offset changes at most at the zone's transitions within the period)."""
    sec = t.ts_us // 1_000_000
    offsets = _utc_offsets(period)
    off: ir.IntegerValue = ibis.literal(offsets[-1][1])
    if len(offsets) > 1:
        off = ibis.cases(*((sec < nxt, o) for (_, o), (nxt, _) in itertools.pairwise(offsets)),
                         else_=offsets[-1][1])
    return (sec + off).cast("int64")


def local_day(t: ir.Table, period: Period) -> ir.IntegerValue:
    """Days since 1970-01-01 of each packet's local date."""
    return local_seconds(t, period) // 86400


def local_hour(t: ir.Table, period: Period) -> ir.IntegerValue:
    """Each packet's local hour of day, 0-23."""
    return (local_seconds(t, period) % 86400) // 3600


def _us(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def _whole_hours(period: Period) -> bool:
    """Whether the period starts and ends on UTC hours and its zone's offsets are whole hours."""
    return (_us(period.start) % 3_600_000_000 == 0 and _us(period.end) % 3_600_000_000 == 0
            and all(off % 3600 == 0 for _, off in _utc_offsets(period)))


def day_of(number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(number))


def day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


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
    backend: Any = None
    cube: Cube | None = None
    slots: ir.Table | None = None  # the hourly roll-ups (teiten.store.rollups), when the store has them
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
        s = self.slots
        if s is not None and _whole_hours(period):
            s = s.filter((s.ts_us >= _us(period.start)) & (s.ts_us < _us(period.end)))
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
        if getattr(self.backend, "name", None) == "duckdb":
            # ibis 12's own streaming calls a DuckDB method that DuckDB 2 removed; a cursor
            # (a second connection to the same database) keeps the main connection free for
            # queries while the stream is read (the stream cannot see temporary tables)
            yield from self.backend.con.cursor().sql(str(self.backend.compile(expr))).to_arrow_reader(rows)
        else:
            yield from expr.to_pyarrow_batches(chunk_size=rows)

    def with_cube(self, window: Period, group: str | None = None) -> Observation:
        """This observation with a cube over ``window`` (one pass over the packets)."""
        return replace(self, cube=Cube(self.materialize(self._cube_expr(window, group), "cube"), window, group))

    def materialize(self, expr: ir.Table, what: str = "table") -> ir.Table:
        """``expr`` computed once into a temporary table of the engine (on an engine
        without one, the expression itself), for results that several queries read."""
        if self.backend is None:
            return expr
        return self.backend.create_table(f"teiten_{what}_{next(_CUBES)}", expr, temp=True)

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
        if self.slots is None:
            return None
        if "sensors" not in self.memo:
            col = self.slots.select(s=self.slots.sensor.cast("string")).distinct().to_pyarrow().column("s")
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


def open_observation(store: Path, *, threads: int | None = None) -> Observation:
    """The store on the embedded DuckDB engine."""
    db = connect_store(store, threads=threads)
    backend = ibis.duckdb.from_connection(db)
    con = connect(store)
    try:
        sensors = list_sensors(con)
        meta = {r["key"]: r["value"] for r in con.execute("SELECT key, value FROM meta")}
    finally:
        con.close()
    geo = json.loads(meta.get("geo_sources", "[]"))
    # the analyses read the stored columns plus ts_us (µs since the epoch, an integer: day and
    # hour arithmetic on it is engine-neutral and cheap); a Spark backend adds unix_micros(ts)
    # and part_day, the UTC day of the part a packet is stored in, for in_period to skip files
    db.execute("CREATE VIEW teiten_packets AS SELECT * EXCLUDE (date), date AS part_day, epoch_us(ts) AS ts_us"
               " FROM _packets_parts")
    slots = None
    if db.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'slots_raw'").fetchall()[0][0]:
        db.execute("CREATE VIEW teiten_slots AS SELECT * EXCLUDE (date, slot, kc), date AS part_day,"
                   " CAST(slot AS BIGINT) * 3600000000 AS ts_us, CAST(kc AS BIGINT) AS kc FROM slots_raw")
        slots = backend.table("teiten_slots")
    return Observation(packets_table(backend.table("teiten_packets")), sensors, {"geo_sources": geo, "store": store},
                       backend, slots=slots)
