"""The front desk's filing on SQLite: the intake's filing code, then the one transition(), at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.routing import desk
from services.routing.auth import StaffUser
from shared.api import ApiError
from shared.complaint_in import ComplaintIn
from shared.models import Complaint, History, User
from shared.sop import Role
from shared.validation import InputError
from tests.unit.conftest import T0

NIK = "3307015203900009"
FORWARD = {"identity_verified": True, "id_document": "KTP asli"}


def _body(subject: str, **overrides: Any) -> ComplaintIn:
    return ComplaintIn.model_validate(
        {
            "channel": "walk_in",
            "subject": subject,
            "description": "Perusahaan belum membayar THR.",
            "complainant": {"name": "Bambang", "nik": NIK},
            **overrides,
        }
    )


@pytest.fixture
def officer(session: Session, monkeypatch: pytest.MonkeyPatch) -> StaffUser:
    session.add(User(username="rina", password_hash="x", role="front_office", active=True, created_at=T0))
    session.commit()  # a savepoint of the test's transaction: the desk's own rollback keeps it
    monkeypatch.setattr("shared.outbox.publish", lambda messages: len(list(messages)))
    user_id = session.scalars(select(User.id).where(User.username == "rina")).one()
    return StaffUser(id=user_id, username="rina", role=Role.FRONT_OFFICE, unit=None)


def _count(session: Session, subject: str) -> int:
    return session.scalar(select(func.count()).where(Complaint.subject == subject)) or 0


def test_a_walk_in_is_filed_and_forwarded_in_one_step_with_two_history_rows(
    session: Session, officer: StaffUser
) -> None:
    filed = desk.file_at_desk(
        session, officer, _body("THR (loket)"), then="forward", inputs=FORWARD, key="form-0001", at=T0
    )
    c = session.scalars(select(Complaint).where(Complaint.ticket == filed.ticket)).one()
    assert (c.channel, c.kiosk_id, c.step, c.version, c.handoff_pending) == (
        "walk_in",
        None,
        "review",
        2,
        True,
    )
    rows = session.execute(
        select(History.actor, History.role, History.action).where(History.complaint_id == c.id)
    )
    assert [tuple(r) for r in rows] == [
        ("rina", "front_office", "received"),
        ("rina", "front_office", "forward"),
    ]
    again = desk.file_at_desk(
        session, officer, _body("THR (loket)"), then="forward", inputs=FORWARD, key="form-0001", at=T0
    )
    assert (again.ticket, again.tracking_code, again.replayed) == (filed.ticket, filed.tracking_code, True)
    assert _count(session, "THR (loket)") == 1
    found = desk.earlier_by_identity(session, officer, nik="3307.0152 0390 0009", phone=None)
    assert [e.ticket for e in found] == [filed.ticket] and found[0].matched_by == ["nik"]


def test_a_refused_action_files_nothing_and_every_error_is_named(
    session: Session, officer: StaffUser
) -> None:
    with pytest.raises(InputError) as refused:
        desk.file_at_desk(
            session,
            officer,
            _body("Upah (telepon)", channel="kiosk", preferred_reply="email"),
            then="resolve",
            inputs={"identity_verified": True},
            key=None,
            at=T0,
        )
    fields = {e.field for e in refused.value.errors}
    assert {"channel", "complainant.email", "answer", "delivery_method"} <= fields
    assert _count(session, "Upah (telepon)") == 0


def test_a_phone_complaint_is_resolved_at_the_desk_and_others_may_not_file(
    session: Session, officer: StaffUser
) -> None:
    inputs = {"identity_verified": True, "answer": "Dijawab lewat telepon.", "delivery_method": "phone"}
    filed = desk.file_at_desk(
        session,
        officer,
        _body("Jadwal pelatihan", channel="phone"),
        then="resolve",
        inputs=inputs,
        key=None,
        at=T0,
    )
    c = session.scalars(select(Complaint).where(Complaint.ticket == filed.ticket)).one()
    assert (c.channel, c.status, c.outcome) == ("phone", "closed", "answered_at_front_office")
    kasubag = StaffUser(id=officer.id, username="kasubag", role=Role.KASUBAG_UMUM, unit=None)
    with pytest.raises(ApiError) as forbidden:
        desk.file_at_desk(session, kasubag, _body("Bukan FO"), then=None, inputs={}, key=None, at=T0)
    assert forbidden.value.status == 403
