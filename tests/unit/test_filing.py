"""The filing's rows, described once: written row by row on SQLite, as one statement on PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.dialects.postgresql import asyncpg

from shared import filing
from shared.complaint_in import Channel, ComplaintIn
from shared.sop import Role
from shared.workflow import Actor, Arrival
from tests.unit.conftest import T0

BODY = ComplaintIn.model_validate(
    {
        "channel": "kiosk",
        "subject": "THR belum dibayar",
        "description": "Perusahaan belum membayar THR.",
        "preferred_reply": "sms",
        "complainant": {"name": "Budi", "phone": "081234567890"},
    }
)
STAY = Arrival(
    T0 + timedelta(minutes=30),
    [
        {"step": "verification", "entered_at": T0, "kind": k, "due_at": T0, "fired_at": None, "result": None}
        | {"used_s": 0}
        for k in ("reminder", "breach", "second")
    ],
)


def _filing(*, idempotency: tuple[str, str] | None, relayed: bool = True) -> filing.Filing:
    return filing.Filing(
        body=BODY,
        kiosk_id=3,
        idempotency=idempotency,
        now=T0,
        year=2026,
        code="ABCD2345",
        stay=STAY,
        relayed=relayed,
    )


def test_every_row_comes_from_one_description_with_the_new_complaints_values_marked() -> None:
    rows = _filing(idempotency=("k-1", "h" * 64)).rows()
    assert [t.name for t, _ in rows] == [
        "history",
        "deadlines",
        "deadlines",
        "deadlines",
        "outbox",
        "idempotency_keys",
    ]
    for table, values in rows:
        assert set(values) <= {c.name for c in table.columns}, table.name
        assert values["complaint_id"] is filing.NEW_ID if "complaint_id" in values else table.name == "outbox"
    outbox_row = dict(rows)[filing.OUTBOX]
    assert outbox_row["payload"]["complaint_id"] is filing.NEW_ID
    assert outbox_row["next_attempt_at"] == T0  # relayed by the sweeper: due at once
    response = dict(rows)[filing.IDEMPOTENCY_KEYS]["response"]
    assert list(response) == ["ticket", "status", "step", "received_at", "step_due_at"]
    assert response["ticket"] is filing.NEW_TICKET


def test_the_receipt_is_published_by_the_api_only_where_the_sweeper_does_not_relay_it() -> None:
    relayed = _filing(idempotency=None).filed("ADU-2026-000001", 7, 9)
    assert relayed.messages == [] and relayed.response["tracking_code"] == "ABCD2345"
    published = _filing(idempotency=None, relayed=False).filed("ADU-2026-000001", 7, 9)
    [message] = published.messages
    assert (message.outbox_id, message.payload) == (
        9,
        {"complaint_id": 7, "event": "receipt", "method": None},
    )
    assert filing.ticket("ADU", 2026, 1_234_567) == "ADU-2026-1234567"


def test_postgresql_gets_one_statement_generated_from_the_tables_and_cached_per_shape() -> None:
    dialect = asyncpg.dialect()  # type: ignore[no-untyped-call]
    f = _filing(idempotency=("k-1", "h" * 64))
    complaint, rows = f.complaint(), f.rows()
    statement = filing._statement(tuple(complaint), filing._shape(rows), dialect)
    assert filing._statement(tuple(complaint), filing._shape(f.rows()), dialect) is statement
    inserts = re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", statement.sql)
    assert [t for t, _ in inserts] == [
        "complaints",
        "history",
        "deadlines",
        "deadlines",
        "deadlines",
        "outbox",
        "idempotency_keys",
    ]
    assert inserts[0][1].split(", ") == ["ticket", *complaint]  # a new column is one edit: the values
    args = statement.args(filing._sources(f, complaint, rows, "ticket_seq_2026"))
    assert len(args) == len(set(re.findall(r"\$\d+", statement.sql)))
    assert "ticket_seq_2026" in args and "ADU-2026-" in args and "k-1" in args
    plain = _filing(idempotency=None)
    other = filing._statement(tuple(plain.complaint()), filing._shape(plain.rows()), dialect)
    assert other is not statement and "idempotency_keys" not in other.sql


def test_a_desk_filing_names_the_officer_and_keys_its_form_by_the_officer() -> None:
    body = BODY.model_copy(update={"channel": Channel.WALK_IN})
    desk = filing.Filing(
        body=body,
        kiosk_id=None,
        idempotency=("form-1", "h" * 64),
        now=T0,
        year=2026,
        code="ABCD2345",
        stay=STAY,
        relayed=True,
        officer=Actor(name="rina", role=Role.FRONT_OFFICE),
        officer_id=5,
    )
    assert desk.complaint()["kiosk_id"] is None and desk.complaint()["channel"] == "walk_in"
    rows = dict(desk.rows())
    received = rows[filing.HISTORY]
    assert (received["actor"], received["role"], received["action"]) == ("rina", "front_office", "received")
    key = rows[filing.IDEMPOTENCY_KEYS]
    assert key["user_id"] == 5 and "kiosk_id" not in key and key["key"] == "form-1"
    for table, values in desk.rows():
        assert set(values) <= {c.name for c in table.columns}, table.name
    kiosk = dict(_filing(idempotency=("k-1", "h" * 64)).rows())
    assert (kiosk[filing.HISTORY]["actor"], kiosk[filing.HISTORY]["role"]) == ("kiosk:3", None)
    assert kiosk[filing.IDEMPOTENCY_KEYS]["kiosk_id"] == 3 and "user_id" not in kiosk[filing.IDEMPOTENCY_KEYS]
