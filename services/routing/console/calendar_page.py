"""The admin's calendar page: a month with national holidays, cuti bersama and the office's own
overrides; the admin closes or opens a day with a reason (pending deadlines are recomputed)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.routing.auth import SessionDep, StaffUser
from services.routing.console.pages import ConsoleUser, PostedForm, forbidden, page
from shared import audit, office_days
from shared.calendar import OfficeCalendar, month_dates
from shared.clock import calendar_for, now, to_wib
from shared.ratelimit import client_address
from shared.settings import get_settings
from shared.sop import Role
from shared.validation import YEARS
from shared.when import DAYS, MONTHS

router = APIRouter(include_in_schema=False)

REASON_LIMIT = 200


def _month(raw: str) -> date | None:
    """The first day of a `YYYY-MM` (the office's years), or None."""
    try:
        first = date.fromisoformat(f"{raw}-01")
    except ValueError:
        return None
    return first if YEARS[0] <= first.year <= YEARS[1] else None


def _weeks(session: SessionDep, first: date) -> list[list[dict[str, Any] | None]]:
    """The month as weeks from Monday: each day's hours, or why it is closed, and whether overridden."""
    overrides = office_days.overrides(session)
    cal = calendar_for(get_settings(), overrides)
    dates = month_dates(first)
    always = [(d, ["00:00-24:00"], None) for d in dates]
    days = cal.days(dates) if isinstance(cal, OfficeCalendar) else always
    cells: list[dict[str, Any] | None] = [None] * first.weekday()
    for day, hours, reason in days:
        cells.append(
            {
                "day": day,
                "hours": [h.replace(":", ".").replace("-", "–") for h in hours],
                "reason": reason,
                "override": overrides.get(day),
            }
        )
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _calendar_page(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    first: date,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    extra.setdefault("errors", {})
    extra.setdefault("typed", {})
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return page(
        request,
        "calendar.html.j2",
        user=user,
        status_code=status_code,
        first=first,
        title=f"{MONTHS[first.month - 1]} {first.year}",
        weeks=_weeks(session, first),
        day_names=DAYS,
        previous=f"{previous:%Y-%m}",
        following=f"{following:%Y-%m}",
        kind=get_settings().calendar,
        **extra,
    )


@router.get("/kalender")
def calendar_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    bulan: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    """A month of the office's calendar; the admin also gets the form that closes or opens a day."""
    first = _month(bulan) if bulan else to_wib(now()).date().replace(day=1)
    if first is None:
        today = to_wib(now()).date().replace(day=1)
        errors = {"bulan": "Bulan tidak valid (format TTTT-BB, tahun 2000–2099)."}
        return _calendar_page(request, session, user, today, status_code=422, month_errors=errors)
    return _calendar_page(request, session, user, first)


@router.post("/kalender")
def calendar_set(request: Request, session: SessionDep, user: ConsoleUser, form: PostedForm) -> Response:
    if user.role != Role.ADMIN:
        return forbidden(request, user, "Hanya admin yang dapat mengubah kalender kantor.")
    typed = {"day": form.text("day"), "state": form.text("state"), "reason": form.text("reason").strip()}
    errors: dict[str, str] = {}
    day = None
    try:
        day = date.fromisoformat(typed["day"])
        if not YEARS[0] <= day.year <= YEARS[1]:
            errors["day"] = "Tanggal harus antara tahun 2000 dan 2099."
    except ValueError:
        errors["day"] = "Isi tanggal (format TTTT-BB-HH)."
    if typed["state"] not in ("tutup", "buka"):
        errors["state"] = "Pilih tutup atau buka."
    if not typed["reason"]:
        errors["reason"] = "Isi alasannya (dicatat dan ditampilkan di kalender)."
    elif len(typed["reason"]) > REASON_LIMIT:
        errors["reason"] = f"Paling panjang {REASON_LIMIT} karakter."
    if errors or day is None:
        first = day.replace(day=1) if day and "day" not in errors else to_wib(now()).date().replace(day=1)
        return _calendar_page(request, session, user, first, status_code=422, errors=errors, typed=typed)
    open_ = typed["state"] == "buka"
    at = now()
    with session.begin():
        office_days.set_override(
            session, day, open_=open_, reason=typed["reason"], actor=user.username, now=at
        )
        audit.record(
            session,
            by=user.actor,
            action="calendar.set",
            address=client_address(request),
            target=day.isoformat(),
            detail={"open": open_, "reason": typed["reason"]},
        )
    state = "dibuka" if open_ else "ditutup"
    done = f"Tanggal {day:%d-%m-%Y} {state}. Tenggat pengaduan yang berjalan dihitung ulang."
    return _calendar_page(request, session, user, day.replace(day=1), done=done)


@router.post("/kalender/{day}/hapus")
def calendar_clear(
    day: Annotated[date, Path()], request: Request, session: SessionDep, user: ConsoleUser, _form: PostedForm
) -> Response:
    if user.role != Role.ADMIN:
        return forbidden(request, user, "Hanya admin yang dapat mengubah kalender kantor.")
    if not YEARS[0] <= day.year <= YEARS[1]:
        return page(
            request, "not_found.html.j2", user=user, status_code=404, message="Tanggal tidak ditemukan."
        )
    with session.begin():
        found = office_days.clear_override(session, day, now=now())
        if found:
            address = client_address(request)
            audit.record(
                session, by=user.actor, action="calendar.clear", address=address, target=day.isoformat()
            )
    done = f"Pengecualian tanggal {day:%d-%m-%Y} dihapus." if found else None
    failed = None if found else "Tidak ada pengecualian pada tanggal ini."
    return _calendar_page(request, session, user, day.replace(day=1), done=done, failed=failed)
