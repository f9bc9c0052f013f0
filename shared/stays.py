"""Every completed stay at a step, once: the `stays` table the SLA reports aggregate.

A stay is read from a complaint's history (`fold`): it opens with the row that placed the complaint
in a step's queue and ends with the action that moved it on, an officer's or the system's settling
of an answer a gateway delivered; the time spent waiting for the complainant's documents does not
count. Its office minutes are measured on the office calendar when it ends.

Written at the flush of the history row that ends it (`after_flush`, installed on every Session by
shared.models), in the same transaction, whoever writes that row; history written by Core INSERTs (the
intake's filing, which only opens stays) is not seen there, and the migration that made the table
filled it from the history before (`backfill`, the same `fold`). A change of the office calendar
recomputes the minutes of the stays over the changed day (`recompute`), in the change's unit of work.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Select, func, insert, select, update
from sqlalchemy.orm import Session

from shared.calendar import Override
from shared.clock import WIB, Calendar, calendar_for
from shared.models import CalendarOverride, History, StayRecord
from shared.settings import Settings, get_settings
from shared.sop import Outcome, Step

OUTCOMES = frozenset(o.value for o in Outcome)


@dataclass(frozen=True)
class Stay:
    complaint_id: int
    step: str
    unit: str | None
    entered: datetime
    left: datetime
    # Spans spent waiting for the complainant (request_info .. info_received): the clock stood.
    paused: tuple[tuple[datetime, datetime], ...] = ()
    history_id: int | None = None  # the history row that ended it


class HistoryFacts(Protocol):
    """The columns of a history row that `fold` reads."""

    @property
    def id(self) -> int: ...
    @property
    def complaint_id(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def from_step(self) -> str | None: ...
    @property
    def to_step(self) -> str | None: ...
    @property
    def role(self) -> str | None: ...
    @property
    def detail(self) -> dict[str, Any] | None: ...
    @property
    def at(self) -> datetime: ...


HISTORY_COLUMNS = (
    History.id,
    History.complaint_id,
    History.action,
    History.from_step,
    History.to_step,
    History.role,
    History.detail,
    History.at,
)


def _moves_on(h: HistoryFacts) -> bool:
    """An action (an officer's, or one with an outcome) that took the complaint out of its step."""
    # The outcome the complaint closed with; an officer's delivery attempt also records how the
    # attempt went under "outcome" (unreachable: the complaint stays at delivery).
    outcome = (h.detail or {}).get("outcome") in OUTCOMES
    if not h.from_step or (h.role is None and not outcome):
        return False
    # an attempt (or a reminder) leaves the complaint where it was
    return not (h.to_step == h.from_step or (h.to_step is None and not outcome))


def may_end_a_stay(h: HistoryFacts) -> bool:
    """Whether `h` can end a stay (what `fold` would close a stay on, if one is open)."""
    return h.action not in {"received", "queued", "request_info"} and _moves_on(h)


def fold(rows: Iterable[HistoryFacts]) -> list[Stay]:
    """Every completed stay in `rows`: history ordered by complaint, then id."""
    stays: list[Stay] = []
    open_at: dict[tuple[int, str], datetime] = {}
    paused_at: dict[tuple[int, str], datetime] = {}
    paused: dict[tuple[int, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    unit: dict[int, str | None] = {}
    for h in rows:
        key = (h.complaint_id, h.from_step or "")
        if h.action == "dispose":
            unit[h.complaint_id] = (h.detail or {}).get("unit")
        if h.action in {"received", "queued"} and h.to_step:
            open_at[(h.complaint_id, h.to_step)] = h.at
        elif h.action == "request_info":
            paused_at[key] = h.at
        elif h.action == "info_received" and key in paused_at:
            paused[key].append((paused_at.pop(key), h.at))
        elif h.from_step and _moves_on(h):
            entered = open_at.pop(key, None)
            spans = paused.pop(key, [])
            if key in paused_at:  # closed while waiting (rejected, referred): paused until then
                spans.append((paused_at.pop(key), h.at))
            if entered is not None:
                stays.append(
                    Stay(
                        h.complaint_id,
                        h.from_step,
                        unit.get(h.complaint_id) if h.from_step == Step.DRAFTING else None,
                        entered,
                        h.at,
                        tuple(spans),
                        h.id,
                    )
                )
    return stays


def stays_of(session: Session | Connection, complaint_ids: Select[Any]) -> list[Stay]:
    """Every completed stay at a step of the complaints `complaint_ids` selects, from their history."""
    return _folded(session, History.complaint_id.in_(complaint_ids))


def _folded(session: Session | Connection, *where: ColumnElement[bool]) -> list[Stay]:
    # The columns, as plain rows: no ORM object per history row (millions a year).
    return fold(
        session.execute(
            select(*HISTORY_COLUMNS).where(*where).order_by(History.complaint_id, History.id)
        ).all()
    )


def office_minutes(calendar: Calendar, stay: Stay) -> float:
    """The office minutes a stay took on its step's clock (the time spent waiting for the
    complainant's documents does not count)."""
    clock = calendar.open_time(stay.entered, stay.left)
    clock -= sum((calendar.open_time(a, b) for a, b in stay.paused), timedelta(0))
    return clock / timedelta(minutes=1)


def _record(calendar: Calendar, stay: Stay) -> dict[str, Any]:
    """The `stays` row of a stay."""
    return {
        "history_id": stay.history_id,
        "complaint_id": stay.complaint_id,
        "step": stay.step,
        "unit": stay.unit,
        "entered_at": stay.entered,
        "left_at": stay.left,
        "paused": [[a.isoformat(), b.isoformat()] for a, b in stay.paused] or None,
        "office_minutes": office_minutes(calendar, stay),
    }


def _calendar(conn: Session | Connection, settings: Settings) -> Calendar:
    """The office calendar with the overrides as the database holds them now (not a cached copy)."""
    rows = conn.execute(select(CalendarOverride.day, CalendarOverride.open, CalendarOverride.reason))
    return calendar_for(settings, {r.day: Override(r.day, r.open, r.reason) for r in rows})


def after_flush(session: Session, _context: Any) -> None:
    """Write the stays that the history rows just flushed ended (a Session `after_flush` hook)."""
    ending = [o for o in session.new if isinstance(o, History) and may_end_a_stay(o)]
    if not ending:
        return
    conn = session.connection()
    ids = {h.id for h in ending}
    complaints = select(History.complaint_id).where(History.id.in_(ids))
    stays = [s for s in stays_of(conn, complaints) if s.history_id in ids]
    if stays:
        calendar = _calendar(conn, get_settings())
        conn.execute(insert(StayRecord), [_record(calendar, s) for s in stays])


def backfill(conn: Connection, settings: Settings, *, batch: int = 5000) -> int:
    """Write the stays of the whole history (`batch` complaints at a time); returns how many."""
    calendar = _calendar(conn, settings)
    low, high = conn.execute(select(func.min(History.complaint_id), func.max(History.complaint_id))).one()
    written = 0
    if low is None:
        return 0
    for first in range(low, high + 1, batch):
        stays = _folded(conn, History.complaint_id >= first, History.complaint_id < first + batch)
        if stays:
            _write(conn, [_record(calendar, s) for s in stays])
            written += len(stays)
    return written


def _write(conn: Connection, records: list[dict[str, Any]]) -> None:
    """Insert `records`; by COPY on PostgreSQL (a million stays: minutes less than INSERTs)."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(StayRecord), records)
        return
    columns = list(records[0])
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY stays ({', '.join(columns)}) FROM STDIN") as copy:
        for r in records:
            copy.write_row([json.dumps(r[c]) if c == "paused" and r[c] else r[c] for c in columns])


def _paused(spans: Sequence[Sequence[str]] | None) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in spans or ())


def recompute(session: Session, day: date, *, overrides: Mapping[date, Override] | None = None) -> int:
    """After the office calendar changed on `day`: the office minutes of every stay over that day,
    measured again; returns how many changed."""
    start = datetime.combine(day, time(0), WIB)
    end = start + timedelta(days=1)
    settings = get_settings()
    calendar = calendar_for(settings, overrides) if overrides is not None else _calendar(session, settings)
    rows = session.execute(
        select(
            StayRecord.id,
            StayRecord.complaint_id,
            StayRecord.step,
            StayRecord.entered_at,
            StayRecord.left_at,
            StayRecord.paused,
            StayRecord.office_minutes,
        ).where(StayRecord.left_at > start, StayRecord.entered_at < end)
    ).all()
    changed = []
    for r in rows:
        stay = Stay(r.complaint_id, r.step, None, r.entered_at, r.left_at, _paused(r.paused))
        minutes = office_minutes(calendar, stay)
        if minutes != r.office_minutes:
            changed.append({"id": r.id, "office_minutes": minutes})
    if changed:
        session.execute(update(StayRecord), changed)
    return len(changed)
