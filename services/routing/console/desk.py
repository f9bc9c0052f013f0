"""The front desk's "Pengaduan baru" (Front Office): a walk-in, a call, a letter or an e-mail filed by
the officer, verified and forwarded or resolved in the same step; the earlier complaints of the
person while the NIK or phone is typed; the tanda terima to print (A4, F4, 80 mm)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.routing import desk, service
from services.routing.auth import SessionDep, StaffUser
from services.routing.console import forms
from services.routing.console.pages import ConsoleUser, PostedForm, office_identity, page, refused
from services.routing.console.prints import PAPER
from services.routing.console.views import names
from services.routing.schemas import EarlierComplaint
from shared import complaint_form
from shared.api import ApiError
from shared.clock import now
from shared.complaint_in import CHANNEL_LABELS, DESK_CHANNELS, Channel
from shared.links import track_page_url
from shared.models import Complaint
from shared.ratelimit import client_address
from shared.settings import get_settings
from shared.sop import ACTION_TITLES, Step, find_action
from shared.validation import FieldError, InputError

router = APIRouter(include_in_schema=False)

PATH = "/pengaduan-baru"
THEN = "then"  # the form's field: what to do at once (forward, resolve, or "" to keep it at step 1)
CONFIRM_FIELD = "konfirmasi"  # closing at the desk (resolve) asks for a tick, as on a complaint's page
_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
DESK_PAPER: dict[str, str] = {**PAPER, "80mm": "80mm 230mm"}  # a thermal strip, cut after
DeskPaper = Annotated[Literal["a4", "f4", "80mm"], Query()]
THEN_LABELS = {
    "forward": "Verifikasi dan teruskan ke Kasubag Umum",
    "resolve": "Verifikasi dan selesaikan di tempat (jalur B)",
    "": "Simpan saja (verifikasi nanti, tetap di langkah 1)",
}
DONE_LABELS = {
    "forward": "sudah diverifikasi dan diteruskan ke Kasubag Umum",
    "resolve": "sudah diverifikasi dan diselesaikan di tempat",
    "": "menunggu verifikasi di antrean Front Office",
}
_CONFIRM_ERROR = FieldError(
    CONFIRM_FIELD, "confirm_required", "Centang untuk memastikan pengaduan ini ditutup."
)


@dataclass(frozen=True)
class NextStep:
    """One way on after filing: the SOP action's inputs as fields, those it shares with the others
    shown once above them."""

    name: str  # "" for none
    label: str
    fields: list[forms.FormField]
    closes: bool


def _next_steps(session: Session) -> tuple[list[forms.FormField], list[NextStep]]:
    """The shared fields (the identity check), then each action's own, from the SOP table."""
    units, _ = names(session)
    choices = {"unit": [forms.Choice(code, name) for code, name in units.items()]}
    by_action = {}
    for name in desk.DESK_ACTIONS:
        spec = find_action(Step.VERIFICATION, name)
        assert spec is not None  # noqa: S101 - the desk's actions are the verification step's
        by_action[name] = (forms.form_fields(spec.inputs, choices), spec.closes)
    first = by_action[desk.DESK_ACTIONS[0]][0]
    shared_names = [
        f.name for f in first if all(f.name in {g.name for g in fs} for fs, _ in by_action.values())
    ]
    common = [f for f in first if f.name in shared_names]
    steps = [
        NextStep(name, THEN_LABELS[name], [f for f in fs if f.name not in shared_names], closes)
        for name, (fs, closes) in by_action.items()
    ]
    return common, [*steps, NextStep("", THEN_LABELS[""], [], False)]


def _action_fields(session: Session, then: str) -> list[forms.FormField]:
    common, steps = _next_steps(session)
    own = next((s.fields for s in steps if s.name == then), [])
    return [*common, *own]


def _form(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    key: str | None = None,
    earlier: list[EarlierComplaint] | None = None,
) -> Response:
    _, categories = names(session)
    common, steps = _next_steps(session)
    fields = complaint_form.desk_fields(list(categories.items()))
    errors = errors or []
    by_field: dict[str, str] = {}
    for e in errors:
        by_field.setdefault(e.field, e.message)
    known = {f.name for f in fields} | {f.name for f in common} | {f.name for s in steps for f in s.fields}
    known |= {complaint_form.CONSENT, "channel", THEN, CONFIRM_FIELD}
    return page(
        request,
        "desk_form.html.j2",
        user=user,
        status_code=status_code,
        path=PATH,
        fields=fields,
        channels=[(c.value, CHANNEL_LABELS[c]) for c in DESK_CHANNELS],
        common=common,
        steps=steps,
        then_field=THEN,
        confirm_field=CONFIRM_FIELD,
        consent=complaint_form.consent_text(get_settings(), office_identity(request)),
        consent_field=complaint_form.CONSENT,
        values=values
        or {
            "channel": "walk_in",
            "preferred_reply": "in_person",
            "waiting_on_site": "false",
            THEN: "forward",
        },
        errors=by_field,
        other_errors=[e.message for e in errors if e.field not in known],
        anchors={
            **{f.name: f.id for f in fields},
            **{f.name: f"then-{f.name}" for f in common},
            **{f.name: f"then-{f.name}" for s in steps for f in s.fields},
            "channel": "f-channel",
            THEN: "f-then",
            complaint_form.CONSENT: "f-consent",
            CONFIRM_FIELD: "f-konfirmasi",
        },
        labels={
            **{f.name: f.label for f in fields},
            **{f.name: f.label for f in common},
            **{f.name: f.label for s in steps for f in s.fields},
        },
        idempotency_key=key or str(uuid.uuid4()),
        earlier=earlier,
    )


@router.get(PATH)
def desk_form(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    """An empty form, with its own key (a double submit files one complaint)."""
    try:
        desk.check_officer(user)
    except ApiError as exc:
        return refused(request, user, exc)
    return _form(request, session, user)


def _channel(posted: PostedForm) -> tuple[Channel, list[FieldError]]:
    """The channel the officer chose (a kiosk's own is not among the choices)."""
    value = posted.text("channel")
    try:
        channel = Channel(value)
    except ValueError:
        channel = Channel.WALK_IN
    if channel not in DESK_CHANNELS:
        choices = ", ".join(c.value for c in DESK_CHANNELS)
        return Channel.WALK_IN, [
            FieldError("channel", "invalid_choice", f"Pilihan yang diterima: {choices}.")
        ]
    return channel, []


@router.post(PATH)
def desk_file(request: Request, session: SessionDep, user: ConsoleUser, posted: PostedForm) -> Response:
    """File the form (then forward or resolve it at once); off to the result page, or errors beside
    the fields with what was typed kept."""
    try:
        desk.check_officer(user)
    except ApiError as exc:
        return refused(request, user, exc)
    then = posted.text(THEN)
    fields = _action_fields(session, then) if then in desk.DESK_ACTIONS else []
    typed = {k: v for k, v in posted.values.items() if isinstance(v, str) and k != "csrf"}
    key = posted.text("idempotency_key")
    key = key if _KEY.match(key) else ""
    channel, errors = _channel(posted)
    closes = then == "resolve"
    if closes and not posted.values.get(CONFIRM_FIELD):
        errors.append(_CONFIRM_ERROR)
    inputs = forms.parse(fields, posted.values, posted.lists)
    try:
        try:
            body = complaint_form.parse(typed, channel=channel, extra=errors)
        except InputError as exc:  # the action's inputs are checked too, so every error shows at once
            try:
                desk.check_then(then or None, inputs)
            except InputError as more:
                exc.errors.extend(more.errors)
            raise
        filed = desk.file_at_desk(
            session, user, body, then=then or None, inputs=inputs, key=key or None, at=now()
        )
    except InputError as exc:
        return _form(request, session, user, status_code=422, values=typed, errors=exc.errors, key=key)
    except ApiError as exc:
        return _form(
            request,
            session,
            user,
            status_code=exc.status,
            values=typed,
            errors=[FieldError("form", exc.code, exc.message)],
            key=key,
        )
    return RedirectResponse(f"{PATH}/{filed.ticket}", status_code=303)


@router.post(f"{PATH}/sebelumnya")
def earlier_while_typing(
    request: Request, session: SessionDep, user: ConsoleUser, posted: PostedForm
) -> Response:
    """The person's earlier complaints for the NIK or phone typed so far (POST: no NIK in a URL)."""
    try:
        found = desk.earlier_by_identity(
            session, user, nik=posted.text("complainant.nik"), phone=posted.text("complainant.phone")
        )
    except ApiError as exc:
        return refused(request, user, exc)
    return page(request, "_desk_earlier.html.j2", user=user, earlier=found, asked=True)


@router.get(PATH + "/{ticket}")
def desk_done(
    ticket: Annotated[str, Path(max_length=30)], request: Request, session: SessionDep, user: ConsoleUser
) -> Response:
    """What was filed and done, the tanda terima to print, and the person's earlier complaints."""
    try:
        desk.check_officer(user)
    except ApiError as exc:
        return refused(request, user, exc)
    complaint = session.scalar(select(Complaint).where(Complaint.ticket == ticket))
    if complaint is None:
        return page(request, "not_found.html.j2", user=user, status_code=404, message=None)
    then = {"review": "forward", "answered_at_front_office": "resolve"}.get(
        complaint.step or complaint.outcome or "", ""
    )
    return page(
        request,
        "desk_done.html.j2",
        user=user,
        ticket=complaint.ticket,
        done=DONE_LABELS.get(then, ""),
        earlier=service.earlier_complaints(session, complaint),
        papers=[("a4", "A4"), ("f4", "F4 (folio)"), ("80mm", "80 mm (printer termal)")],
        path=PATH,
    )


def _qr(url: str) -> str:
    """The tracking link's QR code: a viewBox and no size, so each paper's CSS sizes it uncropped."""
    qr = segno.make(url, error="m")
    return str(qr.svg_inline(omitsize=True, title="Kode QR tautan pelacakan", svgclass="qr"))


@router.get("/pengaduan/{ticket}/tanda-terima")
def receipt_print(
    ticket: Annotated[str, Path(max_length=30)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    kertas: DeskPaper = "a4",
) -> Response:
    """The printable tanda terima: the kiosk receipt's facts, the officer and a signature line."""
    try:
        r = desk.receipt(session, user, ticket, address=client_address(request))
    except ApiError as exc:
        return refused(request, user, exc)
    settings = get_settings()
    link = track_page_url(settings, r.ticket, r.tracking_code)
    return page(
        request,
        "desk_receipt.html.j2",
        user=user,
        r=r,
        channel=CHANNEL_LABELS.get(r.channel, r.channel),
        paper=kertas,
        page_size=DESK_PAPER[kertas],
        page_margin="3mm" if kertas == "80mm" else "12mm 15mm",
        papers=[("a4", "A4"), ("f4", "F4 (folio)"), ("80mm", "80 mm")],
        printed_at=now(),
        qr=_qr(link),
        link=link,
        ACTION_TITLES=ACTION_TITLES,
    )
