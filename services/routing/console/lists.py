"""The console's other lists: every complaint (read-only for the Kepala Dinas), the archive of closed
complaints, reminders and escalations addressed to me, and the front office's delivery desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.routing import paging, service
from services.routing.auth import SessionDep
from services.routing.console.pages import ConsoleUser, page, templates
from services.routing.console.views import names
from services.routing.schemas import ComplaintSummary
from shared import notices
from shared.clock import WIB, now
from shared.delivery import NotificationStatus
from shared.sop import OUTCOME_LABELS, Outcome, Role, Step
from shared.validation import InputError

router = APIRouter(include_in_schema=False)
templates.globals["COUNT_LIMIT"] = service.COUNT_LIMIT  # a list says "lebih dari" past it

PAGE_SIZE = 50
Filter = Annotated[str | None, Query(max_length=100)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
Kursor = Annotated[str | None, Query(max_length=paging.CURSOR_MAX)]


@dataclass(frozen=True)
class ListQuery:
    """A list page's filters and page, as they appear in its URL."""

    path: str
    params: dict[str, str]
    number: int

    def url(self, **change: Any) -> str:
        params = {**self.params, **{k: str(v) for k, v in change.items()}}
        kept = {k: v for k, v in params.items() if v and not (k == "halaman" and v == "1")}
        return f"{self.path}?{urlencode(kept)}" if kept else self.path


@dataclass(frozen=True)
class CursorPaging:
    """A list paged by cursor: its bounded total and the links to the pages beside this one."""

    total: int
    first: str | None = None
    prev: str | None = None
    next: str | None = None


def _cursor(raw: str | None, errors: dict[str, str]) -> paging.Cursor | None:
    """The page's cursor from its link (`kursor`); an error on the page for one not issued here."""
    if not raw:
        return None
    try:
        return paging.decode("complaints", raw, field="kursor")
    except InputError as exc:
        errors["kursor"] = exc.errors[0].message
        return None


def _cursor_paging(query: ListQuery, found: paging.Found[Any]) -> CursorPaging:
    """The links "Sebelumnya" and "Berikutnya" by cursor (and back to the first page)."""
    return CursorPaging(
        total=found.total,
        first=query.url() if found.prev_key else None,
        prev=query.url(kursor=paging.encode("complaints", found.prev_key, backward=True))
        if found.prev_key
        else None,
        next=query.url(kursor=paging.encode("complaints", found.next_key)) if found.next_key else None,
    )


@dataclass(frozen=True)
class Paging:
    number: int
    total: int

    @property
    def last(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE


def _wib_day(raw: str | None, field: str, errors: dict[str, str]) -> date | None:
    """A date typed in a filter (YYYY-MM-DD, as the date input sends it); an error beside it if not."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[field] = "Tanggal tidak valid (format TTTT-BB-HH)."
        return None
    if not 2000 <= day.year <= 2099:
        errors[field] = "Tanggal harus antara tahun 2000 dan 2099."
        return None
    return day


def _period(start: date | None, end: date | None) -> tuple[datetime, datetime] | None:
    """The half-open UTC span of WIB days `start`..`end` (either may be open)."""
    if start is None and end is None:
        return None
    first = datetime.combine(start or date(2000, 1, 1), time(), WIB)
    after = datetime.combine((end or date(2099, 12, 31)) + timedelta(days=1), time(), WIB)
    return first, after


@router.get("/semua")
def all_complaints(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    status: Annotated[str, Query(pattern="^(|open|closed)$")] = "",
    tahap: Filter = None,
    bidang: Filter = None,
    kategori: Filter = None,
    cari: Filter = None,
    halaman: PageNumber = 1,
    kursor: Kursor = None,
) -> Response:
    """Every complaint the officer may read, newest first, paged by cursor (`halaman` still works);
    for the Kepala Dinas the start page."""
    narrow = service.QueueFilter(category=kategori or None, text=(cari or "").strip() or None)
    query = ListQuery(
        "/semua",
        {
            "status": status,
            "tahap": tahap or "",
            "bidang": bidang or "",
            "kategori": kategori or "",
            "cari": narrow.text or "",
        },
        1,
    )
    errors: dict[str, str] = {}
    cursor = _cursor(kursor, errors)
    found: paging.Found[Any] = paging.Found([], 0)
    if not errors:
        found = service.search(
            session,
            user,
            at=now(),
            status=status or None,
            step=tahap or None,
            unit=bidang or None,
            limit=PAGE_SIZE,
            offset=0 if cursor else Paging(halaman, 0).offset,
            cursor=cursor,
            narrow=narrow,
        )
    units, categories = names(session)
    return page(
        request,
        "all.html.j2",
        user=user,
        status_code=422 if errors else 200,
        query=query,
        items=[ComplaintSummary(**row) for row in found.items],  # attribute reads in the template
        paging=_cursor_paging(query, found),
        errors=errors,
        units=units,
        categories=categories,
        steps=list(Step),
    )


@router.get("/arsip")
def archive_list(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    hasil: Annotated[str, Query(max_length=40)] = "",
    dari: Annotated[str, Query(max_length=20)] = "",
    sampai: Annotated[str, Query(max_length=20)] = "",
    cari: Filter = None,
    halaman: PageNumber = 1,
    kursor: Kursor = None,
) -> Response:
    """Closed complaints: by ticket or subject, period of receipt and outcome, newest first, paged
    by cursor (`halaman` still works)."""
    errors: dict[str, str] = {}
    start, end = _wib_day(dari, "dari", errors), _wib_day(sampai, "sampai", errors)
    if start and end and end < start:
        errors["sampai"] = "Tanggal akhir tidak boleh sebelum tanggal awal."
    outcome = hasil if hasil in {o.value for o in Outcome} else ""
    if hasil and not outcome:
        errors["hasil"] = "Pilih salah satu hasil dari daftar."
    cursor = _cursor(kursor, errors)
    text = (cari or "").strip() or None
    query = ListQuery("/arsip", {"hasil": hasil, "dari": dari, "sampai": sampai, "cari": text or ""}, 1)
    found: paging.Found[Any] = paging.Found([], 0)
    if not errors:
        found = service.search(
            session,
            user,
            at=now(),
            status="closed",
            step=None,
            unit=None,
            limit=PAGE_SIZE,
            offset=0 if cursor else Paging(halaman, 0).offset,
            cursor=cursor,
            narrow=service.QueueFilter(text=text),
            outcome=outcome or None,
            received=_period(start, end),
        )
    units, categories = names(session)
    return page(
        request,
        "archive_list.html.j2",
        user=user,
        status_code=422 if errors else 200,
        query=query,
        items=[ComplaintSummary(**row) for row in found.items],  # attribute reads in the template
        paging=_cursor_paging(query, found),
        units=units,
        categories=categories,
        errors=errors,
        outcomes={o.value: label for o, label in OUTCOME_LABELS.items()},
    )


@router.get("/eskalasi")
def escalations(
    request: Request, session: SessionDep, user: ConsoleUser, halaman: PageNumber = 1
) -> Response:
    """Reminders and escalations addressed to me on stays still running, the highest level first."""
    paging = Paging(halaman, 0)
    found = service.escalations(session, user, limit=PAGE_SIZE, offset=paging.offset)
    units, _ = names(session)
    query = ListQuery("/eskalasi", {}, halaman)
    return page(
        request,
        "escalations.html.j2",
        user=user,
        items=found.items,
        query=query,
        paging=Paging(halaman, found.total),
        units=units,
    )


@router.get("/penyampaian")
def delivery_desk(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    """The front office's desk: answers to hand over (contact, the answer to read out), and the
    messages that did not arrive (dead letters) or may not have (ambiguous)."""
    if user.role != Role.FRONT_OFFICE:
        return page(
            request,
            "forbidden.html.j2",
            user=user,
            status_code=403,
            heading="Khusus Front Office",
            message="Daftar penyampaian jawaban hanya untuk Front Office.",
        )
    at = now()
    to_deliver, total = service.worklist(
        session, user, at=at, limit=PAGE_SIZE, offset=0, narrow=service.QueueFilter(step=Step.DELIVERY.value)
    )
    failed = service.notifications(
        session, user, status=NotificationStatus.FAILED, ticket=None, limit=PAGE_SIZE, offset=0
    )
    unsure = service.notifications(
        session, user, status=NotificationStatus.AMBIGUOUS, ticket=None, limit=PAGE_SIZE, offset=0
    )
    return page(
        request,
        "delivery_desk.html.j2",
        user=user,
        to_deliver=to_deliver,
        total=total,
        failed=[m for m in failed.items if m.audience == notices.CITIZEN],
        unsure=[m for m in unsure.items if m.audience == notices.CITIZEN],
    )
