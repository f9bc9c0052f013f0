"""Notify use cases: who is told what, one row per message, sent through the configured channel,
retried from the database, and what the gateway's result means for the complaint.

The life of a message (a `notifications` row):
- `prepare()` writes the rows of an event (complainant) already claimed by the calling worker;
  staff notices are written elsewhere as `pending` rows due at the next office opening.
- `claim()` takes a pending row (a retry, a staff notice) or one whose worker died mid-send.
- `send()` talks to the gateways outside any transaction.
- `record()` stores the verdict: sent; failed for good; pending again with a backoff (retried
  by the sweeper) or dead-lettered after ADUAN_NOTIFY_MAX_ATTEMPTS; ambiguous (never re-sent
  blindly). For the answer it settles step 6 (delivery as proof).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from services.notify.channels import LogChannel, Outgoing, SendResult, Verdict, get_channels
from services.notify.messages import render
from shared import linking, notices, office, office_days
from shared.calendar import WIB
from shared.clock import calendar_for
from shared.delivery import ATTEMPT_OF_MESSAGE, NOTIFICATION_MOVES, AttemptOutcome, check_move, known, sources
from shared.delivery import NotificationStatus as Status
from shared.identity import recipient_columns, unseal
from shared.links import console_url, track_page_url
from shared.models import Complaint, DeliveryAttempt, Notification, User, table_of
from shared.numbering import insert_ignoring_conflicts
from shared.security import cipher
from shared.settings import Settings, get_settings
from shared.sop import ROLE_LABELS, STEPS, Outcome, ReplyMethod, Role, Step
from shared.survey import feedback_url
from shared.tasks import NotifyEvent, is_answer
from shared.validation import parse_phone
from shared.workflow import Announcement, announce_arrivals, settle_delivery

log = logging.getLogger(__name__)
NOTIFICATIONS = table_of(Notification)


@dataclass(frozen=True)
class Event:
    """One event to tell a complainant of: a `notify.send` message's payload."""

    complaint_id: int
    event: NotifyEvent
    method: str | None


@dataclass(frozen=True)
class Complainant:
    """What a citizen's message needs of its complaint, read once (the contacts unsealed once)."""

    id: int
    ticket: str
    tracking_code_enc: bytes
    phone: str | None
    email: str | None
    preferred_reply: str | None
    answer: str | None
    outcome: str | None
    step: str | None
    version: int
    step_due_at: datetime | None

    @classmethod
    def of(cls, c: Complaint | Row[Any]) -> Complainant:
        """From the complaint's row (or its ORM object), its contacts unsealed."""
        return cls(
            c.id,
            c.ticket,
            c.tracking_code_enc,
            unseal(c.phone_enc, field="phone"),
            unseal(c.email_enc, field="email"),
            c.preferred_reply,
            c.answer,
            c.outcome,
            c.step,
            c.version,
            c.step_due_at,
        )


_COMPLAINTS = table_of(Complaint)
# The columns Complainant.of reads: plain rows, no ORM object per complaint in a batch.
_COMPLAINANTS = select(
    *(
        _COMPLAINTS.c[name]
        for name in (
            "id",
            "ticket",
            "tracking_code_enc",
            "phone_enc",
            "email_enc",
            "preferred_reply",
            "answer",
            "outcome",
            "step",
            "version",
            "step_due_at",
        )
    )
)


def citizen_targets(complaint: Complainant, event: NotifyEvent, method: str | None) -> list[tuple[str, str]]:
    """(channel, address) pairs: the receipt to every known contact, the answer by `method`, the
    closing message once, by the preferred electronic method when there is a contact for it."""
    phone, email = complaint.phone, complaint.email
    mobile = bool(phone) and parse_phone(phone or "").mobile
    phone_channel = "whatsapp" if complaint.preferred_reply == ReplyMethod.WHATSAPP else "sms"
    if event == NotifyEvent.ANSWER:
        if method == ReplyMethod.EMAIL and email:
            return [("email", email)]
        if method in (ReplyMethod.SMS, ReplyMethod.WHATSAPP) and phone:
            return [(str(method), phone)]
        return []
    out: list[tuple[str, str]] = []
    if mobile and phone:
        out.append((phone_channel, phone))
    if email:
        out.append(("email", email))
    if event == NotifyEvent.CLOSING and len(out) > 1:
        return out[:1] if complaint.preferred_reply != ReplyMethod.EMAIL else out[1:]
    return out


def _sending_values(now: datetime, settings: Settings) -> dict[str, Any]:
    return {
        "status": check_move(NOTIFICATION_MOVES, None, Status.SENDING).value,
        "attempts": 1,
        "last_attempt_at": now,
        "next_attempt_at": now + timedelta(seconds=settings.notify_send_lease),
    }


# Each message row's own values; the others are the same for every row of a batch.
_PER_ROW = ("complaint_id", "event", "channel", "recipient_enc", "recipient_index", "gateway")
_RETURNED = (NOTIFICATIONS.c.id, NOTIFICATIONS.c.complaint_id, NOTIFICATIONS.c.event, NOTIFICATIONS.c.channel)


@cache
def _insert_claimed(dialect: str) -> Any:
    return insert_ignoring_conflicts(dialect, NOTIFICATIONS).returning(*_RETURNED)


@cache
def _insert_claimed_unnest(same: tuple[str, ...]) -> Any:
    """PostgreSQL: the rows as one array per column (`unnest`), the rest bound once: one short
    statement whatever the batch's size, parsed and planned once per connection (a VALUES list of
    a hundred rows is a new 1,400-parameter statement each time, for the driver and the server)."""
    from sqlalchemy.dialects import postgresql

    columns = [
        func.unnest(bindparam(name, type_=postgresql.ARRAY(NOTIFICATIONS.c[name].type))).label(name)
        for name in _PER_ROW
    ]
    columns += [bindparam(name, type_=NOTIFICATIONS.c[name].type).label(name) for name in same]
    return (
        postgresql.insert(NOTIFICATIONS)
        .from_select([*_PER_ROW, *same], select(*columns))
        .on_conflict_do_nothing()
        .returning(*_RETURNED)
    )


def _insert_claimed_rows(session: Session, rows: list[dict[str, Any]], same: dict[str, Any]) -> list[Any]:
    """Insert message rows (each `rows` item with `same`), skipping those already there; the
    (id, complaint_id, event, channel) of each row inserted now."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        arrays = {name: [row[name] for row in rows] for name in _PER_ROW}
        return list(session.execute(_insert_claimed_unnest(tuple(same)), arrays | same).all())
    return list(session.execute(_insert_claimed(dialect), [row | same for row in rows]).all())


def prepare(
    session: Session, *, complaint_id: int, event: NotifyEvent, method: str | None, now: datetime
) -> list[Outgoing]:
    """Write the messages of `event` for the complainant, claimed by the caller; return what to send."""
    return prepare_many(session, [Event(complaint_id, event, method)], now=now)


def prepare_many(session: Session, events: Sequence[Event], *, now: datetime) -> list[Outgoing]:
    """`prepare` for several events in one go: the complaints read in one query, every message row
    written by one INSERT, the office's identity read once, the arrivals announced together.

    A redelivered task finds its rows written and returns nothing for them: a row still pending
    or whose worker died is the sweeper's to hand out again.
    """
    events = list(dict.fromkeys(events))  # the same event twice in a batch is one message each
    if not events:
        return []
    settings = get_settings()
    ids = {e.complaint_id for e in events}
    complaints = {
        row.id: Complainant.of(row) for row in session.execute(_COMPLAINANTS.where(_COMPLAINTS.c.id.in_(ids)))
    }
    same = {"audience": notices.CITIZEN, "created_at": now, **_sending_values(now, settings)}
    rows: list[dict[str, Any]] = []
    addresses: dict[tuple[int, str, str], str] = {}
    attempts: dict[tuple[int, str], DeliveryAttempt] = {}
    arrivals: list[Announcement] = []
    for e in events:
        complaint = complaints.get(e.complaint_id)
        if complaint is None:
            log.warning("notify: complaint %s is gone", e.complaint_id)
            continue
        key = e.event.value
        if e.event == NotifyEvent.ANSWER:
            attempt = session.scalar(
                select(DeliveryAttempt).where(
                    DeliveryAttempt.complaint_id == e.complaint_id,
                    DeliveryAttempt.outcome == AttemptOutcome.SENDING.value,
                    DeliveryAttempt.method == e.method,
                )
            )
            if attempt is None:  # settled already (a redelivery), or the method changed since
                continue
            key = f"answer:{attempt.id}"  # a second delivery after a failure is a new message
            attempts[(complaint.id, key)] = attempt
        for channel, address in citizen_targets(complaint, e.event, e.method):
            addresses[(complaint.id, key, channel)] = address
            rows.append(
                {
                    "complaint_id": complaint.id,
                    "event": key,
                    "channel": channel,
                    **recipient_columns(address),
                    "gateway": get_channels().for_kind(channel).name,
                }
            )
        # A new complaint arrives at verification without a hand-off (unless the front desk, filing
        # it, already took it on: then no one is to be told of it in the queue it has left).
        if e.event == NotifyEvent.RECEIPT and complaint.step == Step.VERIFICATION and complaint.version == 1:
            arrivals.append(Announcement(complaint.id, Step.VERIFICATION, 1, None, complaint.step_due_at))
    # One INSERT of every row (a statement compiled once, cached); a row already there returns nothing.
    inserted = _insert_claimed_rows(session, rows, same)
    office_name = office.identity(session).name if inserted else ""
    out: list[Outgoing] = []
    for notification_id, complaint_id, key, channel in inserted:
        attempt = attempts.get((complaint_id, key))
        if attempt is not None:
            attempt.notification_id = notification_id
        message = _rendered(
            session,
            notification_id,
            partial(
                _citizen_message,
                notification_id,
                key,
                channel,
                addresses[(complaint_id, key, channel)],
                complaints[complaint_id],
                settings,
                office_name,
                session,  # a duplicate's closing names its original
            ),
            now=now,
        )
        if message is not None:
            out.append(message)
    announce_arrivals(session, arrivals, now=now)
    return out


def claim(session: Session, notification_id: int, *, now: datetime) -> Outgoing | None:
    """Take one row to send now: a pending one, or one whose worker died mid-send (sent once
    more; a second such loss makes it ambiguous). None when there is nothing to send."""
    settings = get_settings()
    n = session.get(Notification, notification_id)
    if n is None:
        return None
    lease = timedelta(seconds=settings.notify_send_lease)
    status = known(Status, n.status)
    crashed = status == Status.SENDING and n.last_attempt_at is not None and n.last_attempt_at + lease <= now
    if status != Status.PENDING and not crashed:
        return None
    if crashed and n.resent_after_crash:
        _finish(session, n, SendResult(Verdict.AMBIGUOUS, n.gateway, n.provider_id, _CRASHED_TWICE), now=now)
        return None
    if n.audience == notices.STAFF and not _still_relevant(session, n):
        # queued for the opening, but the complaint has moved on since
        n.status = check_move(NOTIFICATION_MOVES, n.status, Status.CANCELLED).value
        n.error = "Tidak dikirim: pengaduan sudah berpindah tahap."
        n.next_attempt_at = None
        return None
    claimed = session.execute(
        update(Notification)
        .where(
            Notification.id == n.id,
            Notification.status == n.status,
            Notification.attempts == n.attempts,
        )
        .values(
            status=check_move(NOTIFICATION_MOVES, n.status, Status.SENDING).value,
            attempts=n.attempts + 1,
            last_attempt_at=now,
            next_attempt_at=now + lease,
            resent_after_crash=n.resent_after_crash or crashed,
        )
    )
    if not getattr(claimed, "rowcount", 0):
        return None  # another worker took it
    if crashed:
        log.warning("notify #%s: its worker died mid-send; sending once more", n.id)
    complaint = session.get(Complaint, n.complaint_id)
    if complaint is None:
        return None
    office_name = office.identity(session).name
    if n.audience == notices.STAFF:
        return _rendered(session, n.id, lambda: _staff_message(n, complaint, settings, office_name), now=now)
    return _rendered(
        session,
        n.id,
        lambda: _citizen_message(
            n.id, n.event, n.channel, n.recipient, Complainant.of(complaint), settings, office_name, session
        ),
        now=now,
    )


def _rendered(
    session: Session, notification_id: int, build: Callable[[], Outgoing], *, now: datetime
) -> Outgoing | None:
    """The message to send, or None when it cannot be built (a broken template, an undecryptable
    field): then it fails for good in this transaction, and an answer's delivery is settled, so
    nothing loops and step 6 never waits for a message that will not come."""
    try:
        return build()
    except Exception as exc:
        log.exception("notify #%s: the message could not be built", notification_id)
        n = session.get(Notification, notification_id)
        if n is not None:
            n.attempts = max(n.attempts, 1)
            reason = f"Pesan tidak dapat disusun ({type(exc).__name__}); periksa templat pesan."
            _finish(session, n, SendResult(Verdict.PERMANENT, n.gateway, None, reason), now=now)
        return None


def _still_relevant(session: Session, n: Notification) -> bool:
    """A staff notice is worth sending while the complaint is still in the same stay it is about
    (same step, same version) and its officer still wants notices."""
    ctx = n.context or {}
    row = session.execute(
        select(Complaint.step, Complaint.status, Complaint.version).where(Complaint.id == n.complaint_id)
    ).first()
    if row is None or row.status != "open" or row.step != ctx.get("step"):
        return False
    if ctx.get("version") is not None and row.version != ctx["version"]:
        return False
    wanted = session.scalar(
        select(User.id).where(
            User.email == n.recipient, User.active.is_(True), User.notify_by_email.is_(True)
        )
    )
    return wanted is not None


_CHANNEL_BROKE = "Kesalahan internal saat mengirim; pesan mungkin sudah terkirim (lihat log pekerja)."
_CRASHED_TWICE = "Pekerja berhenti dua kali saat mengirim; tidak dikirim ulang agar tidak ganda."


def send(messages: list[Outgoing]) -> list[tuple[Outgoing, SendResult]]:
    """Hand each message to its channel (outside any transaction: gateways can be slow).

    A channel never raises for a network or gateway problem; should one raise anyway (a bug), that
    message is ambiguous (it may have left) and the others still go. Each channel logs its own
    line per message (masked recipient, verdict).
    """
    results = []
    for message in messages:
        try:
            result = get_channels().for_kind(message.channel).send(message)
        except Exception:
            log.exception("notify #%s: the channel failed unexpectedly", message.notification_id)
            result = SendResult(Verdict.AMBIGUOUS, message.channel, None, _CHANNEL_BROKE)
        results.append((message, result))
    return results


def release(session: Session, notification_ids: list[int], *, now: datetime) -> int:
    """Give back messages claimed for sending but not sent (their lease would have run out
    before their turn): pending again, due now, the claim not counted as an attempt."""
    if not notification_ids:
        return 0
    result = session.execute(
        update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.id.in_(notification_ids), NOTIFICATIONS.c.status == Status.SENDING.value)
        .values(
            status=check_move(NOTIFICATION_MOVES, Status.SENDING, Status.PENDING).value,
            attempts=NOTIFICATIONS.c.attempts - 1,
            next_attempt_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def record(session: Session, results: list[tuple[Outgoing, SendResult]], *, now: datetime) -> None:
    """Store each verdict (and settle the answer's delivery) in the caller's transaction."""
    plain = [
        (m, r)
        for m, r in results
        if r.verdict == Verdict.ACCEPTED and m.event is not None and not is_answer(m.event)
    ]
    if plain:  # the common case (receipts, notices): one statement for all, nothing to settle
        session.execute(
            _SENT,
            [
                {"n_id": m.notification_id, "n_gateway": r.gateway, "n_provider": r.provider_id, "n_at": now}
                for m, r in plain
            ],
        )
    done = {id(m) for m, _r in plain}
    for message, result in results:
        if id(message) in done:
            continue
        if result.verdict == Verdict.ACCEPTED:
            _accepted(session, message.notification_id, result, now=now)
            continue
        n = session.get(Notification, message.notification_id)
        if n is None or n.status != Status.SENDING:
            continue  # settled meanwhile (a receipt from the gateway, a crash recovery)
        _finish(session, n, result, now=now)


_SENT = (
    update(NOTIFICATIONS)
    .where(
        NOTIFICATIONS.c.id == bindparam("n_id"),
        # OR of equalities, not IN: an executemany takes no expanding parameter
        or_(*(NOTIFICATIONS.c.status == s.value for s in sources(NOTIFICATION_MOVES, Status.SENT))),
    )
    .values(
        status=Status.SENT.value,
        sent_at=bindparam("n_at"),
        gateway=bindparam("n_gateway"),
        provider_id=bindparam("n_provider"),
        error=None,
        next_attempt_at=None,
    )
)


def _accepted(session: Session, notification_id: int, result: SendResult, *, now: datetime) -> None:
    """The common case in one Core statement (the hot path of every receipt); only an answer has
    more to do: it settles step 6."""
    event = session.execute(
        update(NOTIFICATIONS)
        .where(
            NOTIFICATIONS.c.id == notification_id,
            NOTIFICATIONS.c.status.in_(sources(NOTIFICATION_MOVES, Status.SENT)),
        )
        .values(
            status=Status.SENT.value,
            sent_at=now,
            gateway=result.gateway,
            provider_id=result.provider_id,
            error=None,
            next_attempt_at=None,
        )
        .returning(NOTIFICATIONS.c.event)
    ).scalar()
    if event is not None and is_answer(event):
        n = session.get(Notification, notification_id)
        if n is not None:
            _settle(session, n, now=now)


def _finish(session: Session, n: Notification, result: SendResult, *, now: datetime) -> None:
    """A verdict other than accepted: retry later, dead-letter, fail for good or leave ambiguous."""
    settings = get_settings()
    n.gateway = result.gateway
    n.provider_id = result.provider_id or n.provider_id
    n.error = result.error
    n.next_attempt_at = None
    if result.verdict == Verdict.TRANSIENT and n.attempts < settings.notify_max_attempts:
        n.status = check_move(NOTIFICATION_MOVES, n.status, Status.PENDING).value
        n.next_attempt_at = now + backoff(n.attempts, settings)
        if n.audience == notices.STAFF:  # a retry falling after closing time waits for the opening
            calendar = calendar_for(settings, office_days.overrides(session))
            n.next_attempt_at = calendar.next_open(n.next_attempt_at)
        return  # the answer is still on its way: nothing to settle yet
    if result.verdict == Verdict.TRANSIENT:
        # the dead letter: GET /api/v1/notifications?status=failed
        n.status = check_move(NOTIFICATION_MOVES, n.status, Status.FAILED).value
        n.error = f"{result.error or 'gagal sementara'}; menyerah setelah {n.attempts} percobaan"
        log.error("notify #%s: dead-lettered after %s attempts", n.id, n.attempts)
    else:
        verdict = Status.FAILED if result.verdict == Verdict.PERMANENT else Status.AMBIGUOUS
        n.status = check_move(NOTIFICATION_MOVES, n.status, verdict).value
    if is_answer(n.event):
        _settle(session, n, now=now)


def _settle(session: Session, n: Notification, *, now: datetime) -> None:
    """The answer's message has its final status: step 6 follows (delivered, unreachable, ambiguous)."""
    settle_delivery(
        session,
        complaint_id=n.complaint_id,
        notification_id=n.id,
        outcome=ATTEMPT_OF_MESSAGE[Status(n.status)],
        gateway=n.gateway,
        provider_id=n.provider_id,
        note=_delivery_note(n),
        now=now,
    )


def _delivery_note(n: Notification) -> str | None:
    if n.status == Status.SENT:
        # the log channel (nothing configured for this kind) only records: say so on the proof
        return LOG_ONLY if n.gateway == LogChannel.name else None
    if n.status == Status.AMBIGUOUS:
        return (
            "Status pengiriman tidak pasti (gateway tidak menjawab setelah pesan dikirim): "
            "pastikan ke pengadu sebelum mengirim ulang. " + (n.error or "")
        ).strip()
    return f"Gagal terkirim melalui {n.gateway}: {n.error or 'ditolak'}"


LOG_ONLY = (
    "Hanya dicatat oleh saluran log (gateway untuk saluran ini belum dikonfigurasi): "
    "pesan tidak dikirim ke pengadu."
)


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential backoff with jitter: base x 2^(n-1), capped, then a random 50-100 % of it."""
    ceiling = min(settings.notify_retry_max_delay, settings.notify_retry_base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not a secret


# --- what the messages say ---------------------------------------------------------------------


def _citizen_message(
    notification_id: int,
    key: str,
    channel: str,
    address: str,
    complaint: Complainant,
    settings: Settings,
    office_name: str,
    session: Session,
) -> Outgoing:
    code = cipher().decrypt(complaint.tracking_code_enc, field="tracking_code")
    merged = linking.root_original(session, complaint.id) if complaint.outcome == Outcome.DUPLICATE else None
    context = {
        "office": office_name,
        "ticket": complaint.ticket,
        "tracking_code": code,
        "track_url": track_page_url(settings, complaint.ticket, code),  # with the code: a tap opens the page
        "feedback_url": feedback_url(settings, complaint.ticket, code),
        "answer": complaint.answer or "",
        "full": channel == "email",  # gateways get the ticket and how to check it, not the answer
        # Closed as a duplicate: the ticket of the original it was merged with (only its ticket).
        "merged_into": merged.ticket if merged is not None else "",
    }
    email = channel == "email"
    text = render(key.split(":", 1)[0], context, html=email)
    subject = text.subject if email else None
    return Outgoing(notification_id, channel, address, subject, text.text, text.html, event=key)


def _staff_message(n: Notification, complaint: Complaint, settings: Settings, office_name: str) -> Outgoing:
    ctx = n.context or {}
    step = Step(ctx.get("step") or complaint.step or Step.VERIFICATION)
    due = ctx.get("due_at")
    context = {
        "office": office_name,
        "ticket": complaint.ticket,
        "kind": ctx.get("kind", "queued"),
        "step_title": STEPS[step].title,
        "holder": ROLE_LABELS[Role(ctx.get("holder_role", STEPS[step].role.value))],
        # a confidential complaint's content stays in the console
        "subject": None if complaint.confidential else complaint.subject,
        "due": datetime.fromisoformat(due).astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB") if due else None,
        "console_url": console_url(settings, complaint.ticket),
    }
    text = render("staff", context, html=False)
    return Outgoing(n.id, n.channel, n.recipient, text.subject, text.text, event=n.event)
