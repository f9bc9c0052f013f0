"""Bad input: a 4xx with field-level errors (stable code, Indonesian message), and nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.stack import Stack, complaint_body

pytestmark = pytest.mark.integration

TABLES = ("complaints", "history", "outbox", "idempotency_keys")


def _counts(stack: Stack) -> dict[str, int]:
    return {t: stack.count(t) for t in TABLES}


def _who(**fields: Any) -> dict[str, Any]:
    return {**complaint_body()["complainant"], **fields}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (complaint_body(complainant=_who(nik="33070112039")), "complainant.nik", "nik_format"),
        (
            complaint_body(complainant=_who(nik="3307013202900001")),
            "complainant.nik",
            "nik_birth_date",
        ),
        (complaint_body(complainant=_who(phone="0812")), "complainant.phone", "phone_invalid"),
        (complaint_body(complainant=_who(email="siti@")), "complainant.email", "email_invalid"),
        (complaint_body(subject="   "), "subject", "blank"),
        (complaint_body(subject="x" * 201), "subject", "too_long"),
        (complaint_body(description="y" * 4001), "description", "too_long"),
        (complaint_body(description=""), "description", "blank"),
        ({k: v for k, v in complaint_body().items() if k != "subject"}, "subject", "required"),
        (complaint_body(channel="fax"), "channel", "invalid_choice"),
        (complaint_body(category="tidak_ada"), "category", "category_unknown"),
        (
            complaint_body(complainant=_who(phone=None), preferred_reply="sms"),
            "complainant.phone",
            "contact_required",
        ),
        (
            complaint_body(complainant=_who(phone="0286321234"), preferred_reply="whatsapp"),
            "complainant.phone",
            "phone_not_mobile",
        ),
        (
            complaint_body(complainant=_who(email=None), preferred_reply="email"),
            "complainant.email",
            "contact_required",
        ),
    ],
    ids=[
        "nik-length",
        "nik-date",
        "phone",
        "email",
        "blank-subject",
        "long-subject",
        "long-description",
        "blank-description",
        "missing-subject",
        "channel",
        "category",
        "sms-without-phone",
        "whatsapp-to-landline",
        "email-without-address",
    ],
)
def test_bad_complaints_are_refused_field_by_field(
    stack: Stack, body: dict[str, Any], field: str, code: str
) -> None:
    before = _counts(stack)
    r = stack.file(body, key=f"bad-{field}-{code}")
    assert r.status_code == 422, r.text
    payload = r.json()
    assert payload["code"] == "validation_failed"
    errors = {e["field"]: e for e in payload["errors"]}
    assert errors[field]["code"] == code
    assert errors[field]["message"] and not errors[field]["message"].startswith(("Value", "Field"))
    assert _counts(stack) == before


def test_every_bad_field_is_reported_at_once(stack: Stack) -> None:
    body = complaint_body(subject="", complainant=_who(nik="1", phone="12", name=" "))
    r = stack.file(body)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"subject", "complainant.nik", "complainant.phone", "complainant.name"}


def test_not_json_and_missing_or_wrong_kiosk_key(stack: Stack) -> None:
    r = httpx.post(
        f"{stack.intake_url}/api/v1/complaints",
        content=b"{not json",
        headers={"X-Kiosk-Key": stack.kiosk_key, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_json"
    before = _counts(stack)
    r = httpx.post(f"{stack.intake_url}/api/v1/complaints", json=complaint_body())
    assert r.status_code == 401 and r.json()["code"] == "kiosk_key_missing"
    r = stack.file(headers={"X-Kiosk-Key": "kio_salah"})
    assert r.status_code == 401 and r.json()["code"] == "kiosk_key_invalid"
    assert _counts(stack) == before


@pytest.mark.parametrize(
    ("payload", "status", "field", "code"),
    [
        ({"action": "terbang", "version": 1}, 422, "action", "action_not_allowed"),
        (
            {"action": "forward", "version": 1, "identity_verified": True},
            422,
            "id_document",
            "required",
        ),
        (
            {"action": "forward", "version": 1, "identity_verified": False, "id_document": "KTP"},
            422,
            "identity_verified",
            "invalid_choice",
        ),
        (
            {"action": "forward", "identity_verified": True, "id_document": "KTP"},
            422,
            "version",
            "required",
        ),
        ({"action": "reject", "version": 1, "reason": " "}, 422, "reason", "blank"),
        (
            {
                "action": "forward",
                "version": 1,
                "identity_verified": True,
                "id_document": "KTP",
                "tanda_tangan": "x",
            },
            422,
            "tanda_tangan",
            "unknown_field",
        ),
        (
            {"action": "forward", "version": 9, "identity_verified": True, "id_document": "KTP"},
            409,
            "version",
            "version_conflict",
        ),
    ],
    ids=[
        "unknown-action",
        "missing-field",
        "unverified",
        "missing-version",
        "blank-reason",
        "unknown-field",
        "wrong-version",
    ],
)
def test_bad_actions_are_refused_and_change_nothing(
    stack: Stack, payload: dict[str, Any], status: int, field: str, code: str
) -> None:
    ticket = stack.file().json()["ticket"]
    before = stack.record("fo", ticket)
    r = stack.staff("fo", "POST", f"/complaints/{ticket}/actions", json=payload)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["message"] and {e["field"]: e["code"] for e in body["errors"]}[field] == code
    assert all(e["message"] for e in body["errors"])
    after = stack.record("fo", ticket)
    assert (after["version"], after["step"], len(after["history"])) == (
        before["version"],
        before["step"],
        len(before["history"]),
    )


def test_actions_need_a_valid_token_and_an_existing_ticket(stack: Stack) -> None:
    r = httpx.post(
        f"{stack.staff_url}/api/v1/complaints/ADU-2026-000001/actions",
        json={"action": "forward", "version": 1},
    )
    assert r.status_code == 401 and r.json()["code"] == "token_missing"
    r = httpx.get(f"{stack.staff_url}/api/v1/worklist", headers={"Authorization": "Bearer salah"})
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"
    r = stack.act("fo", "ADU-1999-999999", "forward", 1)
    assert r.status_code == 404
    bad_login = httpx.post(
        f"{stack.staff_url}/api/v1/auth/token", data={"username": "fo", "password": "salah"}
    )
    assert bad_login.status_code == 401 and bad_login.json()["code"] == "invalid_credentials"


def _plain_indonesian(message: str) -> bool:
    """No Python enum reprs and no English joining words reach the person reading it."""
    return "<" not in message and " or " not in message and "Input should" not in message


def test_a_bad_choice_lists_the_accepted_values_in_indonesian(stack: Stack) -> None:
    before = _counts(stack)
    r = stack.file(complaint_body(preferred_reply="fax"), key="bad-preferred-reply")
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == ("preferred_reply", "invalid_choice")
    assert error["message"] == "Pilihan yang diterima: in_person, phone, sms, email, whatsapp."
    assert _plain_indonesian(error["message"])
    assert _counts(stack) == before

    ticket = stack.file().json()["ticket"]
    before_record = stack.record("fo", ticket)
    resolve = {"identity_verified": True, "answer": "THR dibayar pekan ini.", "delivery_method": "fax"}
    r = stack.act("fo", ticket, "resolve", before_record["version"], **resolve)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == ("delivery_method", "invalid_choice")
    assert error["message"] == "Pilihan yang diterima: in_person, phone."
    assert _plain_indonesian(error["message"])
    after = stack.record("fo", ticket)
    assert (after["version"], after["step"]) == (before_record["version"], before_record["step"])

    r = stack.staff("fo", "GET", f"/complaints/{ticket}/archive", params={"format": "pdf"})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "query.format"
    assert error["message"] == "Pilihan yang diterima: json, html."
    assert _plain_indonesian(error["message"])
