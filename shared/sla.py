"""The SLA clock of each stay at a step: reminder, breach and second-level breach as rows.

`schedule()` writes the three timers when a complaint lands in a queue; the sweeper's `fire_due()`
claims the due ones (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite) and fires
each once, in the claiming transaction, guarded by the complaint still being in that stay.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session

from shared import history, notices
from shared.calendar import Override
from shared.clock import Calendar, calendar_for, step_standard
from shared.models import Complaint, Deadline, Escalation
from shared.settings import Settings
from shared.sop import STEPS, Role, Status, Step

log = logging.getLogger(__name__)

ZERO = timedelta(0)
KINDS: tuple[tuple[str, int], ...] = (("reminder", 0), ("breach", 1), ("second", 2))
LABELS = {
    0: "Pengingat: batas waktu tahap ini segera tiba",
    1: "Melewati batas waktu: dieskalasi ke atasan",
    2: "Melewati dua kali batas waktu: dieskalasi ke Kepala Dinas",
}


def _share(settings: Settings, level: int) -> float:
    return settings.reminder_share if level == 0 else float(level)


def timers(
    *,
    complaint_id: int,
    step: Step,
    entered_at: datetime,
    settings: Settings,
    overrides: Mapping[date, Override],
    used: timedelta = ZERO,
    fired: frozenset[int] = frozenset(),
) -> list[dict[str, Any]]:
    """The reminder, breach and second-level timers of a stay, as rows ([] without a standard).

    `used`: open time spent before a pause. A timer whose point passed before the pause is due at
    once, unless its level already `fired` in this stay (the pause came before the sweeper did).
    """
    standard = step_standard(settings, step)
    if standard is None:
        return []
    calendar = calendar_for(settings, overrides)
    budget = calendar.budget(standard)
    used = timedelta(seconds=int(used.total_seconds()))  # whole seconds, as the rows keep it
    out: list[dict[str, Any]] = []
    for kind, level in KINDS:
        left = budget * _share(settings, level) - used
        if left <= ZERO and level in fired:
            continue
        out.append(
            {
                "complaint_id": complaint_id,
                "step": step.value,
                "entered_at": entered_at,
                "kind": kind,
                "due_at": calendar.add(entered_at, max(left, ZERO)),
                "fired_at": None,
                "result": None,
                "used_s": int(used.total_seconds()),
            }
        )
    return out


def schedule(
    session: Session,
    *,
    complaint_id: int,
    step: Step,
    entered_at: datetime,
    settings: Settings,
    overrides: Mapping[date, Override],
    used: timedelta = ZERO,
    fired: frozenset[int] = frozenset(),
) -> None:
    """Write the timers of a stay in the caller's transaction (one multi-row INSERT)."""
    rows = timers(
        complaint_id=complaint_id,
        step=step,
        entered_at=entered_at,
        settings=settings,
        overrides=overrides,
        used=used,
        fired=fired,
    )
    if rows:
        session.execute(insert(Deadline).values(rows))


def reschedule(session: Session, *, settings: Settings, overrides: Mapping[date, Override]) -> int:
    """After a calendar change: recompute every unfired timer; returns how many moved.

    A timer of a stay resumed after a pause keeps counting what was used before the pause.
    """
    calendar = calendar_for(settings, overrides)
    moved = 0
    for d in session.scalars(select(Deadline).where(Deadline.fired_at.is_(None))):
        standard = step_standard(settings, Step(d.step))
        if standard is None:
            continue
        left = calendar.budget(standard) * _share(settings, dict(KINDS)[d.kind]) - timedelta(seconds=d.used_s)
        due = calendar.add(d.entered_at, max(left, ZERO))
        if due != d.due_at:
            d.due_at = due
            moved += 1
    return moved


def file_complete_at(
    received_at: datetime,
    *,
    paused_at: datetime | None,
    closed_at: datetime | None,
    documents_in: list[datetime],
) -> datetime | None:
    """When the legal decision clock starts (Perpres 76/2013: "after the file is complete"):
    receipt, or the last time documents the front office asked for came in (`info_received`);
    None while an open complaint still waits for them."""
    if paused_at is not None and closed_at is None:
        return None
    return max([received_at, *documents_in])


def fired_levels(session: Session, complaint: Complaint) -> frozenset[int]:
    """The levels (0 reminder, 1 breach, 2 second) already fired in the complaint's current stay."""
    if complaint.step is None or complaint.stay_started_at is None:
        return frozenset()
    return frozenset(
        session.scalars(
            select(Escalation.level).where(
                Escalation.complaint_id == complaint.id,
                Escalation.step == complaint.step,
                Escalation.entered_at >= complaint.stay_started_at,
            )
        )
    )


def target_of(settings: Settings, holder: Role, level: int) -> Role:
    """Who hears of it: the holder (reminder), the next level (breach), the kepala dinas (second)."""
    if level == 0:
        return holder
    if level >= 2:
        return Role.KEPALA_DINAS
    return Role(settings.escalation_chain.get(holder.value, Role.KEPALA_DINAS.value))


def _due(now: datetime, settings: Settings) -> Select[Deadline]:
    """One batch of the unfired timers due by `now`, oldest first (the partial index's order)."""
    return (
        select(Deadline)
        .where(Deadline.fired_at.is_(None), Deadline.due_at <= now)
        .order_by(Deadline.due_at, Deadline.id)
        .limit(settings.outbox_batch)
    )


def due_ids(session: Session, *, now: datetime, settings: Settings) -> list[int]:
    """The ids of one batch of due timers (read without claiming: for firing one at a time)."""
    return list(session.scalars(_due(now, settings).with_only_columns(Deadline.id)))


def set_aside(session: Session, timer_id: int, *, now: datetime) -> None:
    """Close a timer that failed to fire on its own (result `error`): it must not block the rest."""
    session.execute(
        update(Deadline)
        .where(Deadline.id == timer_id, Deadline.fired_at.is_(None))
        .values(fired_at=now, result="error")
    )


class Pass(NamedTuple):
    claimed: int  # due timers taken in this batch (a full batch: there may be more)
    fired: int  # of which fired; the others were stale


def fire_due(
    session: Session,
    *,
    now: datetime,
    settings: Settings,
    overrides: Mapping[date, Override],
    only: int | None = None,
) -> Pass:
    """Fire the due timers of one batch (or the one timer `only`), in the caller's transaction."""
    batch = _due(now, settings) if only is None else _due(now, settings).where(Deadline.id == only)
    rows = session.scalars(batch.with_for_update(skip_locked=True)).all()
    calendar = calendar_for(settings, overrides)
    ids = {d.complaint_id for d in rows}
    complaints = {c.id: c for c in session.scalars(select(Complaint).where(Complaint.id.in_(ids)))}
    with session.no_autoflush:  # the rows below go out in one flush at commit
        fired = sum(
            _fire_one(
                session, d, complaints.get(d.complaint_id), now=now, settings=settings, calendar=calendar
            )
            for d in rows
        )
    return Pass(len(rows), fired)


def _fire_one(
    session: Session,
    d: Deadline,
    c: Complaint | None,
    *,
    now: datetime,
    settings: Settings,
    calendar: Calendar,
) -> bool:
    d.fired_at = now
    if (
        c is None
        or c.status != Status.OPEN
        or c.handoff_pending
        or c.step != d.step
        or c.step_entered_at != d.entered_at
        or c.paused_at is not None  # waiting for the complainant: resuming sets new timers
    ):
        d.result = "stale"  # the complaint has moved on since the timer was set
        return False
    level = dict(KINDS)[d.kind]
    holder = STEPS[Step(d.step)].role
    target = target_of(settings, holder, level)
    target_unit = c.unit_code if target == Role.BIDANG else None
    notify_at = calendar.next_open(now)
    session.add(
        Escalation(
            complaint_id=c.id,
            step=d.step,
            entered_at=d.entered_at,
            level=level,
            target_role=target.value,
            target_unit=target_unit,
            due_at=d.due_at,
            fired_at=now,
            notify_at=notify_at,
        )
    )
    notices.queue_staff_notice(
        session,
        complaint_id=c.id,
        event=f"{d.kind}:{d.step}:{c.version}",
        role=target,
        unit=target_unit,
        context={
            "kind": d.kind,
            "level": level,
            "step": d.step,
            "holder_role": holder.value,
            "version": c.version,
            "due_at": d.due_at.isoformat(),
        },
        send_at=notify_at,
        now=now,
    )
    history.record(
        session,
        complaint_id=c.id,
        at=now,
        action="reminder" if level == 0 else "escalated",
        from_step=d.step,
        to_step=d.step,
        note=LABELS[level],
        detail={"level": level, "target_role": target.value, "due_at": d.due_at.isoformat()},
        version=c.version,
    )
    if level > c.escalation_level:
        # A Core UPDATE: escalation must not bump the version officers act on. Guarded by the stay:
        # an officer who moved the complaint since it was read here leaves the new stay at level 0.
        session.execute(
            update(Complaint)
            .where(
                Complaint.id == c.id,
                Complaint.step == d.step,
                Complaint.step_entered_at == d.entered_at,
                Complaint.escalation_level < level,
            )
            .values(escalation_level=level)
            .execution_options(synchronize_session=False)
        )
    d.result = "fired"
    return True
