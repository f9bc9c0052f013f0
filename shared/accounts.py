"""Staff accounts as the admin runs them (console, API and CLI alike): list, add, change,
deactivate and reactivate, reset a password. Every change writes an audit entry in its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.clock import now
from shared.errors import ApiError
from shared.models import Unit, User
from shared.security import hash_password, new_password
from shared.sop import ROLE_LABELS, Role
from shared.validation import FieldError, InputError, check_email
from shared.workflow import Actor

TEXT_LIMITS = {"username": 100, "full_name": 200, "job_title": 200}
NIP_DIGITS = 18
EDITABLE = ("role", "unit", "full_name", "job_title", "nip", "email")


@dataclass(frozen=True)
class Account:
    username: str
    full_name: str | None
    role: Role
    unit: str | None
    job_title: str | None
    nip: str | None
    email: str | None
    active: bool
    must_change_password: bool
    last_sign_in_at: datetime | None
    created_at: datetime

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def _account(user: User) -> Account:
    return Account(
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        unit=user.unit_code,
        job_title=user.job_title,
        nip=user.nip,
        email=user.email,
        active=user.active,
        must_change_password=user.must_change_password,
        last_sign_in_at=user.last_sign_in_at,
        created_at=user.created_at,
    )


def accounts(session: Session) -> list[Account]:
    """Every account: active first, then by role and name."""
    found = [_account(u) for u in session.scalars(select(User).order_by(User.active.desc(), User.username))]
    session.rollback()
    return sorted(found, key=lambda a: (not a.active, list(Role).index(a.role), a.username))


def account(session: Session, username: str) -> Account:
    found = _account(_load(session, username))
    session.rollback()
    return found


def _load(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ApiError(404, "not_found", "Akun tidak ditemukan.")
    return user


def checked_text(name: str, text: str | None) -> tuple[str | None, FieldError | None]:
    """An account's text field as stored (a NIP without spaces, an e-mail normalised), or why it
    cannot be: too long (TEXT_LIMITS), a NIP that is not 18 digits, an e-mail that is not one. The
    admin's account form and the officer's own profile check their fields with this."""
    if not text:
        return text, None
    if name in TEXT_LIMITS and len(text) > TEXT_LIMITS[name]:
        return text, FieldError(name, "too_long", f"Paling panjang {TEXT_LIMITS[name]} karakter.")
    if name == "nip":
        text = text.replace(" ", "")
        if not (text.isascii() and text.isdigit() and len(text) == NIP_DIGITS):
            return text, FieldError("nip", "nip_invalid", "NIP terdiri dari 18 angka.")
    if name == "email":
        try:
            return check_email(text), None
        except PydanticCustomError as exc:
            return text, FieldError("email", exc.type, exc.message())
    return text, None


def _clean(session: Session, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes checked and normalised; field errors in Indonesian otherwise."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        text = (value or "").strip() or None if isinstance(value, str | None) else value
        if name == "role":
            try:
                clean[name] = Role(text or "")
            except ValueError:
                errors.append(FieldError("role", "role_unknown", "Pilih peran dari daftar."))
            continue
        text, error = checked_text(name, text)
        if error is not None:
            errors.append(error)
        elif text and name == "unit" and session.get(Unit, text) is None:
            errors.append(FieldError("unit", "unit_unknown", "Pilih bidang dari daftar."))
        elif name == "username" and not text:
            errors.append(FieldError("username", "blank", "Tidak boleh kosong."))
        elif name == "username" and text and not all(ch.isalnum() or ch in "._-" for ch in text):
            message = "Hanya huruf, angka, titik, garis bawah dan tanda hubung."
            errors.append(FieldError("username", "username_invalid", message))
        clean[name] = text
    if errors:
        raise InputError(errors)
    return clean


def _check_unit(role: Role, unit: str | None) -> None:
    if role == Role.BIDANG and not unit:
        raise InputError([FieldError("unit", "unit_required", "Akun bidang memerlukan bidang.")])
    if role != Role.BIDANG and unit:
        raise InputError([FieldError("unit", "unit_not_allowed", "Bidang hanya untuk akun peran Bidang.")])


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to leave the office with no active admin (rows locked against a concurrent change)."""
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True)).with_for_update()
    ).all()
    if set(admins) <= {user.id}:
        raise ApiError(409, "last_admin", "Akun ini admin aktif terakhir; tambahkan admin lain lebih dahulu.")


def create(session: Session, fields: Mapping[str, Any], *, by: Actor, address: str | None) -> str:
    """A new account with a one-time password (returned, shown once; changed at first sign-in)."""
    clean = _clean(session, {"username": fields.get("username"), "role": fields.get("role"), **fields})
    _check_unit(clean["role"], clean.get("unit"))
    if session.scalar(select(User.id).where(User.username == clean["username"])) is not None:
        raise InputError([FieldError("username", "username_taken", "Nama pengguna sudah dipakai.")])
    password = new_password()
    session.add(
        User(
            username=clean["username"],
            full_name=clean.get("full_name"),
            role=clean["role"].value,
            unit_code=clean.get("unit"),
            job_title=clean.get("job_title"),
            nip=clean.get("nip"),
            email=clean.get("email"),
            notify_by_email=False,
            password_hash=hash_password(password),
            active=True,
            must_change_password=True,
            created_at=now(),
        )
    )
    audit.record(
        session,
        by=by,
        action="user.create",
        address=address,
        target=clean["username"],
        detail={"role": clean["role"].value, "unit": clean.get("unit")},
    )
    session.flush()
    return password


def update(
    session: Session, username: str, changes: Mapping[str, Any], *, by: Actor, address: str | None
) -> Account:
    """Change an account's role, unit, name, jabatan, NIP or e-mail (the fields given)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InputError([FieldError(sorted(unknown)[0], "unknown_field", "Kolom ini tidak dapat diubah.")])
    clean = _clean(session, changes)
    user = _load(session, username)
    role = clean.get("role", Role(user.role))
    unit = clean.get("unit", user.unit_code)
    if role != Role.BIDANG and "unit" not in clean:
        unit = None  # leaving Bidang leaves its unit
    _check_unit(role, unit)
    if user.role == Role.ADMIN.value and role != Role.ADMIN and user.active:
        _keep_an_admin(session, user)
    before = {"role": user.role, "unit": user.unit_code}
    user.role, user.unit_code = role.value, unit
    for name in ("full_name", "job_title", "nip", "email"):
        if name in clean:
            setattr(user, name, clean[name])
    if user.notify_by_email and not user.email:
        user.notify_by_email = False
    changed = sorted(k for k in clean if k in EDITABLE)
    audit.record(
        session,
        by=by,
        action="user.update",
        address=address,
        target=username,
        detail={"fields": changed, "before": before, "after": {"role": role.value, "unit": unit}},
    )
    session.flush()
    return _account(user)


def set_active(session: Session, username: str, active: bool, *, by: Actor, address: str | None) -> Account:
    """Deactivate (its sessions and tokens stop at the next request) or reactivate an account."""
    user = _load(session, username)
    if not active and user.active and user.role == Role.ADMIN.value:
        _keep_an_admin(session, user)
    if user.active != active:
        user.active = active
        action = "user.enable" if active else "user.disable"
        audit.record(session, by=by, action=action, address=address, target=username)
    session.flush()
    return _account(user)


def reset_password(session: Session, username: str, *, by: Actor, address: str | None) -> str:
    """A new one-time password (returned, shown once); the officer must change it at next sign-in."""
    user = _load(session, username)
    password = new_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    audit.record(session, by=by, action="user.reset_password", address=address, target=username)
    session.flush()
    return password


def active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
        )
        or 0
    )
