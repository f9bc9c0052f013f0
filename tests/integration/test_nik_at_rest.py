"""The NIK is encrypted at rest: no table or log of the running system holds it in plain text."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shared.security import FieldCipher
from tests.integration.stack import Stack, complaint_body, eventually

pytestmark = pytest.mark.integration

NIK = "3307011203900002"  # a man born 12-03-1990 in Wonosobo; no other test files this one
MASKED = "3307********0002"


def _data_key(stack: Stack) -> bytes:
    """The key this instance encrypts with: from the environment, or kept in the data folder."""
    raw = (
        stack.env.get("ADUAN_DATA_KEY")
        or json.loads((stack.data_dir / "secrets.json").read_text())["data_key"]
    )
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def _holds_nik(value: Any) -> bool:
    if isinstance(value, memoryview | bytes | bytearray):
        return NIK.encode() in bytes(value)
    if isinstance(value, dict | list):
        return NIK in json.dumps(value)
    return NIK in str(value)


def _rows(stack: Stack, table: str, where: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in stack.sql(f"SELECT * FROM {table} WHERE {where}", **params)]  # noqa: S608


def test_the_nik_is_stored_encrypted_and_masked_and_nowhere_in_plain_text(stack: Stack) -> None:
    body = complaint_body(complainant={**complaint_body()["complainant"], "nik": NIK})
    r = stack.file(body, key=f"nik-at-rest-{stack.name}")
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    (complaint,) = _rows(stack, "complaints", "ticket = :t", t=ticket)
    cid = complaint["id"]
    # The receipt went through the outbox to the notify worker, which wrote its notification row.
    eventually(lambda: _rows(stack, "notifications", "complaint_id = :c", c=cid), lambda rows: bool(rows))

    assert complaint["nik_masked"] == MASKED
    blob = bytes(complaint["nik_enc"])
    assert FieldCipher(_data_key(stack)).decrypt(blob, field="nik") == NIK
    assert [column for column, value in complaint.items() if _holds_nik(value)] == []

    related = {
        "history": _rows(stack, "history", "complaint_id = :c", c=cid),
        "notifications": _rows(stack, "notifications", "complaint_id = :c", c=cid),
        "idempotency_keys": _rows(stack, "idempotency_keys", "complaint_id = :c", c=cid),
        "outbox": _rows(stack, "outbox", "1 = 1"),  # payloads are ids; check every message
    }
    assert related["history"] and related["outbox"] and related["idempotency_keys"]
    for table, rows in related.items():
        assert not [row for row in rows if any(_holds_nik(v) for v in row.values())], table

    # The staff record shows the masked form only, and no process logged the number.
    assert stack.record("fo", ticket)["complainant"]["nik"] == MASKED
    logs = sorted((stack.data_dir / "logs").glob("*.log"))
    assert logs and not [log.name for log in logs if NIK in log.read_text(errors="replace")]
