"""Reporting periods: a month ``2009-07``, a quarter ``2017Q3``, or a range of days
(docs/analysis.md, "Periods and time zones").

Day boundaries follow a time zone (the ``tz`` setting, default UTC): July 2009 in
Asia/Tokyo starts at 2009-06-30T15:00Z.  The previous period is the preceding one of
the same kind (June for July, Q2 for Q3, the same number of days before a range); the
year-earlier period is the same one a year before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teiten.errors import SettingError


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (a clear error for an unknown one, or one that is not a
    name at all: too long, control characters, not a file the zone database can open)."""
    try:
        if len(name) > 64 or not name.isprintable():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SettingError(f"unknown time zone {name[:64]!r} (use an IANA name such as Asia/Tokyo)") from None


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SettingError(f"not a date (YYYY-MM-DD): {text!r}") from None

__all__ = ["Period", "parse_day", "parse_period", "period_between", "resolve", "zone"]

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


def _month_start(year: int, month: int) -> date:
    year += (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | range
    first: date  # first day
    last: date  # last day, inclusive
    tz: str = "UTC"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first.year}-{self.first.month:02d}"
        if self.kind == "quarter":
            return f"{self.first.year}Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def day_list(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    @property
    def start(self) -> datetime:
        """The first instant, in UTC."""
        return datetime.combine(self.first, time(0), zone(self.tz)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last, in UTC (the period is [start, end))."""
        return datetime.combine(self.last + timedelta(days=1), time(0), zone(self.tz)).astimezone(UTC)

    def shifted(self, months: int) -> Period:
        """The period of the same kind ``months`` months later (earlier when negative)."""
        if self.kind == "range":
            raise ValueError("a range shifts by days")
        span = 1 if self.kind == "month" else 3
        first = _month_start(self.first.year, self.first.month + months)
        nxt = _month_start(first.year, first.month + span)
        return Period(self.kind, first, nxt - timedelta(days=1), self.tz)

    def previous(self) -> Period:
        if self.kind == "range":
            return Period("range", self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.tz)
        return self.shifted(-1 if self.kind == "month" else -3)

    def year_before(self) -> Period:
        if self.kind == "range":
            first = self.first.replace(year=self.first.year - 1) if not (
                self.first.month == 2 and self.first.day == 29) else date(self.first.year - 1, 2, 28)
            return Period("range", first, first + timedelta(days=self.days - 1), self.tz)
        return self.shifted(-12)

    def compared(self, compare: str) -> Period:
        """The period to compare with: ``previous`` or ``year``."""
        if compare == "previous":
            return self.previous()
        if compare == "year":
            return self.year_before()
        raise SettingError(f"--compare must be previous or year, not {compare!r}")

    def to_json(self) -> dict[str, object]:
        return {"label": self.label, "kind": self.kind, "from": self.first.isoformat(),
                "to": self.last.isoformat(), "days": self.days, "tz": self.tz,
                "start": self.start.isoformat().replace("+00:00", "Z"),
                "end": self.end.isoformat().replace("+00:00", "Z")}


def parse_period(text: str, tz: str = "UTC") -> Period:
    """``2009-07`` (month) or ``2017Q3`` (quarter)."""
    zone(tz)  # a clear error for an unknown zone, now
    t = text.strip()
    if m := _MONTH.match(t):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise SettingError(f"no month {month} in {text!r}")
        first = date(year, month, 1)
        return Period("month", first, _month_start(year, month + 1) - timedelta(days=1), tz)
    if m := _QUARTER.match(t):
        year, q = int(m.group(1)), int(m.group(2))
        first = date(year, 3 * q - 2, 1)
        return Period("quarter", first, _month_start(year, 3 * q + 1) - timedelta(days=1), tz)
    raise SettingError(f"a period is a month (2009-07) or a quarter (2017Q3), not {text!r}")


def period_between(first: str | date, last: str | date, tz: str = "UTC") -> Period:
    """The days ``first`` .. ``last`` (inclusive) as a range."""
    zone(tz)
    a = parse_day(first) if isinstance(first, str) else first
    b = parse_day(last) if isinstance(last, str) else last
    if b < a:
        raise SettingError(f"--to {b} is before --from {a}")
    return Period("range", a, b, tz)


def resolve(period: str | None, first: str | None, last: str | None, tz: str,
            span: Callable[[], tuple[datetime, datetime] | None]) -> Period:
    """The period a command asks about: ``period`` (a month or quarter), else the days
    ``first`` .. ``last`` where an open end is the first or last day of the data (``span``,
    asked only then: the first and last packet time), else all the data."""
    if period is not None:
        if first or last:
            raise SettingError("give a period or a range of days, not both")
        return parse_period(period, tz)
    if first and last:
        return period_between(first, last, tz)
    s = span()
    if s is None:
        raise SettingError("the store holds no packets yet (teiten ingest)")
    z = zone(tz)
    return period_between(first or s[0].astimezone(z).date(), last or s[1].astimezone(z).date(), tz)
