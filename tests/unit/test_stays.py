"""The `stays` table: a row per completed stay, written by whatever history row ends it, measured
again when the office calendar changes, and filled by the backfill as the history fold reads it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared import office_days, stays
from shared.clock import calendar_for
from shared.models import CalendarOverride, Complaint, History, Outbox, StayMinutes, StayRecord
from shared.settings import get_settings
from shared.sop import Step
from shared.workflow import Actor, arrive, transition
from tests.support import report_data
from tests.unit.conftest import T0, add_received, complaint_row
from tests.unit.test_sla import _fire, fo_does
from tests.unit.test_workflow import (
    DISPOSE,
    FO,
    FORWARD,
    HI,
    KASUBAG,
    PENEMPATAN,
    SEKDIS,
    _to_delivery,
    act,
    land,
    settle,
)


def _rows(session: Session, c: Complaint) -> list[tuple[str, str | None, float, int]]:
    """(step, unit, office minutes, paused spans) of the complaint's stays, in the order written."""
    found = session.scalars(
        select(StayRecord).where(StayRecord.complaint_id == c.id).order_by(StayRecord.id)
    ).all()
    return [(s.step, s.unit, s.office_minutes, len(s.paused or [])) for s in found]


def test_an_officer_moving_the_complaint_on_writes_the_stay(session: Session, complaint: Complaint) -> None:
    add_received(session, complaint)
    act(session, complaint, FO, "forward", **FORWARD)  # at T0 + 1 min
    assert _rows(session, complaint) == [("verification", None, 1.0, 0)]
    ended = session.scalars(select(History).where(History.action == "forward")).one()
    record = session.scalars(select(StayRecord)).one()
    assert (record.history_id, record.entered_at, record.left_at) == (ended.id, T0, ended.at)
    land(session, complaint)
    # review: landed at 2 min 1 s, left at 5 min
    transition(
        session,
        complaint,
        action="forward",
        version=complaint.version,
        inputs={},
        actor=KASUBAG,
        now=T0 + timedelta(minutes=5),
    )
    session.flush()
    assert _rows(session, complaint)[-1] == ("review", None, 179 / 60, 0)


def test_a_closing_action_and_the_gateways_delivery_write_their_stays(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="sms")
    steps = [r[0] for r in _rows(session, complaint)]
    assert steps == ["review", "disposition", "drafting", "answer_review"]  # the hand-over: no exit
    assert _rows(session, complaint)[2][1] == "hi_jamsos"  # the drafting stay keeps its bidang
    settle(session, complaint, "delivered")  # the system ends the delivery stay
    assert [r[0] for r in _rows(session, complaint)][-1] == "delivery"
    assert len(_rows(session, complaint)) == 5


def test_a_gateways_failed_delivery_and_a_reminder_write_no_stay(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    act(session, complaint, FO, "deliver", method="sms")
    before = _rows(session, complaint)
    settle(session, complaint, "unreachable")  # still at delivery
    assert _rows(session, complaint) == before
    _fire(session, 60 * 24 * 3)  # the delivery stay's reminder and breaches
    assert session.scalars(select(History.action).where(History.action == "escalated")).first()
    assert _rows(session, complaint) == before


def test_an_officers_failed_delivery_attempt_leaves_the_stay_open(
    session: Session, complaint: Complaint
) -> None:
    _to_delivery(session, complaint)
    before = _rows(session, complaint)
    act(session, complaint, FO, "deliver", method="phone", outcome="unreachable")
    assert complaint.step == "delivery"
    assert _rows(session, complaint) == before
    act(session, complaint, FO, "deliver", method="in_person", outcome="delivered")
    assert [r[0] for r in _rows(session, complaint)] == [*(r[0] for r in before), "delivery"]


def test_closed_while_waiting_for_documents_counts_the_wait_as_paused(
    session: Session, complaint: Complaint
) -> None:
    add_received(session, complaint)
    fo_does(session, complaint, "request_info", timedelta(minutes=10), reason="Fotokopi KTP belum ada")
    assert _rows(session, complaint) == []
    fo_does(session, complaint, "info_received", timedelta(minutes=60))
    assert _rows(session, complaint) == []
    fo_does(session, complaint, "request_info", timedelta(minutes=70), reason="Surat kuasa belum ada")
    fo_does(session, complaint, "reject", timedelta(minutes=90), reason="Tidak dilengkapi")
    # 90 minutes at the step, 50 + 20 of them waiting: 20 on the clock
    assert _rows(session, complaint) == [("verification", None, 20.0, 2)]


def test_closing_a_day_measures_again_the_stays_over_it(session: Session, complaint: Complaint) -> None:
    add_received(session, complaint)
    # Wednesday 10:00 WIB to Thursday 10:00 WIB: 7.5 office hours
    fo_does(session, complaint, "forward", timedelta(days=1), **FORWARD)
    assert _rows(session, complaint) == [("verification", None, 450.0, 0)]
    wednesday = date(2026, 11, 25)
    office_days.set_override(session, wednesday, open_=False, reason="Rapat", actor="admin", now=T0)
    session.flush()
    assert _rows(session, complaint) == [("verification", None, 150.0, 0)]  # Thursday 07:30-10:00
    office_days.set_override(session, date(2026, 11, 28), open_=True, reason="Lembur", actor="admin", now=T0)
    session.flush()
    assert _rows(session, complaint)[0][2] == 150.0  # a day after the stay changes nothing
    assert office_days.clear_override(session, wednesday, now=T0)
    session.flush()
    assert _rows(session, complaint) == [("verification", None, 450.0, 0)]
    office_days.invalidate()


def _table(session: Session) -> list[tuple[Any, ...]]:
    rows = session.scalars(select(StayRecord).order_by(StayRecord.history_id)).all()
    return [
        (r.history_id, r.complaint_id, r.step, r.unit, r.entered_at, r.left_at, r.paused, r.office_minutes)
        for r in rows
    ]


def test_the_backfill_writes_what_the_history_fold_reads(session: Session) -> None:
    settings = get_settings()
    report_data.seed(session, settings, b"tracking")
    written = _table(session)
    assert len(written) == 23  # the fixture's stays, each written with the row that ended it
    assert any(paused for *_, paused, _m in written)
    session.execute(delete(StayRecord))
    assert stays.backfill(session.connection(), settings, batch=3) == len(written)
    assert _table(session) == written
    # ... and the figures are the ones the reports computed from the history on every request
    calendar = calendar_for(settings, {})
    folded = stays.stays_of(session, select(Complaint.id))
    assert sorted((s.history_id, s.step, s.unit, stays.office_minutes(calendar, s)) for s in folded) == [
        (r[0], r[2], r[3], r[7]) for r in written
    ]


def _histogram(session: Session) -> dict[stays.Bucket, int]:
    """`stay_minutes` as it stands (buckets emptied by a recompute left out)."""
    rows = session.scalars(select(StayMinutes)).all()
    return {(r.month, r.step, r.unit, r.minutes): r.stays for r in rows if r.stays}


def _counted(session: Session) -> dict[stays.Bucket, int]:
    """What `stay_minutes` must hold: every row of `stays` in its bucket."""
    rows = session.execute(
        select(StayRecord.left_at, StayRecord.step, StayRecord.unit, StayRecord.office_minutes)
    ).all()
    return dict(Counter(stays.bucket(*r) for r in rows))


def test_each_stay_is_counted_in_its_month_step_bidang_and_whole_minute(session: Session) -> None:
    report_data.seed(session, get_settings(), b"tracking")
    written = _histogram(session)
    assert sum(written.values()) == 23
    assert written == _counted(session)
    # the drafting stays keep their bidang; the others count under ""
    assert {(step, unit) for _m, step, unit, _n in written} >= {("drafting", "hi_jamsos"), ("review", "")}
    # what migration 0023 does with the stays written before it
    session.execute(delete(StayMinutes))
    assert stays.backfill_minutes(session.connection(), batch=4) == 23
    assert _histogram(session) == written


def test_a_stay_is_counted_at_its_minutes_rounded_up_and_moved_when_a_day_closes(
    session: Session, complaint: Complaint
) -> None:
    add_received(session, complaint)
    fo_does(session, complaint, "forward", timedelta(days=1, seconds=20), **FORWARD)
    # Wednesday 10:00 WIB to Thursday 10:00:20 WIB: 450 office minutes and 20 seconds
    assert _rows(session, complaint) == [("verification", None, 450 + 1 / 3, 0)]
    assert _histogram(session) == {("2026-11", "verification", "", 451): 1}
    office_days.set_override(session, date(2026, 11, 25), open_=False, reason="Rapat", actor="admin", now=T0)
    session.flush()
    assert _histogram(session) == {("2026-11", "verification", "", 151): 1} == _counted(session)
    assert office_days.clear_override(session, date(2026, 11, 25), now=T0)
    session.flush()
    assert _histogram(session) == {("2026-11", "verification", "", 451): 1}
    office_days.invalidate()


def test_the_month_is_the_wib_month_the_stay_ended_in() -> None:
    # 31 October 17:30 UTC is 1 November 00:30 WIB
    left = datetime(2026, 10, 31, 17, 30, tzinfo=UTC)
    assert stays.bucket(left, "review", None, 0.2) == ("2026-11", "review", "", 1)
    assert stays.bucket(left, "review", None, 3.0) == ("2026-11", "review", "", 3)


def _at(session: Session, c: Complaint, actor: Actor, action: str, minute: float, **inputs: Any) -> None:
    """`actor`'s `action` at T0 + `minute`; a hand-off lands 30 seconds later."""
    at = T0 + timedelta(minutes=minute)
    transition(session, c, action=action, version=c.version, inputs=inputs, actor=actor, now=at)
    session.flush()
    if c.handoff_pending:
        step, later = Step(c.step or ""), at + timedelta(seconds=30)
        assert arrive(session, complaint_id=c.id, step=step, version=c.version, now=later)
        session.refresh(c)


def test_a_step_entered_again_is_measured_from_its_own_arrival(
    session: Session, complaint: Complaint
) -> None:
    """The hook folds a stay from the row that opened it: what an earlier stay at the same step
    waited and the bidang of an earlier disposition are read as the whole history's fold reads them."""
    add_received(session, complaint)
    _at(session, complaint, FO, "request_info", 5, reason="Fotokopi KTP belum ada")
    _at(session, complaint, FO, "info_received", 15)
    _at(session, complaint, FO, "forward", 20, **FORWARD)
    _at(session, complaint, KASUBAG, "return", 25, reason="Identitas belum lengkap")
    _at(session, complaint, FO, "forward", 35, **FORWARD)  # verification again: nothing paused
    _at(session, complaint, KASUBAG, "forward", 40)
    _at(session, complaint, SEKDIS, "dispose", 45, **DISPOSE)
    _at(session, complaint, HI, "return", 55, reason="Bukan wewenang bidang HI")
    _at(session, complaint, SEKDIS, "dispose", 60, **{**DISPOSE, "unit": "penempatan", "cc_units": []})
    _at(session, complaint, PENEMPATAN, "submit_answer", 80, answer="Jawaban.")
    assert _rows(session, complaint) == [
        ("verification", None, 10.0, 1),
        ("review", None, 4.5, 0),
        ("verification", None, 9.5, 0),
        ("review", None, 4.5, 0),
        ("disposition", None, 4.5, 0),
        ("drafting", "hi_jamsos", 9.5, 0),
        ("disposition", None, 4.5, 0),
        ("drafting", "penempatan", 19.5, 0),  # the bidang of the disposition before its arrival
    ]
    written = _table(session)
    session.execute(delete(StayRecord))
    assert stays.backfill(session.connection(), get_settings()) == len(written)
    assert _table(session) == written


def test_a_stay_ended_on_a_stale_calendar_is_measured_again_once_the_caches_expired(
    session: Session, complaint: Complaint
) -> None:
    """The hook measures on the process's cached calendar; another process's change of a day is
    followed, once every copy has expired, by a recomputation of the stays over that day."""
    add_received(session, complaint)
    office_days.invalidate()
    cached = office_days.calendar(session)
    wednesday = date(2026, 11, 25)
    # another process closes Wednesday (this process's copy is not told)
    closed = CalendarOverride(day=wednesday, open=False, reason="Rapat", created_by="admin", created_at=T0)
    session.add(closed)
    fo_does(session, complaint, "forward", timedelta(days=1), **FORWARD)
    assert office_days.calendar(session) is cached
    assert _rows(session, complaint) == [("verification", None, 450.0, 0)]  # on the copy: Wednesday open
    # what the routing worker's recompute does with the day its second message names
    office_days.invalidate()
    assert stays.recompute(session, wednesday) == 1
    assert _rows(session, complaint) == [("verification", None, 150.0, 0)]
    assert _histogram(session) == _counted(session)
    # a change queues that second message, for when every copy has expired, with the day
    saturday = date(2026, 11, 28)
    office_days.set_override(session, saturday, open_=True, reason="Lembur", actor="admin", now=T0)
    session.flush()
    later = session.scalars(select(Outbox).order_by(Outbox.id.desc())).first()
    assert later is not None
    assert later.payload == {"reason": "calendar, caches expired", "day": "2026-11-28"}
    assert office_days.calendar(session) is not cached
    office_days.invalidate()


def test_stays_ended_in_one_flush_are_written_together(session: Session, complaint: Complaint) -> None:
    """Several history rows ending stays in one flush (a batch of deliveries): each its own stay."""
    other = complaint_row(ticket="ADU-2026-999998")
    session.add(other)
    session.flush()
    for c in (complaint, other):
        add_received(session, c)
    for c, minutes in ((complaint, 7), (other, 12)):
        at = T0 + timedelta(minutes=minutes)
        transition(session, c, action="forward", version=c.version, inputs=FORWARD, actor=FO, now=at)
    session.flush()
    assert _rows(session, complaint) == [("verification", None, 7.0, 0)]
    assert _rows(session, other) == [("verification", None, 12.0, 0)]
