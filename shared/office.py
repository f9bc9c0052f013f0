"""The office's identity as printed: name, address, city and a logo.

Every page, print and message that names the office reads it here. The admin edits it (console and
API); until the first save the settings (ADUAN_OFFICE_NAME, _ADDRESS, _CITY) are the identity.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared import audit
from shared.clock import now
from shared.models import OfficeIdentity
from shared.settings import get_settings
from shared.validation import FieldError, InputError
from shared.workflow import Actor

# Served by both apps (the staff console's prints, the kiosk's receipt); `?v=` names the version.
LOGO_PATH = "/kantor/logo"
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_SIDE = 4000  # pixels: larger is no letterhead logo, and costly for a browser to decode
TEXT_LIMITS = {"name": 200, "address": 300, "city": 100}
FIELDS = tuple(TEXT_LIMITS)
_ONE = 1  # the row's id


@dataclass(frozen=True)
class Office:
    """The office as printed; `logo_url` is None when no logo was uploaded."""

    name: str
    address: str
    city: str
    logo_url: str | None
    saved: bool  # False: the settings' defaults, never saved by an admin


@dataclass(frozen=True)
class Logo:
    data: bytes
    media_type: str
    sha256: str


_IDENTITY = select(
    OfficeIdentity.name, OfficeIdentity.address, OfficeIdentity.city, OfficeIdentity.logo_sha256
).where(OfficeIdentity.id == _ONE)
_LOGO = select(OfficeIdentity.logo, OfficeIdentity.logo_type, OfficeIdentity.logo_sha256).where(
    OfficeIdentity.id == _ONE, OfficeIdentity.logo.is_not(None)
)


def logo_url(sha256: str) -> str:
    return f"{LOGO_PATH}?v={sha256[:16]}"


def _office(row: Row[str, str, str, str | None] | None) -> Office:
    if row is None:
        s = get_settings()
        return Office(s.office_name, s.office_address, s.office_city, None, saved=False)
    return Office(
        row.name, row.address, row.city, logo_url(row.logo_sha256) if row.logo_sha256 else None, saved=True
    )


def identity(session: Session) -> Office:
    """The office's identity: the admin's, or the settings' until the admin saves one.

    Read on the request's own session: on SQLite every transaction takes the write lock
    (BEGIN IMMEDIATE), so a second session in the same request would wait for the first."""
    return _office(session.execute(_IDENTITY).first())


async def identity_async(session: AsyncSession) -> Office:
    """`identity` on the intake's async session."""
    return _office((await session.execute(_IDENTITY)).first())


def _logo(row: Row[bytes | None, str | None, str | None] | None) -> Logo | None:
    if row is None or row.logo is None:
        return None
    return Logo(row.logo, row.logo_type or "application/octet-stream", row.logo_sha256 or "")


def logo(session: Session) -> Logo | None:
    return _logo(session.execute(_LOGO).first())


async def logo_async(session: AsyncSession) -> Logo | None:
    return _logo((await session.execute(_LOGO)).first())


def logo_response(found: Logo | None, version: str | None) -> Response:
    """The logo's bytes; cached for a year when asked by its current version (the URL changes with it)."""
    if found is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    current = version is not None and found.sha256.startswith(version) and len(version) >= 16
    return Response(
        found.data,
        media_type=found.media_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable" if current else "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- the admin's changes ------------------------------------------------------------------------


def checked(fields: Mapping[str, Any]) -> dict[str, str]:
    """Name, address and city as stored (trimmed), or every field's error in Indonesian."""
    clean: dict[str, str] = {}
    errors: list[FieldError] = []
    for name in FIELDS:
        value = fields.get(name)
        text = " ".join(value.split()) if isinstance(value, str) else ""
        if not text:
            errors.append(FieldError(name, "blank", "Tidak boleh kosong."))
        elif len(text) > TEXT_LIMITS[name]:
            errors.append(FieldError(name, "too_long", f"Paling panjang {TEXT_LIMITS[name]} karakter."))
        clean[name] = text
    if errors:
        raise InputError(errors)
    return clean


def _row(session: Session, by: Actor) -> OfficeIdentity:
    """The row, made from the settings on the first change (locked: two admins' saves queue)."""
    row = session.scalar(select(OfficeIdentity).where(OfficeIdentity.id == _ONE).with_for_update())
    if row is None:
        s = get_settings()
        row = OfficeIdentity(
            id=_ONE, name=s.office_name, address=s.office_address, city=s.office_city, updated_by=by.name
        )
        session.add(row)
    row.updated_at = now()
    row.updated_by = by.name
    return row


def save(session: Session, fields: Mapping[str, Any], *, by: Actor, client: str | None) -> Office:
    """Set name, address and city (checked); the audit entry names what changed. In the caller's unit."""
    clean = checked(fields)
    row = _row(session, by)
    changed = {name: {"from": getattr(row, name), "to": clean[name]} for name in FIELDS}
    changed = {name: c for name, c in changed.items() if c["from"] != c["to"]}
    for name, value in clean.items():
        setattr(row, name, value)
    session.flush()
    audit.record(session, by=by, action="office.update", address=client, target="kantor", detail=changed)
    return identity(session)


def set_logo(session: Session, data: bytes, *, by: Actor, client: str | None) -> Office:
    """Store a PNG or JPEG logo after reading its header; refused with a field error otherwise."""
    media_type, width, height = image_kind(data)
    row = _row(session, by)
    row.logo, row.logo_type = data, media_type
    row.logo_sha256 = hashlib.sha256(data).hexdigest()
    session.flush()
    detail = {"type": media_type, "bytes": len(data), "width": width, "height": height}
    audit.record(session, by=by, action="office.logo", address=client, target="kantor", detail=detail)
    return identity(session)


def remove_logo(session: Session, *, by: Actor, client: str | None) -> Office:
    row = _row(session, by)
    row.logo = row.logo_type = row.logo_sha256 = None
    session.flush()
    audit.record(session, by=by, action="office.logo_remove", address=client, target="kantor")
    return identity(session)


# --- what an uploaded logo is -------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NOT_AN_IMAGE = FieldError("logo", "logo_type", "Logo harus berkas gambar PNG atau JPEG.")
_BROKEN = FieldError("logo", "logo_unreadable", "Berkas logo rusak atau bukan gambar PNG/JPEG yang utuh.")


def image_kind(data: bytes) -> tuple[str, int, int]:
    """The media type, width and height of a PNG or JPEG, read from its header; InputError otherwise.

    The bytes decide, not the file's name or the type the browser claims; SVG (which can carry
    script) and every other format are refused."""
    if not data:
        raise InputError([FieldError("logo", "logo_missing", "Pilih berkas logo.")])
    if len(data) > LOGO_MAX_BYTES:
        message = f"Logo paling besar {LOGO_MAX_BYTES // 1024} KB."
        raise InputError([FieldError("logo", "logo_too_large", message)])
    if data.startswith(_PNG_SIGNATURE):
        media_type, (width, height) = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        media_type, (width, height) = "image/jpeg", _jpeg_size(data)
    else:
        raise InputError([_NOT_AN_IMAGE])
    if not (0 < width <= LOGO_MAX_SIDE and 0 < height <= LOGO_MAX_SIDE):
        message = f"Ukuran logo paling besar {LOGO_MAX_SIDE} x {LOGO_MAX_SIDE} piksel."
        raise InputError([FieldError("logo", "logo_dimensions", message)])
    return media_type, width, height


def _png_size(data: bytes) -> tuple[int, int]:
    """Walk the chunks (each CRC checked) to IEND; the size from IHDR, which must come first."""
    at, size, seen_data = len(_PNG_SIGNATURE), None, False
    while at + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, at)
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        crc = data[at + 8 + length : at + 12 + length]
        if len(body) != length or len(crc) != 4 or zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            break
        if size is None:
            if kind != b"IHDR" or length != 13:
                break
            width, height, depth, colour = struct.unpack_from(">IIBB", body)
            if colour not in (0, 2, 3, 4, 6) or depth not in (1, 2, 4, 8, 16):
                break
            size = (width, height)
        seen_data = seen_data or kind == b"IDAT"
        if kind == b"IEND":
            if seen_data:
                return size
            break
        at += 12 + length
    raise InputError([_BROKEN])


# Start-of-frame markers: C0-CF but DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk the segments after SOI to the first start-of-frame; its height and width."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the scan before any frame header
            break
        (length,) = struct.unpack_from(">H", data, at + 2)
        if length < 2 or at + 2 + length > len(data):
            break
        if marker in _SOF:
            if length < 8:
                break
            height, width = struct.unpack_from(">HH", data, at + 5)
            return width, height
        at += 2 + length
    raise InputError([_BROKEN])
