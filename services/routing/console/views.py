"""The staff console: server-rendered pages on the same use cases as the JSON API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.routing import service
from services.routing.auth import (
    SessionDep,
    StaffUser,
    authenticate_limited,
    change_password,
    issue_token,
)
from services.routing.console import forms
from services.routing.console import session as cookies
from services.routing.console.pages import ConsoleUser, PostedForm, page, refused, render
from services.routing.schemas import WorklistItem
from shared import audit, office_days, when
from shared.api import ApiError
from shared.clock import Calendar, now
from shared.linking import Relation
from shared.models import Category, Unit
from shared.ratelimit import RateLimited, client_address
from shared.sop import ACTION_TITLES, LINK_ROLES, NOTIFICATION_ROLES, Step, find_action, steps_of
from shared.validation import FieldError, InputError

router = APIRouter(include_in_schema=False)

QUEUE_SIZE = 100  # rows on one queue page (as the JSON worklist's default); the rest by filters and search


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """Field errors by form field (the first part of a dotted path), the first one per field."""
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field.split(".")[0], e.message)
    return out


# --- sign-in, sign-out, own password ------------------------------------------------------------


@router.get("/masuk")
def sign_in_page(request: Request, lanjut: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return page(request, "sign_in.html.j2", next=cookies.safe_next(lanjut), errors={}, typed={})


@router.post("/masuk")
def sign_in(request: Request, session: SessionDep, form: PostedForm) -> Response:
    username, password = form.text("username").strip(), form.text("password")
    next_path = cookies.safe_next(form.text("lanjut"))
    try:
        user = authenticate_limited(session, username, password, address=client_address(request))
    except RateLimited as exc:
        locked = page(
            request,
            "sign_in.html.j2",
            status_code=429,
            next=next_path,
            failed=exc.message,
            errors={},
            typed={"username": username},
        )
        locked.headers.update(exc.headers or {})
        return locked
    if user is None:
        return page(
            request,
            "sign_in.html.j2",
            status_code=401,
            next=next_path,
            failed="Nama pengguna atau kata sandi salah.",
            errors={},
            typed={"username": username},
        )
    response = _see_other(next_path)
    cookies.start_session(response, issue_token(user, at=now()))
    return response


@router.post("/keluar")
def sign_out(_form: PostedForm) -> Response:
    response = _see_other("/masuk")
    cookies.end_session(response)
    return response


@router.get("/kata-sandi")
def password_page(request: Request, user: ConsoleUser) -> Response:
    return page(request, "password.html.j2", user=user, errors={})


@router.post("/kata-sandi")
def password_change(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    try:
        change_password(
            session,
            user.id,
            current=form.text("current"),
            new=form.text("new"),
            repeated=form.text("repeated"),
        )
    except InputError as exc:
        return page(request, "password.html.j2", user=user, errors=field_errors(exc.errors), status_code=422)
    changed = replace(user, must_change_password=False)
    return page(request, "password.html.j2", user=changed, errors={}, changed=True)


# --- my queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """A queue row as the officer reads it."""

    item: WorklistItem
    clock: str  # "sisa 12 menit" / "lewat 1 jam 5 menit" / "-"
    overdue: bool


def time_left(calendar: Calendar, due: datetime | None, at: datetime) -> tuple[str, bool]:
    """The office time left on a step clock (negative once overdue), as words."""
    if due is None:
        return "-", False
    if due >= at:
        return when.time_left(calendar.open_time(at, due)), False
    return when.time_left(-calendar.open_time(due, at) - timedelta(seconds=1)), True


def names(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """The units and the categories by code, as the pages name them."""
    units = {code: name for code, name in session.execute(select(Unit.code, Unit.name).order_by(Unit.code))}
    categories = {
        code: name
        for code, name in session.execute(
            select(Category.code, Category.name).order_by(Category.position, Category.code)
        )
    }
    return units, categories


@dataclass(frozen=True)
class QueueQuery:
    """The queue page's tab, filters and search, as they appear in its URL."""

    tab: str
    narrow: service.QueueFilter

    def on_tab(self, tab: str) -> QueueQuery:
        return QueueQuery(tab=tab, narrow=self.narrow)

    def cleared(self) -> QueueQuery:
        return QueueQuery(tab=self.tab, narrow=service.QueueFilter())

    def url(self, path: str = "/", **extra: str) -> str:
        params = {
            "daftar": self.tab,
            "tahap": self.narrow.step or "",
            "bidang": self.narrow.unit or "",
            "kategori": self.narrow.category or "",
            "cari": self.narrow.text or "",
            **extra,
        }
        kept = {k: v for k, v in params.items() if v and not (k == "daftar" and v == "aktif")}
        return f"{path}?{urlencode(kept)}" if kept else path


def _queue_query(
    daftar: str, tahap: str | None, bidang: str | None, kategori: str | None, cari: str | None
) -> QueueQuery:
    return QueueQuery(
        tab="menunggu" if daftar == "menunggu" else "aktif",
        narrow=service.QueueFilter(
            step=tahap or None,
            unit=bidang or None,
            category=kategori or None,
            text=(cari or "").strip() or None,
        ),
    )


def _queue_rows(session: Session, user: StaffUser, query: QueueQuery) -> tuple[list[QueueRow], int]:
    at = now()
    items, total = service.worklist(
        session,
        user,
        at=at,
        limit=QUEUE_SIZE,
        offset=0,
        waiting=query.tab == "menunggu",
        narrow=query.narrow,
    )
    calendar = office_days.calendar(session)
    rows = []
    for item in items:
        clock, overdue = time_left(calendar, item.step_due_at, at) if item.paused_at is None else ("-", False)
        rows.append(QueueRow(item, clock, overdue))
    return rows, total


def _queue_list(
    request: Request, session: Session, user: StaffUser, query: QueueQuery
) -> tuple[str, dict[str, Any]]:
    """The live part of the queue page, and the names it shows."""
    rows, total = _queue_rows(session, user, query)
    units, categories = names(session)
    context: dict[str, Any] = {"rows": rows, "total": total, "units": units, "categories": categories}
    return render(request, "queue_rows.html.j2", user=user, query=query, **context), context


def _fingerprint(session: Session, user: StaffUser, query: QueueQuery) -> str:
    """Changes when the queue's list would read differently: a complaint came, left or moved (the
    queue's stamp), or a minute turned (the clocks' words). Costs one aggregate query, no render."""
    stamp = service.queue_stamp(session, user, waiting=query.tab == "menunggu", narrow=query.narrow)
    minute = now().replace(second=0, microsecond=0).isoformat()
    return hashlib.sha256(repr((stamp, minute, query.url())).encode()).hexdigest()[:16]


QueueParams = Annotated[str, Query(pattern="^(aktif|menunggu)$")]
Filter = Annotated[str | None, Query(max_length=100)]


@router.get("/")
def queue_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    daftar: QueueParams = "aktif",
    tahap: Filter = None,
    bidang: Filter = None,
    kategori: Filter = None,
    cari: Filter = None,
) -> Response:
    if not steps_of(user.role):  # the Kepala Dinas and the admin read; they work no queue
        return _see_other("/semua")
    query = _queue_query(daftar, tahap, bidang, kategori, cari)
    seen = _fingerprint(session, user, query)
    rows_html, context = _queue_list(request, session, user, query)
    return page(
        request,
        "queue.html.j2",
        user=user,
        query=query,
        rows_html=rows_html,
        seen=seen,
        steps=steps_of(user.role),
        **context,
    )


@router.get("/antrean")
def queue_update(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    daftar: QueueParams = "aktif",
    tahap: Filter = None,
    bidang: Filter = None,
    kategori: Filter = None,
    cari: Filter = None,
    seen: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The queue's list for the page's poll: 204 while nothing on it changed."""
    query = _queue_query(daftar, tahap, bidang, kategori, cari)
    fingerprint = _fingerprint(session, user, query)
    if seen == fingerprint:
        return Response(status_code=204)
    rows_html, context = _queue_list(request, session, user, query)
    return page(
        request,
        "queue_list.html.j2",
        user=user,
        query=query,
        rows_html=rows_html,
        seen=fingerprint,
        **context,
    )


# --- a complaint's page and its actions ---------------------------------------------------------


@dataclass(frozen=True)
class ActionForm:
    """An allowed action as a form: the SOP table's inputs as fields, and what the officer typed."""

    name: str
    title: str
    fields: list[forms.FormField]
    closes: bool  # ends the complaint: asks for a confirmation first


def _db_choices(session: Session, units: dict[str, str]) -> dict[str, list[forms.Choice]]:
    unit_choices = [forms.Choice(code, name) for code, name in units.items()]
    instructions = [forms.Choice(text, text) for text in service.disposition_instructions(session)]
    return {"unit": unit_choices, "cc_units": unit_choices, "instructions": instructions}


def _action_forms(
    session: Session, step: str | None, allowed: list[str], units: dict[str, str]
) -> list[ActionForm]:
    if step is None:
        return []
    choices = _db_choices(session, units)
    out = []
    for name in allowed:
        spec = find_action(Step(step), name)
        if spec is None:  # pragma: no cover - allowed_actions come from the same table
            continue
        out.append(
            ActionForm(
                name=name,
                title=ACTION_TITLES.get(name, name),
                fields=forms.form_fields(spec.inputs, choices),
                closes=spec.closes,
            )
        )
    return out


CONFIRM_FIELD = "konfirmasi"
STALE = (
    "Pengaduan ini sudah diproses oleh petugas lain. "
    "Berikut keadaan terbarunya; periksa lalu ulangi bila masih perlu."
)


def _complaint_page(
    request: Request,
    session: Session,
    user: StaffUser,
    ticket: str,
    *,
    status_code: int = 200,
    done: str | None = None,
    failed: str | None = None,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    at = now()
    try:
        view = service.complaint_view(session, user, ticket, at=at)
    except ApiError as exc:
        return refused(request, user, exc)
    if not view.complainant.hidden:
        address = client_address(request)
        audit.record_identity_view(session, by=user.actor, ticket=view.ticket, address=address)
    units, categories = names(session)
    calendar = office_days.calendar(session)
    clock, overdue = time_left(calendar, view.step_due_at, at) if view.step else ("-", False)
    messages = (
        service.notifications(session, user, status=None, ticket=view.ticket, limit=50, offset=0).items
        if user.role in NOTIFICATION_ROLES
        else None
    )
    return page(
        request,
        "complaint.html.j2",
        user=user,
        status_code=status_code,
        c=view,
        units=units,
        categories=categories,
        clock=clock,
        overdue=overdue,
        messages=messages,
        actions=_action_forms(session, view.step, view.allowed_actions, units),
        done=done,
        failed=failed,
        problem=problem,
        errors=errors or {},
        typed=typed or {},
        confirm_field=CONFIRM_FIELD,
        free_entry_name=forms.free_entry_name,
        may_link=user.role in LINK_ROLES,
        link_choices=LINK_CHOICES,
    )


@router.get("/pengaduan/{ticket}")
def complaint_page(
    ticket: Annotated[str, Path(max_length=30)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    selesai: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _complaint_page(request, session, user, ticket, done=selesai)


@router.post("/pengaduan/{ticket}/tindakan/{action}")
def take_action(
    ticket: Annotated[str, Path(max_length=30)],
    action: Annotated[str, Path(max_length=40)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    form: PostedForm,
) -> Response:
    """Take an SOP action from its form; back to the complaint's page (errors beside the fields)."""
    step = _current_step(session, user, ticket)
    spec = find_action(Step(step), action) if step else None
    units, _ = names(session)
    fields = forms.form_fields(spec.inputs, _db_choices(session, units)) if spec else []
    typed = forms.typed_values(fields, form.values, form.lists)

    def again(status: int, **why: Any) -> Response:
        return _complaint_page(
            request, session, user, ticket, status_code=status, failed=action, typed=typed, **why
        )

    closes = spec is not None and spec.closes
    if closes and not form.values.get(CONFIRM_FIELD):
        return again(422, errors={CONFIRM_FIELD: "Centang untuk memastikan pengaduan ini ditutup."})
    try:
        version = int(form.text("version"))
    except ValueError:
        return again(422, problem="Versi pengaduan tidak terbaca; muat ulang halaman ini.")
    session.rollback()  # end the reads above: the action is its own transaction
    try:
        service.act(
            session,
            user,
            ticket,
            action=action,
            version=version,
            inputs=forms.parse(fields, form.values, form.lists),
            at=now(),
        )
    except InputError as exc:
        return again(422, errors=field_errors(exc.errors))
    except ApiError as exc:
        if exc.code in ("version_conflict", "step_changed"):
            return _complaint_page(request, session, user, ticket, status_code=409, problem=STALE)
        if exc.status == 404:
            return _complaint_page(request, session, user, ticket, status_code=404)
        return again(exc.status, problem=exc.message)
    return _see_other(f"/pengaduan/{ticket}?selesai={action}")


# --- links between complaints ----------------------------------------------------------------------

LINK_CHOICES = (
    (Relation.RELATED, "Terkait dengan pengaduan ini"),
    (Relation.DUPLICATE_OF, "Pengaduan ini duplikat dari pengaduan tersebut"),
    (Relation.HAS_DUPLICATE, "Pengaduan tersebut duplikat dari pengaduan ini"),
)
LINK_FORM = "tautan"


@router.post("/pengaduan/{ticket}/tautan")
def add_link(
    ticket: Annotated[str, Path(max_length=30)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    form: PostedForm,
) -> Response:
    """Link the complaint to another (the same use case as the API); errors beside the fields."""
    typed = {"other": form.text("other"), "relation": form.text("relation")}

    def again(status: int, errors: dict[str, str] | None = None, problem: str | None = None) -> Response:
        return _complaint_page(
            request,
            session,
            user,
            ticket,
            status_code=status,
            failed=LINK_FORM,
            typed=typed,
            errors=errors,
            problem=problem,
        )

    if typed["relation"] not in set(Relation):
        return again(422, {"relation": "Pilih hubungan kedua pengaduan."})
    session.rollback()  # the link is its own transaction
    try:
        service.add_link(
            session, user, ticket, other=typed["other"], relation=Relation(typed["relation"]), at=now()
        )
    except ApiError as exc:
        if exc.status == 404:
            return _complaint_page(request, session, user, ticket, status_code=404)
        if exc.errors:
            return again(exc.status, field_errors(exc.errors))
        return again(exc.status, problem=exc.message)
    return _see_other(f"/pengaduan/{ticket}?selesai=tautan#h-links")


@router.post("/pengaduan/{ticket}/tautan/lepas")
def remove_link(
    ticket: Annotated[str, Path(max_length=30)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    form: PostedForm,
) -> Response:
    """Unlink the complaint from another; a refusal shows above the page."""
    session.rollback()
    try:
        service.remove_link(session, user, ticket, other=form.text("other"), at=now())
    except ApiError as exc:
        if exc.code == "not_found":
            return _complaint_page(request, session, user, ticket, status_code=404)
        return _complaint_page(request, session, user, ticket, status_code=exc.status, problem=exc.message)
    return _see_other(f"/pengaduan/{ticket}?selesai=lepas-tautan#h-links")


def _current_step(session: Session, user: StaffUser, ticket: str) -> str | None:
    try:
        complaint = service.load_visible(session, user, ticket)
    except ApiError:
        return None
    step = complaint.step
    session.rollback()
    return step
