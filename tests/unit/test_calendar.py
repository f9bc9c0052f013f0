"""Office-time arithmetic: hours and breaks, Fridays, holidays, cuti bersama, overrides, Ramadan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.calendar import (
    DEFAULT_HOURS,
    DEFAULT_RAMADAN_HOURS,
    OfficeCalendar,
    Override,
    Period,
    parse_weekly,
)
from shared.clock import WIB

HOURS = parse_weekly(DEFAULT_HOURS)
MIN30 = timedelta(minutes=30)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)  # type: ignore[arg-type,misc]


@pytest.fixture
def office() -> OfficeCalendar:
    return OfficeCalendar(HOURS)


def test_the_week_has_37_and_a_half_open_hours(office: OfficeCalendar) -> None:
    week = office.open_time(wib(2026, 11, 30, 0, 0), wib(2026, 12, 7, 0, 0))
    assert week == timedelta(hours=37, minutes=30)


def test_friday_afternoon_runs_into_monday_morning(office: OfficeCalendar) -> None:
    assert office.add(wib(2026, 11, 27, 16, 20), MIN30) == wib(2026, 11, 30, 7, 50)


def test_cuti_bersama_closes_the_office_when_the_setting_says_so() -> None:
    start = wib(2026, 3, 17, 15, 50)  # Nyepi, Idul Fitri and their cuti bersama follow
    assert OfficeCalendar(HOURS).add(start, MIN30) == wib(2026, 3, 25, 7, 50)
    assert OfficeCalendar(HOURS, cuti_bersama_closes=False).add(start, MIN30) == wib(2026, 3, 18, 7, 50)


def test_the_lunch_break_does_not_count(office: OfficeCalendar) -> None:
    assert office.add(wib(2026, 11, 25, 11, 50), MIN30) == wib(2026, 11, 25, 13, 20)
    # Friday's break is 90 minutes, from 11:30
    assert office.add(wib(2026, 11, 27, 11, 20), MIN30) == wib(2026, 11, 27, 13, 20)


def test_a_complaint_filed_while_closed_starts_at_the_next_opening(office: OfficeCalendar) -> None:
    assert office.add(wib(2026, 11, 28, 10, 0), MIN30) == wib(2026, 11, 30, 8, 0)  # Saturday
    assert office.add(wib(2026, 11, 25, 5, 0), MIN30) == wib(2026, 11, 25, 8, 0)  # before opening
    assert office.add(wib(2026, 11, 25, 12, 30), MIN30) == wib(2026, 11, 25, 13, 30)  # lunch


def test_one_working_day_is_seven_and_a_half_open_hours(office: OfficeCalendar) -> None:
    one_day = timedelta(hours=7, minutes=30)
    assert office.add(wib(2026, 11, 25, 10, 0), one_day) == wib(2026, 11, 26, 10, 0)
    # Christmas Eve (cuti bersama) and Christmas close the office: Wednesday -> Monday
    assert office.add(wib(2026, 12, 23, 10, 0), one_day) == wib(2026, 12, 28, 10, 0)


def test_overrides_close_or_open_a_day(office: OfficeCalendar) -> None:
    closed = OfficeCalendar(
        HOURS,
        overrides={
            date(2026, 11, 30): Override(date(2026, 11, 30), open=False, reason="Rapat kerja"),
        },
    )
    assert closed.add(wib(2026, 11, 27, 16, 20), MIN30) == wib(2026, 12, 1, 7, 50)
    assert closed.closed_reason(date(2026, 11, 30)) == "Rapat kerja"
    opened = OfficeCalendar(
        HOURS,
        overrides={
            date(2026, 12, 24): Override(date(2026, 12, 24), open=True, reason="Layanan tetap buka"),
        },
    )
    assert opened.add(wib(2026, 12, 23, 15, 50), MIN30) == wib(2026, 12, 24, 7, 50)
    assert office.closed_reason(date(2026, 12, 25)) == "Hari Raya Natal"


def test_ramadan_profile_has_its_own_hours() -> None:
    ramadan = OfficeCalendar(
        HOURS, periods=(Period(date(2027, 2, 8), date(2027, 3, 9), parse_weekly(DEFAULT_RAMADAN_HOURS)),)
    )
    assert ramadan.add(wib(2027, 2, 10, 14, 50), MIN30) == wib(2027, 2, 11, 8, 20)
    week = ramadan.open_time(wib(2027, 2, 15, 0, 0), wib(2027, 2, 22, 0, 0))
    assert week == timedelta(hours=32, minutes=30)


def test_wib_is_utc_plus_seven_without_daylight_saving(office: OfficeCalendar) -> None:
    start = datetime(2026, 11, 27, 9, 20, tzinfo=UTC)  # 16:20 WIB, Friday
    due = office.add(start, MIN30)
    assert due == datetime(2026, 11, 30, 0, 50, tzinfo=UTC) and due.tzinfo == UTC
    july = office.add(datetime(2026, 7, 3, 9, 20, tzinfo=UTC), MIN30)  # also a Friday
    assert july == datetime(2026, 7, 6, 0, 50, tzinfo=UTC)


def test_open_time_counts_only_open_hours(office: OfficeCalendar) -> None:
    assert office.open_time(wib(2026, 11, 27, 16, 0), wib(2026, 11, 30, 8, 0)) == timedelta(hours=1)
    assert office.open_time(wib(2026, 11, 30, 8, 0), wib(2026, 11, 27, 16, 0)) == timedelta(0)


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="end must come after"):
        parse_weekly({"mon": ["12:00-07:30"]})
    with pytest.raises(ValueError, match="overlaps"):
        parse_weekly({"mon": ["07:30-12:00", "11:00-16:00"]})
    with pytest.raises(ValueError, match="unknown day"):
        parse_weekly({"senin": ["07:30-12:00"]})
    with pytest.raises(ValueError, match="no open office hours"):
        OfficeCalendar({}).add(wib(2026, 11, 25, 8, 0), MIN30)


def test_a_day_long_standard_is_one_working_day(office: OfficeCalendar) -> None:
    def add(start: datetime, standard: timedelta) -> datetime:
        return office.add(start, office.budget(standard))

    assert add(wib(2026, 11, 24, 10, 0), timedelta(days=1)) == wib(2026, 11, 25, 10, 0)
    # Friday 14:00-16:30 is 2.5 h, so Monday supplies 5 h: 07:30-12:00 and 13:00-13:30
    assert add(wib(2026, 11, 27, 14, 0), timedelta(days=1)) == wib(2026, 11, 30, 13, 30)
    assert add(wib(2026, 11, 24, 10, 0), timedelta(days=2, minutes=30)) == wib(2026, 11, 26, 10, 30)
