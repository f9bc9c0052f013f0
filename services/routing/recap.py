"""The monthly recap (rekap bulanan): one row per complaint received in a month, and the month's
totals as the dashboard shows them, as a spreadsheet (XLSX), CSV or a printable page.

Every figure comes from the reports' own computations (services/routing/reports.py, volume.py):
the rows' office time and standard from the same stays as the SLA report, the totals from the
volume, SLA and SKM reports of the same month.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, time

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.routing import reports
from services.routing.reports import SatisfactionReport, SlaReport
from services.routing.volume import (
    NO_CATEGORY_LABEL,
    STEP_NAMES,
    VolumeReport,
    add_months,
    month_label,
    volume_report,
)
from shared import office, office_days
from shared.calendar import WIB
from shared.clock import calendar_for, now
from shared.complaint_in import CHANNEL_LABELS
from shared.models import Category, Complaint, Feedback, StayRecord, Unit
from shared.settings import get_settings
from shared.sop import OUTCOME_LABELS, Status, Step
from shared.when import long_time, short_time

CONFIDENTIAL_SUBJECT = "Rahasia"


class RecapRow(BaseModel):
    ticket: str
    received_at: datetime
    channel: str
    category: str
    subject: str  # "Rahasia" for a confidential complaint; never who complained
    unit: str | None  # the bidang it was disposed to
    status: str  # the outcome, or the step it waits at
    answered_at: datetime | None  # when it was closed
    office_minutes: float  # office time on the steps' clocks so far (waiting for documents excluded)
    within_standard: bool  # every step so far kept its time standard
    score: int | None  # the SKM rating (1-4), when the complainant gave one


class Recap(BaseModel):
    month: str  # YYYY-MM
    label: str  # "Oktober 2025"
    office: str
    office_address: str
    office_logo_url: str | None  # on the staff port, for the printable page
    rows: list[RecapRow]
    volume: VolumeReport
    sla: SlaReport
    satisfaction: SatisfactionReport


def month_period(month: date) -> tuple[datetime, datetime]:
    """[since, until) of a month's WIB days."""
    return datetime.combine(month, time(0), WIB), datetime.combine(add_months(month, 1), time(0), WIB)


def recap(session: Session, month: date) -> Recap:
    """The recap of the complaints received in `month` (its first day)."""
    since, until = month_period(month)
    settings = get_settings()
    calendar = calendar_for(settings, office_days.overrides(session))
    received = (Complaint.received_at >= since, Complaint.received_at < until)
    complaints = session.execute(
        select(Complaint, Feedback.score)
        .outerjoin(Feedback, Feedback.complaint_id == Complaint.id)
        .where(*received)
        .order_by(Complaint.received_at, Complaint.id)
    ).all()
    minutes: dict[int, float] = defaultdict(float)
    within: dict[int, bool] = defaultdict(lambda: True)
    standards = {s: reports.standard_minutes(settings, calendar, s) for s in Step}
    taken_per_stay = session.execute(
        select(StayRecord.complaint_id, StayRecord.step, StayRecord.office_minutes)
        .where(StayRecord.complaint_id.in_(select(Complaint.id).where(*received)))
        .order_by(StayRecord.history_id)
    )
    for complaint_id, step, taken in taken_per_stay:
        minutes[complaint_id] += taken
        standard = standards[Step(step)]
        if standard is not None and taken > standard:
            within[complaint_id] = False
    categories: dict[str, str] = {
        code: name for code, name in session.execute(select(Category.code, Category.name))
    }
    units: dict[str, str] = {code: name for code, name in session.execute(select(Unit.code, Unit.name))}
    rows = [
        RecapRow(
            ticket=c.ticket,
            received_at=c.received_at,
            channel=CHANNEL_LABELS.get(c.channel, c.channel),
            category=categories.get(c.category_code, c.category_code)
            if c.category_code
            else NO_CATEGORY_LABEL,
            subject=CONFIDENTIAL_SUBJECT if c.confidential else c.subject,
            unit=units.get(c.unit_code, c.unit_code) if c.unit_code else None,
            status=_status(c),
            answered_at=c.closed_at,
            office_minutes=round(minutes[c.id], 1),
            within_standard=within[c.id],
            score=score,
        )
        for c, score in complaints
    ]
    identity = office.identity(session)
    return Recap(
        month=f"{month:%Y-%m}",
        label=month_label(month),
        office=identity.name,
        office_address=identity.address,
        office_logo_url=identity.logo_url,
        rows=rows,
        volume=volume_report(session, since, until),
        sla=reports.sla_report(session, since, until),
        satisfaction=reports.satisfaction_report(session, since, until, comments=0),
    )


OUTCOMES = {o.value: label for o, label in OUTCOME_LABELS.items()}
STEP_LABELS = {s.value: label for s, label in STEP_NAMES.items()}


def _status(c: Complaint) -> str:
    """The outcome, or the step it waits at (a value this code does not know shows as stored)."""
    if c.status == Status.CLOSED and c.outcome:
        return OUTCOMES.get(c.outcome, c.outcome)
    return f"Dalam proses: {STEP_LABELS.get(c.step or '', c.step or '-')}"


# --- Presentations ---------------------------------------------------------------------------

COLUMNS = (
    # header, width (characters)
    ("No. tiket", 18),
    ("Tanggal diterima", 18),
    ("Saluran", 16),
    ("Kategori", 26),
    ("Perihal", 40),
    ("Bidang", 30),
    ("Status", 42),
    ("Tanggal dijawab", 18),
    ("Waktu layanan (menit kerja)", 14),
    ("Sesuai standar", 10),
    ("Nilai SKM", 9),
)
YES_NO = {True: "Ya", False: "Tidak"}
DATE_FORMAT = "dd/mm/yyyy hh:mm"


def _naive_wib(moment: datetime | None) -> datetime | None:
    """A spreadsheet cell has no time zone: the WIB wall time."""
    return moment.astimezone(WIB).replace(tzinfo=None) if moment else None


def _cells(row: RecapRow) -> list[object]:
    return [
        row.ticket,
        _naive_wib(row.received_at),
        row.channel,
        row.category,
        row.subject,
        row.unit or "-",
        row.status,
        _naive_wib(row.answered_at),
        row.office_minutes,
        YES_NO[row.within_standard],
        row.score,
    ]


def summary(r: Recap) -> list[tuple[str, list[tuple[str, object]]]]:
    """The month's totals as (section, [(label, value)]), the same figures the dashboard shows."""
    skm = r.satisfaction.overall
    return [
        (
            "Jumlah pengaduan",
            [("Diterima", r.volume.received), ("Masih dalam proses", r.volume.still_open)],
        ),
        ("Menurut hasil", [(c.label, c.count) for c in r.volume.by_outcome]),
        ("Menurut kategori", [(c.label, c.count) for c in r.volume.by_category]),
        ("Menurut saluran", [(c.label, c.count) for c in r.volume.by_channel]),
        ("Menurut bidang", [(c.label, c.count) for c in r.volume.by_unit]),
        (
            "Kepatuhan standar waktu per tahap (persen sesuai standar)",
            [(STEP_NAMES[Step(f.step)], _percent(f.within_standard)) for f in r.sla.steps if f.count],
        ),
        (
            "Jangka waktu menurut peraturan",
            [
                ("Tanggapan pertama tepat waktu", r.sla.legal.first_reply_on_time),
                ("Tanggapan pertama terlambat", r.sla.legal.first_reply_late),
                ("Keputusan tepat waktu", r.sla.legal.decision_on_time),
                ("Keputusan terlambat", r.sla.legal.decision_late),
            ],
        ),
        (
            "Survei kepuasan (SKM)",
            [
                ("Pengaduan selesai", skm.closed),
                ("Memberi penilaian", skm.rated),
                ("Indeks kepuasan", skm.index if skm.index is not None else "-"),
                ("Mutu pelayanan", f"{skm.grade} ({skm.grade_label})" if skm.grade else "-"),
            ],
        ),
    ]


def _percent(share: float | None) -> object:
    return round(share * 100, 1) if share is not None else "-"


def as_xlsx(r: Recap) -> bytes:
    """Sheet "Rekap": a header row, one row per complaint, dates as dates; sheet "Ringkasan": the
    month's totals."""
    book = Workbook()
    book.remove(book.worksheets[0])
    sheet = book.create_sheet("Rekap")
    sheet.append([header for header, _ in COLUMNS])
    bold, shade = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")
    for i, (_, width) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font, cell.fill = bold, shade
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(i)].width = width
    for row in r.rows:
        sheet.append([reports.safe_cell(v) if isinstance(v, str) else v for v in _cells(row)])
    for column in ("B", "H"):
        for cell in sheet[column][1:]:
            cell.number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions

    totals = book.create_sheet("Ringkasan")
    totals.append([f"Rekapitulasi pengaduan masyarakat bulan {r.label}"])
    totals.append([r.office])
    totals.append([r.office_address])
    totals["A1"].font = Font(bold=True, size=13)
    totals.column_dimensions["A"].width = 52
    totals.column_dimensions["B"].width = 16
    for section, lines in summary(r):
        totals.append([])
        totals.append([section])
        totals.cell(row=totals.max_row, column=1).font = bold
        for label, value in lines:
            totals.append([label, value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(r: Recap) -> str:
    """The rows, WIB times as `30-11-2026 14.05`; a cell never starts a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in COLUMNS])
    for row in r.rows:
        cells = _cells(row)
        cells[1], cells[7] = short_time(row.received_at), short_time(row.answered_at)
        writer.writerow([_text(v) for v in cells])
    return out.getvalue()


def _text(value: object) -> object:
    return reports.safe_cell(value) if isinstance(value, str) else "" if value is None else value


_pages = Environment(
    loader=PackageLoader("services.routing", "templates"), autoescape=select_autoescape(["html", "j2"])
)


def render_page(r: Recap) -> str:
    """The printable page (templates/recap.html.j2, A4 landscape)."""
    return _pages.get_template("recap.html.j2").render(_page_context(r))


def _page_context(r: Recap) -> dict[str, object]:
    return {
        "r": r,
        "columns": [header for header, _ in COLUMNS],
        "rows": [
            [
                row.ticket,
                short_time(row.received_at),
                row.channel,
                row.category,
                row.subject,
                row.unit or "-",
                row.status,
                short_time(row.answered_at),
                f"{row.office_minutes:g}",
                YES_NO[row.within_standard],
                row.score or "-",
            ]
            for row in r.rows
        ],
        "summary": summary(r),
        "made": long_time(now()),
    }
