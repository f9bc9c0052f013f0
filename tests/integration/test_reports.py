"""The reports over a month of known complaints, by the staff API on both backends: the JSON
figures (volume, SLA, satisfaction) and the period's bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from shared.settings import Settings
from tests.integration.conftest import BACKENDS, _make
from tests.integration.stack import PASSWORD, Stack, running
from tests.integration.test_console import SHOTS, axe_violations
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


# --- the dashboard in a browser -------------------------------------------------------------------


def _signed_in(browser: Browser, s: Stack, username: str, requests: list[str], **options: Any) -> Page:
    context = browser.new_context(base_url=s.staff_url, accept_downloads=True, **options)
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    return page


def _table(page: Page, table_id: str) -> dict[str, str]:
    """A dashboard table's rows: the row header's text → the first number cell's text."""
    rows: dict[str, str] = page.eval_on_selector_all(
        f"#{table_id} tbody tr",
        "rows => Object.fromEntries(rows.filter(r => r.querySelector('th') && r.querySelector('td.num'))"
        ".map(r => [r.querySelector('th').dataset.month || r.querySelector('th').textContent.trim(),"
        " r.querySelector('td.num').textContent.trim()]))",
    )
    return rows


def test_the_dashboard_shows_the_reports_figures(seeded: Stack, browser: Browser) -> None:
    requests: list[str] = []
    page = _signed_in(browser, seeded, "kadis", requests, viewport={"width": 1366, "height": 768})
    page.get_by_role("link", name="Dasbor").click()
    expect(page.get_by_role("heading", name="Dasbor pengaduan")).to_be_visible()
    page.get_by_label("Dari tanggal").fill(report_data.FROM)
    page.get_by_label("Sampai tanggal").fill(report_data.TO)
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.locator("#n-received")).to_have_text(str(report_data.EXPECTED["received"]))
    expect(page.locator("#n-open")).to_have_text(str(report_data.EXPECTED["still_open"]))
    # each figure is the JSON report's, for the same period
    api = _get(seeded, "/reports/volume")
    for key, name in (
        ("kategori", "by_category"),
        ("saluran", "by_channel"),
        ("bidang", "by_unit"),
        ("hasil", "by_outcome"),
    ):
        items = api[name]
        assert isinstance(items, list)
        assert _table(page, f"per-{key}") == {c["label"]: str(c["count"]) for c in items}, key
    months = _table(page, "per-bulan")
    for month, count in report_data.EXPECTED["trend"].items():
        assert months.get(month, "0") == str(count), month
    sla = page.eval_on_selector_all(
        "#sla-tahap tbody tr",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.step, [...r.querySelectorAll('td.num')]"
        ".map(c => c.textContent.trim())]))",
    )
    for step, (count, within, median, p90) in report_data.EXPECTED["steps"].items():
        assert sla[step][:4] == [
            str(count),
            f"{within * 100:.1f}".replace(".", ",") + " %",
            f"{median:.0f}",
            f"{p90:.0f}",
        ], step
    legal = page.eval_on_selector_all(
        "#legal tbody tr",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.clock, [...r.querySelectorAll('td')]"
        ".map(c => Number(c.textContent))]))",
    )
    assert tuple(legal["first_reply"]) == report_data.EXPECTED["first_reply"]
    assert tuple(legal["decision"]) == report_data.EXPECTED["decision"]
    expect(page.locator("#n-skm")).to_have_text(f"{report_data.EXPECTED['skm']['index']}")
    skm = _table(page, "skm")
    assert {int(k[0]): int(v) for k, v in skm.items()} == report_data.EXPECTED["skm"]["scores"]
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "dashboard-1366.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh XLSX").click()
    report_data.check_recap_xlsx(Path(download.value.path()).read_bytes())
    assert download.value.suggested_filename == "rekap-2025-10.xlsx"
    page.get_by_role("link", name="Cetak rekap").click()
    expect(
        page.get_by_role("heading", name="Rekapitulasi Pengaduan Masyarakat — Oktober 2025")
    ).to_be_visible()
    pdf = page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF")
    page.go_back()

    page.get_by_label("Sampai tanggal").fill("2024-01-01")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.get_by_text("Tanggal akhir harus sesudah tanggal awal.")).to_be_visible()
    expect(page.get_by_label("Sampai tanggal")).to_have_value("2024-01-01")  # what was typed, kept
    page.context.close()
    assert [u for u in requests if not u.startswith(seeded.staff_url)] == []


def test_the_dashboard_is_for_the_leadership(seeded: Stack, browser: Browser) -> None:
    requests: list[str] = []
    page = _signed_in(browser, seeded, "fo", requests, viewport={"width": 390, "height": 844})
    expect(page.get_by_role("link", name="Dasbor")).to_have_count(0)
    response = page.goto("/dasbor")
    assert response is not None and response.status == 403
    # a refusal, not a complaint that went missing
    expect(page.get_by_role("heading", name="Tidak diizinkan")).to_be_visible()
    expect(page.get_by_text("Dasbor dan laporan hanya untuk pimpinan dan admin.")).to_be_visible()
    response = page.goto("/dasbor/rekap?bulan=2025-10&format=csv")
    assert response is not None and response.status == 403
    page.context.close()
    page = _signed_in(browser, seeded, "kasubag", requests, viewport={"width": 390, "height": 844})
    page.goto(f"/dasbor?dari={report_data.FROM}&sampai={report_data.TO}")
    expect(page.locator("#n-received")).to_have_text(str(report_data.EXPECTED["received"]))
    page.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
    page.context.close()
