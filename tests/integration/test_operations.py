"""Operations that confused a new user: administrative commands on a data folder `up` never saw."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.integration.stack import PASSWORD, Stack, _base_env, embedded_stack, run_cli, running
from tests.support.gateway_server import unused_port

pytestmark = pytest.mark.integration


def test_admin_commands_on_a_new_data_folder_migrate_it_first(tmp_path: Path) -> None:
    folder = tmp_path / "baru"
    env = _base_env({})
    added = run_cli(env, "kiosks", "add", "kios-1", "--data-dir", str(folder))
    assert added.returncode == 0, added.stderr
    assert "Traceback" not in added.stderr and added.stdout.strip().splitlines()[-1].startswith("kio_")
    made = run_cli(
        env,
        "users",
        "add",
        "budi",
        "--role",
        "front_office",
        "--password-stdin",
        "--data-dir",
        str(folder),
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    engine = create_engine(f"sqlite:///{folder / 'aduan.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM kiosks")).scalars().all() == ["kios-1"]
            assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["budi"]
    finally:
        engine.dispose()


def test_an_unreachable_database_is_said_in_indonesian_and_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "tidak-ada"
    env = _base_env(
        {
            "ADUAN_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{unused_port()}/aduan",
            "ADUAN_BROKER_URL": "filesystem://",
            "ADUAN_SECRET_KEY": secrets.token_urlsafe(32),
            "ADUAN_DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        }
    )
    out = run_cli(env, "kiosks", "add", "kios-1", "--data-dir", str(folder))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "basis data" in out.stderr and "aduan migrate" in out.stderr
    assert not folder.exists()


def test_every_url_the_banner_prints_answers(stack: Stack) -> None:
    urls = re.findall(r"https?://[^\s)]+", stack.banner)
    assert any(url.endswith("/api/v1") for url in urls), stack.banner
    for url in urls:
        if url.startswith(("redis://", "filesystem://")):
            continue
        r = httpx.get(url, timeout=10, follow_redirects=True)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_documentation_loads_nothing_from_outside(stack: Stack, page: str) -> None:
    for base in (stack.intake_url, stack.staff_url):
        r = httpx.get(f"{base}{page}", timeout=10)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
        assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", r.text)
        assert assets
        for asset in assets:
            assert asset.startswith("/"), asset
            assert httpx.get(f"{base}{asset}", timeout=10).status_code == 200, asset
        spec = httpx.get(f"{base}/openapi.json", timeout=10)
        assert spec.status_code == 200 and spec.json()["paths"]


@pytest.fixture(scope="module")
def no_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An instance whose messages only log, without the demo switch: as a new office first runs it."""
    folder = tmp_path_factory.mktemp("stack-no-demo")
    with running(embedded_stack(folder, {"ADUAN_DEMO_LOG_CHANNELS": "0"})) as s:
        yield s


@pytest.mark.parametrize("method", ["sms", "whatsapp", "email"])
def test_delivering_by_a_channel_that_only_logs_is_refused(no_demo: Stack, method: str) -> None:
    ticket = no_demo.file().json()["ticket"]
    before = no_demo.record("fo", ticket)
    r = no_demo.act("fo", ticket, "deliver", before["version"], method=method)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert (error["field"], error["code"]) == ("method", "channel_not_configured")
    assert "langsung atau lewat telepon" in error["message"]
    after = no_demo.record("fo", ticket)
    assert (after["version"], len(after["history"])) == (before["version"], len(before["history"]))


def test_the_banner_says_which_methods_really_send(no_demo: Stack, stack: Stack) -> None:
    assert "SMS, WhatsApp, E-mail hanya dicatat, tidak terkirim: ditolak" in no_demo.banner
    assert "hanya dicatat, tidak terkirim: diterima (demo: ADUAN_DEMO_LOG_CHANNELS)" in stack.banner
