"""Pydantic errors become field errors: a stable code and an Indonesian message, no Python reprs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from shared.complaint_in import ComplaintIn
from shared.sop import Deliver, Dispose, ResolveAtDesk
from shared.validation import GENERIC_CODE, GENERIC_MESSAGE, FieldError, field_errors


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body = {"complainant": {"name": "Siti Aminah"}, "subject": "THR", "description": "Belum dibayar."}
    return body | overrides


def _errors(model: Any, data: Any) -> dict[str, FieldError]:
    with pytest.raises(ValidationError) as err:
        TypeAdapter(model).validate_python(data)
    return {e.field: e for e in field_errors(list(err.value.errors()))}


def assert_plain_indonesian(error: FieldError) -> None:
    """Nothing of Python or of pydantic's English wording reaches the person."""
    assert "<" not in error.message and ">" not in error.message, error
    assert " or " not in error.message and "Input should" not in error.message, error
    assert error.message.endswith("."), error


def test_a_literal_of_enum_members_lists_the_plain_values() -> None:
    found = _errors(ComplaintIn, complaint_body(preferred_reply="fax"))["preferred_reply"]
    assert found.code == "invalid_choice"
    assert found.message == "Pilihan yang diterima: in_person, phone, sms, email, whatsapp."
    assert_plain_indonesian(found)


def test_a_staff_action_literal_and_enum_list_the_plain_values() -> None:
    resolve = _errors(
        ResolveAtDesk, {"identity_verified": True, "answer": "Sudah dibayar.", "delivery_method": "fax"}
    )["delivery_method"]
    assert (resolve.code, resolve.message) == ("invalid_choice", "Pilihan yang diterima: in_person, phone.")
    deliver = _errors(Deliver, {"method": "fax", "outcome": "lost"})
    assert deliver["method"].message == (
        "Pilihan yang diterima: in_person, phone, sms, email, whatsapp, letter."
    )
    assert deliver["outcome"].message == "Pilihan yang diterima: delivered, unreachable."
    urgency = _errors(Dispose, {"unit": "hi_jamsos", "instructions": ["Tindak lanjuti"], "urgency": "kilat"})
    assert urgency["urgency"].message == "Pilihan yang diterima: biasa, segera, sangat_segera."
    for error in (resolve, deliver["method"], deliver["outcome"], urgency["urgency"]):
        assert error.code == "invalid_choice"
        assert_plain_indonesian(error)


@pytest.mark.parametrize(
    ("model", "value", "message"),
    [
        (Literal[True], False, "Harus bernilai true."),
        (Literal[1, 2, 3], 9, "Pilihan yang diterima: 1, 2, 3."),
        (Literal["ya", None], "tidak", "Pilihan yang diterima: ya, null."),
        (Literal["it's", "or"], "x", "Pilihan yang diterima: it's, or."),
    ],
)
def test_literal_values_are_written_as_a_client_sends_them(model: Any, value: Any, message: str) -> None:
    found = _errors(model, value)["body"]
    assert (found.code, found.message) == ("invalid_choice", message)
    assert_plain_indonesian(found)


def test_a_query_pattern_of_words_lists_them_and_any_other_pattern_says_the_format_is_wrong() -> None:
    words = _errors(Annotated[str, Field(pattern="^(json|html)$")], "pdf")["body"]
    assert (words.code, words.message) == ("string_pattern_mismatch", "Pilihan yang diterima: json, html.")
    month = _errors(Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")], "2026-13")["body"]
    assert (month.code, month.message) == ("string_pattern_mismatch", "Format tidak sesuai.")


class _Everything(BaseModel):
    flag: bool
    text: str
    count: int
    ratio: float
    positive: int = Field(gt=0)
    small: int = Field(lt=10)
    at_least: int = Field(ge=1)
    at_most: int = Field(le=4)
    short: str = Field(max_length=3)
    long: str = Field(min_length=3)
    items: list[str] = Field(min_length=1, max_length=2)


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        # The codes are pydantic's type names where tests and clients already rely on them.
        ("flag", "mungkin", "bool_parsing", "Harus bernilai true atau false."),
        ("flag", [], "bool_type", "Harus bernilai true atau false."),
        ("text", 5, "string_type", "Harus berupa teks."),
        ("count", "lima", "int_parsing", "Harus berupa bilangan bulat."),
        ("count", 1.5, "int_from_float", "Harus berupa bilangan bulat."),
        ("ratio", "separuh", "float_parsing", "Harus berupa angka."),
        ("ratio", [], "float_type", "Harus berupa angka."),
        ("positive", 0, "greater_than", "Harus lebih dari 0."),
        ("small", 10, "less_than", "Harus kurang dari 10."),
        ("at_least", 0, "greater_than_equal", "Harus paling sedikit 1."),
        ("at_most", 5, "less_than_equal", "Harus paling banyak 4."),
        ("short", "abcd", "too_long", "Terlalu panjang (maksimal 3 karakter)."),
        ("long", "ab", "too_short", "Terlalu pendek (minimal 3 karakter)."),
        ("items", [], "too_few", "Minimal 1 isian."),
        ("items", ["a", "b", "c"], "too_many", "Maksimal 2 isian."),
        ("items", "a", "list_type", "Harus berupa daftar."),
    ],
)
def test_common_errors_have_a_stable_code_and_an_indonesian_message(
    field: str, value: Any, code: str, message: str
) -> None:
    valid: dict[str, Any] = {
        "flag": True,
        "text": "x",
        "count": 1,
        "ratio": 0.5,
        "positive": 1,
        "small": 1,
        "at_least": 1,
        "at_most": 1,
        "short": "ab",
        "long": "abcd",
        "items": ["a"],
    }
    found = _errors(_Everything, {**valid, field: value})
    assert list(found) == [field]
    assert (found[field].code, found[field].message) == (code, message)
    assert_plain_indonesian(found[field])


def test_missing_unknown_and_not_json() -> None:
    found = _errors(ResolveAtDesk, {"answer": "x", "delivery_method": "phone", "tanda_tangan": "x"})
    assert (found["identity_verified"].code, found["identity_verified"].message) == (
        "required",
        "Wajib diisi.",
    )
    assert found["tanda_tangan"].code == "unknown_field"
    with pytest.raises(ValidationError) as err:
        TypeAdapter(dict[str, str]).validate_json(b"{bukan json")
    (invalid_json,) = field_errors(list(err.value.errors()))
    assert (invalid_json.code, invalid_json.message) == (
        "invalid_json",
        "Isi permintaan bukan JSON yang valid.",
    )


@pytest.mark.parametrize(
    ("model", "value"),
    [(uuid.UUID, "bukan-uuid"), (AwareDatetime, "2026-11-25T09:00:00"), (Decimal, "sepuluh")],
)
def test_a_built_in_type_without_a_mapping_falls_back_to_a_generic_indonesian_error(
    model: Any, value: Any
) -> None:
    found = _errors(model, value)["body"]
    assert (found.code, found.message) == (GENERIC_CODE, GENERIC_MESSAGE) == ("invalid", "Nilai tidak valid.")


def test_our_own_checks_keep_their_code_and_message() -> None:
    found = _errors(ComplaintIn, complaint_body(subject="  ", complainant={"name": "Siti", "nik": "1"}))
    assert (found["subject"].code, found["subject"].message) == ("blank", "Tidak boleh kosong.")
    assert (found["complainant.nik"].code, found["complainant.nik"].message) == (
        "nik_format",
        "NIK harus terdiri dari 16 digit angka.",
    )


def test_an_error_without_a_message_still_gets_one() -> None:
    errors = [{"type": "nik_format", "loc": ("nik",), "msg": ""}, {"type": "enum", "loc": ("x",), "ctx": {}}]
    found = {e.field: e for e in field_errors(errors)}
    assert found["nik"].message == GENERIC_MESSAGE
    assert (found["x"].code, found["x"].message) == ("invalid_choice", GENERIC_MESSAGE)
