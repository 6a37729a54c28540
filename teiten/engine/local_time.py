"""Local time of packets as engine expressions: the day and hour of each packet in a
period's time zone (the UTC offset changes at most at the zone's transitions), and day
numbers (days since 1970-01-01)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from teiten.periods import Period, zone

__all__ = ["day_number", "day_of", "epoch_us", "local_day", "local_hour", "local_seconds", "utc_offsets",
           "whole_hours"]


def utc_offsets(period: Period) -> list[tuple[int, int]]:
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
    offsets = utc_offsets(period)
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


def epoch_us(t: datetime) -> int:
    """µs since the epoch of an aware time."""
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def whole_hours(period: Period) -> bool:
    """Whether the period starts and ends on UTC hours and its zone's offsets are whole hours."""
    return (epoch_us(period.start) % 3_600_000_000 == 0 and epoch_us(period.end) % 3_600_000_000 == 0
            and all(off % 3600 == 0 for _, off in utc_offsets(period)))


def day_of(number: int) -> date:
    """The date of a day number."""
    return date(1970, 1, 1) + timedelta(days=int(number))


def day_number(d: date) -> int:
    """The day number of a date."""
    return (d - date(1970, 1, 1)).days
