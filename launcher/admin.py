"""Instance administration used by the CLI: accounts and kiosks."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from pydantic_core import PydanticCustomError
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared import accounts, audit
from shared.api import ApiError
from shared.calendar import OfficeCalendar
from shared.clock import now
from shared.db import unit_of_work
from shared.links import kiosk_enrol_url
from shared.models import Complaint, Kiosk, Unit, User
from shared.security import (
    MIN_PASSWORD,
    hash_password,
    kiosk_key_hash,
    new_kiosk_key,
    new_password,
    new_token,
)
from shared.settings import get_settings
from shared.sop import Role
from shared.validation import InputError, check_email
from shared.workflow import Actor

_T = TypeVar("_T")


class AdminError(Exception):
    """A refused administrative request; the message is for the operator."""


def add_user(
    username: str,
    *,
    role: str,
    unit: str | None,
    password: str,
    full_name: str | None = None,
    email: str | None = None,
) -> None:
    """Create a staff account with an argon2-hashed password."""
    username = username.strip()
    if not username:
        raise AdminError("nama pengguna kosong")
    if len(password) < MIN_PASSWORD:
        raise AdminError(f"kata sandi minimal {MIN_PASSWORD} karakter")
    try:
        role_ = Role(role)
    except ValueError as exc:
        raise AdminError(f"peran tidak dikenal: {role}") from exc
    if role_ == Role.BIDANG and not unit:
        raise AdminError("peran bidang memerlukan --unit")
    if role_ != Role.BIDANG and unit:
        raise AdminError("--unit hanya untuk peran bidang")
    if email is not None:
        try:
            email = check_email(email)
        except PydanticCustomError as exc:
            raise AdminError(f"--email: {exc.message()}") from exc
    with unit_of_work() as session:
        if unit and session.get(Unit, unit) is None:
            codes = ", ".join(session.scalars(select(Unit.code).order_by(Unit.code)))
            raise AdminError(f"bidang tidak dikenal: {unit} (tersedia: {codes})")
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise AdminError(f"pengguna {username} sudah ada")
        session.add(
            User(
                username=username,
                full_name=full_name,
                role=role_.value,
                unit_code=unit,
                password_hash=hash_password(password),
                active=True,
                created_at=now(),
                email=email,
                notify_by_email=email is not None,
            )
        )


def unlock_user(username: str, *, address: str | None = None) -> int:
    """Lift the sign-in lockouts of an account (and of an address); the counters cleared."""
    from shared.ratelimit import limiter

    with unit_of_work() as session:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            raise AdminError(f"pengguna {username} tidak ada")
    try:
        cleared = limiter().unlock(username)
        if address:
            cleared += limiter().unlock_address(address)
    except (RedisError, SQLAlchemyError) as exc:
        kind = type(exc).__name__
        raise AdminError(f"penyimpan hitungan batas tidak dapat dihubungi ({kind}); coba lagi") from exc
    return cleared


def add_kiosk(name: str) -> str:
    """Create a kiosk and return its key (shown once; only its hash is stored)."""
    name = name.strip()
    if not name:
        raise AdminError("nama kios kosong")
    key = new_kiosk_key()
    with unit_of_work() as session:
        if session.scalar(select(Kiosk.id).where(Kiosk.name == name)) is not None:
            raise AdminError(f"kios {name} sudah ada")
        session.add(Kiosk(name=name, key_hash=kiosk_key_hash(key), active=True, created_at=now()))
        audit.record(session, by=cli_actor(), action="kiosk.create", address=None, target=name)
    return key


def _kiosk(session: Session, name: str) -> Kiosk:
    kiosk = session.scalar(select(Kiosk).where(Kiosk.name == name.strip()))
    if kiosk is None:
        raise AdminError(f"kios {name} tidak ada")
    return kiosk


def enrol_kiosk(name: str) -> str:
    """A one-time link that enrols a browser as the kiosk `name` (its page: /kios); replaces any earlier."""
    settings = get_settings()
    token = new_token()
    with unit_of_work() as session:
        kiosk = _kiosk(session, name)
        if not kiosk.active:
            raise AdminError(f"kios {name} sudah dinonaktifkan")
        kiosk.enrol_token_hash = kiosk_key_hash(token)
        kiosk.enrol_expires_at = now() + settings.kiosk_enrol_ttl
    return kiosk_enrol_url(settings, token)


def revoke_kiosk(name: str) -> None:
    """Deactivate a kiosk: its key and its enrolled browser can no longer file complaints."""
    with unit_of_work() as session:
        kiosk = _kiosk(session, name)
        kiosk.active = False
        kiosk.enrol_token_hash = None
        kiosk.enrol_expires_at = None
        audit.record(session, by=cli_actor(), action="kiosk.revoke", address=None, target=kiosk.name)


def ensure_admin() -> str | None:
    """On first run, create `admin` with a random password and return it; None if it exists."""
    with unit_of_work() as session:
        if session.scalar(select(User.id).where(User.username == "admin")) is not None:
            return None
    password = new_password()
    add_user("admin", role=Role.ADMIN.value, unit=None, password=password, full_name="Administrator")
    return password


def month_view(first: date) -> list[str]:
    """One line per day of the month: its open hours, or why the office is closed."""
    from shared.clock import calendar_for
    from shared.office_days import overrides
    from shared.settings import get_settings

    settings = get_settings()
    with unit_of_work() as session:
        days = overrides(session)
    calendar = calendar_for(settings, days)
    if not isinstance(calendar, OfficeCalendar):
        return [f"Kalender {settings.calendar}: buka 24 jam setiap hari."]
    lines = [f"Kalender kantor {first:%m/%Y} (WIB)"]
    for day, hours, reason in calendar.month(first):
        state = f"tutup {reason}" if reason is not None else f"buka  {', '.join(hours)}"
        lines.append(f"{day.isoformat()} {_DAY_NAMES[day.weekday()]:<6} {state}")
    return lines


_DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def cli_actor() -> Actor:
    """Who the audit log names for a change made from the command line."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (some containers)
        who = "unknown"
    return Actor(name=f"cli:{who}"[:100], role=Role.ADMIN)


def _account_call(action: Callable[[Session], _T]) -> _T:
    """Run one account use case in a transaction; its refusals as AdminError in Indonesian."""
    try:
        with unit_of_work() as session:
            return action(session)
    except ApiError as exc:
        raise AdminError(exc.message) from exc
    except InputError as exc:
        raise AdminError("; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from exc


def list_users() -> list[accounts.Account]:
    with unit_of_work() as session:
        return accounts.accounts(session)


def set_user_active(username: str, active: bool) -> None:
    """Deactivate (its sessions and tokens stop at once) or reactivate an account."""
    _account_call(lambda s: accounts.set_active(s, username, active, by=cli_actor(), address=None))


def reset_user_password(username: str) -> str:
    """A one-time password for the account (changed at next sign-in)."""
    return _account_call(lambda s: accounts.reset_password(s, username, by=cli_actor(), address=None))


def list_kiosks() -> list[tuple[str, bool, datetime, datetime | None]]:
    """Each kiosk's name, whether it may file, when it was made and its last filing."""
    with unit_of_work() as session:
        last = (
            select(Complaint.kiosk_id, func.max(Complaint.received_at).label("last"))
            .group_by(Complaint.kiosk_id)
            .subquery()
        )
        rows = session.execute(
            select(Kiosk.name, Kiosk.active, Kiosk.created_at, last.c.last)
            .outerjoin(last, last.c.kiosk_id == Kiosk.id)
            .order_by(Kiosk.name)
        ).all()
        return [(r[0], r[1], r[2], r[3]) for r in rows]
