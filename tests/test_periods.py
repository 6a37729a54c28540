"""Periods: parsing, boundaries in a time zone, previous and year-earlier periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from teiten.errors import SettingError
from teiten.periods import parse_period, period_between


def test_month_and_its_neighbours() -> None:
    p = parse_period("2009-07")
    assert (p.kind, p.first, p.last, p.days, p.label) == ("month", date(2009, 7, 1), date(2009, 7, 31), 31, "2009-07")
    assert p.previous().label == "2009-06" and p.previous().days == 30
    assert parse_period("2009-01").previous().label == "2008-12"
    assert parse_period("2024-03").previous().days == 29  # February of a leap year
    assert p.year_before().label == "2008-07"
    assert p.start == datetime(2009, 7, 1, tzinfo=UTC) and p.end == datetime(2009, 8, 1, tzinfo=UTC)


def test_quarter_and_its_neighbours() -> None:
    q = parse_period("2017Q3")
    assert (q.first, q.last, q.days) == (date(2017, 7, 1), date(2017, 9, 30), 92)
    assert q.previous().label == "2017Q2" and q.previous().days == 91
    assert parse_period("2017q1").previous().label == "2016Q4"
    assert q.year_before().label == "2016Q3"
    assert q.compared("previous") == q.previous() and q.compared("year") == q.year_before()


def test_time_zone_moves_the_boundaries() -> None:
    p = parse_period("2009-07", "Asia/Tokyo")
    assert p.start == datetime(2009, 6, 30, 15, tzinfo=UTC) and p.end == datetime(2009, 7, 31, 15, tzinfo=UTC)
    assert p.to_json()["start"] == "2009-06-30T15:00:00Z"
    # a month with a daylight-saving change has a 23- or 25-hour day
    m = parse_period("2026-03", "Europe/Berlin")
    assert (m.end - m.start).total_seconds() == 31 * 86400 - 3600


def test_ranges() -> None:
    r = period_between("2026-07-10", "2026-07-16")
    assert r.days == 7 and r.previous().first == date(2026, 7, 3) and r.previous().last == date(2026, 7, 9)
    assert r.year_before().first == date(2025, 7, 10) and r.year_before().days == 7
    assert period_between("2024-02-29", "2024-03-01").year_before().first == date(2023, 2, 28)


@pytest.mark.parametrize("text", ["2009-13", "2009Q5", "July", "2009-7-1", ""])
def test_bad_periods_are_clear_errors(text: str) -> None:
    with pytest.raises(SettingError, match=r"period|month"):
        parse_period(text)


def test_bad_zone_and_reversed_range() -> None:
    with pytest.raises(SettingError, match="time zone"):
        parse_period("2009-07", "Mars/Olympus")
    for hostile in ("x" * 300, "Asia/\x00Tokyo", "../../../etc/passwd", "Asia/Tokyo\n", "\U000d68a4" * 40):
        with pytest.raises(SettingError, match="time zone"):  # never an OSError from the file system
            parse_period("2009-07", hostile)
    with pytest.raises(SettingError, match="before"):
        period_between("2026-07-10", "2026-07-01")


def test_resolve_reads_the_span_only_for_an_open_end() -> None:
    from datetime import UTC, datetime

    from teiten.periods import resolve

    asked: list[int] = []

    def span() -> tuple[datetime, datetime]:
        asked.append(1)
        return datetime(2026, 7, 1, 3, tzinfo=UTC), datetime(2026, 7, 20, 16, tzinfo=UTC)

    assert resolve("2026Q3", None, None, "UTC", span).label == "2026Q3" and not asked
    assert resolve(None, "2026-07-02", "2026-07-05", "UTC", span).days == 4 and not asked
    p = resolve(None, "2026-07-10", None, "Asia/Tokyo", span)
    assert (p.first.isoformat(), p.last.isoformat()) == ("2026-07-10", "2026-07-21") and asked  # 16:00Z is the 21st JST
    p = resolve(None, None, None, "UTC", span)
    assert (p.first.isoformat(), p.last.isoformat()) == ("2026-07-01", "2026-07-20")
    with pytest.raises(SettingError, match="no packets"):
        resolve(None, None, None, "UTC", lambda: None)
    with pytest.raises(SettingError, match="not both"):
        resolve("2026Q3", "2026-07-01", None, "UTC", span)
