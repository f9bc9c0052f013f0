"""The admin's pages: staff accounts, and the audit log (admin and Kepala Dinas)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.routing.auth import SessionDep, StaffUser
from services.routing.console.lists import PAGE_SIZE, ListQuery, Paging, _period, _wib_day
from services.routing.console.pages import ConsoleUser, PostedForm, forbidden, page, refused
from services.routing.console.views import field_errors, names
from shared import accounts, audit
from shared.api import ApiError
from shared.ratelimit import client_address
from shared.sop import Role
from shared.validation import InputError

router = APIRouter(include_in_schema=False)

ACCOUNT_FIELDS = ("username", "role", "unit", "full_name", "job_title", "nip", "email")
Username = Annotated[str, Path(max_length=100)]


def _admin_only(request: Request, user: StaffUser) -> Response | None:
    if user.role == Role.ADMIN:
        return None
    return forbidden(request, user, "Halaman akun petugas hanya untuk admin.")


def _accounts_page(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    units, _ = names(session)
    return page(
        request,
        "accounts.html.j2",
        user=user,
        status_code=status_code,
        items=accounts.accounts(session),
        units=units,
        roles=list(Role),
        errors=errors or {},
        typed=typed or {},
        **extra,
    )


@router.get("/akun")
def accounts_page(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    """Every staff account, and the form that adds one."""
    return _admin_only(request, user) or _accounts_page(request, session, user)


@router.post("/akun")
def account_add(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    if refused := _admin_only(request, user):
        return refused
    typed = {name: form.text(name) for name in ACCOUNT_FIELDS}
    try:
        with session.begin():
            password = accounts.create(session, typed, by=user.actor, address=client_address(request))
    except InputError as exc:
        errors = field_errors(exc.errors)
        return _accounts_page(request, session, user, status_code=422, errors=errors, typed=typed)
    made = typed["username"].strip()
    return _accounts_page(request, session, user, made=made, password=password)


def _account_page(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    username: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    try:
        found = accounts.account(session, username)
    except ApiError as exc:
        return refused(request, user, exc)
    units, _ = names(session)
    shown = typed or {
        "role": found.role.value,
        "unit": found.unit or "",
        "full_name": found.full_name or "",
        "job_title": found.job_title or "",
        "nip": found.nip or "",
        "email": found.email or "",
    }
    return page(
        request,
        "account.html.j2",
        user=user,
        status_code=status_code,
        a=found,
        units=units,
        roles=list(Role),
        errors=errors or {},
        typed=shown,
        **extra,
    )


@router.get("/akun/{username}")
def account_page(username: Username, request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    return _admin_only(request, user) or _account_page(request, session, user, username)


@router.post("/akun/{username}")
def account_save(
    username: Username, request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm
) -> Response:
    if refused := _admin_only(request, user):
        return refused
    typed = {name: form.text(name) for name in accounts.EDITABLE}
    try:
        with session.begin():
            accounts.update(session, username, typed, by=user.actor, address=client_address(request))
    except InputError as exc:
        errors = field_errors(exc.errors)
        return _account_page(request, session, user, username, status_code=422, errors=errors, typed=typed)
    except ApiError as exc:
        return _account_page(request, session, user, username, status_code=exc.status, failed=exc.message)
    return _account_page(request, session, user, username, done="Perubahan akun sudah disimpan.")


@router.post("/akun/{username}/{change}")
def account_state(
    username: Username,
    change: Annotated[str, Path(max_length=30)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    _form: PostedForm,
) -> Response:
    """Deactivate, reactivate, or reset the password of an account."""
    if refused := _admin_only(request, user):
        return refused
    address = client_address(request)
    password = None
    try:
        with session.begin():
            if change == "nonaktifkan":
                accounts.set_active(session, username, False, by=user.actor, address=address)
                done = "Akun dinonaktifkan; sesinya berakhir pada klik berikutnya."
            elif change == "aktifkan":
                accounts.set_active(session, username, True, by=user.actor, address=address)
                done = "Akun diaktifkan kembali."
            elif change == "atur-ulang-sandi":
                password = accounts.reset_password(session, username, by=user.actor, address=address)
                done = "Kata sandi sudah diatur ulang."
            else:
                raise ApiError(404, "not_found", "Halaman tidak ditemukan.")
    except ApiError as exc:
        return _account_page(request, session, user, username, status_code=exc.status, failed=exc.message)
    return _account_page(request, session, user, username, done=done, password=password)


@router.get("/log-audit")
def audit_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    petugas: Annotated[str, Query(max_length=100)] = "",
    tiket: Annotated[str, Query(max_length=30)] = "",
    dari: Annotated[str, Query(max_length=20)] = "",
    sampai: Annotated[str, Query(max_length=20)] = "",
    halaman: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Admin changes and views of complainants' identity: by officer, complaint and period."""
    if user.role not in audit.READERS:
        return forbidden(request, user, "Log audit hanya dapat dibaca oleh admin dan Kepala Dinas.")
    errors: dict[str, str] = {}
    start, end = _wib_day(dari, "dari", errors), _wib_day(sampai, "sampai", errors)
    if start and end and end < start:
        errors["sampai"] = "Tanggal akhir tidak boleh sebelum tanggal awal."
    params = {"petugas": petugas.strip(), "tiket": tiket.strip(), "dari": dari, "sampai": sampai}
    query = ListQuery("/log-audit", params, halaman)
    items: list[Any] = []
    total = 0
    if not errors:
        span = _period(start, end)
        narrow = audit.AuditFilter(
            actor=params["petugas"] or None,
            ticket=params["tiket"] or None,
            since=span[0] if span else None,
            until=span[1] if span else None,
        )
        items, total = audit.entries(session, narrow, limit=PAGE_SIZE, offset=Paging(halaman, 0).offset)
    return page(
        request,
        "audit.html.j2",
        user=user,
        status_code=422 if errors else 200,
        items=items,
        query=query,
        paging=Paging(halaman, total),
        errors=errors,
        labels=audit.ACTION_LABELS,
    )


def password_first(_request: Request, _exc: Exception) -> Response:
    """An officer whose password an admin reset goes to the password page before anything else."""
    return RedirectResponse("/kata-sandi", status_code=303)
