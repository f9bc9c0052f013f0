"""Notify use case: decide recipients, render, record once, send through the channel."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.notify.channels import Outgoing, channel_for
from services.notify.messages import render
from shared.models import Complaint, Notification
from shared.numbering import insert_ignoring_conflicts
from shared.security import cipher
from shared.settings import get_settings
from shared.sop import ReplyMethod
from shared.tasks import NotifyEvent
from shared.validation import parse_phone

log = logging.getLogger(__name__)


def recipients(complaint: Complaint, event: NotifyEvent, method: str | None) -> list[tuple[str, str]]:
    """(channel, address) pairs: the receipt to every known contact, the answer by `method`."""
    phone_channel = "whatsapp" if complaint.preferred_reply == ReplyMethod.WHATSAPP else "sms"
    if event == NotifyEvent.ANSWER:
        if method == ReplyMethod.EMAIL and complaint.email:
            return [("email", complaint.email)]
        if method in (ReplyMethod.SMS, ReplyMethod.WHATSAPP) and complaint.phone:
            return [(str(method), complaint.phone)]
        return []
    out: list[tuple[str, str]] = []
    if complaint.phone and parse_phone(complaint.phone).mobile:
        out.append((phone_channel, complaint.phone))
    if complaint.email:
        out.append(("email", complaint.email))
    return out


def notify(
    session: Session, *, complaint_id: int, event: NotifyEvent, method: str | None, now: datetime
) -> int:
    """Send `event` to the complainant once per (channel, recipient); returns messages sent now."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        log.warning("notify: complaint %s is gone", complaint_id)
        return 0
    settings = get_settings()
    context = {
        "office": settings.office_name,
        "ticket": complaint.ticket,
        "tracking_code": cipher().decrypt(complaint.tracking_code_enc, field="tracking_code"),
        "track_url": f"{settings.public_base_url.rstrip('/')}/api/v1/track/{complaint.ticket}",
        "answer": complaint.answer or "",
    }
    sent = 0
    dialect = session.get_bind().dialect.name
    for channel, address in recipients(complaint, event, method):
        subject, body = render(event, {**context, "full": channel == "email"})
        notification_id = session.execute(
            insert_ignoring_conflicts(dialect, Notification)
            .values(
                complaint_id=complaint.id,
                event=event.value,
                channel=channel,
                recipient=address,
                gateway="pending",
                status="pending",
                subject=subject,
                body=body,
                created_at=now,
            )
            .returning(Notification.id)
        ).scalar()
        if notification_id is None:  # a redelivered task: the row exists
            notification_id, status = session.execute(
                select(Notification.id, Notification.status).where(
                    Notification.complaint_id == complaint.id,
                    Notification.event == event.value,
                    Notification.channel == channel,
                    Notification.recipient == address,
                )
            ).one()
            if status == "sent":
                continue
        result = channel_for(channel).send(
            Outgoing(notification_id, channel, address, subject if channel == "email" else None, body)
        )
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(
                status=result.status,
                gateway=result.gateway,
                provider_id=result.provider_id,
                error=result.error,
                sent_at=now if result.status == "sent" else None,
            )
        )
        sent += result.status == "sent"
    return sent
