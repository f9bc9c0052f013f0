"""The staff console in a real browser (Debian's Chromium driven by Playwright), on both backends,
with two staff API processes (ADUAN_API_WORKERS=2) as compose runs them on PostgreSQL (the embedded
default serves both APIs from one process and does not use the setting).

Every page's requests are recorded: none may leave the server. axe-core (vendored in tests/support)
checks the pages for serious or critical accessibility violations.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.integration.stack import (
    FORWARD,
    PASSWORD,
    Stack,
    complaint_body,
    embedded_stack,
    postgres_stack,
    run_cli,
    running,
)
from tests.integration.test_flow import ANSWER, advance
from tests.integration.test_nik_at_rest import _every_row, _text

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


# --- the main path, by clicking and typing ---------------------------------------------------------


def take(
    page: Page,
    action: str,
    *,
    fill: dict[str, str] | None = None,
    tick: tuple[str, ...] = (),
    choose: dict[str, str] | None = None,
) -> None:
    """Open an action's form on the complaint's page, fill it in as an officer would, and send it."""
    box = page.locator(f"#tindakan-{action}")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for label in tick:
        box.get_by_label(label, exact=True).check()
    for label, option in (choose or {}).items():
        box.get_by_label(label, exact=True).select_option(label=option)
    for label, text in (fill or {}).items():
        box.get_by_label(label, exact=True).fill(text)
    box.locator("button[type=submit]").click()


def open_from_queue(page: Page, ticket: str) -> None:
    """Wait on the open queue page until the complaint shows (no reload), then open it."""
    link = page.get_by_role("link", name=ticket, exact=True)
    expect(link).to_be_visible(timeout=20_000)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket)


def done(page: Page, title: str) -> None:
    expect(page.get_by_role("status")).to_contain_text(f"Tindakan “{title}” sudah dicatat.")


def pdf_pages(pdf: bytes) -> list[tuple[float, float, str]]:
    """Each page of a PDF as (width mm, height mm, its text)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for p in doc:
            w, h = p.get_size()
            out.append((w * 25.4 / 72, h * 25.4 / 72, p.get_textpage().get_text_bounded()))
        return out
    finally:
        doc.close()


def qr_of_pdf(pdf: bytes, folder: Path) -> str:
    """What the QR code on the PDF's first page says, read by zbarimg from a 300 dpi rendering."""
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=300 / 72).to_pil()
    finally:
        doc.close()
    png = folder / "sheet.png"
    image.save(png)
    read = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, check=False, timeout=60
    )
    assert read.returncode == 0, read.stderr
    return read.stdout.strip()


def test_a_complaint_through_all_six_steps_only_in_the_console(
    stack: Stack, officer: Callable[..., Officer], tmp_path: Path
) -> None:
    ticket = stack.file().json()["ticket"]
    office = {"viewport": {"width": 1366, "height": 768}}

    fo = officer("fo", **office).sign_in()
    open_from_queue(fo, ticket)
    assert axe_violations(fo) == []
    shot(fo, f"pengaduan-{stack.name}")
    take(
        fo,
        "forward",
        tick=("Identitas pengadu sudah diperiksa dan sesuai",),
        fill={"Dokumen identitas yang diperiksa": "KTP asli"},
    )
    done(fo, "Teruskan")

    kasubag = officer("kasubag", **office).sign_in()
    open_from_queue(kasubag, ticket)
    take(kasubag, "forward", fill={"Catatan (tidak wajib)": "Lengkap."})
    done(kasubag, "Teruskan")

    sekdis_officer = officer("sekdis", **office)
    sekdis = sekdis_officer.sign_in()
    sekdis.get_by_role("link", name="Profil").click()  # the name, jabatan and NIP the sheet prints
    sekdis.get_by_label("Nama lengkap (dengan gelar)").fill("Dra. Sri Wahyuni, M.M.")
    sekdis.get_by_label("Jabatan").fill("Sekretaris Dinas")
    sekdis.get_by_label("NIP (18 angka)").fill("1970 0101")
    sekdis.get_by_role("button", name="Simpan profil").click()
    expect(sekdis.locator(".field-error")).to_have_text(["Galat: NIP terdiri dari 18 angka."])
    assert sekdis.get_by_label("Jabatan").input_value() == "Sekretaris Dinas"
    sekdis.get_by_label("NIP (18 angka)").fill("19700101 199003 2 005")
    sekdis.get_by_role("button", name="Simpan profil").click()
    expect(sekdis.get_by_role("status")).to_have_text("Profil sudah disimpan.")
    sekdis.get_by_role("link", name="Antrean saya", exact=True).click()
    open_from_queue(sekdis, ticket)
    sekdis.locator("#tindakan-dispose summary").click()
    assert axe_violations(sekdis) == []
    shot(sekdis, f"disposisi-{stack.name}")
    take(
        sekdis,
        "dispose",
        choose={
            "Diteruskan kepada (bidang pelaksana)": "Bidang Penempatan Tenaga Kerja",
            "Sifat": "Segera",
        },
        tick=("Bidang Hubungan Industrial dan Jaminan Sosial", "Proses lebih lanjut", "Siapkan jawaban"),
        fill={
            "Instruksi lainnya (satu per baris)": "Panggil perusahaan",
            "Catatan (tidak wajib)": "Mohon diselesaikan minggu ini.",
        },
    )
    done(sekdis, "Disposisikan")
    agenda = stack.record("sekdis", ticket)["disposition"]["agenda_number"]
    sekdis.get_by_role("link", name=f"Cetak lembar disposisi {agenda}").click()
    expect(sekdis.get_by_role("heading", name="Lembar Disposisi")).to_be_visible()
    shot(sekdis, f"lembar-disposisi-{stack.name}")
    sheet = sekdis.content()
    for text in (
        agenda,
        ticket,
        "THR belum dibayar",
        "Bidang Penempatan Tenaga Kerja",
        "Panggil perusahaan",
        "Dra. Sri Wahyuni, M.M.",
        "NIP. 197001011990032005",
    ):
        assert text in sheet
    for paper, size in (("a4", (210, 297)), ("f4", (215, 330))):
        sekdis.goto(f"/pengaduan/{ticket}/lembar-disposisi/1?kertas={paper}")
        pdf = sekdis.pdf(prefer_css_page_size=True, print_background=True)
        pages = pdf_pages(pdf)
        assert len(pages) == 1, f"{paper}: {len(pages)} pages"
        width, height, text = pages[0]
        assert abs(width - size[0]) < 1 and abs(height - size[1]) < 1
        assert agenda in text and ticket in text
        assert qr_of_pdf(pdf, tmp_path) == f"{stack.staff_url}/pengaduan/{ticket}"

    bidang = officer("penempatan", **office).sign_in(PASSWORDS.get("penempatan"))
    open_from_queue(bidang, ticket)
    take(bidang, "submit_answer", fill={"Jawaban": "Perusahaan sudah kami panggil; THR dibayar 5 Desember."})
    done(bidang, "Serahkan draf jawaban")

    kasubag.goto("/")
    open_from_queue(kasubag, ticket)
    take(kasubag, "approve")
    done(kasubag, "Setujui jawaban")

    fo.goto("/")
    open_from_queue(fo, ticket)
    take(
        fo,
        "deliver",
        choose={"Cara penyampaian": "Telepon", "Hasil penyampaian (tidak wajib)": "Tersampaikan"},
        fill={"Diterima oleh (tidak wajib)": "Siti Aminah sendiri"},
    )
    done(fo, "Catat penyampaian jawaban")
    expect(fo.get_by_text("Selesai - jawaban telah disampaikan")).to_be_visible()
    record = stack.record("fo", ticket)
    assert record["status"] == "closed" and record["outcome"] == "answered"
    fo.get_by_role("link", name="Arsip lengkap (untuk dicetak)").click()
    expect(fo.get_by_role("heading", name="Arsip Pengaduan Masyarakat")).to_be_visible()
    expect(fo.get_by_text("Selesai (diarsipkan)")).to_be_visible()
    assert len(pdf_pages(fo.pdf(prefer_css_page_size=True))) >= 1


# --- the other roles, lists and guards ---------------------------------------------------------------


def test_the_kepala_dinas_reads_every_complaint_and_gets_no_forms(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    page = officer("kadis").sign_in(lands_on="Semua pengaduan")
    page.get_by_label("Cari nomor tiket atau perihal").fill(ticket)
    page.get_by_role("button", name="Terapkan").click()
    page.get_by_role("link", name=ticket, exact=True).click()
    expect(page.get_by_text("Peran Anda hanya dapat membaca pengaduan.").first).to_be_visible()
    assert page.locator("form[action*='/tindakan/']").count() == 0
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, f"pengaduan-ponsel-{stack.name}")


def test_a_bidang_of_another_unit_gets_404_and_reads_only_its_own(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    version = advance(stack, ticket, 2)
    dispose = {"unit": "hi_jamsos", "instructions": ["Siapkan jawaban"], "urgency": "biasa"}
    assert stack.act("sekdis", ticket, "dispose", version, **dispose).status_code == 202
    stack.wait_in_queue("hi", ticket)
    other = officer("penempatan").sign_in(PASSWORDS.get("penempatan"))
    response = other.goto(f"/pengaduan/{ticket}")
    assert response is not None and response.status == 404
    expect(other.get_by_role("heading", name="Pengaduan tidak ditemukan")).to_be_visible()
    hi = officer("hi").sign_in()
    hi.get_by_role("link", name="Pengaduan bidang").click()
    expect(hi.get_by_role("link", name=ticket, exact=True)).to_be_visible()


def test_a_stale_form_says_another_officer_was_first_and_shows_the_fresh_state(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    first, second = officer("fo").sign_in(), officer("fo2").sign_in()
    for page in (first, second):
        page.goto(f"/pengaduan/{ticket}")
    take(
        first,
        "forward",
        tick=("Identitas pengadu sudah diperiksa dan sesuai",),
        fill={"Dokumen identitas yang diperiksa": "KTP asli"},
    )
    done(first, "Teruskan")
    take(
        second,
        "reject",
        fill={"Alasan": "Bukan wewenang dinas"},
        tick=("Saya yakin: tindakan ini menutup pengaduan.",),
    )
    expect(second.get_by_role("alert")).to_contain_text("Pengaduan ini sudah diproses oleh petugas lain")
    expect(second.locator("dl.record").first).to_contain_text("Telaah")
    record = stack.record("fo", ticket)
    assert record["status"] == "open" and record["step"] == "review"


def test_closing_asks_for_confirmation_and_path_b_closes_at_the_desk(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    fo = officer("fo").sign_in()
    fo.goto(f"/pengaduan/{ticket}")
    answer = "Sesuai PP 36/2021, THR wajib dibayar paling lambat H-7."
    fill = {"Jawaban": answer}
    choose = {"Cara penyampaian jawaban": "Langsung di kantor"}
    tick = ("Identitas pengadu sudah diperiksa dan sesuai",)
    take(fo, "resolve", fill=fill, choose=choose, tick=tick)  # without the confirmation
    box = fo.locator("#tindakan-resolve")
    expect(box.locator(".field-error")).to_have_text(
        ["Galat: Centang untuk memastikan pengaduan ini ditutup."]
    )
    assert box.get_by_label("Jawaban", exact=True).input_value() == answer  # what was typed is kept
    assert stack.record("fo", ticket)["status"] == "open"
    take(fo, "resolve", tick=(*tick, "Saya yakin: tindakan ini menutup pengaduan."))
    done(fo, "Jawab langsung di loket")
    expect(fo.get_by_text("Selesai - dijawab langsung di loket pengaduan")).to_be_visible()
    fo.get_by_role("link", name="Tanda terima (untuk dicetak lagi)").click()  # the desk reprints it
    expect(fo.locator("[data-ticket]")).to_have_text(ticket)


def test_a_return_and_a_pause_for_documents(stack: Stack, officer: Callable[..., Officer]) -> None:
    ticket = stack.file().json()["ticket"]
    advance(stack, ticket, 1)
    kasubag = officer("kasubag").sign_in()
    kasubag.goto(f"/pengaduan/{ticket}")
    take(kasubag, "return", fill={"Alasan": "Fotokopi KTP belum ada"})
    done(kasubag, "Kembalikan")

    fo = officer("fo").sign_in()
    open_from_queue(fo, ticket)
    take(fo, "request_info", fill={"Alasan": "Bawa fotokopi KTP dan slip gaji"})
    done(fo, "Minta kelengkapan dari pengadu")
    fo.get_by_role("link", name="Antrean saya", exact=True).click()
    expect(fo.get_by_role("link", name=ticket, exact=True)).to_have_count(0)
    fo.get_by_role("link", name="Menunggu kelengkapan (waktu dihentikan)").click()
    open_from_queue(fo, ticket)
    take(fo, "info_received", fill={"Catatan (tidak wajib)": "Dokumen lengkap"})
    done(fo, "Kelengkapan sudah diterima")
    fo.get_by_role("link", name="Antrean saya", exact=True).click()
    expect(fo.get_by_role("link", name=ticket, exact=True)).to_be_visible()


def test_the_queue_page_shows_a_forwarded_complaint_within_2_s_without_a_reload(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    page = officer("kasubag", viewport={"width": 1366, "height": 768}).sign_in()
    assert axe_violations(page) == []
    page.evaluate("window.stillTheSamePage = true")
    r = stack.act("fo", ticket, "forward", 1, **FORWARD)
    assert r.status_code == 202, r.text
    stack.wait_in_queue("kasubag", ticket)  # in the queue (either API process answers)
    landed = time.monotonic()
    expect(page.get_by_role("link", name=ticket, exact=True)).to_be_visible(timeout=2_000)
    assert time.monotonic() - landed <= 2.0
    assert page.evaluate("window.stillTheSamePage") is True
    shot(page, f"antrean-{stack.name}")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, f"antrean-ponsel-{stack.name}")


def test_the_front_office_desk_escalations_and_the_archive(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    at_desk = stack.file().json()["ticket"]
    advance(stack, at_desk, 5)
    rejected = stack.file(complaint_body(subject="Pungli di loket AK.1")).json()["ticket"]
    r = stack.act("fo", rejected, "reject", 1, reason="Bukan pengaduan ketenagakerjaan")
    assert r.status_code == 202, r.text

    desk_officer = officer("fo", viewport={"width": 1366, "height": 768})
    fo = desk_officer.sign_in()
    fo.get_by_role("link", name="Penyampaian jawaban").click()
    desk = fo.get_by_role("article").filter(has=fo.get_by_role("link", name=at_desk, exact=True))
    expect(desk).to_contain_text("+6281234567890")
    expect(desk).to_contain_text(ANSWER)
    shot(fo, f"penyampaian-{stack.name}")
    fo.get_by_role("link", name="Pengingat & eskalasi").click()
    expect(fo.get_by_role("heading", name="Pengingat dan eskalasi untuk saya")).to_be_visible()

    fo.get_by_role("link", name="Arsip", exact=True).click()
    fo.get_by_label("Cari nomor tiket atau perihal").fill("pungli")
    fo.get_by_label("Hasil").select_option(label="Ditolak - bukan pengaduan yang dapat diproses")
    today = datetime.now(UTC).astimezone(timezone(timedelta(hours=7))).date().isoformat()
    fo.get_by_label("Diterima sejak").fill(today)
    fo.get_by_label("Diterima sampai").fill(today)
    fo.get_by_role("button", name="Cari").click()
    expect(fo.get_by_role("link", name=rejected, exact=True)).to_be_visible()
    expect(fo.get_by_role("link", name=at_desk, exact=True)).to_have_count(0)
    assert axe_violations(fo) == []
    with httpx.Client(base_url=stack.staff_url, cookies=cookie_jar(desk_officer)) as client:
        bad = client.get("/arsip", params={"dari": "2026-13-40"})
        assert bad.status_code == 422 and "Tanggal tidak valid" in bad.text


def test_an_action_posted_without_its_csrf_token_is_refused_and_writes_nothing(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    fo = officer("fo")
    fo.sign_in()
    with httpx.Client(base_url=stack.staff_url, cookies=cookie_jar(fo)) as client:
        form = {"version": "1", "identity_verified": "ya", "id_document": "KTP"}
        refused = client.post(f"/pengaduan/{ticket}/tindakan/forward", data=form)
        assert refused.status_code == 403 and "Formulir ditolak" in refused.text
        for bad in (  # bad input on the console's pages is a 4xx, never a 5xx
            "/semua?status=semua",
            "/semua?halaman=0",
            "/arsip?dari=2026-02-30",
            "/arsip?hasil=hilang",
            f"/pengaduan/{ticket}/lembar-disposisi/0",
            f"/pengaduan/{ticket}/lembar-disposisi/1",
            f"/pengaduan/{ticket}/arsip?kertas=a3",
            "/pengaduan/ADU-0000-000000",
            "/?daftar=semua",
        ):
            answer = client.get(bad)
            assert 400 <= answer.status_code < 500, (bad, answer.status_code)
    record = stack.record("fo", ticket)
    assert record["version"] == 1 and record["step"] == "verification" and len(record["history"]) == 1


def test_the_main_path_works_with_javascript_off(stack: Stack, officer: Callable[..., Officer]) -> None:
    ticket = stack.file().json()["ticket"]
    fo = officer("fo", java_script_enabled=False).sign_in()
    fo.get_by_role("link", name=ticket, exact=True).click()
    take(
        fo,
        "forward",
        tick=("Identitas pengadu sudah diperiksa dan sesuai",),
        fill={"Dokumen identitas yang diperiksa": "KTP asli"},
    )
    done(fo, "Teruskan")
    kasubag = officer("kasubag", java_script_enabled=False).sign_in()
    stack.wait_in_queue("kasubag", ticket)
    kasubag.reload()
    kasubag.get_by_role("link", name=ticket, exact=True).click()
    take(kasubag, "forward")
    done(kasubag, "Teruskan")


def cookie_jar(o: Officer) -> dict[str, str]:
    """The officer's browser cookies, for a hand-made request (as a forged form would come)."""
    return {c["name"]: c["value"] for c in o.context.cookies()}


def test_the_admin_edits_the_instruction_list_and_the_disposition_form_follows(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    made = run_cli(
        stack.env,
        *("users", "add", "admin-konsol", "--role", "admin", "--password-stdin"),
        *("--data-dir", str(stack.data_dir)),
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    admin = officer("admin-konsol").sign_in(lands_on="Semua pengaduan")
    admin.get_by_role("link", name="Instruksi disposisi").click()
    listed = admin.get_by_label("Instruksi (satu per baris)")
    seeded = listed.input_value()
    assert seeded.splitlines()[0] == "Tanggapan dan saran" and len(seeded.splitlines()) == 5
    listed.fill("Cek lapangan\ncek lapangan")
    admin.get_by_role("button", name="Simpan daftar").click()
    expect(admin.locator(".field-error")).to_have_text(["Galat: Ada instruksi yang tertulis dua kali."])
    admin.get_by_label("Instruksi (satu per baris)").fill(seeded + "\nCek lapangan")
    admin.get_by_role("button", name="Simpan daftar").click()
    expect(admin.get_by_role("status")).to_have_text("Daftar instruksi sudah disimpan.")

    ticket = stack.file().json()["ticket"]
    advance(stack, ticket, 2)
    sekdis_officer = officer("sekdis")
    sekdis = sekdis_officer.sign_in()
    sekdis.goto(f"/pengaduan/{ticket}")
    sekdis.locator("#tindakan-dispose summary").click()
    expect(sekdis.locator("#tindakan-dispose").get_by_label("Cek lapangan", exact=True)).to_be_visible()
    with httpx.Client(base_url=stack.staff_url, cookies=cookie_jar(sekdis_officer)) as client:
        csrf = client.get("/instruksi-disposisi").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = client.post("/instruksi-disposisi", data={"csrf": csrf, "instructions": "Sesuka hati"})
        assert refused.status_code == 403
    admin.get_by_label("Instruksi (satu per baris)").fill(seeded)  # as the other tests expect it
    admin.get_by_role("button", name="Simpan daftar").click()
    expect(admin.get_by_role("status")).to_have_text("Daftar instruksi sudah disimpan.")


# --- the front desk: "Pengaduan baru" ---------------------------------------------------------------

DESK_NIK = "3307015203900002"


def fill_desk(page: Page, subject: str, *, nik: str, phone: str = "081234567891") -> None:
    """Type a complainant and a complaint into the desk's form, as an officer would."""
    page.get_by_label("Nama lengkap").fill("Bambang Sutrisno")
    page.get_by_label("NIK (Nomor Induk Kependudukan) (tidak wajib)").fill(nik)
    page.get_by_label("Nomor telepon atau HP (tidak wajib)").fill(phone)
    page.get_by_label("Kategori pengaduan (tidak wajib)").select_option("thr")
    page.get_by_label("Pokok pengaduan").fill(subject)
    page.get_by_label("Uraian pengaduan").fill("Perusahaan belum membayar THR kepada tiga puluh pekerja.")
    page.get_by_label(
        "Pengadu sudah mendapat penjelasan ini dan menyetujui pemrosesan data pribadinya."
    ).check()


def history_of(stack: Stack, ticket: str) -> list[tuple[str, str | None, str]]:
    return [
        (r.actor, r.role, r.action)
        for r in stack.sql(
            "SELECT h.actor, h.role, h.action FROM history h JOIN complaints c ON c.id = h.complaint_id "
            "WHERE c.ticket = :t ORDER BY h.id",
            t=ticket,
        )
    ]


def test_the_desk_files_a_walk_in_forwards_it_in_one_step_and_prints_the_tanda_terima(
    stack: Stack, officer: Callable[..., Officer], tmp_path: Path
) -> None:
    earlier = stack.file(
        complaint_body(complainant={"name": "Bambang", "nik": DESK_NIK}, preferred_reply="in_person")
    ).json()["ticket"]
    o = officer("fo", viewport={"width": 1366, "height": 768})
    fo = o.sign_in()
    fo.get_by_role("link", name="Pengaduan baru").click()
    expect(fo.get_by_role("heading", name="Pengaduan baru", level=1)).to_be_visible()
    assert fo.evaluate("document.activeElement.id") == "f-complainant-name"  # autofocus: type at once
    subject = f"THR belum dibayar (loket) {stack.name}"
    fill_desk(fo, subject, nik="3307.0152 0390 0002")  # typed from the KTP with dots and spaces
    earlier_box = fo.locator("#sebelumnya")
    expect(earlier_box.get_by_role("link", name=earlier)).to_be_visible()  # found while typing (htmx)
    assert fo.get_by_label("Datang langsung").is_checked()
    fo.get_by_label("Identitas pengadu sudah diperiksa dan sesuai").check()
    fo.get_by_label("Dokumen identitas yang diperiksa").fill("KTP asli")
    assert axe_violations(fo) == []
    shot(fo, f"pengaduan-baru-{stack.name}")
    fo.get_by_label("Pokok pengaduan").press("Enter")  # Enter submits

    expect(fo.get_by_role("heading", level=1)).to_contain_text("tercatat")
    ticket = fo.get_by_role("heading", level=1).inner_text().split()[1]
    expect(fo.get_by_text("sudah diverifikasi dan diteruskan ke Kasubag Umum")).to_be_visible()
    shot(fo, f"pengaduan-baru-tercatat-{stack.name}")
    [row] = stack.sql("SELECT channel, kiosk_id, step, version FROM complaints WHERE ticket = :t", t=ticket)
    assert (row.channel, row.kiosk_id, row.step, row.version) == ("walk_in", None, "review", 2)
    assert history_of(stack, ticket)[:2] == [
        ("fo", "front_office", "received"),
        ("fo", "front_office", "forward"),
    ]
    assert not [u for u in o.requests if "3307" in u]  # the NIK never went into a URL
    expect(fo.get_by_role("link", name=earlier)).to_be_visible()  # and again on the result page

    # The tanda terima: one page on A4, F4 and an 80 mm strip, its QR code the tracking link.
    fo.get_by_role("link", name="Cetak tanda terima (A4)").click()
    expect(fo.get_by_role("heading", name="Tanda Terima Pengaduan")).to_be_visible()
    code = fo.locator("[data-tracking-code]").inner_text().strip()
    text = fo.content()
    assert ticket in text and "Datang langsung" in text and "paling lambat" in text
    assert re.search(
        r"(Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu), \d+ \w+ \d{4} pukul \d\d\.\d\d WIB", text
    )
    shot(fo, f"tanda-terima-{stack.name}")
    link = f"{stack.intake_url}/api/v1/track/{ticket}?code={code}&format=html"
    for paper, width in (("a4", 210), ("f4", 215), ("80mm", 80)):
        fo.goto(f"/pengaduan/{ticket}/tanda-terima?kertas={paper}")
        pdf = fo.pdf(prefer_css_page_size=True, print_background=True)
        pages = pdf_pages(pdf)
        assert len(pages) == 1, f"{paper}: {len(pages)} pages"
        words = re.sub(r"\s", "", pages[0][2])
        assert abs(pages[0][0] - width) < 1 and ticket in words and code in words
        assert qr_of_pdf(pdf, tmp_path) == link
    shot(fo, f"tanda-terima-80mm-{stack.name}")
    # Each print shows the tracking code: each is in the audit log (the first and three reprints).
    printed = stack.sql(
        "SELECT actor, address FROM audit_log WHERE ticket = :t AND action = 'receipt.print'", t=ticket
    )
    assert [(r.actor, bool(r.address)) for r in printed] == [("fo", True)] * 4

    # At rest: the NIK and the phone number typed at the desk are in no column of any table.
    plain = (DESK_NIK, "3307.0152", "081234567891", "6281234567891")
    held = [
        (table, column)
        for table, rows in _every_row(stack).items()
        for row in rows
        for column, value in row.items()
        if any(p in _text(value) for p in plain)
    ]
    assert held == []


def test_a_double_submit_of_the_desk_form_files_one_complaint(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    o = officer("fo")
    fo = o.sign_in()
    fo.goto("/pengaduan-baru")
    subject = f"Upah di bawah UMK (dua kali) {stack.name}"
    fill_desk(fo, subject, nik="3307015203900003")
    fo.get_by_label("Simpan saja (verifikasi nanti, tetap di langkah 1)").check()
    form = fo.locator("#desk-form")
    fields = form.evaluate("f => Object.fromEntries(new FormData(f))")
    first = o.context.request.post("/pengaduan-baru", form=fields)
    second = o.context.request.post("/pengaduan-baru", form=fields)
    assert first.ok and second.ok and first.url == second.url and "/pengaduan-baru/ADU-" in first.url
    rows = stack.sql("SELECT ticket, step FROM complaints WHERE subject = :s", s=subject)
    assert [r.step for r in rows] == ["verification"]


def test_only_the_front_office_files_at_the_desk(stack: Stack, officer: Callable[..., Officer]) -> None:
    page = officer("kasubag").sign_in()
    expect(page.get_by_role("link", name="Pengaduan baru")).to_have_count(0)
    for path in ("/pengaduan-baru", "/pengaduan-baru/ADU-2026-000001"):
        response = page.goto(path)
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Tidak diizinkan")).to_be_visible()
        expect(page.get_by_text("Hanya Front Office yang mencatat pengaduan baru.")).to_be_visible()


def test_a_phone_complaint_resolved_at_the_desk_with_javascript_off(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    person = {"name": "Sri", "nik": "3307015203900004"}
    earlier = stack.file(complaint_body(complainant=person, preferred_reply="in_person")).json()["ticket"]
    fo = officer("fo2", java_script_enabled=False).sign_in()
    fo.goto("/pengaduan-baru")
    subject = f"Pertanyaan jadwal pelatihan {stack.name}"
    fill_desk(fo, subject, nik="3307 0152 0390 004")  # 15 digits: refused beside the field
    fo.locator("input[name=channel][value=phone]").check()
    fo.get_by_label("Verifikasi dan selesaikan di tempat (jalur B)").check()
    fo.get_by_label("Identitas pengadu sudah diperiksa dan sesuai").check()
    answer = "Pelatihan menjahit dibuka 8 Desember di BLK Wonosobo."
    fo.get_by_label("Jawaban", exact=True).fill(answer)
    fo.get_by_label("Cara penyampaian jawaban").select_option(label="Telepon")
    fo.get_by_role("button", name="Simpan pengaduan").click()

    nik_field = fo.locator("#f-complainant-nik").locator("xpath=..")
    expect(nik_field.locator(".field-error")).to_have_text(["Galat: NIK harus terdiri dari 16 digit angka."])
    expect(fo.locator("#f-konfirmasi-galat")).to_have_text(
        "Galat: Centang untuk memastikan pengaduan ini ditutup."
    )
    assert fo.get_by_label("Pokok pengaduan").input_value() == subject  # the input is kept
    assert fo.get_by_label("Jawaban", exact=True).input_value() == answer
    assert stack.sql("SELECT id FROM complaints WHERE subject = :s", s=subject) == []
    shot(fo, f"pengaduan-baru-galat-{stack.name}")

    fo.get_by_label("NIK (Nomor Induk Kependudukan) (tidak wajib)").fill("3307015203900004")
    fo.get_by_label("Saya yakin: tindakan ini menutup pengaduan.").check()
    fo.get_by_role("button", name="Simpan pengaduan").click()
    expect(fo.get_by_text("sudah diverifikasi dan diselesaikan di tempat")).to_be_visible()
    ticket = fo.get_by_role("heading", level=1).inner_text().split()[1]
    expect(fo.get_by_role("link", name=earlier)).to_be_visible()  # without JS: on the result page
    [row] = stack.sql("SELECT channel, status, outcome FROM complaints WHERE ticket = :t", t=ticket)
    assert (row.channel, row.status, row.outcome) == ("phone", "closed", "answered_at_front_office")
    assert history_of(stack, ticket) == [
        ("fo2", "front_office", "received"),
        ("fo2", "front_office", "resolve"),
    ]


def test_the_desk_api_files_and_forwards_once_per_key_and_names_fields_in_its_body(stack: Stack) -> None:
    body = {
        "complaint": complaint_body(channel="letter", subject=f"Surat pengaduan PHK {stack.name}"),
        "then": "forward",
        "inputs": FORWARD,
    }
    headers = {"Authorization": f"Bearer {stack.tokens['fo']}", "Idempotency-Key": f"surat-{stack.name}-0001"}

    def post() -> httpx.Response:
        return httpx.post(f"{stack.staff_url}/api/v1/complaints/desk", json=body, headers=headers, timeout=10)

    first = post()
    assert first.status_code == 201, first.text
    filed = first.json()
    assert (filed["step"], filed["replayed"], len(filed["tracking_code"])) == ("review", False, 8)
    again = post()
    assert (again.status_code, again.json()["ticket"], again.json()["replayed"]) == (
        201,
        filed["ticket"],
        True,
    )
    # The same key with another body files nothing and says so (as the kiosk's API does).
    letter = complaint_body(channel="letter", subject=f"Surat lain {stack.name}")
    changed = {**body, "complaint": letter}
    reused = httpx.post(
        f"{stack.staff_url}/api/v1/complaints/desk", json=changed, headers=headers, timeout=10
    )
    assert reused.status_code == 422, reused.text
    assert [(e["field"], e["code"]) for e in reused.json()["errors"]] == [
        ("Idempotency-Key", "idempotency_key_reused")
    ]
    assert (
        stack.sql("SELECT count(*) FROM complaints WHERE subject = :s", s=f"Surat lain {stack.name}")[0][0]
        == 0
    )
    record = stack.record("fo", filed["ticket"])
    assert record["channel"] == "letter" and [h["action"] for h in record["history"]][:2] == [
        "received",
        "forward",
    ]
    refused = stack.staff("fo", "POST", "/complaints/desk", json={**body, "then": "resolve"})
    assert refused.status_code == 422
    assert {"inputs.answer", "inputs.delivery_method"} <= {e["field"] for e in refused.json()["errors"]}
    assert stack.staff("kasubag", "POST", "/complaints/desk", json=body).status_code == 403
