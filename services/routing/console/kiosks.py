"""The admin's kiosk page: every kiosk and its last filing, add one (its key and enrolment link shown
once), a new enrolment link, and revoke (after a confirmation: it cannot be undone)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.routing.auth import SessionDep, StaffUser
from services.routing.console.pages import ConsoleUser, PostedForm, forbidden, page
from services.routing.console.views import field_errors
from shared import kiosks
from shared.api import ApiError
from shared.links import kiosk_enrol_url
from shared.ratelimit import client_address
from shared.settings import get_settings
from shared.sop import Role
from shared.validation import InputError
from shared.when import duration

router = APIRouter(include_in_schema=False)

KioskName = Annotated[str, Path(max_length=100)]


def _admin_only(request: Request, user: StaffUser) -> Response | None:
    if user.role == Role.ADMIN:
        return None
    return forbidden(request, user, "Halaman kios hanya untuk admin.")


def _kiosks_page(
    request: Request, session: SessionDep, user: StaffUser, *, status_code: int = 200, **extra: Any
) -> Response:
    extra.setdefault("errors", {})
    extra.setdefault("typed", "")
    return page(
        request,
        "kiosks.html.j2",
        user=user,
        status_code=status_code,
        items=kiosks.kiosks(session),
        enrol_ttl=duration(get_settings().kiosk_enrol_ttl),
        **extra,
    )


@router.get("/kios")
def kiosks_page(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    return _admin_only(request, user) or _kiosks_page(request, session, user)


@router.post("/kios")
def kiosk_add(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    if refused := _admin_only(request, user):
        return refused
    typed = form.text("name")
    address = client_address(request)
    try:
        with session.begin():
            key = kiosks.create(session, typed, by=user.actor, address=address)
            token = kiosks.enrol(session, typed, by=user.actor, address=address)
    except InputError as exc:
        errors = field_errors(exc.errors)
        return _kiosks_page(request, session, user, status_code=422, errors=errors, typed=typed)
    link = kiosk_enrol_url(get_settings(), token)
    return _kiosks_page(request, session, user, made=typed.strip(), key=key, link=link)


@router.post("/kios/{name}/tautan")
def kiosk_enrol(
    name: KioskName, request: Request, session: SessionDep, user: ConsoleUser, _form: PostedForm
) -> Response:
    if refused := _admin_only(request, user):
        return refused
    try:
        with session.begin():
            token = kiosks.enrol(session, name, by=user.actor, address=client_address(request))
    except ApiError as exc:
        return _kiosks_page(request, session, user, status_code=exc.status, failed=exc.message)
    link = kiosk_enrol_url(get_settings(), token)
    return _kiosks_page(request, session, user, enrolled=name, link=link)


@router.get("/kios/{name}/cabut")
def kiosk_revoke_confirm(
    name: KioskName, request: Request, session: SessionDep, user: ConsoleUser
) -> Response:
    """What revoking does, and the button that does it."""
    if refused := _admin_only(request, user):
        return refused
    found = [k for k in kiosks.kiosks(session) if k.name == name]
    if not found:
        return page(
            request, "not_found.html.j2", user=user, status_code=404, message=f"Kios {name} tidak ada."
        )
    return page(request, "kiosk_revoke.html.j2", user=user, k=found[0])


@router.post("/kios/{name}/cabut")
def kiosk_revoke(
    name: KioskName, request: Request, session: SessionDep, user: ConsoleUser, _form: PostedForm
) -> Response:
    if refused := _admin_only(request, user):
        return refused
    try:
        with session.begin():
            kiosks.revoke(session, name, by=user.actor, address=client_address(request))
    except ApiError as exc:
        return _kiosks_page(request, session, user, status_code=exc.status, failed=exc.message)
    # The intake process caches key lookups (ADUAN_KIOSK_KEY_CACHE_SECONDS).
    wait = f"{get_settings().kiosk_key_cache_seconds:g}"
    done = f"Kios {name} sudah dicabut; pengaduan darinya ditolak paling lambat {wait} detik lagi."
    return _kiosks_page(request, session, user, done=done)
