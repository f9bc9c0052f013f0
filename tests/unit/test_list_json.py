"""The list endpoints write their rows as JSON without a model per row: the bytes must be exactly
what the response model gives (fields, order, types, datetimes), for every kind of row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from services.routing import service
from services.routing.auth import StaffUser
from services.routing.schemas import (
    ComplaintList,
    ComplaintSummary,
    Worklist,
    WorklistItem,
    json_body,
)
from shared.sop import Role
from tests.unit.conftest import T0, complaint_row

AT = T0 + timedelta(days=40)


def _seed(session: Session) -> None:
    """Rows of every shape a list shows: overdue, no deadline, paused (and paused too long), waiting
    on site, disposed to a unit, at delivery, closed; a subject beyond ASCII."""
    rows: list[dict[str, Any]] = [
        {},
        {"step_due_at": None, "category_code": None},
        {"paused_at": AT - timedelta(days=1)},
        {"paused_at": AT - timedelta(days=31)},
        {"waiting_on_site": True, "subject": 'Upah lembur — belum dibayar ✓ "kutip" \\ garis'},
        {"step": "review", "unit_code": "hi_jamsos", "escalation_level": 2, "version": 7},
        {"step": "delivery", "answer": "Perusahaan wajib membayar.", "delivery_state": "unreachable"},
        {"status": "closed", "step": None, "outcome": "answered", "step_due_at": None},
    ]
    for n, columns in enumerate(rows):
        session.add(complaint_row(ticket=f"ADU-2026-7{n:05d}", **columns))
    session.flush()


def _as_model(model: type[BaseModel], fields: dict[str, Any]) -> bytes:
    """What FastAPI wrote before: the fields validated into the response model, then serialised."""
    return model.model_validate(fields).model_dump_json().encode()


def test_worklist_rows_are_the_models_json(session: Session) -> None:
    _seed(session)
    fo = StaffUser(1, "fo", Role.FRONT_OFFICE, None)
    for user, waiting in ((fo, False), (fo, True), (StaffUser(3, "ks", Role.KASUBAG_UMUM, None), False)):
        found = service.worklist_page(session, user, at=AT, limit=50, waiting=waiting)
        assert found.items, user
        for row in found.items:
            assert list(row) == list(WorklistItem.model_fields)
        fields = {
            "items": found.items,
            "total": found.total,
            "failed_notifications": 3,
            "next_cursor": "abc",
            "prev_cursor": None,
        }
        assert json_body(Worklist, **fields) == _as_model(Worklist, fields)
    at_delivery = [r for r in found.items if r["step"] == "delivery"]
    assert at_delivery == [], "kasubag umum's queue holds no delivery"
    active = service.worklist_page(session, fo, at=AT, limit=50).items
    delivered = [r for r in active if r["step"] == "delivery"]
    assert [(r["delivery_state"], r["contact"]["name"], r["answer"]) for r in delivered] == [
        ("unreachable", "Budi", "Perusahaan wajib membayar.")
    ]
    assert {r["overdue"] for r in active} == {False, True}
    paused = service.worklist_page(session, fo, at=AT, limit=50, waiting=True).items
    assert sorted(r["paused_too_long"] for r in paused) == [False, True]


def test_search_rows_are_the_models_json(session: Session) -> None:
    _seed(session)
    kadis = StaffUser(2, "kadis", Role.KEPALA_DINAS, None)
    for status in (None, "open", "closed"):
        found = service.search(session, kadis, at=AT, status=status, step=None, unit=None, limit=50)
        assert found.items, status
        for row in found.items:
            assert list(row) == list(ComplaintSummary.model_fields)
        fields = {
            "items": found.items,
            "total": found.total,
            "total_exact": True,
            "next_cursor": None,
            "prev_cursor": "xyz",
        }
        assert json_body(ComplaintList, **fields) == _as_model(ComplaintList, fields)


def test_a_body_lacking_a_field_is_refused() -> None:
    """Every field of the model must be given: a missing one is an error, not a silent gap."""
    try:
        json_body(Worklist, items=[], total=0, failed_notifications=0, next_cursor=None)
    except KeyError as exc:
        assert exc.args == ("prev_cursor",)
    else:
        raise AssertionError("a body without prev_cursor was written")
