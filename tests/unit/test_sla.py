"""The SLA timers of a stay: scheduled on arrival, fired once each by the sweeper, stale when moved."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import sla
from shared.models import Complaint, Deadline, Escalation, History
from shared.settings import get_settings
from shared.sop import Step
from shared.workflow import transition
from tests.unit.conftest import T0, add_officer, add_received
from tests.unit.test_workflow import FO, FORWARD, KASUBAG, act, land

SETTINGS = get_settings()


def _timers(session: Session, c: Complaint) -> dict[str, Deadline]:
    rows = session.scalars(select(Deadline).where(Deadline.complaint_id == c.id, Deadline.step == c.step))
    return {d.kind: d for d in rows}


def _fire(session: Session, at_minutes: float) -> int:
    done = sla.fire_due(session, now=T0 + timedelta(minutes=at_minutes), settings=SETTINGS, overrides={})
    session.flush()
    return done.fired


def schedule_at_verification(session: Session, complaint_id: int, entered_at: datetime = T0) -> None:
    """The timers intake writes with a filing (the unit fixture's complaint has none)."""
    sla.schedule(
        session,
        complaint_id=complaint_id,
        step=Step.VERIFICATION,
        entered_at=entered_at,
        settings=get_settings(),
        overrides={},
    )


def fo_does(session: Session, complaint: Complaint, action: str, at: timedelta, **inputs: object) -> None:
    """The front office's `action` at T0 + `at`."""
    transition(
        session, complaint, action=action, version=complaint.version, inputs=inputs, actor=FO, now=T0 + at
    )
    session.flush()


def test_arrival_schedules_reminder_breach_and_second_level(session: Session, complaint: Complaint) -> None:
    act(session, complaint, FO, "forward", **FORWARD)
    land(session, complaint)  # lands at T0 + 2 min + 1 s, Wednesday 10:02:01 WIB, office open
    entered = complaint.step_entered_at
    assert entered is not None
    timers = _timers(session, complaint)
    assert {k: d.due_at - entered for k, d in timers.items()} == {
        "reminder": timedelta(minutes=22, seconds=30),  # 75 % of 30 minutes
        "breach": timedelta(minutes=30),
        "second": timedelta(minutes=60),
    }
    assert complaint.step_due_at == timers["breach"].due_at


def test_each_timer_fires_once_up_the_chain(session: Session, complaint: Complaint) -> None:
    act(session, complaint, FO, "forward", **FORWARD)
    land(session, complaint)
    version = complaint.version
    assert _fire(session, 20) == 0
    assert _fire(session, 25) == 1  # reminder to kasubag_umum, who holds review
    assert _fire(session, 25) == 0  # a second sweep finds nothing more
    assert _fire(session, 33) == 1  # breach: to the sekretaris
    assert _fire(session, 70) == 1  # twice the standard: to the kepala dinas
    assert _fire(session, 500) == 0
    escalations = session.scalars(select(Escalation).order_by(Escalation.id)).all()
    assert [(e.level, e.target_role) for e in escalations] == [
        (0, "kasubag_umum"),
        (1, "sekretaris"),
        (2, "kepala_dinas"),
    ]
    assert all(e.notify_at >= e.fired_at for e in escalations)
    history = session.scalars(
        select(History.action).where(History.complaint_id == complaint.id).order_by(History.id)
    ).all()
    assert history[-3:] == ["reminder", "escalated", "escalated"]
    session.refresh(complaint)
    assert complaint.escalation_level == 2
    assert complaint.version == version  # escalation never makes an officer's click stale


def test_reminder_share_and_escalation_chain_come_from_the_settings(
    session: Session, complaint: Complaint
) -> None:
    chain = {**SETTINGS.escalation_chain, "front_office": "sekretaris"}
    custom = SETTINGS.model_copy(update={"reminder_share": 0.5, "escalation_chain": chain})
    sla.schedule(
        session,
        complaint_id=complaint.id,
        step=Step.VERIFICATION,
        entered_at=T0,
        settings=custom,
        overrides={},
    )
    assert _timers(session, complaint)["reminder"].due_at == T0 + timedelta(minutes=15)  # half of 30

    def fire(minutes: int) -> int:
        done = sla.fire_due(session, now=T0 + timedelta(minutes=minutes), settings=custom, overrides={})
        session.flush()
        return done.fired

    assert fire(14) == 0
    assert fire(16) == 1
    assert fire(31) == 1
    targets = session.scalars(select(Escalation.target_role).order_by(Escalation.level)).all()
    assert targets == ["front_office", "sekretaris"]  # the holder, then the chain's next level


def test_a_calendar_change_moves_the_timers_themselves(session: Session, complaint: Complaint) -> None:
    from datetime import date

    from shared.calendar import Override

    schedule_at_verification(session, complaint.id)
    before = {kind: d.due_at for kind, d in _timers(session, complaint).items()}
    wednesday = date(2026, 11, 25)  # T0 is Wednesday 10:00 WIB; the admin closes that day
    closed = {wednesday: Override(wednesday, False, "Rapat kerja")}
    assert sla.reschedule(session, settings=SETTINGS, overrides=closed) == 3
    session.flush()
    opening = T0.replace(day=26, hour=0, minute=30)  # Thursday 07:30 WIB
    after = {kind: d.due_at for kind, d in _timers(session, complaint).items()}
    assert after == {
        "reminder": opening + timedelta(minutes=22, seconds=30),
        "breach": opening + timedelta(minutes=30),
        "second": opening + timedelta(minutes=60),
    }
    assert after != before
    assert sla.reschedule(session, settings=SETTINGS, overrides={}) == 3  # and back
    session.flush()
    assert {kind: d.due_at for kind, d in _timers(session, complaint).items()} == before


def test_timers_of_a_finished_stay_go_stale(session: Session, complaint: Complaint) -> None:
    act(session, complaint, FO, "forward", **FORWARD)
    land(session, complaint)
    act(session, complaint, KASUBAG, "return", reason="lengkapi")
    land(session, complaint)
    assert complaint.escalation_level == 0
    before = session.scalars(select(History.id)).all()
    _fire(session, 25)
    stale = [d for d in session.scalars(select(Deadline)) if d.step == "review"]
    assert {d.result for d in stale if d.fired_at is not None} == {"stale"}
    assert session.scalars(select(History.id)).all() == before
    assert session.scalars(select(Escalation)).all() == []


def test_sla_report_counts_stays_per_step_and_per_bidang(session: Session, complaint: Complaint) -> None:
    from services.routing.reports import as_csv, sla_report
    from tests.unit.test_workflow import _to_delivery

    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="in_person", outcome="delivered")
    report = sla_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1))
    counts = {f.step: f.count for f in report.steps}
    assert counts == {
        "verification": 0,
        "review": 1,
        "disposition": 1,
        "drafting": 1,
        "answer_review": 1,
        "delivery": 1,
    }
    assert [(f.unit, f.count) for f in report.drafting_by_unit] == [("hi_jamsos", 1)]
    review = next(f for f in report.steps if f.step == "review")
    assert review.within_standard == 1.0 and review.standard_minutes == 30
    drafting = next(f for f in report.steps if f.step == "drafting")
    assert drafting.standard_minutes == 450  # one working day of 7.5 open hours
    assert report.legal.received == 1 and report.legal.first_reply_within == 1.0
    text = as_csv(report)
    assert text.splitlines()[0] == "tahap,bidang,jumlah,sesuai_standar,median_menit,p90_menit,standar_menit"
    assert "drafting,hi_jamsos,1," in text


def test_sla_report_leaves_out_the_wait_for_the_complainant(session: Session, complaint: Complaint) -> None:
    from services.routing.reports import sla_report

    add_received(session, complaint)
    fo_does(session, complaint, "request_info", timedelta(minutes=10), reason="Fotokopi KTP belum ada")
    fo_does(session, complaint, "info_received", timedelta(minutes=60))
    fo_does(session, complaint, "forward", timedelta(minutes=65), **FORWARD)
    report = sla_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1))
    verification = next(f for f in report.steps if f.step == "verification")
    # 65 minutes at the step, 50 of them waiting for the complainant: 15 on the clock
    assert (verification.count, verification.median_minutes, verification.within_standard) == (1, 15, 1.0)


def test_sla_report_counts_a_delivery_the_gateway_settled(session: Session, complaint: Complaint) -> None:
    from services.routing.reports import sla_report
    from tests.unit.test_workflow import _to_delivery, settle

    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="sms")
    assert complaint.status == "open"  # handed to the notify service
    settle(session, complaint, "delivered")
    session.refresh(complaint)
    assert complaint.outcome == "answered"
    report = sla_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1))
    delivery = next(f for f in report.steps if f.step == "delivery")
    assert delivery.count == 1


def test_request_info_stops_the_clock_and_info_received_resumes_with_what_was_left(
    session: Session, complaint: Complaint
) -> None:
    import pytest

    from shared.workflow import Conflict, recompute_deadlines

    def do(action: str, at: timedelta, **inputs: str) -> None:
        fo_does(session, complaint, action, at, **inputs)

    schedule_at_verification(session, complaint.id)
    do("request_info", timedelta(minutes=10), reason="Fotokopi KTP belum ada")
    assert complaint.paused_at == T0 + timedelta(minutes=10) and complaint.step_due_at is None
    assert complaint.paused_remaining_s == 20 * 60
    assert complaint.step == "verification" and not complaint.handoff_pending
    with pytest.raises(Conflict):
        do("request_info", timedelta(minutes=11), reason="lagi")
    assert _fire(session, 100) == 0  # paused: the old stay's timers go stale, nothing fires
    do("info_received", timedelta(hours=1), note="KTP diserahkan")
    resumed = T0 + timedelta(hours=1)  # 11:00 WIB: the 20 minutes left end before lunch
    assert complaint.paused_at is None and complaint.step_entered_at == resumed
    assert complaint.version == 3  # one bump per action, though resuming also writes timers
    assert complaint.step_due_at == resumed + timedelta(minutes=20)
    timers = {
        d.kind: d.due_at - resumed
        for d in session.scalars(select(Deadline).where(Deadline.entered_at == resumed))
    }
    assert timers == {
        "reminder": timedelta(minutes=12, seconds=30),
        "breach": timedelta(minutes=20),
        "second": timedelta(minutes=50),
    }
    with pytest.raises(Conflict):
        do("info_received", timedelta(hours=3))
    # A calendar change recomputes the resumed stay's timers with the 10 minutes used before the
    # pause still counted (no change of hours here: each timer stays where it is).
    assert sla.reschedule(session, settings=SETTINGS, overrides={}) == 0
    session.flush()
    again = {
        d.kind: d.due_at - resumed
        for d in session.scalars(select(Deadline).where(Deadline.entered_at == resumed))
    }
    assert again == timers
    # ...and the complaint's own deadline too: 20 minutes from the resumption, not a new 30.
    assert recompute_deadlines(session, now=resumed) == 0
    session.refresh(complaint)
    assert complaint.step_used_s == 10 * 60
    assert complaint.step_due_at == resumed + timedelta(minutes=20)


def test_an_escalation_stays_in_view_after_a_pause_and_leaves_it_when_the_stay_ends(
    session: Session, complaint: Complaint
) -> None:
    from services.routing.auth import StaffUser
    from services.routing.service import escalations
    from shared.sop import Role

    kasubag = StaffUser(id=1, username="kasubag", role=Role.KASUBAG_UMUM, unit=None)

    def in_view() -> list[tuple[str, int]]:
        return [(i.ticket, i.level) for i in escalations(session, kasubag, limit=50, offset=0).items]

    def do(action: str, minutes: int, **inputs: object) -> None:
        fo_does(session, complaint, action, timedelta(minutes=minutes), **inputs)

    schedule_at_verification(session, complaint.id)
    assert _fire(session, 31) == 2  # the reminder to the front office, the breach to kasubag
    assert in_view() == [(complaint.ticket, 1)]
    do("request_info", 35, reason="Fotokopi KTP belum ada")
    do("info_received", 60)
    assert in_view() == [(complaint.ticket, 1)]  # the same stay, still past its standard
    assert _fire(session, 61) == 0  # what fired before the pause does not fire again
    do("forward", 61, **FORWARD)
    assert in_view() == []


def test_a_pause_before_the_sweeper_fired_a_passed_timer_loses_no_escalation(
    session: Session, complaint: Complaint
) -> None:
    schedule_at_verification(session, complaint.id)
    # 35 minutes in, the reminder (22.5) and the breach (30) are due but the sweeper has not run
    fo_does(session, complaint, "request_info", timedelta(minutes=35), reason="Fotokopi KTP belum ada")
    assert _fire(session, 36) == 0  # paused: the old stay's timers go stale
    fo_does(session, complaint, "info_received", timedelta(minutes=60))
    assert _fire(session, 61) == 2  # the reminder and the breach, due at the resumption
    assert _fire(session, 89) == 0
    assert _fire(session, 91) == 1  # twice the standard: 30 more minutes of open time
    levels = session.scalars(select(Escalation.level).order_by(Escalation.id)).all()
    assert levels == [0, 1, 2]


def test_staff_notices_of_a_night_escalation_wait_for_the_opening(
    session: Session, complaint: Complaint
) -> None:
    from shared import notices
    from shared.calendar import Override
    from shared.clock import WIB, calendar_for
    from shared.identity import blind_index
    from shared.models import Notification

    add_officer(session, "sekdis", "sekretaris", "sekdis@dinas.go.id")
    act(session, complaint, FO, "forward", **FORWARD)
    land(session, complaint)  # review, Wednesday 10:02 WIB; breach at 10:32, to the sekretaris
    night = T0 + timedelta(hours=14)  # Thursday 00:00 WIB: the sweeper runs, the office is closed
    done = sla.fire_due(session, now=night, settings=SETTINGS, overrides={})
    session.flush()
    assert done.fired == 3  # reminder, breach and twice the standard, all past due by midnight
    [notice] = session.scalars(
        select(Notification).where(
            Notification.recipient_index == blind_index("sekdis@dinas.go.id", field="recipient")
        )
    ).all()
    opening = night + timedelta(hours=7, minutes=30)  # Thursday 07:30 WIB
    assert (notice.event, notice.status, notice.next_attempt_at) == ("breach:review:2", "pending", opening)
    assert notice.context is not None and notice.context["holder_role"] == "kasubag_umum"
    assert notices.dispatch_due(session, now=night, settings=SETTINGS) == []  # never at midnight
    # The admin closes Thursday that night: the notice waits for Friday's opening.
    thursday = calendar_for(SETTINGS, {}).next_open(night).astimezone(WIB).date()
    closed = {thursday: Override(thursday, False, "Rapat kerja")}
    assert notices.reschedule(session, calendar=calendar_for(SETTINGS, closed), now=night) == 1
    session.refresh(notice)
    assert notice.next_attempt_at == opening + timedelta(days=1)
    [escalated] = session.scalars(select(Escalation).where(Escalation.level == 1)).all()
    session.refresh(escalated)
    assert escalated.notify_at == opening + timedelta(days=1)
    assert notices.dispatch_due(session, now=opening, settings=SETTINGS) == []
    assert notice.id in notices.dispatch_due(session, now=opening + timedelta(days=1), settings=SETTINGS)
