"""The admin runs the office from the browser (Debian's Chromium via Playwright, both backends):
accounts from creation to deactivation, and the audit log of who saw a complainant's identity."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.stack import Stack, embedded_stack, postgres_stack, running
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
    made = postgres_stack(folder, 13) if request.param == "postgres" else embedded_stack(folder)
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
