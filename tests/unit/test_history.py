"""One writer of history rows: its defaults, and no other module building them."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import history
from shared.models import Complaint, History
from tests.unit.conftest import T0

ROOT = Path(__file__).resolve().parents[2]


def test_a_row_left_without_actor_is_the_systems_and_every_column_is_spelt_out() -> None:
    row = history.values(complaint_id=7, at=T0, action="queued", to_step="review", version=2)
    assert row == {
        "complaint_id": 7,
        "at": T0,
        "actor": history.SYSTEM_ACTOR,
        "role": None,
        "action": "queued",
        "from_step": None,
        "to_step": "review",
        "note": None,
        "detail": None,
        "version": 2,
    }
    assert set(row) == {c.name for c in History.__table__.columns} - {"id"}


def test_record_adds_the_row_to_the_unit_of_work(session: Session, complaint: Complaint) -> None:
    history.record(session, complaint_id=complaint.id, at=T0, action="reminder", version=1, note="x")
    row = session.scalars(select(History).where(History.complaint_id == complaint.id)).one()
    assert (row.actor, row.action, row.note, row.version) == ("sistem", "reminder", "x", 1)


def test_no_other_module_builds_a_history_row() -> None:
    builders = re.compile(r"(?<!class )History\(|insert\(History\)|SYSTEM_ACTOR = ")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("shared", "services", "launcher")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and builders.search(path.read_text())
    ]
    assert found == ["shared/history.py"]
