"""Kiosks as the admin runs them (console, API and CLI alike): list, add, enrol a browser, revoke.
Every change writes an audit entry in its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.clock import now
from shared.errors import ApiError
from shared.models import Complaint, Kiosk
from shared.security import kiosk_key_hash, new_kiosk_key, new_token
from shared.settings import get_settings
from shared.validation import FieldError, InputError
from shared.workflow import Actor

NAME_LIMIT = 100


@dataclass(frozen=True)
class KioskRow:
    name: str
    active: bool
    created_at: datetime
    enrolled: bool  # a browser holds this kiosk's enrolment
    last_filed_at: datetime | None


def kiosks(session: Session) -> list[KioskRow]:
    """Every kiosk by name, with its last filing."""
    last = (
        select(func.max(Complaint.received_at))
        .where(Complaint.kiosk_id == Kiosk.id)
        .correlate(Kiosk)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Kiosk.name, Kiosk.active, Kiosk.created_at, Kiosk.browser_key_hash.is_not(None), last
        ).order_by(Kiosk.name)
    ).all()
    session.rollback()
    return [KioskRow(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]


def _load(session: Session, name: str) -> Kiosk:
    kiosk = session.scalar(select(Kiosk).where(Kiosk.name == name.strip()))
    if kiosk is None:
        raise ApiError(404, "not_found", f"Kios {name} tidak ada.")
    return kiosk


def create(session: Session, name: str, *, by: Actor, address: str | None) -> str:
    """A new kiosk; its key is returned (shown once; only its hash is stored)."""
    name = name.strip()
    if not name:
        raise InputError([FieldError("name", "blank", "Tidak boleh kosong.")])
    if len(name) > NAME_LIMIT:
        raise InputError([FieldError("name", "too_long", f"Paling panjang {NAME_LIMIT} karakter.")])
    if session.scalar(select(Kiosk.id).where(Kiosk.name == name)) is not None:
        raise InputError([FieldError("name", "kiosk_exists", f"Kios {name} sudah ada.")])
    key = new_kiosk_key()
    session.add(Kiosk(name=name, key_hash=kiosk_key_hash(key), active=True, created_at=now()))
    audit.record(session, by=by, action="kiosk.create", address=address, target=name)
    session.flush()
    return key


def enrol(session: Session, name: str, *, by: Actor, address: str | None) -> str:
    """A one-time token enrolling a browser as the kiosk (replaces any earlier link)."""
    kiosk = _load(session, name)
    if not kiosk.active:
        raise ApiError(409, "kiosk_revoked", f"Kios {kiosk.name} sudah dinonaktifkan.")
    token = new_token()
    kiosk.enrol_token_hash = kiosk_key_hash(token)
    kiosk.enrol_expires_at = now() + get_settings().kiosk_enrol_ttl
    audit.record(session, by=by, action="kiosk.enrol", address=address, target=kiosk.name)
    session.flush()
    return token


def revoke(session: Session, name: str, *, by: Actor, address: str | None) -> None:
    """Deactivate a kiosk: its key and its enrolled browser can no longer file complaints."""
    kiosk = _load(session, name)
    if kiosk.active:
        kiosk.active = False
        audit.record(session, by=by, action="kiosk.revoke", address=address, target=kiosk.name)
    kiosk.enrol_token_hash = None
    kiosk.enrol_expires_at = None
    session.flush()
