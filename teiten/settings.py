"""Settings, declared once: each can be given as an option or as TEITEN_<NAME>.

| setting | variable      | default          | meaning                                   |
|---------|---------------|------------------|-------------------------------------------|
| store   | TEITEN_STORE  | ./teiten-store   | the store directory                       |
| tz      | TEITEN_TZ     | UTC              | time zone of day and month boundaries     |
| memory  | TEITEN_MEMORY_LIMIT | 40 % of RAM | engine memory bound (variable only)        |
| status_map | TEITEN_STATUS_MAP | built in   | tracker status words → coordination states (incidents import) |
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teiten.errors import SettingError

__all__ = ["DEFAULT_STORE", "day_bounds", "parse_day", "zone"]

DEFAULT_STORE = "teiten-store"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"unknown time zone {name!r} (use an IANA name such as Asia/Tokyo)") from None


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SettingError(f"not a date (YYYY-MM-DD): {text!r}") from None


def day_bounds(first: date | None, last: date | None, tz: str) -> tuple[datetime | None, datetime | None]:
    """[start, end) instants of the days first..last (inclusive) in time zone ``tz``."""
    z = zone(tz)
    start = datetime.combine(first, time(0), z) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), z) if last else None
    if start and end and end <= start:
        raise SettingError("--to is before --from")
    return start, end
