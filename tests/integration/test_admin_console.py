"""The admin runs the office from the browser (Debian's Chromium via Playwright, both backends):
accounts from creation to deactivation, and the audit log of who saw a complainant's identity."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from shared.clock import WIB
from tests.integration.stack import Stack, embedded_stack, eventually, postgres_stack, running
from tests.integration.test_console import (
    PASSWORDS,
    Officer,
    axe_violations,
    done,
    officer,
    open_from_queue,
    take,
)

pytestmark = pytest.mark.integration

__all__ = ["officer"]  # the fixture this module borrows


@pytest.fixture(scope="module", params=["postgres", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp(f"admin-console-{request.param}")
    extra = {"ADUAN_KIOSK_KEY_CACHE_SECONDS": "1"}  # a revoked key refused within a second
    made = postgres_stack(folder, 13, extra) if request.param == "postgres" else embedded_stack(folder, extra)
    PASSWORDS.clear()
    with running(made) as s:
        lines = [line.strip() for line in s.banner.splitlines()]
        [PASSWORDS["admin"]] = [
            line.removeprefix("admin / ") for line in lines if line.startswith("admin / ")
        ]
        yield s


def _admin(officer: Callable[..., Officer]) -> Page:
    return officer("admin").sign_in(lands_on="Semua pengaduan")


def test_an_officer_from_creation_to_deactivation(
    stack: Stack, officer: Callable[..., Officer], browser: Browser
) -> None:
    admin = _admin(officer)
    admin.get_by_role("link", name="Akun petugas").click()
    expect(admin.get_by_role("heading", name="Akun petugas", level=1)).to_be_visible()
    form = admin.locator("form[action='/akun']")
    form.get_by_label("Nama pengguna").fill("wulan")
    form.get_by_label("Peran").select_option(label="Front Office")
    form.get_by_label("NIP (18 angka)").fill("12345")
    form.get_by_role("button", name="Tambah akun").click()
    expect(admin.locator(".field-error")).to_have_text(["Galat: NIP terdiri dari 18 angka."])
    assert form.get_by_label("Nama pengguna").input_value() == "wulan"  # what was typed is kept
    form.get_by_label("NIP (18 angka)").fill("")
    form.get_by_role("button", name="Tambah akun").click()
    one_time = admin.locator("#sandi-sekali").inner_text().strip()
    assert len(one_time) >= 12
    assert admin.get_by_role("row").filter(has_text="wulan").count() == 1
    assert axe_violations(admin) == []

    wulan_officer = officer("wulan")
    wulan = wulan_officer.sign_in(one_time, lands_on="Ganti kata sandi")
    expect(wulan.get_by_role("alert")).to_contain_text("Admin telah mengatur ulang kata sandi Anda")
    wulan.goto("/semua")
    expect(wulan.get_by_role("heading", name="Ganti kata sandi")).to_be_visible()  # nothing else first
    wulan.get_by_label("Kata sandi saat ini").fill(one_time)
    wulan.get_by_label("Kata sandi baru (minimal 8 karakter)").fill("sandi-wulan-sendiri")
    wulan.get_by_label("Ulangi kata sandi baru").fill("sandi-wulan-sendiri")
    wulan.get_by_role("button", name="Simpan kata sandi").click()
    expect(wulan.get_by_role("status")).to_have_text("Kata sandi sudah diganti.")

    ticket = stack.file().json()["ticket"]
    wulan.goto("/")
    open_from_queue(wulan, ticket)
    take(
        wulan,
        "forward",
        tick=("Identitas pengadu sudah diperiksa dan sesuai",),
        fill={"Dokumen identitas yang diperiksa": "KTP asli"},
    )
    done(wulan, "Teruskan")

    admin.goto("/akun/wulan")
    admin.get_by_role("button", name="Nonaktifkan akun").click()
    expect(admin.get_by_role("status")).to_contain_text("Akun dinonaktifkan")
    assert axe_violations(admin) == []
    wulan.get_by_role("link", name="Arsip", exact=True).click()  # the next click: signed out
    expect(wulan.get_by_role("heading", name="Masuk ke Konsol Petugas")).to_be_visible()
    wulan.get_by_label("Nama pengguna").fill("wulan")
    wulan.get_by_label("Kata sandi").fill("sandi-wulan-sendiri")
    wulan.get_by_role("button", name="Masuk").click()
    expect(wulan.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")

    admin.get_by_role("button", name="Aktifkan kembali").click()
    admin.get_by_role("button", name="Atur ulang kata sandi").click()
    assert len(admin.locator("#sandi-sekali").inner_text().strip()) >= 12
    admin.goto("/akun/admin")
    admin.get_by_role("button", name="Nonaktifkan akun").click()
    expect(admin.get_by_role("alert")).to_have_text(
        "Akun ini admin aktif terakhir; tambahkan admin lain lebih dahulu."
    )


def test_opening_a_record_writes_one_audit_row_that_only_admin_and_kepala_dinas_read(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    ticket = stack.file().json()["ticket"]
    fo = officer("fo").sign_in()
    open_from_queue(fo, ticket)
    expect(fo.get_by_text("Siti Aminah").first).to_be_visible()
    assert stack.sql("SELECT actor, action FROM audit_log WHERE ticket = :t", t=ticket) == [
        ("fo", "identity.view")
    ]
    fo.goto("/log-audit")
    expect(fo.get_by_role("heading", name="Tidak diizinkan")).to_be_visible()
    assert fo.get_by_role("link", name="Log audit").count() == 0

    kadis = officer("kadis").sign_in(lands_on="Semua pengaduan")
    kadis.get_by_role("link", name="Log audit").click()
    kadis.get_by_label("Nomor tiket").fill(ticket)
    kadis.get_by_label("Petugas (nama pengguna)").fill("fo")
    kadis.get_by_role("button", name="Saring").click()
    rows = kadis.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Melihat identitas pengadu")
    expect(rows.first).to_contain_text("127.0.0.1")
    assert axe_violations(kadis) == []
    kadis.get_by_label("Sejak tanggal").fill("2030-01-02")
    kadis.get_by_label("Sampai tanggal").fill("2030-01-01")
    kadis.get_by_role("button", name="Saring").click()
    expect(kadis.locator(".field-error")).to_have_text(
        ["Galat: Tanggal akhir tidak boleh sebelum tanggal awal."]
    )

    admin = _admin(officer)
    admin.goto(f"/log-audit?tiket={ticket}")
    expect(admin.locator("table.audit tbody tr").filter(has_text="fo")).to_have_count(1)
    for other in ("sekdis", "kasubag"):
        page = officer(other).sign_in()
        page.goto("/log-audit")
        expect(page.get_by_role("heading", name="Tidak diizinkan")).to_be_visible()


def test_an_admin_adds_and_revokes_a_kiosk_and_its_next_filing_is_refused(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    admin = _admin(officer)
    admin.get_by_role("link", name="Kios").click()
    expect(admin.get_by_role("heading", name="Kios pengaduan")).to_be_visible()
    admin.get_by_label("Nama kios").fill("kios-lobi")
    admin.get_by_role("button", name="Tambah kios").click()
    key = admin.locator("#kunci-kios").inner_text().strip()
    assert "/kios/daftar/" in admin.locator("#tautan-kios").inner_text()
    assert axe_violations(admin) == []
    admin.get_by_label("Nama kios").fill("kios-lobi")
    admin.get_by_role("button", name="Tambah kios").click()
    expect(admin.locator(".field-error")).to_have_text(["Galat: Kios kios-lobi sudah ada."])

    filed = stack.file(key=None, headers={"X-Kiosk-Key": key})
    assert filed.status_code == 201, filed.text
    admin.goto("/kios")
    row = admin.locator("table.kiosks tbody tr").filter(has_text="kios-lobi")
    expect(row).not_to_contain_text("Belum ada")  # its last filing is shown

    admin.get_by_role("link", name="Cabut kios kios-lobi").click()
    expect(admin.get_by_role("heading", name="Cabut kios kios-lobi?")).to_be_visible()
    assert axe_violations(admin) == []
    admin.get_by_role("button", name="Ya, cabut kios ini").click()
    expect(admin.get_by_role("status")).to_contain_text("Kios kios-lobi sudah dicabut")
    expect(admin.locator("table.kiosks tbody tr").filter(has_text="kios-lobi")).to_contain_text("Dicabut")
    time.sleep(1.5)  # the intake's key cache (1 s here)
    refused = stack.file(headers={"X-Kiosk-Key": key})
    assert refused.status_code == 401 and refused.json()["code"] == "kiosk_key_invalid", refused.text
    assert stack.file().status_code == 201  # the other kiosk still files
    actions = stack.sql("SELECT action FROM audit_log WHERE target = 'kios-lobi' ORDER BY id")
    assert [a for (a,) in actions] == ["kiosk.create", "kiosk.enrol", "kiosk.revoke"]


def test_an_admin_closes_a_day_in_the_calendar_and_a_deadline_moves(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    filed = stack.file().json()
    ticket, due = filed["ticket"], datetime.fromisoformat(filed["step_due_at"])
    due_day = due.astimezone(WIB).date()
    admin = _admin(officer)
    admin.get_by_role("link", name="Kalender").click()
    admin.goto(f"/kalender?bulan={due_day:%Y-%m}")
    expect(admin.get_by_role("heading", level=1)).to_contain_text(str(due_day.year))
    assert axe_violations(admin) == []
    admin.get_by_label("Tanggal", exact=True).fill(due_day.isoformat())
    admin.get_by_role("button", name="Simpan").click()
    why = "Galat: Isi alasannya (dicatat dan ditampilkan di kalender)."
    expect(admin.locator(".field-error")).to_have_text([why])
    assert admin.get_by_label("Tanggal", exact=True).input_value() == due_day.isoformat()
    admin.get_by_label("Alasan").fill("Rapat koordinasi di provinsi")
    admin.get_by_role("button", name="Simpan").click()
    expect(admin.get_by_role("status")).to_contain_text(f"Tanggal {due_day:%d-%m-%Y} ditutup.")
    cell = admin.locator(f"td[data-day='{due_day.isoformat()}']")
    expect(cell).to_contain_text("Tutup: Rapat koordinasi di provinsi")

    moved = eventually(
        lambda: datetime.fromisoformat(stack.record("fo", ticket)["step_due_at"]),
        lambda at: at > due,
    )
    assert moved.astimezone(WIB).date() > due_day

    cell.get_by_role("button", name=f"Hapus pengecualian tanggal {due_day:%d-%m-%Y}").click()
    expect(admin.get_by_role("status")).to_contain_text("dihapus")
    back = eventually(
        lambda: datetime.fromisoformat(stack.record("fo", ticket)["step_due_at"]), lambda at: at == due
    )
    assert back == due
    actions = stack.sql("SELECT action FROM audit_log WHERE target = :d ORDER BY id", d=due_day.isoformat())
    assert [a for (a,) in actions] == ["calendar.set", "calendar.clear"]


def test_an_admin_adds_renames_and_deactivates_a_category(
    stack: Stack, officer: Callable[..., Officer]
) -> None:
    admin = _admin(officer)
    admin.get_by_role("link", name="Kategori").click()
    expect(admin.get_by_role("heading", name="Kategori pengaduan")).to_be_visible()
    admin.get_by_label("Kode (huruf kecil, angka, garis bawah)").fill("Bukan Kode")
    admin.get_by_label("Nama kategori", exact=True).fill("Upah lembur")
    admin.get_by_label("Nomor urut", exact=True).fill("90")
    admin.get_by_role("button", name="Tambah kategori").click()
    expect(admin.locator("#baru-code-galat")).to_be_visible()
    assert admin.get_by_label("Nama kategori", exact=True).input_value() == "Upah lembur"
    admin.get_by_label("Kode (huruf kecil, angka, garis bawah)").fill("upah_lembur")
    admin.get_by_label("Bidang tujuan", exact=True).select_option("hi_jamsos")
    admin.get_by_role("button", name="Tambah kategori").click()
    expect(admin.get_by_role("status")).to_have_text("Kategori Upah lembur ditambahkan.")
    assert axe_violations(admin) == []

    admin.get_by_label("Nama kategori upah_lembur").fill("Upah lembur tidak dibayar")
    admin.get_by_label("upah_lembur aktif").uncheck()
    admin.get_by_role("button", name="Simpan kategori upah_lembur").click()
    expect(admin.get_by_role("status")).to_have_text("Kategori Upah lembur tidak dibayar disimpan.")
    [row] = [c for c in stack.staff("fo", "GET", "/categories").json() if c["code"] == "upah_lembur"]
    assert row == {
        "code": "upah_lembur",
        "name": "Upah lembur tidak dibayar",
        "unit": "hi_jamsos",
        "position": 90,
        "active": False,
    }
    admin.get_by_label("Nomor urut upah_lembur").fill("sembilan")
    admin.get_by_role("button", name="Simpan kategori upah_lembur").click()
    expect(admin.locator("#kategori-upah_lembur-position-galat")).to_be_visible()
    actions = stack.sql("SELECT action FROM audit_log WHERE target = 'upah_lembur' ORDER BY id")
    assert [a for (a,) in actions] == ["category.create", "category.update"]


def test_an_admin_sets_the_office_identity_and_its_logo_and_the_prints_show_them(
    stack: Stack, officer: Callable[..., Officer], tmp_path: Path
) -> None:
    ticket = stack.file().json()["ticket"]
    admin = _admin(officer)
    admin.get_by_role("link", name="Identitas kantor").click()
    expect(admin.get_by_role("heading", name="Identitas kantor", level=1)).to_be_visible()
    admin.get_by_label("Nama kantor").fill("")
    admin.get_by_label("Alamat").fill("Jl. Sabuk Alu 3, Wonosobo")
    admin.get_by_role("button", name="Simpan identitas").click()
    expect(admin.locator(".field-error")).to_have_text(["Galat: Tidak boleh kosong."])
    assert admin.get_by_label("Alamat").input_value() == "Jl. Sabuk Alu 3, Wonosobo"  # kept
    admin.get_by_label("Nama kantor").fill("Disnakerperintrans Kabupaten Uji")
    admin.get_by_role("button", name="Simpan identitas").click()
    expect(admin.get_by_role("status")).to_have_text("Identitas kantor disimpan.")
    expect(admin.locator("header .office")).to_have_text("Disnakerperintrans Kabupaten Uji")

    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    admin.get_by_label("Berkas logo (PNG atau JPEG, paling besar 512 KB)").set_input_files(svg)
    admin.get_by_role("button", name="Unggah logo").click()
    expect(admin.locator("#kantor-logo-galat")).to_have_text("Galat: Logo harus berkas gambar PNG atau JPEG.")
    png = tmp_path / "logo.png"
    Image.new("RGB", (120, 120), (200, 30, 30)).save(png)
    admin.get_by_label("Berkas logo (PNG atau JPEG, paling besar 512 KB)").set_input_files(png)
    admin.get_by_role("button", name="Unggah logo").click()
    expect(admin.get_by_role("status")).to_have_text("Logo disimpan.")
    loaded = "i => i.complete ? i.naturalWidth : -1"
    assert eventually(lambda: admin.locator("img.office-logo").evaluate(loaded), lambda w: w >= 0) == 120
    assert axe_violations(admin) == []

    admin.goto(f"/pengaduan/{ticket}/arsip")
    head = admin.locator("header.letterhead")
    expect(head).to_contain_text("Disnakerperintrans Kabupaten Uji")
    expect(head).to_contain_text("Jl. Sabuk Alu 3, Wonosobo")
    assert eventually(lambda: head.locator("img.logo").evaluate(loaded), lambda w: w >= 0) == 120
    admin.screenshot(path=str(tmp_path / "arsip.png"))
    actions = stack.sql("SELECT action FROM audit_log WHERE target = 'kantor' ORDER BY id")
    assert [a for (a,) in actions] == ["office.update", "office.logo"]
