"""The admin's page for the office identity: name, address and city, and the logo for prints.

The page calls the same functions as the API (shared/office.py); the logo is served at
`/kantor/logo?v=…` (the version in the URL changes with the logo, so a browser may keep it a year).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.routing.auth import SessionDep, StaffUser
from services.routing.console.pages import ConsoleUser, PostedForm, forbidden, office_identity, page
from services.routing.console.views import field_errors
from shared import office
from shared.ratelimit import client_address
from shared.sop import Role
from shared.validation import InputError

router = APIRouter(include_in_schema=False)

PATH = "/kantor"


def _office_page(
    request: Request,
    user: StaffUser,
    *,
    status_code: int = 200,
    identity: office.Office | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    identity = identity or office_identity(request)
    request.state.office = identity  # the header shows the name just saved
    return page(
        request,
        "office.html.j2",
        user=user,
        status_code=status_code,
        errors=errors or {},
        typed=typed or {name: getattr(identity, name) for name in office.FIELDS},
        max_kb=office.LOGO_MAX_BYTES // 1024,
        **extra,
    )


def _admin_only(request: Request, user: StaffUser) -> Response | None:
    if user.role == Role.ADMIN:
        return None
    return forbidden(request, user, "Halaman identitas kantor hanya untuk admin.")


@router.get(office.LOGO_PATH)
def office_logo(session: SessionDep, v: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The office's logo, for the prints (no sign-in: it is the office's public emblem)."""
    return office.logo_response(office.logo(session), v)


@router.get(PATH)
def office_page(request: Request, user: ConsoleUser) -> Response:
    """The office's name, address and city, and its logo."""
    return _admin_only(request, user) or _office_page(request, user)


@router.post(PATH)
def office_save(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    if refused := _admin_only(request, user):
        return refused
    typed = {name: form.text(name) for name in office.FIELDS}
    try:
        with session.begin():
            saved = office.save(session, typed, by=user.actor, client=client_address(request))
    except InputError as exc:
        return _office_page(request, user, status_code=422, errors=field_errors(exc.errors), typed=typed)
    return _office_page(request, user, identity=saved, done="Identitas kantor disimpan.")


@router.post(f"{PATH}/ganti-logo")
def office_logo_upload(
    request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm
) -> Response:
    """A new logo (PNG or JPEG, checked by its bytes), or, with `hapus`, no logo."""
    if refused := _admin_only(request, user):
        return refused
    client = client_address(request)
    if form.text("hapus") == "ya":
        with session.begin():
            removed = office.remove_logo(session, by=user.actor, client=client)
        return _office_page(request, user, identity=removed, done="Logo dihapus.")
    upload = form.values.get("logo")
    # One byte over the limit is enough to refuse; the rest is never read.
    data = upload.file.read(office.LOGO_MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        with session.begin():
            saved = office.set_logo(session, data, by=user.actor, client=client)
    except InputError as exc:
        return _office_page(request, user, status_code=422, errors=field_errors(exc.errors))
    return _office_page(request, user, identity=saved, done="Logo disimpan.")
