"""Staff notices as rows: an e-mail to each officer who asked for them, sent by the notify service.

Written in the transaction of what they announce (a complaint landing in a queue, a reminder, an
escalation) with `next_attempt_at` at the next office opening: the sweeper hands due rows to the
notify worker, so a notice is never sent at midnight and never lost with a broker message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared import identity, office_days
from shared.clock import Calendar, calendar_for
from shared.delivery import NOTIFICATION_MOVES, NotificationStatus, check_move
from shared.models import Escalation, Notification, User
from shared.numbering import insert_ignoring_conflicts
from shared.settings import Settings
from shared.sop import Role
from shared.tasks import NotifyOnePayload, Queue, TaskName, celery_app

log = logging.getLogger(__name__)

STAFF = "staff"
CITIZEN = "citizen"


_CACHE = "aduan.notices.recipients"


def recipients(session: Session, role: Role, unit: str | None) -> list[str]:
    """E-mail addresses of the active officers of `role` (and `unit`) who want notices.

    Read once per session (one use case): a sweep firing a thousand timers asks once per role.
    """
    cache: dict[tuple[str, str | None], list[str]] = session.info.setdefault(_CACHE, {})
    key = (role.value, unit if role == Role.BIDANG else None)
    if key not in cache:
        cache[key] = _recipients(session, role, unit)
    return cache[key]


def _recipients(session: Session, role: Role, unit: str | None) -> list[str]:
    query = select(User.email).where(
        User.role == role.value,
        User.active.is_(True),
        User.notify_by_email.is_(True),
        User.email.is_not(None),
    )
    if role == Role.BIDANG:
        query = query.where(User.unit_code == unit)
    return [e for e in session.scalars(query) if e]


@dataclass(frozen=True)
class StaffNotice:
    """A notice to the officers of `role` (and `unit`) about a complaint, due at `send_at`."""

    complaint_id: int
    event: str
    role: Role
    unit: str | None
    context: dict[str, Any]
    send_at: datetime


def queue_staff_notice(
    session: Session,
    *,
    complaint_id: int,
    event: str,
    role: Role,
    unit: str | None,
    context: dict[str, Any],
    send_at: datetime,
    now: datetime,
) -> int:
    """One e-mail per interested officer, due at `send_at`; a repeated event adds nothing."""
    notice = StaffNotice(complaint_id, event, role, unit, context, send_at)
    return queue_staff_notices(session, [notice], now=now)


def queue_staff_notices(session: Session, staff_notices: Sequence[StaffNotice], *, now: datetime) -> int:
    """`queue_staff_notice` for several notices, their rows written by one INSERT; how many rows."""
    rows = [
        {
            "complaint_id": notice.complaint_id,
            "event": notice.event,
            "channel": "email",
            **identity.recipient_columns(email),
            "audience": STAFF,
            "context": notice.context,
            "gateway": "pending",
            "status": check_move(NOTIFICATION_MOVES, None, NotificationStatus.PENDING).value,
            "created_at": now,
            "next_attempt_at": notice.send_at,
            "attempts": 0,
        }
        for notice in staff_notices
        for email in recipients(session, notice.role, notice.unit)
    ]
    if rows:
        session.execute(insert_ignoring_conflicts(session.get_bind().dialect.name, Notification), rows)
    return len(rows)


def reschedule(session: Session, *, calendar: Calendar, now: datetime) -> int:
    """After a calendar change: staff notices still waiting for an opening (and the escalations'
    `notify_at`) move to the next opening of the new calendar; returns how many notices moved."""
    opening = calendar.next_open(now)
    moved = session.execute(
        update(Notification)
        .where(
            Notification.audience == STAFF,
            Notification.status == NotificationStatus.PENDING.value,
            Notification.attempts == 0,
            Notification.next_attempt_at > now,
            Notification.next_attempt_at != opening,
        )
        .values(next_attempt_at=opening)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Escalation)
        .where(Escalation.notify_at > now, Escalation.notify_at != opening)
        .values(notify_at=opening)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(moved, "rowcount", 0) or 0)


def dispatch_due(session: Session, *, now: datetime, settings: Settings) -> list[int]:
    """Claim the rows whose time has come (a retry, a staff notice at opening time, a send whose
    worker died); returns their ids, to hand to the notify worker once this transaction commits.

    Each is pushed a lease ahead, so a lost broker message is handed out again, not twice at once.
    A staff notice found due while the office is closed (the sweeper was down, a send was lost
    near closing time) is not handed out: it waits for the next opening.
    """
    rows = session.scalars(
        select(Notification)
        .where(
            # waiting for their time, or claimed by a worker that died (its lease ran out)
            Notification.status.in_((NotificationStatus.PENDING.value, NotificationStatus.SENDING.value)),
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at)
        .limit(settings.outbox_batch)
        .with_for_update(skip_locked=True)
    ).all()
    opening = calendar_for(settings, office_days.overrides(session)).next_open(now)
    handed: list[int] = []
    for row in rows:
        if row.audience == STAFF and opening > now:
            row.next_attempt_at = opening
            continue
        row.next_attempt_at = now + timedelta(seconds=settings.notify_send_lease)
        handed.append(row.id)
    return handed


def hand_out(ids: list[int]) -> None:
    """Publish one `notify.send_one` per row; a failure is left to the next sweep after the lease."""
    app = celery_app()
    for notification_id in ids:
        payload: NotifyOnePayload = {"notification_id": notification_id}
        try:
            app.send_task(TaskName.NOTIFY_ONE.value, kwargs=dict(payload), queue=Queue.NOTIFY.value)
        except Exception:  # the row is durable: the sweeper hands it out again after the lease
            log.warning("notification %s: publish failed, retried after the lease", notification_id)
