"""The administration commands as an operator runs them: `aduan migrate`, `aduan users add`, and the
staff tokens the accounts get (argon2 passwords, expiry after ADUAN_TOKEN_TTL)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from shared.migrate import alembic_config
from shared.settings import get_settings
from tests.integration.stack import PASSWORD, _base_env, _ports, run_cli, serving

pytestmark = pytest.mark.integration


def _run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(_base_env({}), *args, "--data-dir", str(data_dir), stdin=stdin)


def _sql(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{data_dir / 'aduan.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config(get_settings())).get_current_head()
    assert head is not None
    return head


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh data folder, migrated by `aduan migrate`."""
    folder = tmp_path_factory.mktemp("cli")
    out = _run(folder, "migrate")
    assert out.returncode == 0, out.stderr
    assert "Skema basis data mutakhir." in out.stdout
    return folder


def test_migrate_on_a_fresh_data_dir_builds_the_schema_at_head_and_is_repeatable(instance: Path) -> None:
    assert _sql(instance, "SELECT version_num FROM alembic_version") == [(_head(),)]
    tables = {row[0] for row in _sql(instance, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"complaints", "history", "outbox", "users", "units", "notifications"} <= tables
    assert sorted(str(row[0]) for row in _sql(instance, "SELECT code FROM units")) == [
        "hi_jamsos",
        "pelatihan",
        "penempatan",
        "perindustrian",
        "transmigrasi",
    ]
    again = _run(instance, "migrate")
    assert again.returncode == 0, again.stderr
    assert _sql(instance, "SELECT version_num FROM alembic_version") == [(_head(),)]


def test_a_bidang_account_without_a_unit_is_refused_in_indonesian(instance: Path) -> None:
    out = _run(
        instance, "users", "add", "tanpa_unit", "--role", "bidang", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert out.returncode != 0
    assert out.stderr.strip() == "Gagal: peran bidang memerlukan --unit"
    assert out.stdout == ""
    assert _sql(instance, "SELECT username FROM users WHERE username = 'tanpa_unit'") == []


def test_passwords_are_stored_as_argon2_hashes(instance: Path) -> None:
    out = _run(
        instance,
        *("users", "add", "budi", "--role", "bidang", "--unit", "hi_jamsos", "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Pengguna budi (bidang/hi_jamsos) dibuat."
    ((stored,),) = _sql(instance, "SELECT password_hash FROM users WHERE username = 'budi'")
    assert isinstance(stored, str) and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_token_past_its_ttl_is_refused_with_token_expired(instance: Path) -> None:
    out = _run(
        instance,
        *("users", "add", "sari", "--role", "front_office", "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    assert out.returncode == 0, out.stderr
    env = _base_env({"ADUAN_TOKEN_TTL": "PT2S"})
    with serving("staff", env, instance, _ports()[1]) as url:
        login = httpx.post(f"{url}/api/v1/auth/token", data={"username": "sari", "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/api/v1/me", headers=auth).json()["username"] == "sari"
        time.sleep(3.1)  # the token's exp is whole seconds: 2 s after issue, rounded down
        r = httpx.get(f"{url}/api/v1/me", headers=auth)
        assert r.status_code == 401, r.text
        assert r.json() == {"code": "token_expired", "message": "Sesi telah berakhir; silakan masuk kembali."}
        assert r.headers["WWW-Authenticate"] == "Bearer"
        again = httpx.post(f"{url}/api/v1/auth/token", data={"username": "sari", "password": PASSWORD})
        fresh = {"Authorization": f"Bearer {again.json()['access_token']}"}
        assert httpx.get(f"{url}/api/v1/me", headers=fresh).status_code == 200


def _table(out: str) -> dict[str, list[str]]:
    """A listing's rows by their first column."""
    return {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}


def test_users_list_disable_enable_and_reset_password(instance: Path) -> None:
    for name, role in (("rina", "front_office"), ("kepala", "admin")):
        out = _run(instance, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert out.returncode == 0, out.stderr
    listed = _run(instance, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split()[:4] == ["PENGGUNA", "PERAN", "BIDANG", "STATUS"]
    rows = _table(listed.stdout)
    assert rows["rina"][:4] == ["rina", "front_office", "-", "aktif"]
    assert rows["budi"][:4] == ["budi", "bidang", "hi_jamsos", "aktif"]
    assert " ".join(rows["rina"][4:]) == "belum pernah"

    off = _run(instance, "users", "disable", "rina")
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "Akun rina dinonaktifkan: sesi dan tokennya tidak berlaku lagi."
    assert _table(_run(instance, "users", "list").stdout)["rina"][3] == "nonaktif"
    on = _run(instance, "users", "enable", "rina")
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "Akun rina diaktifkan kembali."
    assert _sql(instance, "SELECT active FROM users WHERE username = 'rina'") == [(1,)]

    (before,) = _sql(instance, "SELECT password_hash FROM users WHERE username = 'rina'")
    reset = _run(instance, "users", "reset-password", "rina")
    assert reset.returncode == 0, reset.stderr
    first, password = reset.stdout.strip().splitlines()
    assert first.startswith("Kata sandi sekali pakai untuk rina")
    assert len(password) >= 12 and " " not in password
    after = _sql(instance, "SELECT password_hash, must_change_password FROM users WHERE username = 'rina'")
    assert after[0][0] != before[0] and str(after[0][0]).startswith("$argon2id$") and after[0][1] == 1

    actions = _sql(instance, "SELECT action, target, actor FROM audit_log WHERE target = 'rina' ORDER BY id")
    assert [(a, t) for a, t, _ in actions] == [
        ("user.disable", "rina"),
        ("user.enable", "rina"),
        ("user.reset_password", "rina"),
    ]
    assert all(str(actor).startswith("cli:") for _, _, actor in actions)


def test_the_last_active_admin_cannot_be_disabled_and_unknown_accounts_are_said(instance: Path) -> None:
    admins = _sql(instance, "SELECT username FROM users WHERE role = 'admin' AND active")
    if not admins:
        out = _run(
            instance, "users", "add", "kepala", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert out.returncode == 0, out.stderr
        admins = [("kepala",)]
    [(only,)] = admins
    out = _run(instance, "users", "disable", str(only))
    assert out.returncode == 1
    assert out.stderr.strip() == "Gagal: Akun ini admin aktif terakhir; tambahkan admin lain lebih dahulu."
    assert _sql(instance, f"SELECT active FROM users WHERE username = '{only}'") == [(1,)]  # noqa: S608
    missing = _run(instance, "users", "reset-password", "tidak-ada")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Gagal: Akun tidak ditemukan."


def test_kiosks_list_and_revoke(instance: Path) -> None:
    added = _run(instance, "kiosks", "add", "kios-lobi")
    assert added.returncode == 0, added.stderr
    listed = _run(instance, "kiosks", "list")
    assert listed.returncode == 0, listed.stderr
    row = _table(listed.stdout)["kios-lobi"]
    assert row[1] == "aktif" and row[-1] == "-"
    revoked = _run(instance, "kiosks", "revoke", "kios-lobi")
    assert revoked.returncode == 0, revoked.stderr
    assert _table(_run(instance, "kiosks", "list").stdout)["kios-lobi"][1] == "dicabut"
    assert _sql(instance, "SELECT action FROM audit_log WHERE target = 'kios-lobi' ORDER BY id") == [
        ("kiosk.create",),
        ("kiosk.revoke",),
    ]
