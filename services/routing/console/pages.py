"""Rendering of console pages: one Jinja2 environment, the signed-in officer, posted forms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from services.routing.auth import SessionDep, StaffUser, password_change_due, user_of_token
from services.routing.console import session as cookies
from services.routing.schemas import HistoryView
from shared import office, when
from shared.api import ApiError
from shared.sop import (
    ACTION_TITLES,
    CHOICE_LABELS,
    EVENT_LABELS,
    OUTCOME_LABELS,
    ROLE_LABELS,
    STEP_NAMES,
    Role,
    Step,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"


def history_label(h: HistoryView) -> str:
    """What a history row says happened, in Indonesian."""
    label = (h.detail or {}).get("label")
    if isinstance(label, str):
        return label
    return EVENT_LABELS.get(h.action) or ACTION_TITLES.get(h.action, h.action)


# Messages and deliveries as the office reads them (the API gives the codes).
MESSAGE_STATES = {
    "pending": "Menunggu dikirim",
    "sending": "Sedang dikirim",
    "sent": "Terkirim",
    "delivered": "Diterima",
    "failed": "Gagal",
    "ambiguous": "Belum pasti terkirim",
    "cancelled": "Dibatalkan",
}
MESSAGE_EVENTS = {
    "receipt": "Tanda terima",
    "closing": "Penutupan",
    "answer": "Jawaban",
    "queued": "Masuk antrean",
    "reminder": "Pengingat",
    "breach": "Eskalasi",
    "second": "Eskalasi ke Kepala Dinas",
}
DELIVERY_STATES = {
    "sending": "sedang dikirim",
    "unreachable": "tidak tersampaikan",
    "ambiguous": "belum pasti sampai",
}


def message_label(event: str) -> str:
    """What a message is about (its key may carry more: `answer:12`, `queued:review:3`)."""
    return MESSAGE_EVENTS.get(event.split(":", 1)[0], event)


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["long_time"] = when.long_time
templates.filters["short_time"] = when.short_time
templates.filters["long_date"] = when.long_date
templates.filters["letter_date"] = when.letter_date
templates.globals["STEP_NAMES"] = {s.value: name for s, name in STEP_NAMES.items()}
templates.globals["ROLE_NAMES"] = {r.value: name for r, name in ROLE_LABELS.items()}
templates.globals["ACTION_TITLES"] = ACTION_TITLES
templates.globals["CHOICE_LABELS"] = CHOICE_LABELS
templates.globals["OUTCOME_LABELS"] = {o.value: label for o, label in OUTCOME_LABELS.items()}
templates.globals["history_label"] = history_label
templates.globals["message_label"] = message_label
templates.globals["MESSAGE_STATES"] = MESSAGE_STATES
templates.globals["DELIVERY_STATES"] = DELIVERY_STATES
templates.globals["Step"] = Step
templates.globals["Role"] = Role


def page(
    request: Request,
    template: str,
    *,
    user: StaffUser | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page (or fragment), with the CSRF token its forms post back."""
    response = HTMLResponse(render(request, template, user=user, **context), status_code=status_code)
    cookies.remember_csrf(request, response)
    return response


def forbidden(request: Request, user: StaffUser, message: str) -> HTMLResponse:
    """The page an officer sees where their role may not go: what is not allowed, nothing changed."""
    return page(
        request, "forbidden.html.j2", user=user, status_code=403, heading="Tidak diizinkan", message=message
    )


def refused(request: Request, user: StaffUser, exc: ApiError) -> HTMLResponse:
    """A service's refusal that ends the page, with its Indonesian message: a role's refusal (403) on
    the forbidden page, anything else (a complaint not found or not visible) on the not-found page."""
    if exc.status == 403:
        return forbidden(request, user, exc.message)
    return page(request, "not_found.html.j2", user=user, status_code=exc.status, message=exc.message)


def render(request: Request, template: str, *, user: StaffUser | None, **context: Any) -> str:
    """The HTML of a template (a page or the partial a live update swaps in)."""
    identity = office_identity(request)
    return templates.get_template(template).render(
        request=request,
        user=user,
        csrf=cookies.csrf_token(request),
        csrf_field=cookies.CSRF_FIELD,
        office=identity.name,
        office_identity=identity,
        **context,
    )


def read_office(request: Request, session: SessionDep) -> None:
    """Every console route's first dependency: the office's identity for the page's header and prints,
    read on the request's session, whose read then ends (handlers open their own transactions)."""
    request.state.office = office.identity(session)
    session.rollback()


def office_identity(request: Request) -> office.Office:
    """The office's identity as read for this request (by `read_office`)."""
    found = getattr(request.state, "office", None)
    if not isinstance(found, office.Office):
        raise LookupError("a console page rendered outside the console's routers (no read_office)")
    return found


def _where(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def console_user(request: Request, session: SessionDep) -> StaffUser:
    """The officer signed in with the session cookie; otherwise off to the sign-in page."""
    try:
        staff = user_of_token(session, request.cookies.get(cookies.SESSION_COOKIE))
    except ApiError as exc:
        raise cookies.SignInRequired(_where(request)) from exc
    if password_change_due(staff, request):
        raise cookies.PasswordChangeRequired
    return staff


ConsoleUser = Annotated[StaffUser, Depends(console_user)]


class Posted:
    """A posted form whose CSRF token checked out: its single values and its lists."""

    def __init__(self, form: FormData) -> None:
        self.values: Mapping[str, Any] = {k: form.get(k) for k in form}
        self.lists: dict[str, list[str]] = {k: [str(v) for v in form.getlist(k)] for k in form}

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return value if isinstance(value, str) else ""


async def posted_form(request: Request) -> Posted:
    """Read a posted form and check its CSRF token before any handler sees it."""
    form = await request.form()
    token = form.get(cookies.CSRF_FIELD)
    cookies.check_csrf(request, token if isinstance(token, str) else None)
    return Posted(form)


PostedForm = Annotated[Posted, Depends(posted_form)]
