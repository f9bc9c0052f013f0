"""The satisfaction survey (SKM): scale, index and grade, the report's figures, the citizen's link."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from services.routing.reports import satisfaction_csv, satisfaction_figures, satisfaction_report
from shared import survey
from shared.models import Complaint, Feedback
from shared.settings import get_settings
from tests.unit.conftest import T0, complaint_row


@pytest.mark.parametrize(
    ("index", "grade", "label"),
    [
        ("100.00", "A", "Sangat Baik"),
        ("88.31", "A", "Sangat Baik"),
        ("88.30", "B", "Baik"),
        ("76.61", "B", "Baik"),
        ("76.60", "C", "Kurang Baik"),
        ("65.00", "C", "Kurang Baik"),
        ("64.99", "D", "Tidak Baik"),
        ("25.00", "D", "Tidak Baik"),
    ],
)
def test_grade_boundaries_follow_the_regulation(index: str, grade: str, label: str) -> None:
    assert survey.grade(Decimal(index)) == (grade, label)


def test_an_index_below_the_scale_is_a_bug() -> None:
    with pytest.raises(ValueError, match="below 25"):
        survey.grade(Decimal("24.99"))


def test_index_is_the_average_times_25_rounded_half_up_once() -> None:
    assert survey.skm_index(0, 0) is None
    assert survey.skm_index(40, 10) == survey.Index(Decimal("4.000"), Decimal("100.00"), "A", "Sangat Baik")
    assert survey.skm_index(10, 10) == survey.Index(Decimal("1.000"), Decimal("25.00"), "D", "Tidak Baik")
    assert survey.skm_index(11, 3) == survey.Index(Decimal("3.667"), Decimal("91.67"), "A", "Sangat Baik")
    # Exactly halfway between two grades' intervals: 76.605 rounds up into B, 64.995 into C
    # (binary floats would put both a hair below).
    b = survey.skm_index(15321, 5000)
    c = survey.skm_index(12999, 5000)
    assert b is not None and (b.index, b.grade) == (Decimal("76.61"), "B")
    assert c is not None and (c.index, c.grade) == (Decimal("65.00"), "C")


def test_figures_of_an_empty_group_have_no_index() -> None:
    f = satisfaction_figures([])
    assert (f.closed, f.rated, f.response_rate) == (0, 0, None)
    assert (f.average, f.index, f.grade, f.grade_label) == (None, None, None, None)
    assert [(s.score, s.label, s.count) for s in f.scores] == [
        (1, "Tidak baik", 0),
        (2, "Kurang baik", 0),
        (3, "Baik", 0),
        (4, "Sangat baik", 0),
    ]


def test_figures_count_the_unrated_in_the_response_rate_only() -> None:
    f = satisfaction_figures([4, 3, None, 2], unit="hi_jamsos")
    assert (f.unit, f.closed, f.rated, f.response_rate) == ("hi_jamsos", 4, 3, 0.75)
    assert [s.count for s in f.scores] == [0, 1, 1, 1]
    assert (f.average, f.index, f.grade, f.grade_label) == (3.0, 75.0, "C", "Kurang Baik")


def _closed(session: Session, ticket: str, *, outcome: str, unit: str | None, minutes: int) -> Complaint:
    c = complaint_row(
        ticket=ticket,
        status="closed",
        step=None,
        outcome=outcome,
        category_code=None,
        complainant_name="Budi Santoso",
        phone=None,
        nik_masked="3307********0001",
        unit_code=unit,
        step_entered_at=None,
        step_due_at=None,
        updated_at=T0 + timedelta(minutes=minutes),
        closed_at=T0 + timedelta(minutes=minutes),
    )
    session.add(c)
    session.flush()
    return c


def _rate(session: Session, c: Complaint, score: int, comment: str | None, minutes: int) -> None:
    session.add(
        Feedback(complaint_id=c.id, score=score, comment=comment, created_at=T0 + timedelta(minutes=minutes))
    )
    session.flush()


def test_report_per_outcome_and_per_bidang_with_the_latest_comments(session: Session) -> None:
    a = _closed(session, "ADU-2026-900001", outcome="answered", unit="hi_jamsos", minutes=10)
    b = _closed(session, "ADU-2026-900002", outcome="answered", unit="penempatan", minutes=20)
    c = _closed(session, "ADU-2026-900003", outcome="rejected", unit=None, minutes=30)
    _closed(session, "ADU-2026-900004", outcome="answered", unit="hi_jamsos", minutes=40)  # not rated
    late = _closed(session, "ADU-2026-900005", outcome="answered", unit="hi_jamsos", minutes=3 * 24 * 60)
    _rate(session, a, 4, "Cepat dan jelas", 60)
    _rate(session, b, 3, None, 70)
    _rate(session, c, 1, '=HYPERLINK("http://x")', 80)
    _rate(session, late, 1, "di luar periode", 3 * 24 * 60 + 5)

    report = satisfaction_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1))
    o = report.overall
    assert (o.closed, o.rated, o.response_rate) == (4, 3, 0.75)
    assert [s.count for s in o.scores] == [1, 0, 1, 1]
    assert (o.average, o.index, o.grade) == (2.667, 66.67, "C")
    by_outcome = {f.outcome: (f.closed, f.rated, f.index) for f in report.by_outcome}
    assert by_outcome == {
        "answered_at_front_office": (0, 0, None),
        "answered": (3, 2, 87.5),
        "rejected": (1, 1, 25.0),
        "referred": (0, 0, None),
        "duplicate": (0, 0, None),
    }
    assert [(f.unit, f.closed, f.rated, f.grade) for f in report.by_unit] == [
        ("hi_jamsos", 2, 1, "A"),
        ("penempatan", 1, 1, "C"),  # all "Baik" (3) is 75.00: the regulation's table grades it C
        (None, 1, 1, "D"),
    ]
    assert [(x.ticket, x.score, x.comment) for x in report.comments] == [
        ("ADU-2026-900003", 1, '=HYPERLINK("http://x")'),
        ("ADU-2026-900001", 4, "Cepat dan jelas"),
    ]
    dumped = report.model_dump_json()
    assert "Budi" not in dumped and "3307" not in dumped  # no identity in the report

    text = satisfaction_csv(report)
    lines = text.splitlines()
    assert lines[0] == (
        "kelompok,nilai,ditutup,dinilai,tingkat_respons,skor_1,skor_2,skor_3,skor_4,nrr,ikm,mutu,kinerja"
    )
    assert lines[1] == "semua,,4,3,0.750,1,0,1,1,2.667,66.67,C,Kurang Baik"
    assert "bidang,-,1,1,1.000,1,0,0,0,1.000,25.00,D,Tidak Baik" in lines
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text  # never a live formula


def test_report_of_an_empty_period(session: Session) -> None:
    report = satisfaction_report(session, T0 + timedelta(days=400), T0 + timedelta(days=401))
    assert report.overall.closed == 0 and report.overall.index is None
    assert report.by_unit == [] and report.comments == []
    assert all(f.closed == 0 for f in report.by_outcome)
    assert satisfaction_csv(report).splitlines()[1] == "semua,,0,0,,0,0,0,0,,,,"


def test_feedback_url_is_built_on_the_public_base_url() -> None:
    settings = get_settings().model_copy(update={"public_base_url": "https://aduan.wonosobokab.go.id/"})
    assert survey.feedback_url(settings, "ADU-2026-000123", "K7QX2M9P") == (
        "https://aduan.wonosobokab.go.id/api/v1/track/ADU-2026-000123/feedback?code=K7QX2M9P"
    )
    odd = survey.feedback_url(settings, "A B/1", "X&Y=Z")
    assert odd.endswith("/api/v1/track/A%20B%2F1/feedback?code=X%26Y%3DZ")
