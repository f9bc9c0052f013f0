"""The admin's categories page: add, rename, reroute, order and deactivate (the API's functions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.routing import categories as service
from services.routing.auth import SessionDep, StaffUser
from services.routing.console.pages import ConsoleUser, PostedForm, forbidden, page
from services.routing.console.views import field_errors, names
from services.routing.schemas import CategoryIn, CategoryPatch
from shared.api import ApiError
from shared.ratelimit import client_address
from shared.sop import Role
from shared.validation import FieldError, InputError, errors_of

router = APIRouter(include_in_schema=False)

FIELDS = ("code", "name", "unit", "position")


def _categories_page(
    request: Request, session: SessionDep, user: StaffUser, *, status_code: int = 200, **extra: Any
) -> Response:
    extra.setdefault("errors", {})
    extra.setdefault("typed", {})
    extra.setdefault("row_errors", {})
    units, _ = names(session)
    return page(
        request,
        "categories.html.j2",
        user=user,
        status_code=status_code,
        items=service.categories(session),
        units=units,
        **extra,
    )


def _admin_only(request: Request, user: StaffUser) -> Response | None:
    if user.role == Role.ADMIN:
        return None
    return forbidden(request, user, "Halaman kategori hanya untuk admin.")


def _position(raw: str) -> int | str:
    """The typed order number as a number when it is one (pydantic says why otherwise)."""
    try:
        return int(raw.strip() or "0")
    except ValueError:
        return raw


@router.get("/kategori")
def categories_page(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    return _admin_only(request, user) or _categories_page(request, session, user)


@router.post("/kategori")
def category_add(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    if refused := _admin_only(request, user):
        return refused
    typed = {name: form.text(name) for name in FIELDS}
    try:
        body = CategoryIn.model_validate(
            {
                "code": typed["code"],
                "name": typed["name"],
                "unit": typed["unit"] or None,
                "position": _position(typed["position"]),
            }
        )
        with session.begin():
            service.add(
                session,
                code=body.code,
                name=body.name,
                unit=body.unit,
                position=body.position,
                by=user.actor,
                address=client_address(request),
            )
    except (ValidationError, InputError) as exc:
        found = errors_of(exc) if isinstance(exc, ValidationError) else exc.errors
        errors = field_errors([FieldError(e.field.split(".")[-1], e.code, e.message) for e in found])
        return _categories_page(request, session, user, status_code=422, errors=errors, typed=typed)
    return _categories_page(request, session, user, done=f"Kategori {body.name} ditambahkan.")


@router.post("/kategori/{code}")
def category_edit(
    code: Annotated[str, Path(max_length=50)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    form: PostedForm,
) -> Response:
    """One row's form: name, bidang, order and whether it is offered to citizens."""
    if refused := _admin_only(request, user):
        return refused
    typed = {name: form.text(name) for name in ("name", "unit", "position")}
    try:
        body = CategoryPatch.model_validate(
            {
                "name": typed["name"],
                "unit": typed["unit"] or None,
                "position": _position(typed["position"]),
                "active": form.text("active") == "ya",
            }
        )
        with session.begin():
            changes = body.model_dump()
            service.edit(session, code, changes, by=user.actor, address=client_address(request))
    except (ValidationError, InputError) as exc:
        found = errors_of(exc) if isinstance(exc, ValidationError) else exc.errors
        errors = field_errors([FieldError(e.field.split(".")[-1], e.code, e.message) for e in found])
        return _categories_page(
            request, session, user, status_code=422, row_errors={code: errors}, row_typed={code: typed}
        )
    except ApiError as exc:
        return _categories_page(request, session, user, status_code=exc.status, failed=exc.message)
    return _categories_page(request, session, user, done=f"Kategori {body.name} disimpan.")
