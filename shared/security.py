"""Secrets at rest: field encryption (NIK, tracking codes), password and kiosk-key hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.settings import get_settings

_NONCE = 12
# Tracking codes avoid look-alike characters (0/O, 1/I/L) so citizens can read them off a receipt.
_TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
TRACKING_CODE_LENGTH = 8


class FieldCipher:
    """AES-256-GCM for single fields; the field name is bound as associated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, value: str, *, field: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._aead.encrypt(nonce, value.encode(), field.encode())

    def decrypt(self, blob: bytes, *, field: str) -> str:
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], field.encode()).decode()


@lru_cache
def cipher() -> FieldCipher:
    """The process-wide cipher, keyed by ADUAN_DATA_KEY."""
    return FieldCipher(get_settings().data_key_bytes())


# Random bytes at or past this are drawn again, so that each character is uniform over the alphabet.
_UNBIASED_BELOW = 256 - 256 % len(_TRACKING_ALPHABET)


def new_tracking_code() -> str:
    """TRACKING_CODE_LENGTH characters, each uniform over the alphabet: from one read of the OS's
    random source, not one per character (`secrets.choice` reads it for each: ~0.1 ms per code)."""
    code: list[str] = []
    while len(code) < TRACKING_CODE_LENGTH:
        drawn = secrets.token_bytes(TRACKING_CODE_LENGTH)
        code += (_TRACKING_ALPHABET[b % len(_TRACKING_ALPHABET)] for b in drawn if b < _UNBIASED_BELOW)
    return "".join(code[:TRACKING_CODE_LENGTH])


def tracking_code_matches(given: str, stored: str) -> bool:
    return hmac.compare_digest(given.strip().upper().encode(), stored.encode())


def new_kiosk_key() -> str:
    return "kio_" + secrets.token_urlsafe(32)


def new_token() -> str:
    """A 256-bit random secret for a link or a cookie (a kiosk's enrolment link, its browser's cookie)."""
    return secrets.token_urlsafe(32)


def kiosk_key_hash(key: str) -> str:
    """Kiosk keys are 256-bit random, so a plain SHA-256 is a safe, fast lookup hash."""
    return hashlib.sha256(key.encode()).hexdigest()


_hasher = PasswordHasher()
MIN_PASSWORD = 8  # characters of a staff password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


def mask_contact(recipient: str) -> str:
    """A phone number or e-mail address shown enough to recognise, not enough to contact."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(recipient) <= 9:
        return "*" * max(len(recipient) - 3, 0) + recipient[-3:]
    return recipient[:6] + "*" * (len(recipient) - 9) + recipient[-3:]
