"""The officer's own profile, and the admin's list of disposition instructions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.routing import service
from services.routing.auth import SessionDep, profile, update_profile
from services.routing.console.pages import ConsoleUser, PostedForm, forbidden, page
from services.routing.console.views import field_errors
from shared.ratelimit import client_address
from shared.sop import Role
from shared.validation import InputError

router = APIRouter(include_in_schema=False)

PROFILE_FIELDS = ("full_name", "job_title", "nip", "email")


@router.get("/profil")
def profile_page(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    mine = profile(session, user.id)
    typed = {name: getattr(mine, name) or "" for name in PROFILE_FIELDS}
    return page(request, "profile.html.j2", user=user, errors={}, typed=typed, notify=mine.notify_by_email)


@router.post("/profil")
def profile_save(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    changes: dict[str, object] = {name: form.text(name) for name in PROFILE_FIELDS}
    changes["notify_by_email"] = bool(form.text("notify_by_email"))
    try:
        mine = update_profile(session, user.id, changes)
    except InputError as exc:
        return page(
            request,
            "profile.html.j2",
            user=user,
            status_code=422,
            errors=field_errors(exc.errors),
            typed={name: form.text(name) for name in PROFILE_FIELDS},
            notify=changes["notify_by_email"],
        )
    typed = {name: getattr(mine, name) or "" for name in PROFILE_FIELDS}
    return page(
        request, "profile.html.j2", user=user, errors={}, typed=typed, notify=mine.notify_by_email, saved=True
    )


@router.get("/instruksi-disposisi")
def instructions_page(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    listed = "\n".join(service.disposition_instructions(session))
    return page(request, "instructions.html.j2", user=user, errors={}, typed=listed)


@router.post("/instruksi-disposisi")
def instructions_save(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    if user.role != Role.ADMIN:
        only = "Hanya admin yang dapat mengubah daftar instruksi. Tidak ada data yang diubah."
        return forbidden(request, user, only)
    typed = form.text("instructions")
    try:
        address = client_address(request)
        kept = service.set_disposition_instructions(
            session, typed.splitlines(), by=user.actor, address=address
        )
    except InputError as exc:
        errors = {"instructions": exc.errors[0].message}
        return page(request, "instructions.html.j2", user=user, status_code=422, errors=errors, typed=typed)
    return page(request, "instructions.html.j2", user=user, errors={}, typed="\n".join(kept), saved=True)
