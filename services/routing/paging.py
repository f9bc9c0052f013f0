"""Keyset pagination: a page ends at its last row's sort key and the next one starts after it, so the
thousandth page costs what the first does. The key travels as an opaque cursor, signed with the
secret key so that a client can neither forge nor edit one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.settings import get_settings
from shared.validation import FieldError, InputError

T = TypeVar("T")

# A list's sort key, value by value: what the cursor of each list may hold.
KEY_TYPES: dict[str, tuple[str, ...]] = {
    "complaints": ("int",),  # newest first: the id
    "worklist": ("bool", "datetime?", "int"),  # waiting on site, the step's deadline, the id
}
CURSOR_MAX = 500  # characters: a few values and a signature
INVALID = "Penanda halaman tidak valid atau sudah tidak berlaku; mulai lagi dari halaman pertama."


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after `key` (the next page) or, `backward`, before it (the previous one)."""

    key: tuple[Any, ...]
    backward: bool = False


@dataclass(frozen=True)
class Found(Generic[T]):
    """A page of a list, its bounded total, and the sort keys the pages beside it start from."""

    items: list[T]
    total: int
    next_key: tuple[Any, ...] | None = None
    prev_key: tuple[Any, ...] | None = None


def _mac(kind: str, body: bytes) -> bytes:
    key = hashlib.sha256(b"aduan-cursor\x00" + get_settings().secret_key_value().encode()).digest()
    return hmac.new(key, kind.encode() + b"\x00" + body, hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(kind: str, key: Sequence[Any], *, backward: bool = False) -> str:
    """The cursor of the page after `key` (before it, `backward`) in the list `kind`."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    body = json.dumps([values, int(backward)], separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_mac(kind, body))}"


def decode(kind: str, raw: str, *, field: str = "query.cursor") -> Cursor:
    """The cursor `raw` of the list `kind`; 422 `cursor_invalid` for anything this server did not issue."""
    try:
        body_text, mac_text = raw.split(".")
        body = _unb64(body_text)
        if not hmac.compare_digest(_unb64(mac_text), _mac(kind, body)):
            raise ValueError("signature")
        values, backward = json.loads(body)
        types = KEY_TYPES[kind]
        if len(values) != len(types) or backward not in (0, 1):
            raise ValueError("shape")
        key = tuple(_value(v, t) for v, t in zip(values, types, strict=True))
    except (ValueError, TypeError, KeyError) as exc:  # binascii.Error and JSON errors are ValueErrors
        raise InputError([FieldError(field, "cursor_invalid", INVALID)]) from exc
    return Cursor(key, backward=bool(backward))


def _value(value: Any, kind: str) -> Any:
    if kind.endswith("?") and value is None:
        return None
    kind = kind.rstrip("?")
    if kind == "int" and type(value) is int:
        return value
    if kind == "bool" and type(value) is bool:
        return value
    if kind == "datetime" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    raise ValueError(kind)
