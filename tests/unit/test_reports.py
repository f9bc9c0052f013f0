"""The report figures over a month of known complaints (tests/support/report_data.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

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
