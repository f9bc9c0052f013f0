"""The admin's calendar overrides: stored in the database, read through a short per-process cache."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared import outbox, stays
from shared.calendar import Override
from shared.clock import Calendar, calendar_for
from shared.models import CalendarOverride
from shared.settings import Settings, get_settings
from shared.tasks import TaskName

TTL = 30.0  # seconds a process trusts its copy; a change is also pushed by the recompute task
_cache: dict[str, tuple[float, dict[date, Override]]] = {}
# The calendar made from the cached overrides, kept while they are: it keeps each day's open spans
# once computed (the stays written at every hand-off measure the same few days).
_calendars: dict[str, tuple[Settings, Mapping[date, Override], Calendar]] = {}


def _fresh() -> dict[date, Override] | None:
    hit = _cache.get("overrides")
    return hit[1] if hit and hit[0] > time.monotonic() else None


def _keep(rows: list[CalendarOverride]) -> dict[date, Override]:
    value = {r.day: Override(r.day, r.open, r.reason) for r in rows}
    _cache["overrides"] = (time.monotonic() + TTL, value)
    return value


def invalidate() -> None:
    _cache.pop("overrides", None)
    _calendars.pop("calendar", None)


def overrides(session: Session) -> Mapping[date, Override]:
    """Every override (cached for TTL seconds)."""
    cached = _fresh()
    if cached is not None:
        return cached
    return _keep(list(session.scalars(select(CalendarOverride))))


def calendar(session: Session) -> Calendar:
    """The office calendar with every override (cached with them)."""
    settings, days = get_settings(), overrides(session)
    hit = _calendars.get("calendar")
    if hit is not None and hit[0] is settings and hit[1] is days:
        return hit[2]
    made = calendar_for(settings, days)
    _calendars["calendar"] = (settings, days, made)
    return made


async def overrides_async(session: AsyncSession) -> Mapping[date, Override]:
    """Async twin of `overrides` for the intake API."""
    cached = _fresh()
    if cached is not None:
        return cached
    return _keep(list(await session.scalars(select(CalendarOverride))))


def set_override(session: Session, day: date, *, open_: bool, reason: str, actor: str, now: datetime) -> None:
    """Close (or open) `day`, measure again the stays over it, and queue the recomputation of
    pending deadlines."""
    row = session.get(CalendarOverride, day)
    if row is None:
        session.add(CalendarOverride(day=day, open=open_, reason=reason, created_by=actor, created_at=now))
    else:
        row.open, row.reason, row.created_by, row.created_at = open_, reason, actor, now
    _changed(session, day, now)


def clear_override(session: Session, day: date, *, now: datetime) -> bool:
    """Remove the override of `day`; False if there was none."""
    result = session.execute(delete(CalendarOverride).where(CalendarOverride.day == day))
    if not getattr(result, "rowcount", 0):
        return False
    _changed(session, day, now)
    return True


def _changed(session: Session, day: date, now: datetime) -> None:
    """The completed stays over `day` measured again at once; the deadlines recomputed now, and
    once more (with the stays over `day`) when every process's cached copy has expired: a
    complaint filed or a stay ended meanwhile by a process still on the old calendar gets the
    new one too."""
    invalidate()
    stays.recompute(session, day)
    outbox.enqueue(session, TaskName.RECOMPUTE, {"reason": "calendar"}, now=now)
    later = now + timedelta(seconds=TTL + 5)
    # The stays over `day` are measured again then too: one another process ended meanwhile was
    # measured on its cached copy of the calendar.
    payload = {"reason": "calendar, caches expired", "day": day.isoformat()}
    outbox.enqueue_at(session, TaskName.RECOMPUTE, payload, now=now, at=later)
