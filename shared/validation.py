"""Checks of citizen input (NIK, phone, e-mail, text) with stable codes and Indonesian messages."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, get_args

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ErrorType


@dataclass(frozen=True)
class FieldError:
    """One field's error: a dotted path, a stable code for programs, a message for people."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class InputError(Exception):
    """Input that fails a check the schema cannot express (e.g. an unknown category)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "Tidak boleh kosong.")
    return value


# After the length check, so an oversize text reports "too_long" and a blank one "blank".
NOT_BLANK = AfterValidator(_not_blank)

# --- Characters no text field may hold ------------------------------------------------------------

# C0 controls but tab, line feed and carriage return; DEL; C1 controls. PostgreSQL refuses NUL in
# text, and none of them belongs in a name, a reason or a ticket.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone UTF-16 surrogates (JSON's "\ud800"): not characters, and no database encoding takes them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
CONTROL_CHARACTER = ("control_character", "Tidak boleh berisi karakter kontrol (mis. NUL).")
INVALID_CHARACTER = ("invalid_character", "Berisi karakter yang tidak valid.")


def bad_characters(text: str) -> tuple[str, str] | None:
    """The code and Indonesian message of the first kind of unusable character in `text`, if any."""
    if _CONTROL.search(text):
        return CONTROL_CHARACTER
    if _SURROGATE.search(text):
        return INVALID_CHARACTER
    return None


# --- Numbers and dates a parameter may carry ------------------------------------------------------

# The largest value of an INTEGER column (versions, positions): a body's number past it is refused.
INT_MAX = 2**31 - 1
# Row offsets and counts past this are no page anyone reads, and past 2**63 the database fails.
MAX_OFFSET = 1_000_000_000
# The office's dates (calendar days, report periods, months): the calendar and the clocks cover these.
YEARS = (2000, 2099)


def check_year(day: date) -> date:
    """`day` if its year is one the office's calendar covers, else a `date_out_of_range` error."""
    low, high = YEARS
    if not low <= day.year <= high:
        raise PydanticCustomError("date_out_of_range", f"Tanggal harus antara tahun {low} dan {high}.")
    return day


# A date parameter (path, query or body) within YEARS.
OfficeDate = Annotated[date, AfterValidator(check_year)]


# --- NIK (Nomor Induk Kependudukan) --------------------------------------------------------------

# Sixteen digits, as typed: run together or grouped with spaces, dots or dashes.
_NIK_IN_TEXT = re.compile(r"(?<![\d.\-])(?:\d[ .\-]?){15}\d(?![\d.\-]?\d)")


def redact_niks(text: str) -> str:
    """Free text with every NIK-like 16-digit number masked (`3307********0001`)."""
    return _NIK_IN_TEXT.sub(lambda m: mask_nik(re.sub(r"\D", "", m.group())), text)


# Staff free text (notes, reasons, answers, document names) is stored and shown to other roles, and
# answers go to citizens: a NIK typed into it is masked before it is kept.
NO_NIK = AfterValidator(redact_niks)

# Province codes in use (BPS/Kemendagri), including the Papua provinces formed in 2022.
PROVINCE_CODES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        21,
        31,
        32,
        33,
        34,
        35,
        36,
        51,
        52,
        53,
        61,
        62,
        63,
        64,
        65,
        71,
        72,
        73,
        74,
        75,
        76,
        81,
        82,
        91,
        92,
        93,
        94,
        95,
        96,
    }
)
_NIK_SEPARATORS = re.compile(r"[\s.\-]")


def check_nik(raw: str, *, today: date) -> str:
    """Return the NIK as 16 digits, or raise PydanticCustomError explaining what is wrong."""
    nik = _NIK_SEPARATORS.sub("", raw)
    if not (len(nik) == 16 and nik.isascii() and nik.isdigit()):
        raise PydanticCustomError("nik_format", "NIK harus terdiri dari 16 digit angka.")
    if int(nik[:2]) not in PROVINCE_CODES:
        raise PydanticCustomError("nik_province", "Kode provinsi pada NIK tidak dikenal.")
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:  # women: day of birth + 40
        day -= 40
    born = None
    for century in (2000, 1900):
        try:
            candidate = date(century + year2, month, day)
        except ValueError:
            break
        if candidate <= today:
            born = candidate
            break
    if born is None:
        raise PydanticCustomError("nik_birth_date", "Tanggal lahir pada NIK tidak valid.")
    if nik[12:] == "0000":
        raise PydanticCustomError("nik_serial", "Nomor urut pada NIK tidak valid.")
    return nik


def mask_nik(nik: str) -> str:
    """`3307********0001`: region and serial kept, birth date hidden."""
    return nik[:4] + "*" * 8 + nik[12:]


# --- Phone ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    e164: str
    mobile: bool


_parsed: dict[str, Phone] = {}  # E.164 -> parse: the contact check re-reads the number just normalized
_PARSED_MAX = 4096


def parse_phone(raw: str) -> Phone:
    """Parse an Indonesian or international number to E.164, or raise PydanticCustomError."""
    known = _parsed.get(raw)
    if known is not None:
        return known
    phone = _parse_phone(raw)
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[phone.e164] = phone
    return phone


def _parse_phone(raw: str) -> Phone:
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("phone_invalid", "Nomor telepon tidak valid (contoh: 081234567890).")
    kind = phonenumbers.number_type(number)
    mobile = kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), mobile)


def check_phone(raw: str) -> str:
    return parse_phone(raw).e164


# A phone number as input: parsed (region ID), stored E.164; errors are field errors in Indonesian.
PhoneNumber = Annotated[str, StringConstraints(max_length=30), AfterValidator(check_phone)]


def check_mobile(phone: str, *, field: str) -> None:
    """Raise InputError on `field` unless `phone` can receive SMS/WhatsApp (a mobile number)."""
    try:
        mobile = parse_phone(phone).mobile
    except PydanticCustomError:
        mobile = False
    if not mobile:
        raise InputError(
            [FieldError(field, "phone_not_mobile", "Balasan SMS/WhatsApp memerlukan nomor ponsel.")]
        )


def check_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PydanticCustomError("email_invalid", "Alamat e-mail tidak valid.") from exc


# --- Turning pydantic errors into field errors ---------------------------------------------------

_TEXT = "Harus berupa teks."
_BOOL = "Harus bernilai true atau false."
_INT = "Harus berupa bilangan bulat."
_NUMBER = "Harus berupa angka."
_LIST = "Harus berupa daftar."
_OBJECT = "Harus berupa objek."
_DATE = "Tanggal tidak valid (format YYYY-MM-DD)."
_DATETIME = "Waktu tidak valid (format ISO 8601, mis. 2026-11-25T09:00:00+07:00)."
GENERIC_MESSAGE = "Nilai tidak valid."
GENERIC_CODE = "invalid"

# Indonesian messages for pydantic's built-in error types. Enum and literal errors are worded
# by `_choices`; a built-in type not listed here gets GENERIC_CODE and GENERIC_MESSAGE.
_MESSAGES: dict[str, str] = {
    "missing": "Wajib diisi.",
    "string_too_long": "Terlalu panjang (maksimal {max_length} karakter).",
    "string_too_short": "Terlalu pendek (minimal {min_length} karakter).",
    "string_pattern_mismatch": "Format tidak sesuai.",
    "too_short": "Minimal {min_length} isian.",
    "too_long": "Maksimal {max_length} isian.",
    "string_type": _TEXT,
    "string_sub_type": _TEXT,
    "string_unicode": _TEXT,
    "bool_type": _BOOL,
    "bool_parsing": _BOOL,
    "int_type": _INT,
    "int_parsing": _INT,
    "int_from_float": _INT,
    "int_parsing_size": "Angka terlalu besar.",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": _NUMBER,
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "extra_forbidden": "Isian ini tidak dikenal.",
    "json_invalid": "Isi permintaan bukan JSON yang valid.",
    "json_type": "Isi permintaan bukan JSON yang valid.",
    "greater_than": "Harus lebih dari {gt}.",
    "greater_than_equal": "Harus paling sedikit {ge}.",
    "less_than": "Harus kurang dari {lt}.",
    "less_than_equal": "Harus paling banyak {le}.",
    "multiple_of": "Harus kelipatan {multiple_of}.",
    "value_error": GENERIC_MESSAGE,
    "assertion_error": GENERIC_MESSAGE,
}

# Stable codes where ours differ from pydantic's type name. The other listed types keep their
# pydantic name as the code (clients and tests already rely on `int_type`, `less_than_equal`, ...).
_CODES: dict[str, str] = {
    "missing": "required",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_few",
    "too_long": "too_many",
    "extra_forbidden": "unknown_field",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "json_invalid": "invalid_json",
    "json_type": "invalid_json",
}

# pydantic's own error types; any other type is a PydanticCustomError of ours (`blank`,
# `nik_format`, ...), which brings its own code and Indonesian message.
_BUILT_IN = frozenset(get_args(ErrorType))

# One accepted value as pydantic spells it in `expected`: an enum member's repr, a quoted string,
# or a bare literal (True, 3); items are joined by ", " and the last by " or ".
_CHOICE = re.compile(r"<[\w.]+: (?P<member>'[^']*'|\"[^\"]*\"|[^>]*)>|(?P<plain>'[^']*'|\"[^\"]*\"|[^\s,]+)")
# A query pattern that is only a list of words, e.g. ^(json|html)$.
_ALTERNATIVES = re.compile(r"\^\(([\w-]+(?:\|[\w-]+)*)\)\$")


def _plain(token: str) -> str:
    """A value as a client writes it in JSON or a query: in_person, true, null, 3."""
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return token
    return value if isinstance(value, str) else json.dumps(value)


def _choices(expected: str) -> list[str]:
    """`<ReplyMethod.SMS: 'sms'> or <ReplyMethod.EMAIL: 'email'>` -> `["sms", "email"]`."""
    values = []
    for match in _CHOICE.finditer(expected):
        token = match.group("member") or match.group("plain")
        if match.group("plain") == "or":  # the separator; a choice "or" would be quoted
            continue
        values.append(_plain(token))
    return values


def _choices_message(choices: list[str]) -> str:
    if not choices:
        return GENERIC_MESSAGE
    if len(choices) == 1:
        return f"Harus bernilai {choices[0]}."
    return f"Pilihan yang diterima: {', '.join(choices)}."


def _translate(kind: str, ctx: dict[str, Any], msg: str) -> tuple[str, str]:
    """The stable code and Indonesian message of one pydantic error."""
    if kind not in _BUILT_IN:
        return kind, msg
    if kind in {"enum", "literal_error"}:
        choices = _choices(str(ctx.get("expected", "")))
        return _CODES[kind], _choices_message(choices)
    if kind == "string_pattern_mismatch":
        words = _ALTERNATIVES.fullmatch(str(ctx.get("pattern", "")))
        if words is not None:
            return kind, _choices_message(words.group(1).split("|"))
    template = _MESSAGES.get(kind)
    if template is None:
        return GENERIC_CODE, GENERIC_MESSAGE
    try:
        message = template.format(**ctx)
    except (KeyError, IndexError):
        message = template
    return _CODES.get(kind, kind), message


def field_errors(errors: list[Any], *, skip_prefix: tuple[str, ...] = ()) -> list[FieldError]:
    """Convert pydantic error dicts into field errors, one per field (the first wins)."""
    out: dict[str, FieldError] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if str(p) not in skip_prefix]
        path = ".".join(loc) or "body"
        if path in out:
            continue
        code, message = _translate(
            str(err.get("type", "value_error")), dict(err.get("ctx") or {}), str(err.get("msg", ""))
        )
        out[path] = FieldError(path, code, message or GENERIC_MESSAGE)
    return list(out.values())


def errors_of(exc: ValidationError, *, prefix: str = "") -> list[FieldError]:
    """Field errors of a ValidationError, with an optional dotted prefix on every field."""
    found = field_errors(list(exc.errors()))
    if not prefix:
        return found
    return [
        FieldError(f"{prefix}.{e.field}" if e.field != "body" else prefix, e.code, e.message) for e in found
    ]
