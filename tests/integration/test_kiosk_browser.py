"""The kiosk page in a real browser (Debian's Chromium driven by Playwright), on both backends: a
kiosk enrolled by its one-time link files a complaint, the receipt's QR code decodes (zbarimg) to
the tracking link, a double tap or a resend files once, errors stand beside their fields, the idle
reset leaves nothing behind, a revoked kiosk is refused. No request leaves the server; axe-core
finds nothing serious; the receipt prints on one 80 mm strip; the form works with JavaScript off."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.integration.stack import PASSWORD, Stack, complaint_body, run_cli, serving
from tests.integration.test_console import axe_violations
from tests.support.gateway_server import unused_port

pytestmark = pytest.mark.integration

DEFAULT_BASE = "http://127.0.0.1:8000"  # ADUAN_PUBLIC_BASE_URL's default: the links' address
ZBARIMG = shutil.which("zbarimg") or "/usr/bin/zbarimg"
_counter = iter(range(1, 10_000))


def aduan(stack: Stack, *args: str) -> str:
    out = run_cli(stack.env, *args, "--data-dir", str(stack.data_dir))
    assert out.returncode == 0, out.stderr
    return out.stdout


def new_kiosk(stack: Stack) -> tuple[str, str]:
    """A kiosk made with `aduan kiosks add NAME --enrol`: its name and its enrolment link."""
    name = f"kios-{stack.name}-{next(_counter)}"
    printed = aduan(stack, "kiosks", "add", name, "--enrol")
    link = next(line for line in printed.splitlines() if "/kios/daftar/" in line).strip()
    # The CLI prints the link on ADUAN_PUBLIC_BASE_URL (unset here: the default address).
    assert link.startswith(f"{DEFAULT_BASE}/kios/daftar/")
    return name, link.replace(DEFAULT_BASE, stack.intake_url)


class Kiosk:
    """One kiosk browser (its own context, so its own cookie), every request it makes recorded."""

    def __init__(self, browser: Browser, stack: Stack, **options: Any) -> None:
        self.stack = stack
        # bypass_csp: axe-core is injected as an inline script, which the page's CSP forbids.
        options.setdefault("base_url", stack.intake_url)
        self.context: BrowserContext = browser.new_context(bypass_csp=True, **options)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page: Page = self.context.new_page()
        self.history = 0

    def enrol(self) -> str:
        name, link = new_kiosk(self.stack)
        page = self.page
        page.goto(link)
        expect(page.get_by_role("heading", name="Daftarkan perangkat ini sebagai kios")).to_be_visible()
        page.get_by_role("button", name=f"Daftarkan sebagai kios {name}").click()
        expect(page.get_by_role("heading", name="Sampaikan pengaduan Anda")).to_be_visible()
        # A fresh tab: history holds the form alone, as on a kiosk that was just switched on.
        page.close()
        self.page = self.context.new_page()
        self.page.goto("/kios")
        self.history = self.page.evaluate("history.length")
        return name

    def close(self) -> None:
        foreign = [u for u in self.requests if not u.startswith(self.stack.intake_url)]
        self.context.close()
        assert foreign == [], f"requests left the server: {foreign}"


@pytest.fixture
def kiosk(browser: Browser, stack: Stack) -> Iterator[Kiosk]:
    k = Kiosk(browser, stack, viewport={"width": 1080, "height": 1920})
    yield k
    k.close()


def fill(page: Page, subject: str, **overrides: str) -> None:
    values = {
        "Nama lengkap": "Siti Aminah",
        "NIK (Nomor Induk Kependudukan)": "3307 0152 0390 0001",
        "Nomor telepon atau HP": "0812-3456-7890",
        "Alamat e-mail": "siti@example.co.id",
        "Pokok pengaduan": subject,
        "Uraian pengaduan": "Perusahaan tempat saya bekerja belum membayar THR tahun ini.",
        **overrides,
    }
    for label, value in values.items():
        page.get_by_label(label, exact=False).first.fill(value)
    page.get_by_label("WhatsApp").check()
    page.get_by_label("Saya telah membaca pernyataan di atas").check()


# What a finger touches: buttons, links, fields and the labels of the radio buttons and checkbox.
_SMALL_TARGETS = """() => {
  const targets = [...document.querySelectorAll(
    'main button, main a, main input:not([type=hidden]):not([type=radio]):not([type=checkbox]),'
    + ' main select, main textarea, main label.choice')]
    .filter(e => e.offsetParent !== null && !e.closest('.trap'));
  const small = targets.filter(e => {
    const r = e.getBoundingClientRect();
    return r.width < 44 || r.height < 44;
  }).map(e => e.outerHTML.slice(0, 60));
  return [targets.length, small];
}"""


def small_targets(page: Page) -> list[str]:
    """Touch targets on the page smaller than 44 x 44 CSS px (of the many the page has)."""
    seen, small = page.evaluate(_SMALL_TARGETS)
    assert seen >= 10, seen  # the form's fields and choices
    return list(small)


def complaints_with(stack: Stack, subject: str) -> list[Any]:
    return stack.sql("SELECT ticket, channel, kiosk_id FROM complaints WHERE subject = :s", s=subject)


def decode_qr(page: Page, tmp: Path) -> str:
    """The receipt's QR code as zbarimg reads it from a screenshot."""
    image = tmp / "qr.png"
    page.locator(".qr-box svg").screenshot(path=str(image))
    out = subprocess.run([ZBARIMG, "--raw", "-q", str(image)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_citizen_files_at_the_kiosk_and_takes_the_receipt(
    stack: Stack, kiosk: Kiosk, tmp_path: Path
) -> None:
    kiosk.enrol()
    page = kiosk.page
    assert page.locator("html").get_attribute("lang") == "id"
    assert axe_violations(page) == []
    assert small_targets(page) == []
    subject = f"THR belum dibayar {stack.name} {next(_counter)}"
    fill(page, subject)
    page.get_by_label("Kategori pengaduan").select_option("thr")
    page.get_by_role("button", name="Kirim pengaduan").click()

    expect(page.get_by_role("heading", name="Tanda terima pengaduan")).to_be_visible()
    ticket = page.locator("[data-ticket]").inner_text().strip()
    code = page.locator("[data-tracking-code]").inner_text().strip()
    assert re.fullmatch(r"ADU-\d{4}-\d{6}", ticket) and len(code) == 8
    html = page.content()
    assert "akan diverifikasi petugas paling lambat" in html
    assert re.search(
        r"(Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu), \d+ \w+ \d{4} pukul \d\d\.\d\d WIB", html
    )
    assert page.url.endswith("/kios")  # nothing of the citizen's in the address
    assert axe_violations(page) == []
    [(filed_ticket, channel, _kiosk)] = complaints_with(stack, subject)
    assert (filed_ticket, channel) == (ticket, "kiosk")

    # The QR code is the tracking link, which opens the tracking page.
    link = decode_qr(page, tmp_path)
    assert link == f"{stack.intake_url}/api/v1/track/{ticket}?code={code}&format=html"
    tracked = httpx.get(link)
    assert tracked.status_code == 200 and ticket in tracked.text

    # One 80 mm strip; after printing the page resets itself.
    pdf = page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.get_by_role("button", name="Cetak tanda terima").click()
    assert_reset(page, ticket, subject, kiosk.history)


def assert_reset(page: Page, ticket: str, subject: str, history: int) -> None:
    """Back to an empty form: nothing of the citizen's in the page or in the tab's history."""
    expect(page.get_by_role("heading", name="Sampaikan pengaduan Anda")).to_be_visible(timeout=10_000)
    html = page.content()
    assert ticket not in html and "Siti Aminah" not in html and subject not in html
    assert page.evaluate("history.length") == history  # the form's entry alone, as before filing
    assert page.get_by_label("Nama lengkap").input_value() == ""


def test_a_double_tap_and_a_resend_file_one_complaint(stack: Stack, kiosk: Kiosk) -> None:
    kiosk.enrol()
    page = kiosk.page
    subject = f"Upah di bawah UMK {stack.name} {next(_counter)}"
    fill(page, subject)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
    page.get_by_role("button", name="Kirim pengaduan").dblclick()
    expect(page.get_by_role("heading", name="Tanda terima pengaduan")).to_be_visible()
    ticket = page.locator("[data-ticket]").inner_text().strip()
    # The same form sent again (a retry after a network error): the same receipt, no new complaint.
    again = kiosk.context.request.post(
        "/kios", data=posts[0], headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert again.status == 200 and ticket in again.text()
    assert [row[0] for row in complaints_with(stack, subject)] == [ticket]

    # The idle reset (shortened here from ADUAN_KIOSK_IDLE_RESET's 90 s).
    page.evaluate("document.body.setAttribute('data-idle-reset', '1')")
    page.mouse.click(5, 5)
    assert_reset(page, ticket, subject, kiosk.history)


def test_a_field_error_stands_beside_its_field_and_keeps_the_input(stack: Stack, kiosk: Kiosk) -> None:
    kiosk.enrol()
    page = kiosk.page
    subject = f"Salah isi {stack.name} {next(_counter)}"
    fill(page, subject, **{"NIK (Nomor Induk Kependudukan)": "12345"})
    page.get_by_label("Saya telah membaca pernyataan di atas").uncheck()
    page.get_by_role("button", name="Kirim pengaduan").click()

    error = page.locator("#f-complainant-nik-error")
    expect(error).to_contain_text("NIK harus terdiri dari 16 digit angka.")
    expect(page.locator("#f-consent-error")).to_contain_text("Centang persetujuan")
    expect(page.get_by_role("alert").first).to_contain_text("Ada isian yang perlu diperbaiki")
    assert page.get_by_label("NIK (Nomor Induk Kependudukan)").input_value() == "12345"
    assert page.get_by_label("Pokok pengaduan").input_value() == subject
    assert page.get_by_label("NIK (Nomor Induk Kependudukan)").get_attribute("aria-invalid") == "true"
    assert axe_violations(page) == []
    assert complaints_with(stack, subject) == []

    page.get_by_label("NIK (Nomor Induk Kependudukan)").fill("3307015203900001")
    page.get_by_label("Saya telah membaca pernyataan di atas").check()
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.get_by_role("heading", name="Tanda terima pengaduan")).to_be_visible()
    assert len(complaints_with(stack, subject)) == 1


def test_the_form_works_with_javascript_off(stack: Stack, browser: Browser) -> None:
    kiosk = Kiosk(browser, stack, java_script_enabled=False, viewport={"width": 1366, "height": 768})
    try:
        kiosk.enrol()
        page = kiosk.page
        subject = f"Tanpa JavaScript {stack.name} {next(_counter)}"
        fill(page, subject, **{"Nomor telepon atau HP": "bukan nomor"})
        page.get_by_role("button", name="Kirim pengaduan").click()
        expect(page.locator("#f-complainant-phone-error")).to_contain_text("Nomor telepon tidak valid")
        assert small_targets(page) == []  # the form with its error summary, at 1366x768
        page.get_by_label("Nomor telepon atau HP").fill("081234567890")
        page.get_by_role("button", name="Kirim pengaduan").click()
        expect(page.get_by_role("heading", name="Tanda terima pengaduan")).to_be_visible()
        assert page.get_by_role("button", name="Cetak tanda terima").count() == 0  # needs JavaScript
        assert len(complaints_with(stack, subject)) == 1
    finally:
        kiosk.close()


def test_a_revoked_kiosk_is_refused_and_an_enrolment_link_works_once(stack: Stack, browser: Browser) -> None:
    kiosk = Kiosk(browser, stack)
    try:
        name, link = new_kiosk(stack)
        page = kiosk.page
        page.goto(link)
        page.get_by_role("button", name=f"Daftarkan sebagai kios {name}").click()
        expect(page.get_by_role("heading", name="Sampaikan pengaduan Anda")).to_be_visible()
        assert httpx.get(link).status_code == 404  # used: a second opening enrols nobody
        cookies = kiosk.context.cookies()
        facts = [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies]
        assert facts == [("aduan_kios", True, "Strict")]

        subject = f"Kios dicabut {stack.name} {next(_counter)}"
        fill(page, subject)
        aduan(stack, "kiosks", "revoke", name)
        page.get_by_role("button", name="Kirim pengaduan").click()
        expect(page.get_by_role("heading", name="Kios ini sudah dinonaktifkan")).to_be_visible()
        assert complaints_with(stack, subject) == []
        assert kiosk.context.request.get("/kios").status == 403
    finally:
        kiosk.close()
    # A browser never enrolled gets no form.
    bare = httpx.get(f"{stack.intake_url}/kios")
    assert bare.status_code == 403 and "belum terdaftar sebagai kios" in bare.text
    assert bare.headers["cache-control"] == "no-store"


def test_the_front_office_sees_earlier_complaints_by_the_same_person(
    stack: Stack, kiosk: Kiosk, browser: Browser
) -> None:
    nik = "3307016505850003"  # a woman born 25-05-1985; no other test files this one
    first = stack.file(
        complaint_body(
            complainant={"name": "Ani Lestari", "nik": nik, "phone": "081398765432"},
            subject=f"Pertama {stack.name} {next(_counter)}",
        )
    )
    assert first.status_code == 201, first.text
    # The second, at the kiosk, with the NIK typed with dots and another phone number.
    kiosk.enrol()
    page = kiosk.page
    subject = f"Kedua {stack.name} {next(_counter)}"
    fill(
        page,
        subject,
        **{"NIK (Nomor Induk Kependudukan)": "3307.0165.0585.0003", "Nomor telepon atau HP": "081311112222"},
    )
    page.get_by_role("button", name="Kirim pengaduan").click()
    second = page.locator("[data-ticket]").inner_text().strip()

    record = stack.record("fo", second)
    assert [(e["ticket"], e["matched_by"]) for e in record["earlier"]] == [(first.json()["ticket"], ["nik"])]
    assert stack.record("fo", first.json()["ticket"])["earlier"] == []

    staff = browser.new_context(base_url=stack.staff_url)
    try:
        console = staff.new_page()
        console.goto("/masuk")
        console.get_by_label("Nama pengguna").fill("fo")
        console.get_by_label("Kata sandi").fill(PASSWORD)
        console.get_by_role("button", name="Masuk").click()
        console.goto(f"/pengaduan/{second}")
        section = console.locator("section[aria-labelledby=h-earlier]")
        expect(section).to_contain_text("Pengaduan sebelumnya dari pengadu yang sama")
        expect(section.get_by_role("link", name=first.json()["ticket"])).to_be_visible()
        expect(section).to_contain_text("sama NIK")
    finally:
        staff.close()


def test_the_public_web_form_is_off_by_default_and_when_on_files_as_web(
    stack: Stack, browser: Browser
) -> None:
    assert httpx.get(f"{stack.intake_url}/lapor").status_code == 404
    env = {**stack.env, "ADUAN_PUBLIC_WEB_FORM": "true", "ADUAN_LIMIT_WEB_FORM_ADDRESS": "4/hour"}
    with serving("intake", env, stack.data_dir, unused_port()) as url:
        web = Kiosk(browser, stack, base_url=url)
        web.stack = replace(stack, intake_url=url)  # its requests go to this API
        try:
            page = web.page
            page.goto("/lapor")
            subject = f"Lewat web {stack.name} {next(_counter)}"
            fill(page, subject)
            assert page.locator("body").get_attribute("data-idle-reset") == "0"  # no reset at home
            page.get_by_role("button", name="Kirim pengaduan").click()  # post 1
            expect(page.get_by_role("heading", name="Tanda terima pengaduan")).to_be_visible()
            assert [row[1] for row in complaints_with(stack, subject)] == ["web"]

            # A robot fills the honeypot: refused, nothing filed (post 2).
            form = httpx.get(f"{url}/lapor", timeout=30)
            key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
            assert key is not None
            robot = {"idempotency_key": key[1], "website": "http://spam.example", "consent": "yes"}
            robot |= {"complainant.name": "Robot", "subject": f"Spam {stack.name}", "description": "spam"}
            r = httpx.post(f"{url}/lapor", data=robot, timeout=30)
            assert r.status_code == 422 and "Jangan isi kolom ini" in r.text
            assert complaints_with(stack, f"Spam {stack.name}") == []

            # Posts 3 and 4 are let through (with field errors); the fifth within the hour is not.
            for _ in range(2):
                assert httpx.post(f"{url}/lapor", data={"consent": "yes"}, timeout=30).status_code == 422
            r = httpx.post(f"{url}/lapor", data={"consent": "yes"}, timeout=30)
            assert r.status_code == 429 and "Silakan coba lagi dalam" in r.text
            assert int(r.headers["retry-after"]) > 0
        finally:
            web.close()


def test_a_network_error_keeps_the_form_and_sending_again_files_once(stack: Stack, kiosk: Kiosk) -> None:
    kiosk.enrol()
    page = kiosk.page
    subject = f"Jaringan putus {stack.name} {next(_counter)}"
    fill(page, subject)
    page.route(
        "**/kios",
        lambda route: (
            route.abort("internetdisconnected") if route.request.method == "POST" else route.continue_()
        ),
    )
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.locator("#network-error")).to_be_visible()
    expect(page.locator("#network-error")).to_contain_text("Isian Anda masih ada")
    assert page.get_by_label("Pokok pengaduan").input_value() == subject
    assert complaints_with(stack, subject) == []
    page.unroute("**/kios")
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.get_by_role("heading", name="Tanda terima pengaduan")).to_be_visible()
    assert len(complaints_with(stack, subject)) == 1
