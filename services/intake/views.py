"""Intake API routes: kiosks post complaints, citizens track them and rate the service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import flows, service
from services.intake.schemas import (
    Category,
    ComplaintCreated,
    ComplaintIn,
    FeedbackIn,
    FeedbackOut,
    TrackView,
)
from shared import office, ratelimit
from shared.api import HTML_CONTENT, ApiError, error_responses
from shared.clock import now, to_wib
from shared.db import async_session_factory, lazy_session
from shared.ratelimit import RateLimited, async_limiter, client_address
from shared.sop import STEPS, Status, Step, outcome_label
from shared.survey import COMMENT_MAX, SCORE_LABELS
from shared.validation import FieldError, InputError, errors_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", responses=error_responses(422))


async def get_session() -> AsyncIterator[AsyncSession]:
    async with async_session_factory()() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def current_kiosk(x_kiosk_key: Annotated[str | None, Header()] = None) -> int:
    if not x_kiosk_key:
        raise ApiError(401, "kiosk_key_missing", "Header X-Kiosk-Key wajib diisi.")
    kiosk_id = service.cached_kiosk_for_key(x_kiosk_key)
    if kiosk_id is None:  # a read of its own; the use case opens its own transaction
        async with async_session_factory()() as session:
            kiosk_id = await service.kiosk_for_key(session, x_kiosk_key)
    if kiosk_id is None:
        raise ApiError(401, "kiosk_key_invalid", "Kunci kios tidak dikenal atau tidak aktif.")
    return kiosk_id


@router.post(
    "/complaints",
    status_code=201,
    response_model=ComplaintCreated,
    responses=error_responses(401, 409, 429),
)
async def file_complaint(
    body: ComplaintIn,
    kiosk_id: Annotated[int, Depends(current_kiosk)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """File a complaint; with an Idempotency-Key a retried POST returns the first response."""
    async with lazy_session() as session:
        filed = await flows.file_once(session, body, kiosk_id=kiosk_id, idempotency_key=idempotency_key)
    return JSONResponse(status_code=201, content=filed)


# Any code is taken: a wrong one, however long, gets the same 404 as an unknown ticket.
CodeQuery = Annotated[str, Query()]
# A Literal, not the archive's pattern: the same field error, with a stable code and an Indonesian message.
FormatQuery = Annotated[Literal["json", "html"], Query()]

_templates = Environment(loader=PackageLoader("services.intake", "templates"), autoescape=True)


def _wib(at: datetime | None) -> str:
    return to_wib(at).strftime("%d-%m-%Y %H:%M WIB") if at else "-"


_templates.filters["wib"] = _wib

# The tracking code travels in the URL: keep the pages out of caches and out of Referer headers.
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_TRACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **error_responses(404, 422, 429, html=True),
    200: {"content": HTML_CONTENT, "description": "The view; with `format=html`, the page"},
}
_TRACK_RESPONSES[404]["description"] = "Unknown ticket or wrong code (with `format=html`, one page for both)"
_TRACK_RESPONSES[429]["description"] = "Too many wrong codes from one address or for one ticket"


async def _may_look_up(request: Request, ticket: str) -> tuple[ratelimit.Count, ...]:
    """The counts a wrong code for `ticket` from this client adds to; RateLimited when one is used up."""
    counts = ratelimit.lookup_counts(client_address(request), ticket)
    await async_limiter().check(*counts)
    return counts


async def _wrong_code(session: AsyncSession, counts: tuple[ratelimit.Count, ...]) -> None:
    """Count a wrong code, after ending the request's read (SQLite: one writer at a time)."""
    if session.in_transaction():
        await session.rollback()
    await async_limiter().count(*counts)


@router.get("/track/{ticket}", response_model=TrackView, responses=_TRACK_RESPONSES)
async def track(
    ticket: str, request: Request, session: SessionDep, code: CodeQuery = "", format: FormatQuery = "json"
) -> TrackView | HTMLResponse:
    """The citizen's view, or the page messages link to; an unknown ticket and a wrong code: one 404."""
    try:
        counts = await _may_look_up(request, ticket)
    except RateLimited as exc:
        if format == "html":
            return await _track_page(session, None, limited=exc)
        raise
    view = await service.track(session, ticket, code)
    if view is None:
        await _wrong_code(session, counts)
    if format == "html":
        return await _track_page(session, view)
    if view is None:
        raise service.NOT_FOUND
    return view


async def _track_page(
    session: AsyncSession, view: TrackView | None, *, limited: RateLimited | None = None
) -> HTMLResponse:
    """The tracking page (Bahasa Indonesia): what the JSON view holds, or a page that names no ticket."""
    step = STEPS[Step(view.step)] if view is not None and view.step else None
    page = _templates.get_template("track.html.j2").render(
        office=(await office.identity_async(session)).name,
        view=view,
        limited=limited.message if limited else None,
        step_number=step.number if step else None,
        step_count=len(STEPS),
        scores=SCORE_LABELS,
    )
    if limited is not None:
        return HTMLResponse(page, status_code=429, headers={**_PAGE_HEADERS, **(limited.headers or {})})
    return HTMLResponse(page, status_code=404 if view is None else 200, headers=_PAGE_HEADERS)


# --- The satisfaction survey (SKM) -----------------------------------------------------------------

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_FEEDBACK_SCHEMA = FeedbackIn.model_json_schema()
_FEEDBACK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _FEEDBACK_SCHEMA},
            "application/x-www-form-urlencoded": {"schema": _FEEDBACK_SCHEMA},
        },
    }
}


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind in _FORM_TYPES


async def _feedback_body(request: Request, *, form: bool) -> FeedbackIn:
    """The posted answer: the page's form (text fields), or JSON (types as declared)."""
    try:
        if form:
            fields = await request.form()
            return FeedbackIn.model_validate(dict(fields.items()))
        return FeedbackIn.model_validate_json(await request.body() or b"", strict=True)
    except ValidationError as exc:
        raise InputError(errors_of(exc)) from exc


async def _page(
    session: AsyncSession,
    ticket: str,
    code: str,
    *,
    status_code: int | None = None,
    errors: list[FieldError] | None = None,
    values: dict[str, Any] | None = None,
    limited: RateLimited | None = None,
) -> HTMLResponse:
    """The survey page in the state the database is in: form, thank-you, not yet closed, not found.

    Over the wrong-code limit it looks nothing up and says how long to wait.
    """
    if limited is not None:
        page = _templates.get_template("feedback.html.j2").render(
            office=(await office.identity_async(session)).name,
            ticket=ticket,
            state="limited",
            limited=limited.message,
        )
        return HTMLResponse(page, status_code=429, headers={**_PAGE_HEADERS, **(limited.headers or {})})
    found = await service.find(session, ticket, code)
    rating = await service.feedback_of(session, found.complaint.id) if found else None
    if found is None:
        state = "not_found"
    elif rating is not None:
        state = "thanks"
    elif found.complaint.status != Status.CLOSED:
        state = "not_closed"
    else:
        state = "form"
    outcome = found.complaint.outcome if found else None
    page = _templates.get_template("feedback.html.j2").render(
        office=(await office.identity_async(session)).name,
        ticket=ticket,
        state=state,
        outcome_label=outcome_label(outcome) if outcome else None,
        closed_at=found.complaint.closed_at if found else None,
        scores=SCORE_LABELS,
        rating=rating,
        errors={e.field: e.message for e in errors or []},
        values=values or {},
        comment_max=COMMENT_MAX,
        action=f"feedback?{urlencode({'code': code})}",
    )
    default = 404 if state == "not_found" else 200
    return HTMLResponse(page, status_code=status_code or default, headers=_PAGE_HEADERS)


@router.get(
    "/track/{ticket}/feedback",
    response_class=HTMLResponse,
    responses={200: {"content": HTML_CONTENT}, **error_responses(404, 422, 429, html=True)},
)
async def feedback_page(
    ticket: str, request: Request, session: SessionDep, code: CodeQuery = ""
) -> HTMLResponse:
    """The printable survey page the closing message links to (Bahasa Indonesia)."""
    try:
        counts = await _may_look_up(request, ticket)
    except RateLimited as exc:
        return await _page(session, ticket, code, limited=exc)
    page = await _page(session, ticket, code)
    if page.status_code == 404:  # the not-found state: a wrong code or an unknown ticket
        await _wrong_code(session, counts)
    return page


@router.post(
    "/track/{ticket}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    openapi_extra=_FEEDBACK_BODY,
    responses={201: {"content": HTML_CONTENT}, **error_responses(404, 409, 422, 429, html=True)},
)
async def rate(ticket: str, request: Request, session: SessionDep, code: CodeQuery = "") -> Response:
    """Rate a closed complaint once (SKM score 1-4 and a comment); a form post is answered in HTML."""
    form = _is_form(request)
    try:
        counts = await _may_look_up(request, ticket)
    except RateLimited as exc:
        if not form:
            raise
        return await _page(session, ticket, code, limited=exc)
    try:
        body = await _feedback_body(request, form=form)
        try:
            async with session.begin():
                stored = await service.rate(session, ticket, code, body, now=now())
        except IntegrityError:
            # A concurrent rating committed first; anything else is not ours to explain.
            if not await service.has_feedback(session, ticket):
                raise
            log.info("feedback: a concurrent rating of %s committed first", ticket)
            raise service.FEEDBACK_EXISTS from None
    except (ApiError, InputError) as exc:
        if isinstance(exc, ApiError) and exc.status == 404:
            await _wrong_code(session, counts)
        if not form:
            raise
        if isinstance(exc, InputError):
            values = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            return await _page(session, ticket, code, status_code=422, errors=exc.errors, values=values)
        return await _page(session, ticket, code, status_code=exc.status)
    if form:
        return await _page(session, ticket, code, status_code=201)
    return JSONResponse(status_code=201, content=stored.model_dump(mode="json"))


@router.get("/categories", response_model=list[Category])
async def categories(session: SessionDep) -> list[Category]:
    return await service.active_categories(session)
