"""The complainant's identity at rest (UU 27/2022): NIK, phone, e-mail and address are encrypted
(AES-GCM, shared/security); the NIK and the phone number also get a blind index, a keyed hash of the
normalised value under a key derived from ADUAN_DATA_KEY (separate from the encryption key), so the
office can find a person's earlier complaints without the plain value in any table, log or URL."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.security import cipher, mask_contact
from shared.settings import get_settings
from shared.validation import mask_nik, parse_phone

Indexed = Literal["nik", "phone", "recipient"]
_NOT_DIGITS = re.compile(r"\D")


@lru_cache
def _index_key() -> bytes:
    """The blind index's HMAC key: HKDF-SHA-256 of the data key, for this purpose alone."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aduan blind index v1")
    return hkdf.derive(get_settings().data_key_bytes())


def normalise(value: str, *, field: Indexed) -> str:
    """The form a value is indexed in: a NIK's 16 digits; a phone number in E.164 (`+62…`); a
    message's recipient as its phone number, or its e-mail address in lower case."""
    if field == "nik":
        return _NOT_DIGITS.sub("", value)
    if field == "recipient" and "@" in value:
        return value.strip().lower()
    try:
        return parse_phone(value).e164
    except ValueError:
        return "+" + _NOT_DIGITS.sub("", value)


def blind_index(value: str, *, field: Indexed) -> str:
    """HMAC-SHA-256 (hex) of the normalised value, the field's name bound in."""
    message = f"{field}:{normalise(value, field=field)}".encode()
    return hmac.new(_index_key(), message, hashlib.sha256).hexdigest()


def seal(value: str | None, *, field: str) -> bytes | None:
    return cipher().encrypt(value, field=field) if value else None


def unseal(blob: bytes | None, *, field: str) -> str | None:
    return cipher().decrypt(bytes(blob), field=field) if blob else None


def identity_columns(
    *, nik: str | None, phone: str | None, email: str | None, address: str | None
) -> dict[str, Any]:
    """The complaints table's identity columns for a complainant: sealed, masked and indexed."""
    return {
        "nik_enc": seal(nik, field="nik"),
        "nik_masked": mask_nik(nik) if nik else None,
        "nik_index": blind_index(nik, field="nik") if nik else None,
        "phone_enc": seal(phone, field="phone"),
        "phone_index": blind_index(phone, field="phone") if phone else None,
        "email_enc": seal(email, field="email"),
        "address_enc": seal(address, field="address"),
    }


def recipient_columns(recipient: str | None) -> dict[str, Any]:
    """A message's recipient (a phone number or an e-mail address) as the notifications row keeps it."""
    return {
        "recipient_enc": seal(recipient, field="recipient"),
        "recipient_index": blind_index(recipient, field="recipient") if recipient else None,
    }


def masked_phones(detail: dict[str, Any]) -> dict[str, Any]:
    """A history row's detail with the number called masked: the attempt row keeps it sealed."""
    called = detail.get("phone_called")
    if isinstance(called, str) and called:
        return {**detail, "phone_called": mask_contact(called)}
    return detail
