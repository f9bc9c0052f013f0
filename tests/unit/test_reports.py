"""The report figures over a month of known complaints (tests/support/report_data.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from services.routing import recap
from services.routing.reports import satisfaction_report, sla_report
from services.routing.volume import trend_months, volume_report
from shared.clock import WIB
from shared.settings import get_settings
from tests.support import report_data

SINCE = datetime(2025, 10, 1, tzinfo=WIB)
UNTIL = datetime(2025, 11, 1, tzinfo=WIB)


def _seeded(session: Session) -> None:
    report_data.seed(session, get_settings(), b"tracking")


def test_volume_per_month_category_channel_bidang_and_outcome(session: Session) -> None:
    _seeded(session)
    report_data.check_volume(volume_report(session, SINCE, UNTIL).model_dump(mode="json"))


def test_sla_per_step_and_bidang_legal_clocks_and_what_is_open(session: Session) -> None:
    _seeded(session)
    report_data.check_sla(sla_report(session, SINCE, UNTIL).model_dump(mode="json"))


def test_skm_index_grade_and_share_per_answer(session: Session) -> None:
    _seeded(session)
    report_data.check_skm(satisfaction_report(session, SINCE, UNTIL).model_dump(mode="json"))


def test_the_trend_is_the_twelve_months_ending_with_the_period() -> None:
    until = datetime.combine(date(2026, 1, 31) + timedelta(days=1), time(0), WIB)
    months = trend_months(until)
    assert (months[0], months[-1], len(months)) == (date(2025, 2, 1), date(2026, 1, 1), 12)


def test_the_recap_has_a_row_per_complaint_received_in_the_month(session: Session) -> None:
    _seeded(session)
    result = recap.recap(session, date(2025, 10, 1))
    report_data.check_recap_rows(result.model_dump(mode="json")["rows"])
    # the totals are the reports' own figures for the month
    report_data.check_volume(result.volume.model_dump(mode="json"))
    report_data.check_skm(result.satisfaction.model_dump(mode="json"))
    report_data.check_recap_xlsx(recap.as_xlsx(result))
    text = recap.as_csv(result)
    assert text.splitlines()[0].startswith("No. tiket,Tanggal diterima")
    assert "ADU-2025-000101,01-10-2025 08.00,Kios," in text and "THR belum dibayar" not in text
