"""The NIK is encrypted at rest: no table or log of the running system holds it in plain text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


PHONE, EMAIL = "+6281377778888", "rahasia.pengadu@example.co.id"  # no other test files these


def _text(value: Any) -> str:
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value).decode("latin-1")
    return json.dumps(value, default=str)


def _every_row(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(stack.db_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    return {t: _rows(stack, t, "1 = 1") for t in tables}


def test_phone_email_and_address_are_encrypted_and_nik_and_phone_indexed(stack: Stack) -> None:

    person = {
        "name": "Wulan",
        "nik": NIK,
        "phone": "0813-7777-8888",
        "email": EMAIL,
        "address": "Jl. Rahasia 7",
    }
    r = stack.file(complaint_body(complainant=person), key=f"identity-at-rest-{stack.name}")
    assert r.status_code == 201, r.text
    (complaint,) = _rows(stack, "complaints", "ticket = :t", t=r.json()["ticket"])
    # The receipts by WhatsApp and e-mail: their notification rows hold the recipients, sealed.
    notified = eventually(
        lambda: _rows(stack, "notifications", "complaint_id = :c", c=complaint["id"]), lambda n: len(n) >= 2
    )
    assert all(len(n["recipient_index"]) == 64 for n in notified)
    cipher = FieldCipher(_data_key(stack))
    assert cipher.decrypt(bytes(complaint["phone_enc"]), field="phone") == PHONE
    assert cipher.decrypt(bytes(complaint["email_enc"]), field="email") == EMAIL
    assert cipher.decrypt(bytes(complaint["address_enc"]), field="address") == "Jl. Rahasia 7"
    # HMAC-SHA-256 under a key derived (HKDF) from the instance's data key, not the data key itself.
    index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aduan blind index v1").derive(
        _data_key(stack)
    )
    for field, value in (("nik", NIK), ("phone", PHONE)):
        expected = hmac.new(index_key, f"{field}:{value}".encode(), hashlib.sha256).hexdigest()
        assert complaint[f"{field}_index"] == expected

    # Also in the forms a number is typed or normalised in: without the "+", as typed with dashes,
    # the NIK with dots or spaces; the e-mail address in any case.
    plain = (
        NIK,
        "3307.0112.0390.0002",
        "3307 0112 0390 0002",
        PHONE,
        "6281377778888",
        "81377778888",
        "081377778888",
        "0813-7777-8888",
        EMAIL.upper(),
        "Jl. Rahasia 7",
    )
    for table, rows in _every_row(stack).items():
        for row in rows:
            held = [
                c
                for c, v in row.items()
                if any(
                    p.casefold()
                    in (
                        bytes(v).decode("latin-1")
                        if isinstance(v, memoryview | bytes)
                        else json.dumps(v, default=str)
                    ).casefold()
                    for p in plain
                )
            ]
            assert held == [], (table, held)
    assert stack.record("fo", r.json()["ticket"])["complainant"]["phone"] == PHONE
