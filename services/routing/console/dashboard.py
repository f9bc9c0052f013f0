"""The leadership's dashboard (dasbor) and the monthly recap's downloads, in the console.

Every figure is the JSON reports' own (services/routing/reports.py, volume.py, recap.py) for the
same period, computed by the same functions: one computation, shown as JSON, CSV/XLSX and here.
Charts are SVG drawn here on the server, each beside a table of its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.routing import recap, reports, volume
from services.routing.auth import SessionDep
from services.routing.console.pages import ConsoleUser, forbidden, page, templates
from services.routing.views import REPORT_ROLES, report_period
from shared.calendar import WIB
from shared.clock import now
from shared.validation import InputError

router = APIRouter(include_in_schema=False)
templates.globals["REPORT_ROLES"] = REPORT_ROLES  # the menu shows the dashboard to these

BAD_DATE = "Isi tanggal dengan benar (hari, bulan, tahun)."

# The form's fields and the API's query parameters they stand for.
FIELDS = {"query.from": "dari", "query.to": "sampai"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as the table shows it
    share: float  # of the chart's largest value, 0-100 (the bar's length)


def bars(items: list[tuple[str, float, str]]) -> list[Bar]:
    """Bars of one chart, scaled to its largest value."""
    top = max((v for _, v, _ in items), default=0) or 1
    return [Bar(label, value, text, round(100 * value / top, 1)) for label, value, text in items]


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}".replace(".", ",") + " %"


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, volume.add_months(first, 1) - timedelta(days=1)


def _parse(text: str | None, default: date) -> date | None:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.get("/dasbor")
def dashboard(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    dari: Annotated[str | None, Query(max_length=10)] = None,
    sampai: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """A period's figures: received (12-month trend; by category, channel, bidang, outcome), SLA per
    step and per bidang, the legal clocks, what is open now, and the SKM index."""
    if user.role not in REPORT_ROLES:
        return forbidden(request, user, NOT_ALLOWED)
    first, last = _month_bounds(now().astimezone(WIB).date())
    typed = {"dari": dari or first.isoformat(), "sampai": sampai or last.isoformat()}
    start, end = _parse(dari, first), _parse(sampai, last)
    errors = {
        name: "Isi tanggal dengan benar." for name, day in (("dari", start), ("sampai", end)) if day is None
    }
    if start is not None and end is not None:
        try:
            since, until = report_period(user, start, end)
        except InputError as exc:
            for e in exc.errors:
                errors.setdefault(FIELDS.get(e.field, "dari"), e.message)
    if errors or start is None or end is None:
        return page(request, "dashboard.html.j2", user=user, status_code=422, errors=errors, typed=typed)
    sla = reports.sla_report(session, since, until)
    skm = reports.satisfaction_report(session, since, until, comments=0)
    counts = volume.volume_report(session, since, until)
    step_names = {s.value: name for s, name in volume.STEP_NAMES.items()}
    unit_names = {c.key: c.label for c in counts.by_unit if c.key}
    return page(
        request,
        "dashboard.html.j2",
        user=user,
        errors={},
        typed=typed,
        period=(since, until - timedelta(seconds=1)),
        recap_month=f"{start:%Y-%m}",
        recap_label=volume.month_label(start.replace(day=1)),
        volume=counts,
        sla=sla,
        skm=skm,
        step_names=step_names,
        unit_names=unit_names,
        trend=bars([(m.label, m.count, str(m.count)) for m in counts.by_month]),
        charts=[
            (title, key, bars([(c.label, c.count, str(c.count)) for c in items]))
            for title, key, items in (
                ("Menurut kategori", "kategori", counts.by_category),
                ("Menurut saluran", "saluran", counts.by_channel),
                ("Menurut bidang", "bidang", counts.by_unit),
                ("Menurut hasil", "hasil", counts.by_outcome),
            )
        ],
        compliance=bars(
            [
                (step_names[f.step], (f.within_standard or 0) * 100, percent(f.within_standard))
                for f in sla.steps
            ]
        ),
        skm_bars=bars([(f"{s.score} - {s.label}", s.count, str(s.count)) for s in skm.overall.scores]),
        percent=percent,
        minutes=minutes,
    )


NOT_ALLOWED = "Dasbor dan laporan hanya untuk pimpinan dan admin."
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@router.get("/dasbor/rekap")
def recap_download(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    bulan: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
    format: Annotated[str, Query(pattern="^(xlsx|csv|html)$")] = "xlsx",
) -> Response:
    """The monthly recap (the API's /reports/recap) for the signed-in officer's browser."""
    if user.role not in REPORT_ROLES:
        return forbidden(request, user, NOT_ALLOWED)
    first = date.fromisoformat(f"{bulan}-01")
    try:
        report_period(user, first, first)
    except InputError as exc:
        return page(request, "not_found.html.j2", user=user, status_code=422, message=exc.errors[0].message)
    result = recap.recap(session, first)
    if format == "html":
        return HTMLResponse(recap.render_page(result))
    body = recap.as_xlsx(result) if format == "xlsx" else recap.as_csv(result)
    return Response(
        body,
        media_type=FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="rekap-{bulan}.{format}"'},
    )
