"""The notify service's bookkeeping: rows written once, verdicts recorded, retries and dead letters
held in the database, crash recovery sending at most once more, and step 6 settled by the verdict."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import service
from services.notify.channels import LogChannel, Outgoing, SendResult, Verdict
from shared import notices
from shared.models import Complaint, DeliveryAttempt, History, Notification
from shared.settings import get_settings
from shared.sop import Step
from shared.tasks import NotifyEvent
from tests.unit.conftest import T0, add_officer
from tests.unit.test_workflow import FO, KASUBAG, SEKDIS, _to_delivery, act, land

LEASE = timedelta(seconds=get_settings().notify_send_lease)


def rows(session: Session, complaint: Complaint) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(Notification.complaint_id == complaint.id).order_by(Notification.id)
        )
    )


def verdict(message: Outgoing, kind: Verdict, error: str | None = None) -> list[tuple[Outgoing, SendResult]]:
    return [
        (
            message,
            SendResult(kind, "uji", provider_id="p-42" if kind == Verdict.ACCEPTED else None, error=error),
        )
    ]


def test_receipt_is_written_once_claimed_and_says_how_to_track(
    session: Session, complaint: Complaint
) -> None:
    [message] = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.RECEIPT, method=None, now=T0
    )
    assert (message.channel, message.recipient) == ("sms", "+6281234567890")
    assert complaint.ticket in message.body and "ABCD2345" in message.body  # the tracking code
    assert "Budi" not in message.body  # no identity data through a gateway
    [row] = rows(session, complaint)
    assert (row.status, row.attempts, row.body, row.next_attempt_at) == ("sending", 1, None, T0 + LEASE)
    # a redelivered task finds the row and sends nothing
    assert (
        service.prepare(session, complaint_id=complaint.id, event=NotifyEvent.RECEIPT, method=None, now=T0)
        == []
    )
    service.record(session, verdict(message, Verdict.ACCEPTED), now=T0)
    session.refresh(row)  # recorded by a Core UPDATE (the hot path), as the worker's next session sees it
    assert (row.status, row.provider_id, row.sent_at) == ("sent", "p-42", T0)


def test_transient_failures_retry_with_backoff_then_dead_letter(
    session: Session, complaint: Complaint
) -> None:
    settings = get_settings()
    [message] = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.RECEIPT, method=None, now=T0
    )
    [row] = rows(session, complaint)
    at = T0
    for attempt in range(1, settings.notify_max_attempts):
        service.record(session, verdict(message, Verdict.TRANSIENT, "HTTP 503"), now=at)
        assert row.status == "pending" and row.attempts == attempt
        ceiling = min(settings.notify_retry_max_delay, settings.notify_retry_base * 2 ** (attempt - 1))
        assert row.next_attempt_at is not None
        wait = row.next_attempt_at - at
        assert timedelta(seconds=ceiling / 2) <= wait <= timedelta(seconds=ceiling)
        assert (
            notices.dispatch_due(session, now=row.next_attempt_at - timedelta(seconds=1), settings=settings)
            == []
        )
        at = row.next_attempt_at
        assert notices.dispatch_due(session, now=at, settings=settings) == [row.id]
        claimed = service.claim(session, row.id, now=at)
        assert claimed is not None and claimed.body == message.body
    service.record(session, verdict(message, Verdict.TRANSIENT, "HTTP 503"), now=at)
    assert (row.status, row.attempts) == ("failed", settings.notify_max_attempts)
    assert row.error is not None and "menyerah setelah" in row.error
    assert notices.dispatch_due(session, now=at + timedelta(days=1), settings=settings) == []


def test_a_send_whose_worker_died_goes_once_more_then_is_ambiguous(
    session: Session, complaint: Complaint
) -> None:
    service.prepare(session, complaint_id=complaint.id, event=NotifyEvent.RECEIPT, method=None, now=T0)
    [row] = rows(session, complaint)
    assert service.claim(session, row.id, now=T0 + LEASE / 2) is None  # still within its lease
    again = service.claim(session, row.id, now=T0 + LEASE)
    assert again is not None
    session.refresh(row)
    assert (row.status, row.attempts, row.resent_after_crash) == ("sending", 2, True)
    assert service.claim(session, row.id, now=T0 + 2 * LEASE) is None  # lost a second time
    session.flush()
    session.refresh(row)
    assert row.status == "ambiguous"


def answer_by_sms(session: Session, complaint: Complaint, at: datetime) -> Outgoing:
    """The complaint taken to delivery, `deliver` by sms, and the answer message the worker builds."""
    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="sms")
    [message] = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.ANSWER, method="sms", now=at
    )
    return message


def test_answer_accepted_closes_the_complaint_with_the_gateway_as_proof(
    session: Session, complaint: Complaint
) -> None:
    at = T0 + timedelta(hours=1)
    message = answer_by_sms(session, complaint, at)
    service.record(session, verdict(message, Verdict.ACCEPTED), now=at)
    session.flush()
    assert (complaint.status, complaint.outcome, complaint.delivery_state) == ("closed", "answered", None)
    attempt = session.scalars(select(DeliveryAttempt)).one()
    assert (attempt.outcome, attempt.gateway, attempt.provider_id, attempt.result_at) == (
        "delivered",
        "uji",
        "p-42",
        at,
    )
    assert attempt.note is None


def test_an_answer_only_the_log_channel_took_says_so_on_the_proof(
    session: Session, complaint: Complaint
) -> None:
    message = answer_by_sms(session, complaint, T0)
    service.record(session, [(message, LogChannel().send(message))], now=T0)
    session.flush()
    attempt = session.scalars(select(DeliveryAttempt)).one()
    assert (attempt.outcome, attempt.gateway, attempt.note) == ("delivered", "log", service.LOG_ONLY)
    closing = session.scalars(select(History).where(History.action == "delivery_delivered")).one()
    assert closing.note == service.LOG_ONLY


def test_answer_refused_or_ambiguous_stays_at_delivery_with_the_reason(
    session: Session, complaint: Complaint
) -> None:
    message = answer_by_sms(session, complaint, T0)
    service.record(session, verdict(message, Verdict.PERMANENT, "nomor tidak valid"), now=T0)
    session.flush()
    assert (complaint.step, complaint.delivery_state) == (Step.DELIVERY.value, "unreachable")
    assert complaint.delivery_note is not None and "nomor tidak valid" in complaint.delivery_note
    # try again by WhatsApp: a new message (a new key), whose verdict is ambiguous
    act(session, complaint, FO, "deliver", method="whatsapp")
    [second] = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.ANSWER, method="whatsapp", now=T0
    )
    service.record(session, verdict(second, Verdict.AMBIGUOUS, "batas waktu habis"), now=T0)
    session.flush()
    assert complaint.delivery_state == "ambiguous" and complaint.status == "open"
    assert [(n.event.split(":")[0], n.status) for n in rows(session, complaint)] == [
        ("answer", "failed"),
        ("answer", "ambiguous"),
    ]
    outcomes = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["unreachable", "ambiguous"]


def test_staff_notices_wait_for_office_hours_and_keep_confidential_content_out(
    session: Session, complaint: Complaint
) -> None:
    add_officer(session, "kasubag1", "kasubag_umum", "kasubag@dinas.go.id")
    add_officer(session, "kasubag2", "kasubag_umum", "kasubag2@dinas.go.id", notify=False)
    act(session, complaint, FO, "forward", identity_verified=True, id_document="KTP")
    land(session, complaint)  # lands in kasubag's review queue
    [row] = [n for n in rows(session, complaint) if n.audience == notices.STAFF]
    assert (row.recipient, row.status, row.event) == ("kasubag@dinas.go.id", "pending", "queued:review:2")
    assert row.next_attempt_at is not None and row.next_attempt_at >= complaint.step_entered_at  # type: ignore[operator]
    message = service.claim(session, row.id, now=row.next_attempt_at)
    assert message is not None and message.subject is not None
    assert complaint.ticket in message.subject and "Pengaduan baru" in message.subject
    assert complaint.subject not in message.body  # confidential by default: content stays inside
    assert f"http://127.0.0.1:8001/pengaduan/{complaint.ticket}" in message.body  # the console page
    # a notice still waiting for the opening when the complaint moves on is not sent
    add_officer(session, "sekdis", "sekretaris", "sekdis@dinas.go.id")
    act(session, complaint, KASUBAG, "forward")
    land(session, complaint)
    [later] = [n for n in rows(session, complaint) if n.recipient == "sekdis@dinas.go.id"]
    act(session, complaint, SEKDIS, "return", reason="salah alamat")
    assert service.claim(session, later.id, now=T0 + timedelta(hours=1)) is None
    assert (later.status, later.next_attempt_at) == ("cancelled", None)


def test_a_staff_notice_retried_after_closing_time_waits_for_the_opening(
    session: Session, complaint: Complaint
) -> None:
    add_officer(session, "kasubag1", "kasubag_umum", "kasubag@dinas.go.id")
    act(session, complaint, FO, "forward", identity_verified=True, id_document="KTP")
    land(session, complaint)
    [row] = [n for n in rows(session, complaint) if n.audience == notices.STAFF]
    closing = T0 + timedelta(hours=5, minutes=59, seconds=55)  # Wednesday 15:59:55 WIB
    message = service.claim(session, row.id, now=closing)
    assert message is not None
    service.record(session, verdict(message, Verdict.TRANSIENT, "SMTP 451"), now=closing)
    assert row.status == "pending"
    assert row.next_attempt_at == T0 + timedelta(hours=21, minutes=30)  # Thursday 07:30 WIB


def test_a_staff_notice_found_due_after_closing_time_waits_for_the_opening(
    session: Session, complaint: Complaint
) -> None:
    add_officer(session, "kasubag1", "kasubag_umum", "kasubag@dinas.go.id")
    act(session, complaint, FO, "forward", identity_verified=True, id_document="KTP")
    land(session, complaint)  # due at once: Wednesday 10:02 WIB, the office is open
    [row] = [n for n in rows(session, complaint) if n.audience == notices.STAFF]
    evening = T0 + timedelta(hours=9)  # Wednesday 19:00 WIB: the sweeper was down all afternoon
    assert notices.dispatch_due(session, now=evening, settings=get_settings()) == []
    opening = T0 + timedelta(hours=21, minutes=30)  # Thursday 07:30 WIB
    assert (row.status, row.next_attempt_at) == ("pending", opening)
    assert notices.dispatch_due(session, now=opening, settings=get_settings()) == [row.id]


def test_a_message_that_cannot_be_built_fails_for_good_and_settles_the_delivery(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="sms")
    complaint.tracking_code_enc = b"not a ciphertext"  # e.g. a data key rotated without re-encryption
    session.flush()
    assert (
        service.prepare(session, complaint_id=complaint.id, event=NotifyEvent.ANSWER, method="sms", now=T0)
        == []
    )
    session.flush()
    [row] = rows(session, complaint)
    assert (row.status, row.next_attempt_at) == ("failed", None)
    assert row.error is not None and "tidak dapat disusun" in row.error
    # nothing loops, and the front office is not left waiting on a message that will not come
    assert notices.dispatch_due(session, now=T0 + timedelta(days=1), settings=get_settings()) == []
    assert (complaint.step, complaint.delivery_state) == ("delivery", "unreachable")


def test_a_receipt_of_a_complaint_the_desk_already_forwarded_tells_the_front_office_nothing(
    session: Session, complaint: Complaint
) -> None:
    add_officer(session, "fo-desk", "front_office", "fo-desk@dinas.go.id")
    act(session, complaint, FO, "forward", identity_verified=True, id_document="KTP")  # filed and forwarded
    service.prepare(session, complaint_id=complaint.id, event=NotifyEvent.RECEIPT, method=None, now=T0)
    assert [n for n in rows(session, complaint) if n.audience == notices.STAFF] == []
    assert [n.event for n in rows(session, complaint)] == ["receipt"]  # the citizen's receipt still goes
