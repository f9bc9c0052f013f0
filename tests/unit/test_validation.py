"""NIK, phone and e-mail checks as DOMAIN.md states them."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from pydantic_core import PydanticCustomError

from shared.api import _MAY_HOLD_BAD_TEXT, _body_errors, _json_errors
from shared.sop import ForwardVerified as SOP_INPUTS
from shared.validation import check_email, check_nik, mask_nik, parse_phone, redact_niks

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3307011203900001", "3307011203900001"),  # man born 12-03-1990
        ("33.07.01 520390-0001", "3307015203900001"),  # woman: day + 40, separators stripped
        ("3307010101250001", "3307010101250001"),  # born 2025
        ("3307013112260001", "3307013112260001"),  # 31-12-26 is in the future, so 1926
    ],
)
def test_valid_niks(raw: str, expected: str) -> None:
    assert check_nik(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("330701120390001", "nik_format"),  # 15 digits
        ("33070112039000012", "nik_format"),
        ("3307O11203900001", "nik_format"),
        ("９９07011203900001", "nik_format"),  # full-width digits are not ASCII
        ("9907011203900001", "nik_province"),
        ("1007011203900001", "nik_province"),
        ("3307013202900001", "nik_birth_date"),  # 32 February
        ("3307017203900001", "nik_birth_date"),  # woman, day 32
        ("3307011213900001", "nik_birth_date"),  # month 13
        ("3307011203900000", "nik_serial"),
    ],
)
def test_invalid_niks(raw: str, code: str) -> None:
    with pytest.raises(PydanticCustomError) as err:
        check_nik(raw, today=TODAY)
    assert err.value.type == code


def test_mask_keeps_region_and_serial() -> None:
    assert mask_nik("3307011203900001") == "3307********0001"


@pytest.mark.parametrize("raw", ["081234567890", "+6281234567890", "6281234567890", "0812-3456-7890"])
def test_one_mobile_number_in_every_spelling(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == "+6281234567890" and phone.mobile


def test_wonosobo_landline_is_valid_but_not_mobile() -> None:
    phone = parse_phone("(0286) 321234")
    assert phone.e164 == "+62286321234" and not phone.mobile


@pytest.mark.parametrize("raw", ["12", "0812", "abc", "+1 202"])
def test_invalid_phones(raw: str) -> None:
    with pytest.raises(PydanticCustomError) as err:
        parse_phone(raw)
    assert err.value.type == "phone_invalid"


def test_email() -> None:
    assert check_email(" Budi@Example.co.id ") == "Budi@example.co.id"
    with pytest.raises(PydanticCustomError):
        check_email("budi@")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KTP 3307015203900001", "KTP 3307********0001"),
        ("KTP 3307-0152-0390-0001, asli", "KTP 3307********0001, asli"),
        ("NIK 3307.01.520390.0001.", "NIK 3307********0001."),
        ("telepon 081234567890", "telepon 081234567890"),  # a phone number is not a NIK
        ("rekening 33070152039000012", "rekening 33070152039000012"),  # 17 digits: not a NIK
        ("tanpa angka", "tanpa angka"),
    ],
)
def test_niks_typed_into_free_text_are_masked(text: str, expected: str) -> None:
    assert redact_niks(text) == expected


def test_action_inputs_keep_no_nik() -> None:
    data = SOP_INPUTS.model_validate({"identity_verified": True, "id_document": "KTP 3307015203900001"})
    assert data.id_document == "KTP 3307********0001"


def _json_bodies(cp: int) -> list[bytes]:
    """JSON bodies holding code point `cp` in a value and in a key, raw (UTF-8) and escaped."""
    forms = [chr(cp).encode("utf-8", "surrogatepass")] + ([b"\\u%04x" % cp] if cp < 0x10000 else [])
    return [b'{"a":"x%sy"}' % f for f in forms] + [b'{"%s":1}' % f for f in forms]


def test_json_bodies_the_middleware_skips_hold_no_unusable_text() -> None:
    """The middleware parses a JSON body only when its bytes may hold an unusable character: no
    body it skips (any code point, raw or escaped, in a key or a value) holds one."""
    flagged = skipped = 0
    for cp in [*range(0x10000), 0x10000, 0x1F600, 0x10FFFF]:
        for body in _json_bodies(cp):
            try:
                errors = list(_json_errors(json.loads(body), []))
            except ValueError:
                continue  # not JSON (a raw control character): the route refuses it
            if _MAY_HOLD_BAD_TEXT.search(body):
                flagged += 1
            else:
                skipped += 1
                assert not errors, (hex(cp), body)
    assert skipped > 2 * 60_000  # plain text (raw, in a key or a value) is not parsed twice
    assert flagged > 0
    assert [e.code for e in asyncio.run(_body_errors({}, "application/json", b'{"a":"\\u0000"}'))] == [
        "control_character"
    ]
