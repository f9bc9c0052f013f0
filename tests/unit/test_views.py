"""What staff see of the clocks: the worklist's order, the waiting list's flag, the legal clocks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from services.routing.auth import StaffUser
from services.routing.reports import LegalFigures, sla_report
from services.routing.service import complaint_view, worklist
from shared.clock import set_clock
from shared.models import Complaint, History
from shared.sop import Role
from tests.unit.conftest import T0, complaint_row

FO = StaffUser(id=1, username="fo", role=Role.FRONT_OFFICE, unit=None)
KADIS = StaffUser(id=2, username="kadis", role=Role.KEPALA_DINAS, unit=None)


def _add(session: Session, number: int, **columns: object) -> Complaint:
    c = complaint_row(ticket=f"ADU-2026-{number:06d}", **columns)
    session.add(c)
    session.flush()
    return c


def test_the_worklist_puts_a_complainant_waiting_on_site_first_then_the_oldest_deadline(
    session: Session,
) -> None:
    _add(session, 1, step_due_at=T0 + timedelta(minutes=30))
    _add(session, 2, step_due_at=T0 + timedelta(minutes=20))
    _add(session, 3, step_due_at=T0 + timedelta(minutes=60), waiting_on_site=True)
    _add(session, 4, step_due_at=T0 + timedelta(minutes=10))
    items, total = worklist(session, FO, at=T0, limit=50, offset=0)
    assert [i.ticket[-1] for i in items] == ["3", "4", "2", "1"]
    assert total == 4


def test_a_wait_past_the_30_day_limit_is_flagged(session: Session) -> None:
    at = T0 + timedelta(days=40)
    _add(session, 1, paused_at=at - timedelta(days=31), step_due_at=None, paused_remaining_s=600)
    _add(session, 2, paused_at=at - timedelta(days=29), step_due_at=None, paused_remaining_s=600)
    items, _ = worklist(session, FO, at=at, limit=50, offset=0, waiting=True)
    assert {i.ticket[-1]: i.paused_too_long for i in items} == {"1": True, "2": False}
    assert worklist(session, FO, at=at, limit=50, offset=0)[0] == []  # not in the active queue


def test_legal_clocks_run_out_and_the_decision_clock_starts_with_the_complete_file(
    session: Session,
) -> None:
    late = _add(session, 1)
    legal = complaint_view(session, KADIS, late.ticket, at=T0 + timedelta(days=61)).legal
    assert legal.first_reply_overdue and legal.decision_overdue
    assert legal.decision_due_at == T0 + timedelta(days=60)
    assert not complaint_view(
        session, KADIS, late.ticket, at=T0 + timedelta(days=13)
    ).legal.first_reply_overdue

    waiting = _add(session, 2, paused_at=T0 + timedelta(days=1), step_due_at=None, paused_remaining_s=600)
    legal = complaint_view(session, KADIS, waiting.ticket, at=T0 + timedelta(days=61)).legal
    assert (legal.file_complete_at, legal.decision_due_at, legal.decision_overdue) == (None, None, False)
    assert legal.first_reply_overdue  # the first reply's clock does not stop for documents

    documents = T0 + timedelta(days=10)
    waiting.paused_at = None
    session.add(
        History(
            complaint_id=waiting.id,
            at=documents,
            actor="fo",
            role="front_office",
            action="info_received",
            from_step="verification",
            to_step="verification",
            version=3,
        )
    )
    session.flush()
    legal = complaint_view(session, KADIS, waiting.ticket, at=T0 + timedelta(days=61)).legal
    assert legal.file_complete_at == documents
    assert legal.decision_due_at == documents + timedelta(days=60)
    assert not legal.decision_overdue


def test_the_report_judges_the_legal_clocks_that_have_run_out(session: Session) -> None:
    set_clock(lambda: T0 + timedelta(days=61))  # the movable clock: two months on
    try:
        legal = _legal_of_three(session)
    finally:
        set_clock(None)
    assert legal.received == 3
    assert legal.first_reply_within == 1 / 3  # the closing counts as the reply for 1 only
    assert legal.decision_within == 1 / 2  # 3 waits for documents: its decision clock has not started


def _legal_of_three(session: Session) -> LegalFigures:
    _add(session, 1, status="closed", step=None, outcome="rejected", closed_at=T0 + timedelta(days=5))
    _add(session, 2)  # open, both clocks long run out
    _add(session, 3, paused_at=T0 + timedelta(days=1), step_due_at=None, paused_remaining_s=600)
    return sla_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1)).legal
