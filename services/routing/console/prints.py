"""The console's printable pages: the lembar disposisi and the archive of one complaint.

Print layouts are CSS (`@page` A4 or F4), one template each; the QR code is segno's inline SVG, so
the page needs nothing from outside the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.routing import service
from services.routing.auth import SessionDep
from services.routing.console.pages import ConsoleUser, page, refused
from services.routing.console.views import names
from shared.api import ApiError
from shared.links import console_url
from shared.models import User
from shared.settings import get_settings
from shared.sop import Urgency

router = APIRouter(include_in_schema=False)

# Paper sizes the office prints on: A4, and F4 (folio) as Indonesian offices use it.
PAPER: dict[str, str] = {"a4": "A4", "f4": "215mm 330mm"}
Paper = Annotated[Literal["a4", "f4"], Query()]


@dataclass(frozen=True)
class Signer:
    """Who signed a disposition, as printed under the signature."""

    name: str
    job_title: str | None
    nip: str | None


def _signer(session: Session, username: str) -> Signer:
    row = session.execute(
        select(User.full_name, User.job_title, User.nip).where(User.username == username)
    ).first()
    session.rollback()
    if row is None:
        return Signer(username, None, None)
    return Signer(row.full_name or username, row.job_title, row.nip)


def qr_svg(url: str) -> str:
    """An inline SVG QR code for `url` (error correction M: survives a smudged print)."""
    return str(segno.make(url, error="m").svg_inline(scale=3, title="Kode QR pengaduan", svgclass="qr"))


@dataclass(frozen=True)
class Tick:
    label: str
    ticked: bool


def instruction_ticks(offered: list[str], given: list[str]) -> list[Tick]:
    """Every instruction on the office's list with its box, then the free ones given, ticked."""
    ticks = [Tick(text, text in given) for text in offered]
    return ticks + [Tick(text, True) for text in given if text not in offered]


@router.get("/pengaduan/{ticket}/lembar-disposisi/{number}")
def disposition_sheet(
    ticket: Annotated[str, Path(max_length=30)],
    number: Annotated[int, Path(ge=1, le=1000)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    kertas: Paper = "a4",
) -> Response:
    """The printable lembar disposisi of the complaint's `number`th disposition."""
    try:
        record = service.archive(session, user, ticket)
    except ApiError as exc:
        return refused(request, user, exc)
    if number > len(record.dispositions):
        return page(request, "not_found.html.j2", user=user, status_code=404, message=None)
    d = record.dispositions[number - 1]
    units, _ = names(session)
    settings = get_settings()
    url = console_url(settings, record.ticket)
    return page(
        request,
        "disposition_sheet.html.j2",
        user=user,
        a=record,
        d=d,
        number=number,
        units=units,
        paper=kertas,
        page_size=PAPER[kertas],
        urgencies=[u.value for u in Urgency],
        ticks=instruction_ticks(service.disposition_instructions(session), d.instructions),
        signer=_signer(session, d.signed_by),
        qr=qr_svg(url),
        url=url,
    )


@router.get("/pengaduan/{ticket}/arsip")
def archive_print(
    ticket: Annotated[str, Path(max_length=30)],
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    kertas: Paper = "a4",
) -> Response:
    """The whole process of one complaint as a printable record."""
    try:
        record = service.archive(session, user, ticket)
    except ApiError as exc:
        return refused(request, user, exc)
    units, categories = names(session)
    return page(
        request,
        "archive_print.html.j2",
        user=user,
        a=record,
        units=units,
        categories=categories,
        paper=kertas,
        page_size=PAPER[kertas],
    )
