"""A month of complaints with known figures, for the reports, the recap and the dashboard.

October 2025 (no holiday in it): seven complaints received over several steps, bidang, channels,
outcomes and ratings, each stay a known number of office minutes; three more in August, September
and November for the 12-month trend. Every clock, even the 60-day one, has long run out, so the
figures do not depend on the day the tests run. `EXPECTED` holds the numbers every presentation must
show; a test seeds with `seed(session)` into an empty database (the seeded units and categories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shared.clock import WIB, calendar_for
from shared.models import Complaint, Feedback, History
from shared.settings import Settings

MONTH = "2025-10"
FROM, TO = "2025-10-01", "2025-10-31"


@dataclass(frozen=True)
class Stay:
    step: str
    minutes: int  # office minutes on the clock
    action: str  # the action that ended it
    role: str
    to: str | None  # the next step; None: it closed the complaint
    detail: dict[str, Any] = field(default_factory=dict)
    paused_days: int = 0  # waited this many days for documents after `minutes // 3` minutes


FULL_PATH = ("verification", "review", "disposition", "drafting", "answer_review", "delivery")
ROLES = {
    "verification": ("forward", "front_office"),
    "review": ("forward", "kasubag_umum"),
    "disposition": ("dispose", "sekretaris"),
    "drafting": ("submit_answer", "bidang"),
    "answer_review": ("approve", "kasubag_umum"),
    "delivery": ("deliver", "front_office"),
}


def path(minutes: list[int], unit: str, *, closes: bool = True) -> list[Stay]:
    """The SOP's six steps (or as many as `minutes` has), disposed to `unit`."""
    stays = []
    for i, m in enumerate(minutes):
        step = FULL_PATH[i]
        action, role = ROLES[step]
        last = i == len(FULL_PATH) - 1
        detail: dict[str, Any] = {"unit": unit} if step == "disposition" else {}
        if last and closes:
            detail["outcome"] = "answered"
        stays.append(Stay(step, m, action, role, None if last else FULL_PATH[i + 1], detail))
    return stays


def closing(minutes: int, action: str, outcome: str, *, paused_days: int = 0) -> list[Stay]:
    """Closed at verification by the front office."""
    return [Stay("verification", minutes, action, "front_office", None, {"outcome": outcome}, paused_days)]


@dataclass(frozen=True)
class Case:
    ticket: str
    received: datetime
    channel: str
    category: str | None
    subject: str
    confidential: bool
    stays: list[Stay]
    score: int | None = None
    comment: str | None = None
    escalation_level: int = 0


def _wib(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=WIB)


CASES = [
    Case(
        "ADU-2025-000101",
        _wib(1, 8),
        "kiosk",
        "thr",
        "THR belum dibayar",
        True,
        path([10, 20, 30, 120, 5, 60], "hi_jamsos"),
        4,
        "Pelayanan cepat dan jelas.",
    ),
    Case(
        "ADU-2025-000102",
        _wib(2, 9),
        "walk_in",
        "penempatan",
        "Kartu AK.1 belum terbit",
        False,
        path([40, 10, 10, 600, 15, 30], "penempatan"),
        3,
    ),
    Case(
        "ADU-2025-000103",
        _wib(6, 8),
        "phone",
        "upah",
        "Upah di bawah UMK",
        False,
        closing(15, "resolve", "answered_at_front_office"),
        2,
    ),
    Case(
        "ADU-2025-000104",
        _wib(7, 10),
        "kiosk",
        "thr",
        "THR dipotong sepihak",
        True,
        closing(5, "reject", "rejected"),
        4,
    ),
    Case(
        "ADU-2025-000105",
        _wib(8, 8),
        "web",
        "thr",
        "Pesangon belum dibayar",
        True,
        path([20, 25, 35], "hi_jamsos", closes=False),
        escalation_level=1,
    ),
    Case(
        "ADU-2025-000106",
        _wib(9, 8),
        "letter",
        "lainnya",
        "Sengketa tanah warisan",
        False,
        closing(30, "refer", "referred", paused_days=20),
        1,
        '=HYPERLINK("x") kurang ditanggapi',
    ),
    Case(
        "ADU-2025-000107",
        _wib(13, 13, 30),
        "kiosk",
        None,
        "Pengaduan tanpa kategori",
        False,
        closing(25, "reject", "rejected"),
    ),
    # The trend: outside the period
    Case(
        "ADU-2025-000050",
        _wib(11, 9, month=8),
        "web",
        "thr",
        "Agustus",
        False,
        closing(5, "reject", "rejected"),
    ),
    Case(
        "ADU-2025-000080",
        _wib(10, 9, month=9),
        "kiosk",
        "thr",
        "September",
        True,
        closing(5, "reject", "rejected"),
    ),
    Case(
        "ADU-2025-000090",
        _wib(22, 9, month=9),
        "phone",
        "upah",
        "September",
        False,
        closing(5, "reject", "rejected"),
    ),
    Case(
        "ADU-2025-000120",
        _wib(3, 9, month=11),
        "kiosk",
        "thr",
        "November",
        False,
        closing(5, "reject", "rejected"),
    ),
]

# What every presentation of October 2025 must show.
EXPECTED: dict[str, Any] = {
    "received": 7,
    "still_open": 1,
    "trend": {"2025-08": 1, "2025-09": 2, "2025-10": 7, "2025-11": 0, "2024-11": 0},
    "by_outcome": {"answered": 2, "answered_at_front_office": 1, "rejected": 2, "referred": 1, "open": 1},
    "by_channel": {"kiosk": 3, "walk_in": 1, "phone": 1, "web": 1, "letter": 1},
    "by_category": {"thr": 3, "penempatan": 1, "upah": 1, "lainnya": 1, None: 1},
    "by_unit": {"hi_jamsos": 2, "penempatan": 1, None: 4},
    # step: (count, within standard, median, p90) in office minutes
    "steps": {
        "verification": (7, 6 / 7, 20.0, 40.0),
        "review": (3, 1.0, 20.0, 25.0),
        "disposition": (3, 2 / 3, 30.0, 35.0),
        "drafting": (2, 0.5, 360.0, 600.0),
        "answer_review": (2, 0.5, 10.0, 15.0),
        "delivery": (2, 1.0, 45.0, 60.0),
    },
    "drafting_by_unit": {"hi_jamsos": (1, 1.0, 120.0, 120.0), "penempatan": (1, 0.0, 600.0, 600.0)},
    # (on time, late, pending)
    "first_reply": (5, 2, 0),
    "decision": (6, 1, 0),
    "open_now": {"drafting": (1, 1, 1, 0)},  # open, overdue, escalated, paused
    "skm": {"closed": 6, "rated": 5, "scores": {1: 1, 2: 1, 3: 1, 4: 2}, "index": 70.0, "grade": "C"},
    # ticket: (subject shown, office minutes, within standard, score)
    "recap": {
        "ADU-2025-000101": ("Rahasia", 245, True, 4),
        "ADU-2025-000102": ("Kartu AK.1 belum terbit", 705, False, 3),
        "ADU-2025-000103": ("Upah di bawah UMK", 15, True, 2),
        "ADU-2025-000104": ("Rahasia", 5, True, 4),
        "ADU-2025-000105": ("Rahasia", 80, False, None),
        "ADU-2025-000106": ("Sengketa tanah warisan", 30, True, 1),
        "ADU-2025-000107": ("Pengaduan tanpa kategori", 25, True, None),
    },
}


def seed(session: Session, settings: Settings, tracking_code_enc: bytes) -> None:
    """Write CASES (complaints, their history and ratings) in the caller's transaction."""
    calendar = calendar_for(settings, {})
    for case in CASES:
        at = case.received.astimezone(UTC)
        complaint = Complaint(
            ticket=case.ticket,
            tracking_code_enc=tracking_code_enc,
            status="open",
            step="verification",
            version=1,
            handoff_pending=False,
            channel=case.channel,
            subject=case.subject,
            description="Uraian pengaduan.",
            category_code=case.category,
            waiting_on_site=False,
            preferred_reply="in_person",
            confidential=case.confidential,
            complainant_name="Pengadu Uji",
            received_at=at,
            step_entered_at=at,
            stay_started_at=at,
            updated_at=at,
            escalation_level=case.escalation_level,
        )
        session.add(complaint)
        session.flush()
        rows = [_row(complaint, at, "received", None, None, case.stays[0].step, {})]
        for stay in case.stays:
            entered = at
            if stay.paused_days:
                paused = calendar.add(at, timedelta(minutes=stay.minutes // 3))
                resumed = calendar.next_open(paused + timedelta(days=stay.paused_days))
                rows.append(_row(complaint, paused, "request_info", stay.role, stay.step, stay.step, {}))
                rows.append(_row(complaint, resumed, "info_received", stay.role, stay.step, stay.step, {}))
                at = calendar.add(resumed, timedelta(minutes=stay.minutes - stay.minutes // 3))
            else:
                at = calendar.add(entered, timedelta(minutes=stay.minutes))
            rows.append(_row(complaint, at, stay.action, stay.role, stay.step, stay.to, stay.detail))
            if "unit" in stay.detail:
                complaint.unit_code = stay.detail["unit"]
            if stay.to is not None:
                rows.append(_row(complaint, at, "queued", None, None, stay.to, {}))
                complaint.step, complaint.step_entered_at, complaint.stay_started_at = stay.to, at, at
            else:
                complaint.status, complaint.step, complaint.outcome = "closed", None, stay.detail["outcome"]
                complaint.closed_at = at
        if complaint.status == "open":
            standard = timedelta(days=1) if complaint.step == "drafting" else timedelta(minutes=30)
            complaint.step_due_at = calendar.add(at, calendar.budget(standard))
        complaint.updated_at = at
        session.add_all(rows)
        if case.score is not None:
            assert complaint.closed_at is not None
            session.add(
                Feedback(
                    complaint_id=complaint.id,
                    score=case.score,
                    comment=case.comment,
                    created_at=complaint.closed_at + timedelta(hours=1),
                )
            )
    session.flush()


def _row(
    c: Complaint,
    at: datetime,
    action: str,
    role: str | None,
    from_step: str | None,
    to_step: str | None,
    detail: dict[str, Any],
) -> History:
    return History(
        complaint_id=c.id,
        at=at,
        actor=role or "sistem",
        role=role,
        action=action,
        from_step=from_step,
        to_step=to_step,
        note=None,
        detail=detail or None,
        version=1,
    )


# --- Checks: the JSON of each report (or a model's model_dump(mode="json")) against EXPECTED ------


def check_volume(report: dict[str, Any]) -> None:
    assert (report["received"], report["still_open"]) == (EXPECTED["received"], EXPECTED["still_open"])
    order = [m["month"] for m in report["by_month"]]
    assert (order[0], order[-1], len(order)) == ("2024-11", "2025-10", 12)
    months = {m["month"]: m["count"] for m in report["by_month"]}
    for month, count in EXPECTED["trend"].items():
        assert months.get(month, 0) == count, (month, months)
    assert sum(months.values()) == 10
    for name in ("by_outcome", "by_channel", "by_category", "by_unit"):
        got = {c["key"]: c["count"] for c in report[name] if c["count"]}
        assert got == EXPECTED[name], (name, got)


def check_sla(report: dict[str, Any]) -> None:
    steps = {f["step"]: f for f in report["steps"]}
    for step, (count, within, median, p90) in EXPECTED["steps"].items():
        f = steps[step]
        assert (f["count"], f["median_minutes"], f["p90_minutes"]) == (count, median, p90), f
        assert abs(f["within_standard"] - within) < 1e-9, f
    units = {f["unit"]: f for f in report["drafting_by_unit"]}
    assert set(units) == set(EXPECTED["drafting_by_unit"])
    for unit, (count, within, median, p90) in EXPECTED["drafting_by_unit"].items():
        f = units[unit]
        assert (f["count"], f["within_standard"], f["median_minutes"], f["p90_minutes"]) == (
            count,
            within,
            median,
            p90,
        ), f
    legal = report["legal"]
    assert legal["received"] == EXPECTED["received"]
    for clock in ("first_reply", "decision"):
        on_time, late, pending = EXPECTED[clock]
        got = (legal[f"{clock}_on_time"], legal[f"{clock}_late"], legal[f"{clock}_pending"])
        assert got == (on_time, late, pending), (clock, got)
    now = {
        s["step"]: (s["open"], s["overdue"], s["escalated"], s["paused"]) for s in report["open_now"]["steps"]
    }
    assert {k: v for k, v in now.items() if v[0]} == EXPECTED["open_now"]


def check_skm(report: dict[str, Any]) -> None:
    overall = report["overall"]
    skm = EXPECTED["skm"]
    assert (overall["closed"], overall["rated"]) == (skm["closed"], skm["rated"])
    assert {s["score"]: s["count"] for s in overall["scores"]} == skm["scores"]
    assert {s["score"]: s["share"] for s in overall["scores"]} == {
        k: v / skm["rated"] for k, v in skm["scores"].items()
    }
    assert (overall["index"], overall["grade"]) == (skm["index"], skm["grade"])


def check_recap_rows(rows: list[dict[str, Any]]) -> None:
    """The recap's rows (JSON): every complaint received in the month, in order, as EXPECTED."""
    got = {
        r["ticket"]: (r["subject"], round(r["office_minutes"]), r["within_standard"], r["score"])
        for r in rows
    }
    assert got == EXPECTED["recap"]
    assert [r["ticket"] for r in rows] == sorted(EXPECTED["recap"])  # received in ticket order here
    closed = {r["ticket"]: r["answered_at"] is not None for r in rows}
    assert closed == {t: t != "ADU-2025-000105" for t in EXPECTED["recap"]}


def check_recap_xlsx(content: bytes) -> None:
    """The workbook read back: a header row, a row per complaint with dates as dates, and the totals."""
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Rekap", "Ringkasan"]
    sheet = book["Rekap"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "No. tiket" and "Nilai SKM" in header
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    got = {
        r["No. tiket"]: (
            r["Perihal"],
            round(float(str(r["Waktu layanan (menit kerja)"]))),
            r["Sesuai standar"] == "Ya",
            r["Nilai SKM"],
        )
        for r in rows
    }
    assert got == EXPECTED["recap"]
    first = rows[0]["Tanggal diterima"]
    assert isinstance(first, datetime) and (first.day, first.month, first.hour) == (1, 10, 8)  # WIB
    assert sheet.column_dimensions["E"].width >= 30 and sheet.freeze_panes == "A2"
    totals = {row[0].value: row[1].value for row in book["Ringkasan"].iter_rows() if len(row) > 1}
    assert (totals["Diterima"], totals["Masih dalam proses"]) == (
        EXPECTED["received"],
        EXPECTED["still_open"],
    )
    assert totals["Indeks kepuasan"] == EXPECTED["skm"]["index"]
