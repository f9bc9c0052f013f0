"""The one clock and the calendar interface every deadline is computed through."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from shared.calendar import WIB as WIB
from shared.calendar import OfficeCalendar, Override, Period, parse_weekly
from shared.settings import Settings
from shared.sop import STEPS, Step


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); None restores the system clock."""
    global _now
    _now = fn or _system_now


def to_wib(moment: datetime) -> datetime:
    return moment.astimezone(WIB)


class Calendar(Protocol):
    """Office time: adds a budget of open time to a moment, and measures open time between two."""

    def add(self, start: datetime, budget: timedelta) -> datetime: ...

    def budget(self, standard: timedelta) -> timedelta: ...

    def open_time(self, start: datetime, end: datetime) -> timedelta: ...

    def next_open(self, moment: datetime) -> datetime: ...


class AlwaysOpen:
    """A 24/7 calendar: office time is elapsed time."""

    def add(self, start: datetime, budget: timedelta) -> datetime:
        return start + budget

    def budget(self, standard: timedelta) -> timedelta:
        return standard

    def next_open(self, moment: datetime) -> datetime:
        return moment

    def open_time(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))


def calendar_for(settings: Settings, overrides: Mapping[date, Override] | None = None) -> Calendar:
    """The calendar the settings name, with the admin's day overrides."""
    if settings.calendar == "always_open":
        return AlwaysOpen()
    return replace(_office(settings), overrides=dict(overrides or {}))


def _office(settings: Settings) -> OfficeCalendar:
    key = (id(settings), settings.calendar)
    cached = _offices.get(key)
    if cached is None:
        cached = OfficeCalendar(
            weekly=parse_weekly(settings.office_hours),
            periods=tuple(Period(p.first, p.last, parse_weekly(p.hours)) for p in settings.ramadan),
            cuti_bersama_closes=settings.cuti_bersama_closes,
            working_day=settings.working_day,
        )
        _offices[key] = cached
    return cached


_offices: dict[tuple[int, str], OfficeCalendar] = {}


def step_standard(settings: Settings, step: Step) -> timedelta | None:
    """The time standard of a step: the setting `ADUAN_SLA_<STEP>` when set, else the SOP's."""
    override: timedelta | None = getattr(settings, f"sla_{step.value}")
    return override if override is not None else STEPS[step].standard


def step_due(
    settings: Settings,
    step: Step,
    entered_at: datetime,
    overrides: Mapping[date, Override] | None = None,
    used: timedelta = timedelta(0),
) -> datetime | None:
    """When a complaint that entered `step` at `entered_at` breaches the step's standard."""
    return step_deadline(settings, step, entered_at, overrides, used=used)


def step_deadline(
    settings: Settings,
    step: Step,
    entered_at: datetime,
    overrides: Mapping[date, Override] | None = None,
    share: float = 1.0,
    used: timedelta = timedelta(0),
) -> datetime | None:
    """When `share` of the step's standard (in office time) is used up, from `entered_at`.

    `used`: open time of the budget spent before this stay (a stay resumed after a pause).
    """
    standard = step_standard(settings, step)
    if standard is None:
        return None
    calendar = calendar_for(settings, overrides)
    return calendar.add(entered_at, max(calendar.budget(standard) * share - used, timedelta(0)))
