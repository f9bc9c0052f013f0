"""The report figures over a month of known complaints (tests/support/report_data.py)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.routing import recap
from services.routing.reports import satisfaction_report, sla_report, whole_months
from services.routing.volume import trend_months, volume_report
from shared import stays
from shared.clock import WIB
from shared.models import StayMinutes, StayRecord
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


def test_sla_over_whole_months_and_the_days_around_them_counts_each_stay_once(session: Session) -> None:
    # 20 September .. 5 November: October from the monthly histogram, the days around it from the
    # stays themselves; every stay's office minutes rounded up to the whole minute either way
    _seeded(session)
    since, until = datetime(2025, 9, 20, tzinfo=WIB), datetime(2025, 11, 6, tzinfo=WIB)
    assert whole_months(since, until) == [date(2025, 10, 1)]
    minutes: dict[str, list[int]] = defaultdict(list)
    for step, left_at, office_minutes in session.execute(
        select(StayRecord.step, StayRecord.left_at, StayRecord.office_minutes)
    ):
        if since <= left_at < until:
            minutes[step].append(math.ceil(office_minutes))
    assert sum(map(len, minutes.values())) > sum(report_data.EXPECTED["steps"][s][0] for s in minutes)
    report = sla_report(session, since, until)
    for f in report.steps:
        found = sorted(minutes[f.step])
        assert f.count == len(found), f
        assert f.median_minutes == (statistics.median(found) if found else None), f
        assert f.p90_minutes == (found[math.ceil(0.9 * len(found)) - 1] if found else None), f


def test_sla_medians_are_of_whole_office_minutes_rounded_up(session: Session) -> None:
    _seeded(session)
    session.execute(update(StayRecord).values(office_minutes=StayRecord.office_minutes - 0.5))
    session.execute(delete(StayMinutes))
    stays.backfill_minutes(session.connection())
    # each stay half a minute shorter, each rounded up to the minute it had: the same figures
    report_data.check_sla(sla_report(session, SINCE, UNTIL).model_dump(mode="json"))


def test_whole_months_of_a_period() -> None:
    assert whole_months(SINCE, UNTIL) == [date(2025, 10, 1)]
    assert whole_months(SINCE + timedelta(days=1), UNTIL) == []
    assert whole_months(datetime(2025, 1, 1, tzinfo=WIB), datetime(2025, 3, 31, tzinfo=WIB)) == [
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
