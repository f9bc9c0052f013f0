"""Instance administration used by the CLI: accounts and kiosks."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from pydantic_core import PydanticCustomError
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared import accounts, kiosks
from shared.calendar import OfficeCalendar
from shared.clock import now
from shared.db import unit_of_work
from shared.errors import ApiError
from shared.links import kiosk_enrol_url
from shared.models import Unit, User
from shared.security import (
    MIN_PASSWORD,
    hash_password,
    new_password,
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


def _kiosk_call(action: Callable[[Session], _T]) -> _T:
    """Run one kiosk use case in a transaction; its refusals as AdminError in Indonesian."""
    try:
        with unit_of_work() as session:
            return action(session)
    except ApiError as exc:
        raise AdminError(exc.message.rstrip(".")[:1].lower() + exc.message.rstrip(".")[1:]) from exc
    except InputError as exc:
        error = exc.errors[0]
        message = error.message.rstrip(".")
        if error.code != "kiosk_exists":
            message = f"nama kios: {message[:1].lower()}{message[1:]}"
        raise AdminError(message[:1].lower() + message[1:]) from exc


def add_kiosk(name: str) -> str:
    """Create a kiosk and return its key (shown once; only its hash is stored)."""
    return _kiosk_call(lambda s: kiosks.create(s, name, by=cli_actor(), address=None))


def enrol_kiosk(name: str) -> str:
    """A one-time link that enrols a browser as the kiosk `name` (its page: /kios); replaces any earlier."""
    token = _kiosk_call(lambda s: kiosks.enrol(s, name, by=cli_actor(), address=None))
    return kiosk_enrol_url(get_settings(), token)


def revoke_kiosk(name: str) -> None:
    """Deactivate a kiosk: its key and its enrolled browser can no longer file complaints."""
    _kiosk_call(lambda s: kiosks.revoke(s, name, by=cli_actor(), address=None))


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


def list_kiosks() -> list[kiosks.KioskRow]:
    """Each kiosk: whether it may file, when it was made, its last filing."""
    with unit_of_work() as session:
        return kiosks.kiosks(session)
