"""Office time: weekly hours with breaks, a Ramadan profile, Indonesian holidays and overrides.

Every step deadline is counted in open hours only: a 30-minute standard that starts at 15:50 on a
Friday with the office closing at 16:30 ends at 16:20; one that starts at 16:20 ends on the next
open day. All arithmetic is done in Asia/Jakarta (WIB, no daylight saving), stored in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

WIB = ZoneInfo("Asia/Jakarta")


# Longest walk through the calendar before giving up (a misconfiguration with no open hours).
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Span:
    """One open stretch of a day, e.g. 07:30-12:00."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Span:
        """`"07:30-12:00"` -> Span(07:30, 12:00)."""
        left, _, right = text.partition("-")
        span = cls(time.fromisoformat(left.strip()), time.fromisoformat(right.strip()))
        if span.end <= span.start:
            raise ValueError(f"office hours {text!r}: the end must come after the start")
        return span


WeeklyHours = Mapping[int, tuple[Span, ...]]  # weekday (0 = Monday) -> open spans

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekly(spec: Mapping[str, Iterable[str]]) -> dict[int, tuple[Span, ...]]:
    """`{"mon": ["07:30-12:00", "13:00-16:00"], …}` -> weekday -> spans (sorted, not overlapping)."""
    weekly: dict[int, tuple[Span, ...]] = {}
    for name, spans in spec.items():
        key = name.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ValueError(f"office hours: unknown day {name!r}; use mon … sun")
        parsed = tuple(sorted((Span.parse(s) for s in spans), key=lambda s: s.start))
        for a, b in pairwise(parsed):
            if b.start < a.end:
                raise ValueError(f"office hours for {name}: {a} overlaps {b}")
        weekly[WEEKDAYS.index(key)] = parsed
    return weekly


DEFAULT_HOURS = {  # Perpres 21/2023 pattern as in neighbouring Kabupaten Magelang: 37.5 h/week
    "mon": ["07:30-12:00", "13:00-16:00"],
    "tue": ["07:30-12:00", "13:00-16:00"],
    "wed": ["07:30-12:00", "13:00-16:00"],
    "thu": ["07:30-12:00", "13:00-16:00"],
    "fri": ["07:30-11:30", "13:00-16:30"],
}

DEFAULT_RAMADAN_HOURS = {  # 32.5 h/week from 08:00
    "mon": ["08:00-12:00", "12:30-15:00"],
    "tue": ["08:00-12:00", "12:30-15:00"],
    "wed": ["08:00-12:00", "12:30-15:00"],
    "thu": ["08:00-12:00", "12:30-15:00"],
    "fri": ["08:00-11:30", "13:00-16:00"],
}


@dataclass(frozen=True)
class Period:
    """A date range with its own weekly hours (the Ramadan profile)."""

    first: date
    last: date
    weekly: WeeklyHours


@dataclass(frozen=True)
class Override:
    """An admin's decision about one day: closed (with a reason) or open despite a holiday."""

    day: date
    open: bool
    reason: str


@dataclass
class OfficeCalendar:
    """Open hours of one office; `add` and `open_time` implement shared.clock.Calendar."""

    weekly: WeeklyHours
    periods: tuple[Period, ...] = ()
    cuti_bersama_closes: bool = True
    overrides: Mapping[date, Override] = field(default_factory=dict)
    # A standard of whole days ("1 day", P1D) counts each day as this much open time.
    working_day: timedelta = timedelta(hours=7, minutes=30)
    # Each day's spans, as first asked for: a calendar is not changed once made (calendar_for
    # makes a new one from each read of the overrides). The reports ask for the same days
    # millions of times; the holidays and overrides behind a day are looked up once.
    _spans: dict[date, list[tuple[datetime, datetime]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # --- what a day looks like -----------------------------------------------------------------

    def closed_reason(self, day: date) -> str | None:
        """Why the office is closed on `day` (holiday name, override reason), or None if it opens."""
        override = self.overrides.get(day)
        if override is not None:
            return None if override.open else override.reason or "ditutup"
        public, government = _holidays(day.year)
        if day in public:
            return str(public[day])
        if self.cuti_bersama_closes and day in government:
            return str(government[day])
        if not self._hours_of(day):
            return "di luar hari kerja"
        return None

    def _hours_of(self, day: date) -> tuple[Span, ...]:
        weekly = self.weekly
        for period in self.periods:
            if period.first <= day <= period.last:
                weekly = period.weekly
                break
        spans = weekly.get(day.weekday(), ())
        if not spans and day in self.overrides and self.overrides[day].open:
            spans = weekly.get(0, ())  # an extra open weekend day keeps Monday's hours
        return spans

    def spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open stretches of `day` as aware WIB datetimes ([] when closed); not to be changed."""
        found = self._spans.get(day)
        if found is None:
            found = self._spans[day] = (
                []
                if self.closed_reason(day) is not None
                else [
                    (datetime.combine(day, s.start, WIB), datetime.combine(day, s.end, WIB))
                    for s in self._hours_of(day)
                ]
            )
        return found

    def _spans_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open stretches at or after `start`, clipped to it, day by day."""
        local = start.astimezone(WIB)
        day = local.date()
        for _ in range(MAX_DAYS):
            for a, b in self.spans(day):
                if b > local:
                    yield max(a, local), b
            day += timedelta(days=1)
        raise ValueError(f"no open office hours within {MAX_DAYS} days of {start.isoformat()}")

    # --- the Calendar interface ----------------------------------------------------------------

    def add(self, start: datetime, budget: timedelta) -> datetime:
        """The moment `budget` of open time after `start` has been used up."""
        if budget <= timedelta(0):
            return start
        remaining = budget
        for a, b in self._spans_from(start):
            if b - a >= remaining:
                return (a + remaining).astimezone(start.tzinfo)
            remaining -= b - a
        raise AssertionError("unreachable: _spans_from raises when it runs out")  # pragma: no cover

    def budget(self, standard: timedelta) -> timedelta:
        """Open time a standard stands for: each whole day is one working day.

        So "1 day" from Tuesday 10:00 ends Wednesday 10:00 (both ordinary working days).
        """
        return self.working_day * standard.days + (standard - timedelta(days=standard.days))

    def open_time(self, start: datetime, end: datetime) -> timedelta:
        """Open time between `start` and `end`."""
        total = timedelta(0)
        if end <= start:
            return total
        for a, b in self._spans_from(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total

    def month(self, first: date) -> list[tuple[date, list[str], str | None]]:
        """Each day of `first`'s month: its open hours ("07:30-12:00") and why it is closed, if it is."""
        return self.days(month_dates(first))

    def days(self, dates: Iterable[date]) -> list[tuple[date, list[str], str | None]]:
        """Each of `dates`: its open hours ("07:30-12:00") and why it is closed, if it is."""
        return [
            (day, [f"{a:%H:%M}-{b:%H:%M}" for a, b in self.spans(day)], self.closed_reason(day))
            for day in dates
        ]

    def next_open(self, moment: datetime) -> datetime:
        """`moment` if the office is open then, else when it next opens."""
        a, _ = next(self._spans_from(moment))
        return a.astimezone(moment.tzinfo)


def month_dates(first: date) -> list[date]:
    """Every date of `first`'s month."""
    start = first.replace(day=1)
    dates = []
    day = start
    while day.month == start.month:
        dates.append(day)
        day += timedelta(days=1)
    return dates


@lru_cache(maxsize=16)
def _holidays(year: int) -> tuple[Mapping[date, str], Mapping[date, str]]:
    """(public holidays, cuti bersama) of `year`, in Indonesian."""
    public = holidays.country_holidays("ID", categories=("public",), language="id", years=year)
    government = holidays.country_holidays("ID", categories=("government",), language="id", years=year)
    return dict(public), dict(government)
