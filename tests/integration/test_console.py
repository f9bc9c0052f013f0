"""The staff console in a real browser (Debian's Chromium driven by Playwright), on both backends,
with two staff API processes (ADUAN_API_WORKERS=2) as compose runs them.

Every page's requests are recorded: none may leave the server. axe-core (vendored in tests/support)
checks the pages for serious or critical accessibility violations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.integration.stack import PASSWORD, Stack, embedded_stack, postgres_stack, running
from tests.integration.test_survey_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.integration

AXE = Path(__file__).resolve().parents[1] / "support" / "axe" / "axe-4.10.2.min.js"
SHOTS = Path("/tmp/aduan-console-shots")  # noqa: S108 - screenshots for a person to look at
PASSWORDS: dict[str, str] = {}  # accounts whose password a test changed


@pytest.fixture(scope="module", params=["postgres", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp(f"console-{request.param}")
    extra = {"ADUAN_API_WORKERS": "2"}
    made = postgres_stack(folder, 15, extra) if request.param == "postgres" else embedded_stack(folder, extra)
    PASSWORDS.clear()
    with running(made) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


class Officer:
    """One officer's browser context, every request it makes recorded."""

    def __init__(self, browser: Browser, stack: Stack, username: str, **options: Any) -> None:
        self.stack = stack
        self.username = username
        self.context: BrowserContext = browser.new_context(base_url=stack.staff_url, **options)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page: Page = self.context.new_page()

    def sign_in(self, password: str | None = None, *, lands_on: str = "Antrean saya") -> Page:
        """Sign in (from the sign-in page the browser is on, or a fresh one)."""
        page = self.page
        if "/masuk" not in page.url:
            page.goto("/masuk")
        page.get_by_label("Nama pengguna").fill(self.username)
        page.get_by_label("Kata sandi").fill(password or PASSWORDS.get(self.username, PASSWORD))
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("heading", name=lands_on)).to_be_visible()
        return page

    def close(self) -> None:
        foreign = [u for u in self.requests if not u.startswith(self.stack.staff_url)]
        self.context.close()
        assert foreign == [], f"requests left the server: {foreign}"


@pytest.fixture
def officer(browser: Browser, stack: Stack) -> Iterator[Callable[..., Officer]]:
    opened: list[Officer] = []

    def open_(username: str, **options: Any) -> Officer:
        o = Officer(browser, stack, username, **options)
        opened.append(o)
        return o

    yield open_
    for o in opened:
        o.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# --- sign-in -------------------------------------------------------------------------------------


def test_sign_in_session_cookie_and_sign_out(stack: Stack, officer: Callable[..., Officer]) -> None:
    o = officer("kasubag", viewport={"width": 1366, "height": 768})
    page = o.page
    page.goto("/")
    assert page.url.endswith("/masuk"), "the queue needs a signed-in officer"
    assert page.locator("html").get_attribute("lang") == "id"
    assert axe_violations(page) == []
    page.get_by_label("Nama pengguna").fill("kasubag")
    page.get_by_label("Kata sandi").fill("bukan-sandinya")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")
    assert page.get_by_label("Nama pengguna").input_value() == "kasubag"
    shot(page, f"masuk-{stack.name}")

    o.sign_in()
    [cookie] = [c for c in o.context.cookies() if c["name"] == "aduan_sesi"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    left = datetime.fromtimestamp(cookie["expires"], UTC) - datetime.now(UTC)
    assert timedelta(hours=7, minutes=58) < left <= timedelta(hours=8)  # ADUAN_TOKEN_TTL's default

    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk ke Konsol Petugas")).to_be_visible()
    assert not [c for c in o.context.cookies() if c["name"] == "aduan_sesi"]
    page.goto("/kata-sandi")
    assert "/masuk?lanjut=/kata-sandi" in page.url


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(stack: Stack) -> None:
    with httpx.Client(base_url=stack.staff_url, timeout=10) as client:
        sign_in_form = client.get("/masuk")
        csrf = sign_in_form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = client.post("/masuk", data={"username": "sekdis", "password": PASSWORD})
        assert refused.status_code == 403 and "Formulir ditolak" in refused.text
        assert "aduan_sesi" not in client.cookies
        signed = client.post("/masuk", data={"username": "sekdis", "password": PASSWORD, "csrf": csrf})
        assert signed.status_code == 303 and "aduan_sesi" in client.cookies
        change = {"current": PASSWORD, "new": "sandi-baru-sekali", "repeated": "sandi-baru-sekali"}
        assert client.post("/kata-sandi", data=change).status_code == 403
        assert client.post("/kata-sandi", data={**change, "csrf": "0" * 64}).status_code == 403
        assert client.post("/keluar", data={}).status_code == 403
        assert client.get("/").status_code == 200  # still signed in
    stack.login("sekdis", PASSWORD)  # the password did not change


def test_an_officer_changes_the_password(stack: Stack, officer: Callable[..., Officer]) -> None:
    page = officer("penempatan").sign_in()
    page.get_by_role("link", name="Kata sandi").click()
    page.get_by_label("Kata sandi saat ini").fill("salah-sekali")
    page.get_by_label("Kata sandi baru (minimal 8 karakter)").fill("pendek")
    page.get_by_label("Ulangi kata sandi baru").fill("pendek")
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.locator(".field-error")).to_have_text(["Galat: Kata sandi saat ini salah."])
    page.get_by_label("Kata sandi saat ini").fill(PASSWORD)
    page.get_by_label("Kata sandi baru (minimal 8 karakter)").fill("sandi-penempatan-2")
    page.get_by_label("Ulangi kata sandi baru").fill("sandi-penempatan-2")
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_role("status")).to_have_text("Kata sandi sudah diganti.")
    PASSWORDS["penempatan"] = "sandi-penempatan-2"
    stack.login("penempatan", "sandi-penempatan-2")


def test_staff_mail_links_open_the_console_and_the_api_is_unchanged(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    o = officer("fo")
    o.page.goto(f"/api/v1/complaints/{ticket}")  # the link in a staff e-mail
    assert o.page.url.endswith(f"/masuk?lanjut=/pengaduan/{ticket}")
    page = o.sign_in(lands_on=f"{ticket} · THR belum dibayar")
    expect(page.get_by_text("3307********0001")).to_be_visible()  # the NIK, masked
    assert "3307015203900001" not in page.content()

    html = {"Accept": "text/html,application/xhtml+xml"}
    bearer = {**html, "Authorization": f"Bearer {stack.tokens['fo']}"}
    api = httpx.get(f"{stack.staff_url}/api/v1/complaints/{ticket}", headers=bearer)
    assert api.status_code == 200 and api.json()["ticket"] == ticket
    assert httpx.get(f"{stack.staff_url}/api/v1/complaints/{ticket}").status_code == 401
    js = httpx.get(f"{stack.staff_url}/static/htmx-2.0.4.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)
