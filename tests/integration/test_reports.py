"""The reports over a month of known complaints, by the staff API on both backends: the JSON
figures (volume, SLA, satisfaction) and the period's bounds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from shared.settings import Settings
from tests.integration.conftest import BACKENDS, _make
from tests.integration.stack import Stack, running
from tests.support import report_data

pytestmark = pytest.mark.integration

PERIOD = {"from": report_data.FROM, "to": report_data.TO}


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An instance holding only the complaints of tests/support/report_data.py."""
    with running(_make(request.param, tmp_path_factory, redis_db=9)) as s:
        engine = create_engine(s.db_url)
        with Session(engine) as session, session.begin():
            report_data.seed(session, Settings(), b"tracking")
        engine.dispose()
        yield s


def _get(s: Stack, path: str, user: str = "kadis", **params: str) -> dict[str, object]:
    r = s.staff(user, "GET", path, params=params or PERIOD)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_volume_report(seeded: Stack) -> None:
    report_data.check_volume(_get(seeded, "/reports/volume"))


def test_sla_report_with_legal_clocks_and_what_is_open(seeded: Stack) -> None:
    report_data.check_sla(_get(seeded, "/reports/sla"))


def test_satisfaction_report(seeded: Stack) -> None:
    report_data.check_skm(_get(seeded, "/reports/satisfaction"))


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"from": "0001-01-01", "to": "9999-12-31"}, "query.from", "date_out_of_range"),
        ({"from": "2025-01-01", "to": "2100-01-01"}, "query.to", "date_out_of_range"),
        ({"from": "2024-01-01", "to": "2025-01-01"}, "query.to", "range_too_long"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "query.to", "range_reversed"),
    ],
)
def test_report_periods_are_bounded(seeded: Stack, params: dict[str, str], field: str, code: str) -> None:
    for path in ("/reports/volume", "/reports/sla", "/reports/satisfaction"):
        r = seeded.staff("kadis", "GET", path, params=params)
        assert r.status_code == 422, r.text
        first = r.json()["errors"][0]
        assert (first["field"], first["code"]) == (field, code)


def test_reports_are_for_the_leadership_only(seeded: Stack) -> None:
    assert seeded.staff("fo", "GET", "/reports/volume", params=PERIOD).status_code == 403
    assert seeded.staff("hi", "GET", "/reports/volume", params=PERIOD).status_code == 403
    _get(seeded, "/reports/volume", user="kasubag")


def test_monthly_recap_as_json_xlsx_csv_and_a_printable_page(seeded: Stack) -> None:
    month = {"month": report_data.MONTH}
    body = _get(seeded, "/reports/recap", **month)
    rows = body["rows"]
    assert isinstance(rows, list)
    report_data.check_recap_rows(rows)
    xlsx = seeded.staff("kadis", "GET", "/reports/recap", params={**month, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    assert 'filename="rekap-2025-10.xlsx"' in xlsx.headers["content-disposition"]
    report_data.check_recap_xlsx(xlsx.content)
    csv_text = seeded.staff("kasubag", "GET", "/reports/recap", params={**month, "format": "csv"}).text
    assert len(csv_text.strip().splitlines()) == 1 + len(report_data.EXPECTED["recap"])
    assert "'=HYPERLINK" not in csv_text  # comments are not in the recap; subjects are
    page = seeded.staff("kadis", "GET", "/reports/recap", params={**month, "format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Rekapitulasi Pengaduan Masyarakat &mdash; Oktober 2025" in page.text
    assert "size: A4 landscape" in page.text and page.text.count("<tr>") >= 1 + len(rows)


@pytest.mark.parametrize(
    ("month", "code"),
    [
        ("0000-01", "date_out_of_range"),
        ("9999-12", "date_out_of_range"),
        ("2025-13", "string_pattern_mismatch"),
        ("2025-00", "string_pattern_mismatch"),
        ("2025-1", "string_pattern_mismatch"),
    ],
)
def test_the_recap_month_is_checked(seeded: Stack, month: str, code: str) -> None:
    r = seeded.staff("kadis", "GET", "/reports/recap", params={"month": month})
    assert r.status_code == 422, r.text
    first = r.json()["errors"][0]
    assert (first["field"], first["code"]) == ("query.month", code)
    assert seeded.staff("fo", "GET", "/reports/recap", params={"month": "2025-10"}).status_code == 403
