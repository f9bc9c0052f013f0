"""Every completed stay at a step, once: the `stays` table the SLA reports aggregate.

A stay is read from a complaint's history (`fold`): it opens with the row that placed the complaint
in a step's queue and ends with the action that moved it on, an officer's or the system's settling
of an answer a gateway delivered; the time spent waiting for the complainant's documents does not
count. Its office minutes are measured on the office calendar when it ends (the process's cached
copy, shared.office_days).

Written at the flush of the history row that ends it (`after_flush`, installed on every Session by
shared.models), in the same transaction, whoever writes that row; history written by Core INSERTs (the
intake's filing, which only opens stays) is not seen there, and the migration that made the table
filled it from the history before (`backfill`, the same `fold`). A change of the office calendar
recomputes the minutes of the stays over the changed day (`recompute`), in the change's unit of work
and again once every process's cached copy has expired (the routing worker's recompute task).

Every write of a stay also counts it in `stay_minutes` (`tally`): stays per WIB month, step, bidang
and whole office minutes (rounded up), the histogram the SLA reports read a year of stays from
instead of sorting millions of them (migration 0023 filled it from the stays before, `backfill_minutes`).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from shared import office_days
from shared.calendar import Override
from shared.clock import WIB, Calendar, calendar_for, to_wib
from shared.models import CalendarOverride, History, StayMinutes, StayRecord
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


OPENING = ("received", "queued")  # the actions that place a complaint in a step's queue

# The history `fold` needs for the stay that history row :ending ends: its complaint's rows from the
# one that opened the stay (every earlier stay at the step ended with a row that cleared its state)
# up to :ending, and the earlier dispositions (the bidang of a drafting stay). Built once: building
# the expression cost more CPU than running it.
_OPENED = (
    select(func.max(History.id))
    .where(
        History.complaint_id == bindparam("complaint"),
        History.action.in_(OPENING),
        History.to_step == bindparam("step"),
        History.id < bindparam("ending"),
    )
    .scalar_subquery()
)
_SINCE_OPENING = (
    select(*HISTORY_COLUMNS)
    .where(
        History.complaint_id == bindparam("complaint"),
        History.id <= bindparam("ending"),
        or_(History.id >= _OPENED, History.action == "dispose"),
    )
    .order_by(History.id)
)


def after_flush(session: Session, _context: Any) -> None:
    """Write the stays that the history rows just flushed ended (a Session `after_flush` hook)."""
    ending = [o for o in session.new if isinstance(o, History) and may_end_a_stay(o)]
    if not ending:
        return
    conn = session.connection()
    stays = [
        stay
        for h in ending
        for stay in fold(
            conn.execute(_SINCE_OPENING, {"complaint": h.complaint_id, "step": h.from_step, "ending": h.id})
        )
        if stay.history_id == h.id
    ]
    if stays:
        calendar = office_days.calendar(session)
        records = [_record(calendar, s) for s in stays]
        conn.execute(insert(StayRecord), records)
        tally(conn, Counter(_bucket_of(r) for r in records))


# --- the histogram: stays per (WIB month, step, bidang, whole office minutes) ----------------------

Bucket = tuple[str, str, str, int]  # (YYYY-MM, step, unit or "", ceil(office minutes))


def bucket(left_at: datetime, step: str, unit: str | None, minutes: float) -> Bucket:
    """The `stay_minutes` row a stay is counted in: its office minutes rounded up to a whole one
    (a stay within a whole-minute standard stays within it)."""
    return (f"{to_wib(left_at):%Y-%m}", step, unit or "", math.ceil(minutes))


def _bucket_of(record: Mapping[str, Any]) -> Bucket:
    return bucket(record["left_at"], record["step"], record["unit"], record["office_minutes"])


def tally(conn: Session | Connection, counts: Mapping[Bucket, int]) -> None:
    """Add `counts` (negative: taken away) to `stay_minutes`, in the caller's transaction."""
    rows = [
        {"month": m, "step": s, "unit": u, "minutes": minutes, "stays": n}
        # in key order: concurrent writers lock the rows they share in the same order
        for (m, s, u, minutes), n in sorted(counts.items())
        if n
    ]
    if not rows:
        return
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    conn.execute(_upsert(bind.dialect.name), rows)


@cache
def _upsert(dialect: str) -> Insert:
    """The statement `tally` adds counts with, built once per dialect (at every stay written,
    building it cost as much CPU as running it)."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StayMinutes)
    return statement.on_conflict_do_update(
        index_elements=[StayMinutes.month, StayMinutes.step, StayMinutes.unit, StayMinutes.minutes],
        set_={"stays": StayMinutes.stays + statement.excluded.stays},
    )


def backfill_minutes(conn: Connection, *, batch: int = 100_000) -> int:
    """Count every row of `stays` in `stay_minutes` (`batch` stays read at a time); returns how many."""
    low, high = conn.execute(select(func.min(StayRecord.id), func.max(StayRecord.id))).one()
    if low is None:
        return 0
    counts: Counter[Bucket] = Counter()
    for first in range(low, high + 1, batch):
        for left_at, step, unit, minutes in conn.execute(
            select(StayRecord.left_at, StayRecord.step, StayRecord.unit, StayRecord.office_minutes).where(
                StayRecord.id >= first, StayRecord.id < first + batch
            )
        ):
            counts[bucket(left_at, step, unit, minutes)] += 1
    tally(conn, counts)
    return sum(counts.values())


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
            StayRecord.unit,
            StayRecord.entered_at,
            StayRecord.left_at,
            StayRecord.paused,
            StayRecord.office_minutes,
        ).where(StayRecord.left_at > start, StayRecord.entered_at < end)
    ).all()
    changed = []
    moved: Counter[Bucket] = Counter()
    for r in rows:
        stay = Stay(r.complaint_id, r.step, None, r.entered_at, r.left_at, _paused(r.paused))
        minutes = office_minutes(calendar, stay)
        if minutes != r.office_minutes:
            changed.append({"id": r.id, "office_minutes": minutes})
            moved[bucket(r.left_at, r.step, r.unit, r.office_minutes)] -= 1
            moved[bucket(r.left_at, r.step, r.unit, minutes)] += 1
    if changed:
        session.execute(update(StayRecord), changed)
        tally(session, moved)
    return len(changed)
