"""transition() and arrive() against a real (SQLite) database, one rolled-back transaction each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Complaint, DeliveryAttempt, Disposition, History, Notification, Outbox
from shared.sop import Outcome, Role, Status, Step
from shared.tasks import TaskName
from shared.validation import InputError
from shared.workflow import Actor, Conflict, Forbidden, arrive, settle_delivery, transition
from tests.unit.conftest import T0

FO = Actor("fo", Role.FRONT_OFFICE)
KASUBAG = Actor("kasubag", Role.KASUBAG_UMUM)
SEKDIS = Actor("sekdis", Role.SEKRETARIS)
HI = Actor("bidang-hi", Role.BIDANG, "hi_jamsos")
PENEMPATAN = Actor("bidang-pen", Role.BIDANG, "penempatan")
KADIS = Actor("kadis", Role.KEPALA_DINAS)

DISPOSE: dict[str, Any] = {
    "unit": "hi_jamsos",
    "cc_units": ["penempatan"],
    "instructions": ["siapkan jawaban"],
    "urgency": "segera",
}
FORWARD: dict[str, Any] = {"identity_verified": True, "id_document": "KTP"}


def act(session: Session, c: Complaint, actor: Actor, action: str, **inputs: Any) -> Any:
    done = transition(
        session,
        c,
        action=action,
        version=c.version,
        inputs=inputs,
        actor=actor,
        now=T0 + timedelta(minutes=c.version),
    )
    session.flush()
    return done


def land(session: Session, c: Complaint) -> None:
    """What the routing worker does: place the complaint in its next queue."""
    assert c.handoff_pending
    assert arrive(
        session,
        complaint_id=c.id,
        step=Step(c.step or ""),
        version=c.version,
        now=T0 + timedelta(minutes=c.version, seconds=1),
    )
    session.refresh(c)


def history(session: Session, c: Complaint) -> list[tuple[str, str | None, str | None]]:
    rows = session.scalars(select(History).where(History.complaint_id == c.id).order_by(History.id)).all()
    return [(h.action, h.from_step, h.to_step) for h in rows]


def outbox_tasks(session: Session) -> list[tuple[str, dict[str, Any]]]:
    return [(o.task, o.payload) for o in session.scalars(select(Outbox).order_by(Outbox.id))]


def test_full_path_through_all_six_steps(session: Session, complaint: Complaint) -> None:
    c = complaint
    act(session, c, FO, "forward", **FORWARD)
    assert (c.step, c.handoff_pending, c.version) == ("review", True, 2)
    assert c.step_due_at is None  # the clock starts when the hand-off lands
    land(session, c)
    assert c.step_due_at == c.step_entered_at + timedelta(minutes=30)  # type: ignore[operator]
    act(session, c, KASUBAG, "forward", note="lengkap")
    land(session, c)
    act(session, c, SEKDIS, "dispose", **DISPOSE)
    land(session, c)
    assert c.unit_code == "hi_jamsos"
    act(session, c, HI, "submit_answer", answer="THR wajib dibayar paling lambat H-7.")
    land(session, c)
    act(session, c, KASUBAG, "approve")
    land(session, c)
    assert c.step == "delivery"
    act(session, c, FO, "deliver", method="sms")
    # handed to the notify service: the gateway's verdict decides (delivery as proof)
    assert (c.status, c.step, c.delivery_state) == ("open", "delivery", "sending")
    settle(session, c, "delivered")
    closed: tuple[str, str | None, str | None] = (c.status, c.step, c.outcome)
    assert closed == ("closed", None, "answered")
    assert c.closed_at is not None and c.answer == "THR wajib dibayar paling lambat H-7."
    assert [h[0] for h in history(session, c)] == [
        "forward",
        "queued",
        "forward",
        "queued",
        "dispose",
        "queued",
        "submit_answer",
        "queued",
        "approve",
        "queued",
        "deliver",
        "delivery_delivered",
    ]
    disposition = session.scalars(select(Disposition)).one()
    assert disposition.agenda_number == f"2026/{disposition.agenda_seq:05d}"
    assert disposition.cc_units == ["penempatan"]
    tasks = outbox_tasks(session)
    assert [t for t, _ in tasks].count(TaskName.HANDOFF.value) == 5
    assert tasks[-1] == (
        TaskName.NOTIFY.value,
        {"complaint_id": c.id, "event": "answer", "method": "sms"},
    )


@pytest.mark.parametrize(
    ("step_path", "actor", "expected_back"),
    [
        ([], KASUBAG, "verification"),
        ([(KASUBAG, "forward", {})], SEKDIS, "review"),
        ([(KASUBAG, "forward", {}), (SEKDIS, "dispose", DISPOSE)], HI, "disposition"),
        (
            [
                (KASUBAG, "forward", {}),
                (SEKDIS, "dispose", DISPOSE),
                (HI, "submit_answer", {"answer": "Jawaban."}),
            ],
            KASUBAG,
            "drafting",
        ),
    ],
)
def test_every_return_goes_back_one_step(
    session: Session,
    complaint: Complaint,
    step_path: list[Any],
    actor: Actor,
    expected_back: str,
) -> None:
    c = complaint
    act(session, c, FO, "forward", **FORWARD)
    land(session, c)
    for who, action, inputs in step_path:
        act(session, c, who, action, **inputs)
        land(session, c)
    before = c.step
    act(session, c, actor, "return", reason="Belum lengkap")
    assert (c.step, c.handoff_pending) == (expected_back, True)
    last: tuple[str, str | None, str | None] = history(session, c)[-1]
    assert last == ("return", before, expected_back)
    if before == "drafting":
        assert c.unit_code is None  # a wrongly disposed complaint leaves the bidang


@pytest.mark.parametrize(
    ("action", "inputs", "outcome"),
    [
        (
            "resolve",
            {
                "identity_verified": True,
                "answer": "Sudah dijelaskan.",
                "delivery_method": "in_person",
            },
            Outcome.ANSWERED_AT_FRONT_OFFICE,
        ),
        ("reject", {"reason": "Bukan pengaduan"}, Outcome.REJECTED),
        ("refer", {"authority": "Disnakertrans Provinsi Jawa Tengah"}, Outcome.REFERRED),
    ],
)
def test_front_office_outcomes_close_the_complaint(
    session: Session, complaint: Complaint, action: str, inputs: dict[str, Any], outcome: Outcome
) -> None:
    act(session, complaint, FO, action, **inputs)
    assert (complaint.status, complaint.step, complaint.outcome) == ("closed", None, outcome.value)
    assert not complaint.handoff_pending
    assert history(session, complaint)[-1] == (action, "verification", None)
    assert not any(t == TaskName.HANDOFF.value for t, _ in outbox_tasks(session))
    if action == "resolve":  # path B records its delivery too: no closing without one
        attempt = session.scalars(select(DeliveryAttempt)).one()
        assert (attempt.method, attempt.outcome) == ("in_person", "delivered")


def settle(session: Session, c: Complaint, outcome: str) -> None:
    """What the notify worker does with the gateway's verdict on the answer."""
    attempt = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.outcome == "sending")).one()
    n = Notification(
        complaint_id=c.id,
        event=f"answer:{attempt.id}",
        channel=attempt.method,
        recipient=attempt.recipient or "",
        gateway="log",
        status="sent",
        created_at=T0,
    )
    session.add(n)
    session.flush()
    attempt.notification_id = n.id
    assert settle_delivery(
        session,
        complaint_id=c.id,
        notification_id=n.id,
        outcome=outcome,
        gateway="log",
        provider_id="p-1",
        note=None if outcome == "delivered" else "nomor tidak valid",
        now=T0,
    )
    session.flush()
    assert not settle_delivery(  # a redelivered verdict changes nothing
        session,
        complaint_id=c.id,
        notification_id=n.id,
        outcome=outcome,
        gateway="log",
        provider_id="p-1",
        note=None,
        now=T0,
    )


def _to_delivery(session: Session, c: Complaint) -> None:
    for who, action, inputs in [
        (FO, "forward", FORWARD),
        (KASUBAG, "forward", {}),
        (SEKDIS, "dispose", DISPOSE),
        (HI, "submit_answer", {"answer": "Jawaban."}),
        (KASUBAG, "approve", {}),
    ]:
        act(session, c, who, action, **inputs)
        land(session, c)


def test_unreachable_delivery_stays_in_the_queue_and_records_the_attempt(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="phone", outcome="unreachable", note="tidak aktif")
    assert (complaint.status, complaint.step, complaint.handoff_pending) == (
        "open",
        "delivery",
        False,
    )
    act(session, complaint, FO, "deliver", method="phone", outcome="delivered")
    assert complaint.outcome == "answered"
    attempts = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert attempts == ["unreachable", "delivered"]
    # phone delivery is human work: no answer goes out electronically, only the closing message
    notices = [p["event"] for t, p in outbox_tasks(session) if t == TaskName.NOTIFY.value]
    assert notices == ["closing"]
    phone = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).first()
    assert phone is not None and phone.recipient == complaint.phone  # the number called


def test_electronic_delivery_refused_stays_with_the_reason_and_blocks_double_sending(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="whatsapp")
    with pytest.raises(Conflict) as err:  # still sending: a second click must wait for the verdict
        act(session, complaint, FO, "deliver", method="sms")
    assert err.value.code == "delivery_in_progress"
    settle(session, complaint, "unreachable")
    assert (complaint.status, complaint.delivery_state) == ("open", "unreachable")
    assert complaint.delivery_note == "nomor tidak valid"
    act(session, complaint, FO, "deliver", method="phone", outcome="delivered", to_whom="Budi")
    assert (complaint.status, complaint.outcome, complaint.delivery_state) == ("closed", "answered", None)


def test_a_message_sent_by_hand_is_recorded_by_the_officer(session: Session, complaint: Complaint) -> None:
    _to_delivery(session, complaint)
    # From the office's own WhatsApp phone: the officer records what they saw; nothing is handed
    # to the notify service, so no gateway decides.
    act(session, complaint, FO, "deliver", method="whatsapp", outcome="unreachable", note="centang satu")
    assert (complaint.status, complaint.step, complaint.delivery_state) == ("open", "delivery", "unreachable")
    act(session, complaint, FO, "deliver", method="whatsapp", outcome="delivered", note="dibaca")
    assert (complaint.status, complaint.outcome) == ("closed", "answered")
    attempts = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [(a.method, a.outcome, a.gateway, a.recipient) for a in attempts] == [
        ("whatsapp", "unreachable", None, complaint.phone),
        ("whatsapp", "delivered", None, complaint.phone),
    ]
    notices = [p["event"] for t, p in outbox_tasks(session) if t == TaskName.NOTIFY.value]
    assert notices == ["closing"]


def test_a_hand_over_that_never_became_a_message_does_not_block_delivery(
    session: Session, complaint: Complaint
) -> None:
    from shared.workflow import LOST_SEND_AFTER

    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="sms")  # its outbox message is then lost
    with pytest.raises(Conflict):
        act(session, complaint, FO, "deliver", method="phone", outcome="delivered")
    later = T0 + LOST_SEND_AFTER + timedelta(minutes=30)
    transition(
        session,
        complaint,
        action="deliver",
        version=complaint.version,
        inputs={"method": "phone", "outcome": "delivered", "to_whom": "Budi"},
        actor=FO,
        now=later,
    )
    session.flush()
    assert (complaint.status, complaint.outcome) == ("closed", "answered")
    outcomes = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["unreachable", "delivered"]


def test_human_delivery_needs_its_outcome_and_electronic_needs_a_contact(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    with pytest.raises(InputError) as err:
        act(session, complaint, FO, "deliver", method="in_person")
    assert [(e.field, e.code) for e in err.value.errors] == [("outcome", "required")]
    with pytest.raises(InputError) as err:
        act(session, complaint, FO, "deliver", method="email")  # the complainant left no e-mail
    assert [(e.field, e.code) for e in err.value.errors] == [("method", "no_contact")]


def test_sms_and_whatsapp_need_a_mobile_number(session: Session, complaint: Complaint) -> None:
    complaint.phone = "+62286321234"  # a Wonosobo landline: no SMS, no WhatsApp (DOMAIN.md)
    _to_delivery(session, complaint)
    for method in ("sms", "whatsapp"):
        with pytest.raises(InputError) as err:
            act(session, complaint, FO, "deliver", method=method)
        [error] = err.value.errors
        assert (error.field, error.code) == ("method", "phone_not_mobile")
        assert error.message == "Balasan SMS/WhatsApp memerlukan nomor ponsel."
    assert session.scalars(select(DeliveryAttempt)).all() == []
    assert (complaint.delivery_state, complaint.version) == (None, 6)
    act(session, complaint, FO, "deliver", method="phone", outcome="delivered")  # a landline can be called
    assert complaint.outcome == "answered"


def test_the_number_called_is_checked_and_kept_in_e164(session: Session, complaint: Complaint) -> None:
    _to_delivery(session, complaint)
    for bad in ("12345", "bukan nomor"):
        with pytest.raises(InputError) as err:
            act(session, complaint, FO, "deliver", method="phone", outcome="unreachable", phone_called=bad)
        [error] = err.value.errors
        assert (error.field, error.code) == ("phone_called", "phone_invalid")
        assert error.message.startswith("Nomor telepon tidak valid")
    act(
        session,
        complaint,
        FO,
        "deliver",
        method="phone",
        outcome="unreachable",
        phone_called="0812-9876-5432",
    )
    [attempt] = session.scalars(select(DeliveryAttempt)).all()
    assert attempt.recipient == "+6281298765432"


def test_stale_version_is_a_conflict_and_writes_nothing(session: Session, complaint: Complaint) -> None:
    with pytest.raises(Conflict) as err:
        transition(session, complaint, action="forward", version=7, inputs=FORWARD, actor=FO, now=T0)
    assert err.value.code == "version_conflict"
    assert history(session, complaint) == []


def test_pending_handoff_and_closed_complaints_refuse_actions(session: Session, complaint: Complaint) -> None:
    act(session, complaint, FO, "forward", **FORWARD)
    with pytest.raises(Conflict):
        act(session, complaint, KASUBAG, "forward")
    land(session, complaint)
    act(session, complaint, KASUBAG, "return", reason="x")
    land(session, complaint)
    act(session, complaint, FO, "reject", reason="Bukan pengaduan")
    with pytest.raises(Conflict) as err:
        act(session, complaint, FO, "forward", **FORWARD)
    assert err.value.code == "step_changed"


@pytest.mark.parametrize("actor", [KASUBAG, SEKDIS, HI, KADIS])
def test_only_the_holding_role_may_act(session: Session, complaint: Complaint, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        act(session, complaint, actor, "forward", **FORWARD)


def test_a_bidang_acts_only_on_its_own_unit(session: Session, complaint: Complaint) -> None:
    for who, action, inputs in [
        (FO, "forward", FORWARD),
        (KASUBAG, "forward", {}),
        (SEKDIS, "dispose", DISPOSE),
    ]:
        act(session, complaint, who, action, **inputs)
        land(session, complaint)
    with pytest.raises(Forbidden) as err:
        act(session, complaint, PENEMPATAN, "submit_answer", answer="x")
    assert err.value.code == "unit_not_allowed"


def test_unknown_action_and_missing_kelengkapan_are_field_errors(
    session: Session, complaint: Complaint
) -> None:
    with pytest.raises(InputError) as err:
        act(session, complaint, FO, "dispose", **DISPOSE)
    assert [(e.field, e.code) for e in err.value.errors] == [("action", "action_not_allowed")]
    with pytest.raises(InputError) as err:
        act(session, complaint, FO, "forward", identity_verified=False)
    fields = {e.field: e.code for e in err.value.errors}
    assert fields == {"identity_verified": "invalid_choice", "id_document": "required"}
    with pytest.raises(InputError) as err:
        act(session, complaint, FO, "reject", reason="   ")
    assert [(e.field, e.code) for e in err.value.errors] == [("reason", "blank")]
    assert complaint.version == 1 and history(session, complaint) == []


def test_dispose_checks_the_units(session: Session, complaint: Complaint) -> None:
    for who, action, inputs in [(FO, "forward", FORWARD), (KASUBAG, "forward", {})]:
        act(session, complaint, who, action, **inputs)
        land(session, complaint)
    with pytest.raises(InputError) as err:
        act(
            session,
            complaint,
            SEKDIS,
            "dispose",
            **{**DISPOSE, "unit": "keuangan", "cc_units": ["nope"]},
        )
    assert {e.field for e in err.value.errors} == {"unit", "cc_units.0"}
    with pytest.raises(InputError) as err:
        act(session, complaint, SEKDIS, "dispose", **{**DISPOSE, "instructions": []})
    assert [e.code for e in err.value.errors] == ["too_few"]


def test_agenda_numbers_run_per_year_without_gaps(session: Session, complaint: Complaint) -> None:
    seqs = []
    for _ in range(3):
        for who, action, inputs in [
            (FO, "forward", FORWARD),
            (KASUBAG, "forward", {}),
            (SEKDIS, "dispose", DISPOSE),
        ]:
            act(session, complaint, who, action, **inputs)
            land(session, complaint)
        seqs.append(session.scalars(select(Disposition.agenda_seq).order_by(Disposition.id.desc())).first())
        act(session, complaint, HI, "return", reason="salah bidang")
        land(session, complaint)
        act(session, complaint, SEKDIS, "return", reason="telaah ulang")
        land(session, complaint)
        act(session, complaint, KASUBAG, "return", reason="lengkapi")
        land(session, complaint)
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]  # type: ignore[operator]


def test_arrive_is_a_compare_and_set(session: Session, complaint: Complaint) -> None:
    act(session, complaint, FO, "forward", **FORWARD)
    args: dict[str, Any] = {"complaint_id": complaint.id, "step": Step.REVIEW, "version": complaint.version}
    assert arrive(session, now=T0, **args) is True
    assert arrive(session, now=T0, **args) is False  # redelivered: nothing more
    stale = {**args, "version": complaint.version - 1}
    assert arrive(session, now=T0, **stale) is False
    queued = session.scalar(select(func.count()).select_from(History).where(History.action == "queued"))
    assert queued == 1
    session.refresh(complaint)
    assert complaint.status == Status.OPEN and not complaint.handoff_pending


def test_reconcile_resends_unprocessed_messages_with_backoff_then_gives_up(session: Session) -> None:
    from shared import outbox
    from shared.settings import get_settings

    settings = get_settings().model_copy(update={"outbox_max_attempts": 2, "outbox_grace": 10.0})
    row = outbox.new_row(TaskName.HANDOFF, {"complaint_id": 1, "step": "review", "version": 2}, now=T0)
    done = outbox.new_row(TaskName.HANDOFF, {"complaint_id": 2, "step": "review", "version": 2}, now=T0)
    session.add_all([row, done])
    session.flush()
    assert outbox.mark_processed(session, done.id, now=T0)
    assert not outbox.mark_processed(session, done.id, now=T0)  # a redelivery finds it done

    assert outbox.reconcile(session, now=T0, settings=settings) == []  # within the grace period
    later = T0 + timedelta(seconds=11)
    first = outbox.reconcile(session, now=later, settings=settings)
    assert [m.outbox_id for m in first] == [row.id] and row.attempts == 1
    assert row.next_attempt_at == later + timedelta(seconds=20)  # backoff doubles
    assert outbox.reconcile(session, now=later, settings=settings) == []
    even_later = later + timedelta(seconds=21)
    assert len(outbox.reconcile(session, now=even_later, settings=settings)) == 1
    assert outbox.reconcile(session, now=even_later + timedelta(hours=2), settings=settings) == []
    assert row.dead_at is not None and done.dead_at is None

    pruned = outbox.prune(session, now=T0 + timedelta(days=8), settings=settings)
    assert pruned == 1  # the processed row goes; the dead one stays for review
    assert session.scalars(select(Outbox.id)).all() == [row.id]


def test_a_calendar_change_recomputes_pending_deadlines(session: Session, complaint: Complaint) -> None:
    from datetime import date

    from shared import office_days
    from shared.workflow import recompute_deadlines

    assert complaint.step_due_at == T0 + timedelta(minutes=30)  # Wednesday 10:30 WIB
    office_days.set_override(session, date(2026, 11, 25), open_=False, reason="Rapat", actor="admin", now=T0)
    session.flush()
    assert recompute_deadlines(session, now=T0) == 1
    session.refresh(complaint)
    # entered on a closed day: the 30 minutes start at Thursday's opening, 07:30 WIB (00:30 UTC)
    assert complaint.step_due_at == T0.replace(day=26, hour=1, minute=0)
    # once at once, once more after every process's cached calendar has expired
    recomputes = session.scalars(select(Outbox).order_by(Outbox.id)).all()
    assert [r.task for r in recomputes] == [TaskName.RECOMPUTE.value] * 2
    assert recomputes[0].next_attempt_at < T0 + timedelta(seconds=office_days.TTL)
    assert recomputes[1].next_attempt_at > T0 + timedelta(seconds=office_days.TTL)
    assert office_days.clear_override(session, date(2026, 11, 25), now=T0)
    session.flush()
    assert recompute_deadlines(session, now=T0) == 1
    session.refresh(complaint)
    assert complaint.step_due_at == T0 + timedelta(minutes=30)
    office_days.invalidate()
