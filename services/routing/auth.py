"""Staff authentication: argon2 passwords, expiring signed bearer tokens, the current user."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from shared import accounts, ratelimit
from shared.api import ApiError
from shared.clock import now
from shared.db import session_factory
from shared.models import User
from shared.security import MIN_PASSWORD, hash_password, verify_password
from shared.settings import get_settings
from shared.sop import Role
from shared.validation import FieldError, InputError
from shared.workflow import Actor

ALGORITHM = "HS256"


@cache
def _dummy_hash() -> str:
    """A hash to verify against for an unknown username (equal work), made at the first sign-in
    rather than at import: an argon2 hash costs every process that imports this ~0.1 s and memory."""
    return hash_password("aduan-dummy-password")


oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session() -> Iterator[Session]:
    with session_factory()() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def authenticate_limited(session: Session, username: str, password: str, *, address: str) -> User | None:
    """`authenticate` under the sign-in limits: RateLimited while locked out, failures counted."""
    limiter = ratelimit.limiter()
    counts = ratelimit.sign_in_counts(username, address, known=limiter.known(username, address))
    limiter.check(*counts)
    user = authenticate(session, username, password) if username and password else None
    session.rollback()  # end the read before the counters' own transaction (SQLite: one writer)
    if user is None:
        limiter.count(*counts)
    else:
        limiter.signed_in(username, address)
        with session.begin():
            session.execute(update(User).where(User.id == user.id).values(last_sign_in_at=now()))
    return user


def change_password(session: Session, user_id: int, *, current: str, new: str, repeated: str) -> None:
    """An officer's new password, after the current one; field errors in Indonesian otherwise."""
    with session.begin():
        user = session.get(User, user_id)
        if user is None or not verify_password(user.password_hash, current):
            raise InputError([FieldError("current", "wrong_password", "Kata sandi saat ini salah.")])
        if len(new) < MIN_PASSWORD:
            raise InputError(
                [FieldError("new", "too_short", f"Kata sandi baru minimal {MIN_PASSWORD} karakter.")]
            )
        if new != repeated:
            raise InputError([FieldError("repeated", "mismatch", "Ulangan kata sandi baru tidak sama.")])
        user.password_hash = hash_password(new)
        user.must_change_password = False


@dataclass(frozen=True)
class Profile:
    """What an officer says of themself: printed on the lembar disposisi, and where notices go."""

    full_name: str | None
    job_title: str | None  # jabatan
    nip: str | None
    email: str | None
    notify_by_email: bool


def profile(session: Session, user_id: int) -> Profile:
    account = session.get(User, user_id)
    if account is None:
        raise ApiError(404, "not_found", "Akun tidak ditemukan.")
    found = Profile(
        full_name=account.full_name,
        job_title=account.job_title,
        nip=account.nip,
        email=account.email,
        notify_by_email=account.notify_by_email,
    )
    session.rollback()  # end the read; use cases open their own transaction
    return found


def update_profile(session: Session, user_id: int, changes: Mapping[str, Any]) -> Profile:
    """Change the fields given (None or blank clears one); field errors in Indonesian otherwise."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "notify_by_email":
            clean[name] = bool(value)
            continue
        text, error = accounts.checked_text(name, (value or "").strip() or None)
        if error is not None:
            errors.append(error)
        clean[name] = text
    if errors:
        raise InputError(errors)
    with session.begin():
        account = session.get(User, user_id)
        if account is None:
            raise ApiError(404, "not_found", "Akun tidak ditemukan.")
        for name, value in clean.items():
            setattr(account, name, value)
        if account.notify_by_email and not account.email:
            raise InputError(
                [FieldError("email", "email_required", "Isi alamat e-mail untuk menerima pemberitahuan.")]
            )
    return profile(session, user_id)


def issue_token(user: User, *, at: datetime) -> str:
    settings = get_settings()
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "usr": user.username,
        "role": user.role,
        "unit": user.unit_code,
        "iat": int(at.timestamp()),
        "exp": int((at + settings.token_ttl).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key_value(), algorithm=ALGORITHM)


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class StaffUser:
    """The signed-in account, detached from any session."""

    id: int
    username: str
    role: Role
    unit: str | None
    must_change_password: bool = False  # after an admin's reset: the console asks for a new one first

    @property
    def actor(self) -> Actor:
        return Actor(name=self.username, role=self.role, unit=self.unit)


# What an officer whose password an admin reset may still do, in the console and the API: change
# it, and read who they are. Everything else waits for the new password.
WHILE_PASSWORD_CHANGE_DUE = frozenset(
    {
        ("GET", "/kata-sandi"),
        ("POST", "/kata-sandi"),
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/me/password"),
    }
)
PASSWORD_CHANGE_REQUIRED = (
    "password_change_required",
    "Kata sandi Anda diatur ulang oleh admin; ganti dahulu (POST /api/v1/me/password).",
)


def password_change_due(user: StaffUser, request: Request) -> bool:
    """True when `user` must change their password before `request` is served."""
    return user.must_change_password and (request.method, request.url.path) not in WHILE_PASSWORD_CHANGE_DUE


def _api_user(request: Request, session: Session, token: str | None, *, end_read: bool) -> StaffUser:
    """The API's caller; 403 `password_change_required` while an admin's reset waits for a new one."""
    user = user_of_token(session, token, end_read=end_read)
    if password_change_due(user, request):
        raise ApiError(403, *PASSWORD_CHANGE_REQUIRED)
    return user


def current_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> StaffUser:
    return _api_user(request, session, token, end_read=True)


# Every request reads its account: the columns it needs, not the entity, by a statement built once.
_ACTIVE_ACCOUNT = select(User.username, User.role, User.unit_code, User.must_change_password).where(
    User.id == bindparam("id"), User.active.is_(True)
)


def user_of_token(session: Session, token: str | None, *, end_read: bool = True) -> StaffUser:
    """The active account a signed token (bearer header or console cookie) names; 401 otherwise.
    `end_read` False leaves the read open for a read-only endpoint: its query joins the same
    transaction instead of paying a ROLLBACK and a BEGIN (two round trips)."""
    if not token:
        raise _unauthorized("token_missing", "Silakan masuk terlebih dahulu.")
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key_value(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("token_expired", "Sesi telah berakhir; silakan masuk kembali.") from exc
    except jwt.PyJWTError as exc:
        raise _unauthorized("token_invalid", "Token tidak valid.") from exc
    subject = claims["sub"]
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit() and len(subject) <= 18):
        raise _unauthorized("token_invalid", "Token tidak valid.")  # signed with our key, yet not ours
    user = session.connection().execute(_ACTIVE_ACCOUNT, {"id": int(subject)}).first()
    if user is None:
        raise _unauthorized("account_inactive", "Akun tidak aktif.")
    staff = StaffUser(int(subject), user.username, Role(user.role), user.unit_code, user.must_change_password)
    if end_read:
        session.rollback()  # end the read; use cases open their own transaction
    return staff


@contextmanager
def reading(request: Request, token: str | None) -> Iterator[tuple[Session, StaffUser]]:
    """A session and the API's caller read in it, the read left open: a list endpoint reads the
    account and its page in one transaction (no ROLLBACK and BEGIN between), and does the whole
    request in one trip to the thread pool instead of one per dependency."""
    with session_factory()() as session:
        yield session, _api_user(request, session, token, end_read=False)


BearerToken = Annotated[str | None, Depends(oauth2)]
CurrentUser = Annotated[StaffUser, Depends(current_user)]


def require_admin(user: CurrentUser) -> StaffUser:
    if user.role != Role.ADMIN:
        raise ApiError(403, "admin_only", "Hanya admin yang dapat melakukan ini.")
    return user


AdminUser = Annotated[StaffUser, Depends(require_admin)]
