"""The survey page in a real browser (Debian's Chromium driven by Playwright): the citizen opens the
link from the closing message, picks an answer, writes a comment and sends the form."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser

from tests.integration.stack import Stack

pytestmark = pytest.mark.integration


def test_a_citizen_rates_the_service_in_the_browser(stack: Stack, browser: Browser) -> None:
    filed = stack.file().json()
    ticket, code = filed["ticket"], filed["tracking_code"]
    stack.wait_in_queue("fo", ticket)
    r = stack.act("fo", ticket, "refer", 1, authority="Dinas Kesehatan", note="bukan kewenangan")
    assert r.status_code == 202, r.text
    track = httpx.get(f"{stack.intake_url}/api/v1/track/{ticket}", params={"code": code}).json()
    url = track["feedback_url"].replace("http://127.0.0.1:8000", stack.intake_url)

    page = browser.new_page()
    try:
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == "id"
        assert ticket in page.content()
        page.get_by_role("button", name="Kirim penilaian").click()  # nothing chosen: the browser says so
        assert page.locator("input[name=score]:checked").count() == 0
        assert "Terima kasih" not in page.content()
        page.locator("input[name=score][value='4']").check()
        page.locator("textarea[name=comment]").fill("Petugas ramah <b>sekali</b>")
        page.get_by_role("button", name="Kirim penilaian").click()
        page.wait_for_selector("text=Terima kasih atas penilaian Anda")
        assert page.locator("b", has_text="sekali").count() == 0  # the comment is text, not markup
    finally:
        page.close()

    after = httpx.get(f"{stack.intake_url}/api/v1/track/{ticket}", params={"code": code}).json()
    assert after["feedback"]["score"] == 4 and after["feedback_url"] is None
    record = stack.record("kasubag", ticket)
    assert record["feedback"]["comment"] == "Petugas ramah <b>sekali</b>"
