"""Staff API routes: sign-in, worklists, complaint records, actions, archive, categories, reports."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.routing import categories as categories_service
from services.routing import desk, paging, recap, reports, service, volume
from services.routing.auth import (
    AdminUser,
    BearerToken,
    CurrentUser,
    SessionDep,
    StaffUser,
    authenticate_limited,
    change_password,
    issue_token,
    profile,
    reading,
    update_profile,
)
from services.routing.recap import Recap
from services.routing.reports import SatisfactionReport, SlaReport
from services.routing.schemas import (
    AccountIn,
    AccountPatch,
    AccountView,
    ActionAccepted,
    ActionIn,
    ArchiveView,
    AuditItem,
    AuditList,
    CalendarDay,
    CalendarMonth,
    CategoryIn,
    CategoryPatch,
    CategoryView,
    ComplaintList,
    ComplaintView,
    DeskFiled,
    DeskFilingIn,
    EscalationList,
    InstructionList,
    JsonBody,
    KioskAdded,
    KioskEnrolment,
    KioskIn,
    KioskView,
    LinkIn,
    LinkView,
    Me,
    MePatch,
    NotificationList,
    OfficeIn,
    OfficeView,
    OneTimePassword,
    OverrideIn,
    PasswordChange,
    Token,
    Worklist,
    json_body,
)
from services.routing.volume import VolumeReport
from shared import accounts, audit, kiosks, office, office_days
from shared.api import HTML_CONTENT, ApiError, error_responses
from shared.calendar import OfficeCalendar, month_dates
from shared.clock import WIB, calendar_for, now, to_wib
from shared.delivery import NotificationStatus
from shared.links import kiosk_enrol_url
from shared.models import Category, Complaint, Unit
from shared.ratelimit import client_address
from shared.settings import get_settings
from shared.sop import Role
from shared.validation import MAX_OFFSET, YEARS, FieldError, InputError, OfficeDate

router = APIRouter(prefix="/api/v1", responses=error_responses(401, 422))

_CSV: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}  # a report with `format=csv`
_XLSX: dict[str, Any] = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    }
}
_templates = Environment(
    loader=PackageLoader("services.routing", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
_templates.filters["wib"] = lambda dt: to_wib(dt).strftime("%d-%m-%Y %H:%M WIB") if dt else "-"


@router.post("/auth/token", response_model=Token, responses=error_responses(429))
def token(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: a signed bearer token that expires after ADUAN_TOKEN_TTL."""
    user = authenticate_limited(session, form.username, form.password, address=client_address(request))
    if user is None:
        raise ApiError(
            401,
            "invalid_credentials",
            "Nama pengguna atau kata sandi salah.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    at = now()
    return Token(
        access_token=issue_token(user, at=at),
        expires_at=at + get_settings().token_ttl,
        role=user.role,
        unit=user.unit_code,
    )


@router.get("/me", response_model=Me)
def me(session: SessionDep, user: CurrentUser) -> Me:
    return _me(session, user)


@router.patch("/me", response_model=Me, responses=error_responses(404))
def edit_me(body: MePatch, session: SessionDep, user: CurrentUser) -> Me:
    """An officer's own profile: name, jabatan and NIP for prints, e-mail and the e-mail-notices switch."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("notify_by_email", False) is None:
        del changes["notify_by_email"]
    update_profile(session, user.id, changes)
    return _me(session, user)


@router.post("/me/password", status_code=204, responses=error_responses(403))
def change_my_password(body: PasswordChange, session: SessionDep, user: CurrentUser) -> Response:
    """Change one's own password (the console's Kata sandi page), the only call besides GET /me that
    an account whose password an admin reset may make: 422 `wrong_password` or `too_short` otherwise."""
    change_password(session, user.id, current=body.current, new=body.new, repeated=body.new)
    return Response(status_code=204)


def _me(session: SessionDep, user: CurrentUser) -> Me:
    mine = profile(session, user.id)
    return Me(
        username=user.username,
        role=user.role.value,
        unit=user.unit,
        full_name=mine.full_name,
        job_title=mine.job_title,
        nip=mine.nip,
        email=mine.email,
        notify_by_email=mine.notify_by_email,
        must_change_password=user.must_change_password,
    )


@router.get("/notifications", response_model=NotificationList, responses=error_responses(403))
def notifications(
    session: SessionDep,
    user: CurrentUser,
    status: NotificationStatus | None = None,
    ticket: Annotated[str | None, Query(max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> NotificationList:
    """Messages to complainants and staff, newest first; `?status=failed` is the dead-letter list,
    `?status=ambiguous` the ones that may or may not have arrived."""
    return service.notifications(session, user, status=status, ticket=ticket, limit=limit, offset=offset)


CursorQuery = Annotated[
    str | None,
    Query(
        max_length=paging.CURSOR_MAX,
        description="Where the page starts: the `next_cursor` (or `prev_cursor`) of the page before. "
        "Opaque and signed; one this server did not issue is 422 `cursor_invalid`.",
    ),
]
OffsetQuery = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        deprecated=True,
        description="Rows to skip, kept for compatibility: the database still reads every skipped row, "
        "so use `cursor` to page. Not together with `cursor` (422 `offset_with_cursor`).",
    ),
]


def _cursor(kind: str, raw: str | None, offset: int) -> paging.Cursor | None:
    """The page's cursor, if one was given (not with an offset)."""
    if raw is None:
        return None
    if offset:
        raise InputError(
            [FieldError("query.offset", "offset_with_cursor", "Gunakan cursor atau offset, tidak keduanya.")]
        )
    return paging.decode(kind, raw)


def _cursors(kind: str, found: paging.Found[Any]) -> dict[str, str | None]:
    """The `next_cursor` and `prev_cursor` of a page."""
    return {
        "next_cursor": paging.encode(kind, found.next_key) if found.next_key else None,
        "prev_cursor": paging.encode(kind, found.prev_key, backward=True) if found.prev_key else None,
    }


@router.get("/worklist", response_model=Worklist)
async def worklist(
    request: Request,
    token: BearerToken,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: OffsetQuery = 0,
    cursor: CursorQuery = None,
    list_: Annotated[str, Query(alias="list", pattern="^(active|waiting)$")] = "active",
) -> Response:
    """The caller's queue (waiting on site first, then oldest deadline); `?list=waiting`: the
    complaints paused for the complainant's documents. Page on with `cursor=` the `next_cursor`."""

    def read() -> bytes:
        with reading(request, token) as (session, user):
            found = service.worklist_page(
                session,
                user,
                at=now(),
                limit=limit,
                offset=offset,
                cursor=_cursor("worklist", cursor, offset),
                waiting=list_ == "waiting",
            )
            failed = service.failed_notifications(session, user)
        return json_body(
            Worklist,
            items=found.items,
            total=found.total,
            failed_notifications=failed,
            **_cursors("worklist", found),
        )

    return JsonBody(await run_in_threadpool(read))


@router.get("/escalations", response_model=EscalationList)
async def escalations(
    request: Request,
    token: BearerToken,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Reminders (to the holder) and escalations (to the next level) of stays still running."""

    def read() -> bytes:
        with reading(request, token) as (session, user):
            return service.escalations(session, user, limit=limit, offset=offset).model_dump_json().encode()

    return JsonBody(await run_in_threadpool(read))


@router.get("/complaints", response_model=ComplaintList)
async def complaints(
    request: Request,
    token: BearerToken,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    step: Annotated[str | None, Query(max_length=20)] = None,
    unit: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: OffsetQuery = 0,
    cursor: CursorQuery = None,
) -> Response:
    """Every complaint the caller may read, newest first (the kepala dinas's overview; the archive
    with `status=closed`). Page on with `cursor=` the `next_cursor`."""

    def read() -> bytes:
        with reading(request, token) as (session, user):
            found = service.search(
                session,
                user,
                at=now(),
                status=status,
                step=step,
                unit=unit,
                limit=limit,
                offset=offset,
                cursor=_cursor("complaints", cursor, offset),
            )
        return json_body(
            ComplaintList,
            items=found.items,
            total=min(found.total, service.COUNT_LIMIT),
            total_exact=found.total <= service.COUNT_LIMIT,
            **_cursors("complaints", found),
        )

    return JsonBody(await run_in_threadpool(read))


@router.get("/complaints/{ticket}", response_model=ComplaintView, responses=error_responses(403, 404))
def complaint(ticket: str, request: Request, session: SessionDep, user: CurrentUser) -> ComplaintView:
    """The complaint's record; when it shows the complainant's identity, an audit entry says who saw it."""
    view = service.complaint_view(session, user, ticket, at=now())
    if not view.complainant.hidden:
        address = client_address(request)
        audit.record_identity_view(session, by=user.actor, ticket=view.ticket, address=address)
    return view


@router.post(
    "/complaints/{ticket}/actions",
    status_code=202,
    response_model=ActionAccepted,
    responses=error_responses(403, 404, 409),
)
def act(ticket: str, body: ActionIn, session: SessionDep, user: CurrentUser) -> ActionAccepted:
    """Take the SOP action `body.action` at the complaint's current step."""
    inputs: dict[str, Any] = dict(body.model_extra or {})
    return service.act(
        session, user, ticket, action=body.action, version=body.version, inputs=inputs, at=now()
    )


@router.get("/complaints/{ticket}/links", response_model=list[LinkView], responses=error_responses(403, 404))
def links(ticket: str, session: SessionDep, user: CurrentUser) -> list[LinkView]:
    """The complaint's links to other complaints, each read from this complaint's side."""
    return service.links(session, user, ticket)


@router.post(
    "/complaints/{ticket}/links",
    status_code=201,
    response_model=list[LinkView],
    responses=error_responses(403, 404, 409),
)
def add_link(ticket: str, body: LinkIn, session: SessionDep, user: CurrentUser) -> list[LinkView]:
    """Link the complaint to `other` as related, or one as the duplicate of the other (Front Office,
    Kasubag Umum, Sekretaris), with a history row on each; answers the complaint's links.

    Errors (`code`; `errors` names the field `other`): 404 `not_found` (this complaint), 422
    `other_not_found`, `self_link`, `duplicate_cycle`; 409 `already_linked` (the pair is linked:
    unlink first to change how), `already_duplicate` (the duplicate already has an original);
    403 `role_not_allowed`."""
    return service.add_link(session, user, ticket, other=body.other, relation=body.relation, at=now())


@router.delete(
    "/complaints/{ticket}/links/{other}",
    response_model=list[LinkView],
    responses=error_responses(403, 404, 409),
)
def remove_link(ticket: str, other: str, session: SessionDep, user: CurrentUser) -> list[LinkView]:
    """Unlink the complaint from `other`, with a history row on each; answers the complaint's links.

    Errors: 404 `not_found` / `link_not_found`, 422 `other_not_found`, 409 `closed_as_duplicate`
    (a complaint closed as a duplicate keeps the link to its original), 403 `role_not_allowed`."""
    return service.remove_link(session, user, ticket, other=other, at=now())


@router.post(
    "/complaints/desk",
    status_code=201,
    response_model=DeskFiled,
    responses=error_responses(403, 409),
)
def file_at_desk(
    body: DeskFilingIn,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=r"^[A-Za-z0-9-]{8,64}$")
    ] = None,
) -> DeskFiled:
    """The Front Office files a walk-in, phone, letter or e-mail complaint (no kiosk key) and may
    verify it and forward or resolve it at once (`then`, with that action's `inputs`): one
    transaction, two history rows. With an Idempotency-Key, a repeated post files nothing and
    answers the first filing (`replayed`)."""
    try:
        filed = desk.file_at_desk(
            session, user, body.complaint, then=body.then, inputs=body.inputs, key=idempotency_key, at=now()
        )
    except InputError as exc:
        raise desk.api_errors(exc) from exc
    c = session.scalars(select(Complaint).where(Complaint.ticket == filed.ticket)).one()
    return DeskFiled(
        ticket=c.ticket,
        tracking_code=filed.tracking_code,
        status=c.status,
        step=c.step,
        outcome=c.outcome,
        replayed=filed.replayed,
    )


@router.get(
    "/complaints/{ticket}/archive",
    response_model=ArchiveView,
    responses={200: {"content": HTML_CONTENT}, **error_responses(403, 404)},
)
def archive(
    ticket: str,
    session: SessionDep,
    user: CurrentUser,
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",
) -> Any:
    """The whole process as one record; `?format=html` gives a printable page."""
    record = service.archive(session, user, ticket)
    if format == "html":
        page = _templates.get_template("archive.html.j2").render(a=record)
        return HTMLResponse(page)
    return record


@router.get("/units")
def units(session: SessionDep, _user: CurrentUser) -> list[dict[str, Any]]:
    rows = session.scalars(select(Unit).order_by(Unit.code)).all()
    return [{"code": u.code, "name": u.name, "active": u.active} for u in rows]


def _category_view(c: Category) -> CategoryView:
    return CategoryView(code=c.code, name=c.name, unit=c.unit_code, position=c.position, active=c.active)


@router.get("/disposition-instructions", response_model=InstructionList)
def disposition_instructions(session: SessionDep, _user: CurrentUser) -> InstructionList:
    """The tick boxes of the lembar disposisi, in order."""
    return InstructionList(instructions=service.disposition_instructions(session))


@router.put("/disposition-instructions", response_model=InstructionList, responses=error_responses(403))
def set_disposition_instructions(
    body: InstructionList, request: Request, session: SessionDep, admin: AdminUser
) -> InstructionList:
    """The admin replaces the list (dispositions already made keep what they said)."""
    address = client_address(request)
    kept = service.set_disposition_instructions(session, body.instructions, by=admin.actor, address=address)
    return InstructionList(instructions=kept)


@router.get("/categories", response_model=list[CategoryView])
def categories(session: SessionDep, _user: CurrentUser) -> list[CategoryView]:
    rows = session.scalars(select(Category).order_by(Category.position, Category.code)).all()
    return [_category_view(c) for c in rows]


@router.post("/categories", status_code=201, response_model=CategoryView, responses=error_responses(403))
def add_category(body: CategoryIn, request: Request, session: SessionDep, admin: AdminUser) -> CategoryView:
    with session.begin():
        category = categories_service.add(
            session,
            code=body.code,
            name=body.name,
            unit=body.unit,
            position=body.position,
            by=admin.actor,
            address=client_address(request),
        )
    return _category_view(category)


@router.patch("/categories/{code}", response_model=CategoryView, responses=error_responses(403, 404))
def edit_category(
    code: str, body: CategoryPatch, request: Request, session: SessionDep, admin: AdminUser
) -> CategoryView:
    changes = body.model_dump(exclude_unset=True)
    with session.begin():
        category = categories_service.edit(
            session, code, changes, by=admin.actor, address=client_address(request)
        )
    return _category_view(category)


MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def _first_of(month: str) -> date:
    """The first day of a `YYYY-MM` query parameter (MONTH_PATTERN) in the office's YEARS."""
    low, high = YEARS
    if not low <= int(month[:4]) <= high:
        message = f"Bulan harus antara tahun {low} dan {high}."
        raise InputError([FieldError("query.month", "date_out_of_range", message)])
    return date.fromisoformat(f"{month}-01")


@router.get("/calendar", response_model=CalendarMonth)
def calendar(
    session: SessionDep,
    _user: CurrentUser,
    month: Annotated[str, Query(pattern=MONTH_PATTERN)],
) -> CalendarMonth:
    """Open hours and closed days (with the reason) of one month, in WIB."""
    first = _first_of(month)
    days = _calendar_days(session, month_dates(first))
    return CalendarMonth(month=month, calendar=get_settings().calendar, days=days)


def _calendar_days(session: Session, dates: list[date]) -> list[CalendarDay]:
    """Each date's open hours in WIB, or why it is closed, as the clock counts it."""
    overrides = office_days.overrides(session)
    cal = calendar_for(get_settings(), overrides)
    always_open: list[tuple[date, list[str], str | None]] = [(d, ["00:00-24:00"], None) for d in dates]
    days = cal.days(dates) if isinstance(cal, OfficeCalendar) else always_open
    return [
        CalendarDay(day=d, open=reason is None, hours=hours, reason=reason, override=d in overrides)
        for d, hours, reason in days
    ]


@router.put("/calendar/overrides/{day}", response_model=CalendarDay, responses=error_responses(403))
def set_override(
    day: OfficeDate, body: OverrideIn, request: Request, session: SessionDep, admin: AdminUser
) -> CalendarDay:
    """Close a day (or open it despite a holiday); pending deadlines are recomputed."""
    with session.begin():
        office_days.set_override(
            session, day, open_=body.open, reason=body.reason, actor=admin.username, now=now()
        )
        audit.record(
            session,
            by=admin.actor,
            action="calendar.set",
            address=client_address(request),
            target=day.isoformat(),
            detail={"open": body.open, "reason": body.reason},
        )
        [shown] = _calendar_days(session, [day])
    return shown


@router.delete("/calendar/overrides/{day}", status_code=204, responses=error_responses(403, 404))
def clear_override(day: OfficeDate, request: Request, session: SessionDep, admin: AdminUser) -> Response:
    with session.begin():
        found = office_days.clear_override(session, day, now=now())
        if found:
            address = client_address(request)
            audit.record(
                session, by=admin.actor, action="calendar.clear", address=address, target=day.isoformat()
            )
    if not found:
        raise ApiError(404, "not_found", "Tidak ada pengecualian pada tanggal ini.")
    return Response(status_code=204)


@router.get(
    "/reports/sla", response_model=SlaReport, responses={200: {"content": _CSV}, **error_responses(403)}
)
def sla_report(
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[OfficeDate, Query(alias="from")],
    to: Annotated[OfficeDate, Query()],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Per step (and per bidang for drafting): count, share within standard, median and p90 in
    office minutes, for stays that ended between `from` and `to` (WIB days, inclusive). Each stay's
    office minutes count rounded up to the whole minute (a stay of 14 min 20 s counts as 15): the
    median and p90 are whole minutes (an even count's median may end in .5), and a stay is within a
    standard of whole minutes exactly when its own minutes are."""
    since, until = report_period(user, from_, to)
    report = reports.sla_report(session, since, until)
    if format == "csv":
        return _csv(reports.as_csv(report), f"sla-{from_}-{to}.csv")
    return report


@router.get(
    "/reports/satisfaction",
    response_model=SatisfactionReport,
    responses={200: {"content": _CSV}, **error_responses(403)},
)
def satisfaction_report(
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[OfficeDate, Query(alias="from")],
    to: Annotated[OfficeDate, Query()],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    comments: Annotated[int, Query(ge=0, le=200)] = 20,
) -> Any:
    """The satisfaction survey (SKM, PermenPANRB 14/2017) over the complaints closed between `from`
    and `to` (WIB days, inclusive): response rate, scores, NRR, index and grade, per outcome and per
    bidang, and the latest comments."""
    since, until = report_period(user, from_, to)
    report = reports.satisfaction_report(session, since, until, comments=comments)
    if format == "csv":
        return _csv(reports.satisfaction_csv(report), f"skm-{from_}-{to}.csv")
    return report


@router.get("/reports/volume", response_model=VolumeReport, responses=error_responses(403))
def volume_report(
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[OfficeDate, Query(alias="from")],
    to: Annotated[OfficeDate, Query()],
) -> VolumeReport:
    """Complaints received between `from` and `to` (WIB days, inclusive) per category, channel,
    bidang and outcome, and per month over the 12 months ending with `to`'s month."""
    since, until = report_period(user, from_, to)
    return volume.volume_report(session, since, until)


@router.get(
    "/reports/recap",
    response_model=Recap,
    responses={
        200: {"content": {**_CSV, **_XLSX, **HTML_CONTENT}},
        **error_responses(403),
    },
)
def recap_report(
    session: SessionDep,
    user: CurrentUser,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, examples=["2026-11"])],
    format: Annotated[str, Query(pattern="^(json|xlsx|csv|html)$")] = "json",
) -> Any:
    """The monthly recap: one row per complaint received in `month` (YYYY-MM, WIB) with its channel,
    category, subject (confidential ones: "Rahasia"), bidang, status, office time and SKM score, and
    the month's totals; as JSON, an XLSX workbook, CSV or a printable page (A4 landscape)."""
    first = _first_of(month)
    report_period(user, first, first)
    result = recap.recap(session, first)
    if format == "xlsx":
        return Response(
            recap.as_xlsx(result),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="rekap-{month}.xlsx"'},
        )
    if format == "csv":
        return _csv(recap.as_csv(result), f"rekap-{month}.csv")
    if format == "html":
        return HTMLResponse(recap.render_page(result))
    return result


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


REPORT_ROLES = frozenset({Role.KASUBAG_UMUM, Role.SEKRETARIS, Role.KEPALA_DINAS, Role.ADMIN})
# Reports cover the years 2000-2099 (OfficeDate) and at most a year and a day (a calendar year, or the
# trend's twelve months from any day): a longer period is many reports' worth of work in one request.
REPORT_MAX_DAYS = 366


def report_period(user: StaffUser, from_: date, to: date) -> tuple[datetime, datetime]:
    """[since, until) of a report on WIB days `from_`..`to`, for a role that may read reports."""
    if user.role not in REPORT_ROLES:
        raise ApiError(403, "report_not_allowed", "Laporan hanya untuk pimpinan dan admin.")
    if to < from_:
        raise InputError(
            [FieldError("query.to", "range_reversed", "Tanggal akhir harus sesudah tanggal awal.")]
        )
    if (to - from_).days + 1 > REPORT_MAX_DAYS:
        raise InputError(
            [
                FieldError(
                    "query.to",
                    "range_too_long",
                    f"Periode laporan paling panjang {REPORT_MAX_DAYS} hari.",
                )
            ]
        )
    return datetime.combine(from_, time(0), WIB), datetime.combine(to + timedelta(days=1), time(0), WIB)


# --- accounts (admin) and the audit log ---------------------------------------------------------


def _account_view(found: accounts.Account) -> AccountView:
    return AccountView(
        username=found.username,
        full_name=found.full_name,
        role=found.role.value,
        unit=found.unit,
        job_title=found.job_title,
        nip=found.nip,
        email=found.email,
        active=found.active,
        must_change_password=found.must_change_password,
        last_sign_in_at=found.last_sign_in_at,
        created_at=found.created_at,
    )


@router.get("/users", response_model=list[AccountView], responses=error_responses(403))
def users(session: SessionDep, _admin: AdminUser) -> list[AccountView]:
    """Every staff account: role, unit, active, last sign-in."""
    return [_account_view(a) for a in accounts.accounts(session)]


@router.post("/users", status_code=201, response_model=OneTimePassword, responses=error_responses(403))
def add_user(body: AccountIn, request: Request, session: SessionDep, admin: AdminUser) -> OneTimePassword:
    """A new account and its one-time password (shown once; changed at first sign-in)."""
    with session.begin():
        password = accounts.create(
            session, body.model_dump(), by=admin.actor, address=client_address(request)
        )
    return OneTimePassword(username=body.username.strip(), password=password)


@router.patch("/users/{username}", response_model=AccountView, responses=error_responses(403, 404, 409))
def edit_user(
    username: str, body: AccountPatch, request: Request, session: SessionDep, admin: AdminUser
) -> AccountView:
    """Change an account's role, unit, name, jabatan, NIP or e-mail."""
    with session.begin():
        changed = accounts.update(
            session,
            username,
            body.model_dump(exclude_unset=True),
            by=admin.actor,
            address=client_address(request),
        )
    return _account_view(changed)


@router.post(
    "/users/{username}/disable", response_model=AccountView, responses=error_responses(403, 404, 409)
)
def disable_user(username: str, request: Request, session: SessionDep, admin: AdminUser) -> AccountView:
    """Deactivate: its console session and bearer tokens stop at the next request; never the last admin."""
    with session.begin():
        address = client_address(request)
        changed = accounts.set_active(session, username, False, by=admin.actor, address=address)
    return _account_view(changed)


@router.post("/users/{username}/enable", response_model=AccountView, responses=error_responses(403, 404))
def enable_user(username: str, request: Request, session: SessionDep, admin: AdminUser) -> AccountView:
    """Reactivate a deactivated account."""
    with session.begin():
        address = client_address(request)
        changed = accounts.set_active(session, username, True, by=admin.actor, address=address)
    return _account_view(changed)


@router.post(
    "/users/{username}/reset-password", response_model=OneTimePassword, responses=error_responses(403, 404)
)
def reset_user_password(
    username: str, request: Request, session: SessionDep, admin: AdminUser
) -> OneTimePassword:
    """A new one-time password; the officer must change it at next sign-in."""
    with session.begin():
        password = accounts.reset_password(session, username, by=admin.actor, address=client_address(request))
    return OneTimePassword(username=username, password=password)


@router.get("/audit", response_model=AuditList, responses=error_responses(403))
def audit_log(
    session: SessionDep,
    user: CurrentUser,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    ticket: Annotated[str | None, Query(max_length=30)] = None,
    from_: Annotated[OfficeDate | None, Query(alias="from")] = None,
    to: Annotated[OfficeDate | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditList:
    """The audit log (admin and Kepala Dinas): admin changes and views of identity, newest first."""
    if user.role not in audit.READERS:
        only = "Hanya admin dan Kepala Dinas yang dapat membaca log audit."
        raise ApiError(403, "audit_readers_only", only)
    narrow = audit.AuditFilter(
        actor=actor or None,
        ticket=ticket or None,
        since=datetime.combine(from_, time(), WIB) if from_ else None,
        until=datetime.combine(to + timedelta(days=1), time(), WIB) if to else None,
    )
    found, total = audit.entries(session, narrow, limit=limit, offset=offset)
    items = [
        AuditItem(
            at=e.at,
            actor=e.actor,
            actor_role=e.actor_role,
            action=e.action,
            ticket=e.ticket,
            target=e.target,
            detail=e.detail,
            address=e.address,
        )
        for e in found
    ]
    return AuditList(items=items, total=total)


# --- the office identity (admin) -------------------------------------------------------------------


def _office_view(found: office.Office) -> OfficeView:
    return OfficeView(
        name=found.name, address=found.address, city=found.city, logo_url=found.logo_url, saved=found.saved
    )


@router.get("/office", response_model=OfficeView)
def office_identity(session: SessionDep, _user: CurrentUser) -> OfficeView:
    """The office as printed on letterheads, receipts and the recap, and named in messages."""
    return _office_view(office.identity(session))


@router.put("/office", response_model=OfficeView, responses=error_responses(403))
def office_save(body: OfficeIn, request: Request, session: SessionDep, admin: AdminUser) -> OfficeView:
    """Set the office's name, address and city (admin); written to the audit log."""
    with session.begin():
        saved = office.save(session, body.model_dump(), by=admin.actor, client=client_address(request))
    return _office_view(saved)


async def _logo_body(request: Request) -> bytes:
    """The request's body, read no further than one byte over the logo's limit."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > office.LOGO_MAX_BYTES:
            break
    return bytes(data)


_LOGO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A PNG or JPEG of at most 512 KB; the bytes decide, not the Content-Type.",
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.put(
    "/office/logo", response_model=OfficeView, responses=error_responses(403), openapi_extra=_LOGO_BODY
)
def office_logo_upload(
    data: Annotated[bytes, Depends(_logo_body)], request: Request, session: SessionDep, admin: AdminUser
) -> OfficeView:
    """Set the logo printed on letterheads and receipts (admin): 422 `logo_type`, `logo_unreadable`,
    `logo_too_large` or `logo_dimensions` when it is not a whole PNG or JPEG within the limits."""
    with session.begin():
        saved = office.set_logo(session, data, by=admin.actor, client=client_address(request))
    return _office_view(saved)


@router.delete("/office/logo", response_model=OfficeView, responses=error_responses(403))
def office_logo_remove(request: Request, session: SessionDep, admin: AdminUser) -> OfficeView:
    """Print without a logo (admin)."""
    with session.begin():
        removed = office.remove_logo(session, by=admin.actor, client=client_address(request))
    return _office_view(removed)


# --- kiosks (admin) -----------------------------------------------------------------------------


@router.get("/kiosks", response_model=list[KioskView], responses=error_responses(403))
def kiosk_list(session: SessionDep, _admin: AdminUser) -> list[KioskView]:
    """Every kiosk: active or revoked, whether a browser is enrolled, its last filing."""
    return [
        KioskView(
            name=k.name,
            active=k.active,
            enrolled=k.enrolled,
            created_at=k.created_at,
            last_filed_at=k.last_filed_at,
        )
        for k in kiosks.kiosks(session)
    ]


@router.post("/kiosks", status_code=201, response_model=KioskAdded, responses=error_responses(403))
def kiosk_add(body: KioskIn, request: Request, session: SessionDep, admin: AdminUser) -> KioskAdded:
    """A new kiosk: its key and a one-time enrolment link for its browser, both shown once."""
    address = client_address(request)
    with session.begin():
        key = kiosks.create(session, body.name, by=admin.actor, address=address)
        token = kiosks.enrol(session, body.name, by=admin.actor, address=address)
    settings = get_settings()
    return KioskAdded(
        name=body.name.strip(),
        key=key,
        enrol_url=kiosk_enrol_url(settings, token),
        enrol_expires_at=now() + settings.kiosk_enrol_ttl,
    )


@router.post("/kiosks/{name}/enrol", response_model=KioskEnrolment, responses=error_responses(403, 404, 409))
def kiosk_enrol(name: str, request: Request, session: SessionDep, admin: AdminUser) -> KioskEnrolment:
    """A new one-time link enrolling a browser as this kiosk (an earlier link stops working)."""
    with session.begin():
        token = kiosks.enrol(session, name, by=admin.actor, address=client_address(request))
    settings = get_settings()
    return KioskEnrolment(
        enrol_url=kiosk_enrol_url(settings, token), enrol_expires_at=now() + settings.kiosk_enrol_ttl
    )


@router.post("/kiosks/{name}/revoke", status_code=204, responses=error_responses(403, 404))
def kiosk_revoke(name: str, request: Request, session: SessionDep, admin: AdminUser) -> Response:
    """Revoke a kiosk: its key and its enrolled browser file nothing more."""
    with session.begin():
        kiosks.revoke(session, name, by=admin.actor, address=client_address(request))
    return Response(status_code=204)
