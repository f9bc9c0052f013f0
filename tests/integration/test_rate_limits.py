"""Rate limits on the real stack: wrong tracking codes, failed sign-ins (API and console) with the
CLI's unlock, filings per kiosk; counters in Redis (shared by two API processes) or, on the embedded
default, in the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
import redis

from tests.integration.conftest import BACKENDS, _make
from tests.integration.stack import PASSWORD, Stack, complaint_body, run_cli, running, serving
from tests.support.gateway_server import unused_port

pytestmark = pytest.mark.integration

WINDOW = 6  # seconds: small enough to wait out, large enough for a slow machine to use it up in
LIMITS = {
    "ADUAN_LIMIT_LOOKUP_TICKET": f"3/{WINDOW} seconds",
    "ADUAN_LIMIT_LOOKUP_ADDRESS": f"5/{WINDOW} seconds",
    "ADUAN_LIMIT_SIGN_IN_PAIR": "3/1 hour",  # lifted by the CLI, not by waiting
    "ADUAN_LIMIT_SIGN_IN_USER": "6/1 hour",
    "ADUAN_LIMIT_SIGN_IN_ADDRESS": "8/1 hour",
    "ADUAN_LIMIT_FILING_KIOSK": "4/1 hour",
}
_addresses = count(1)


def an_address() -> str:
    """A client address of its own for each test (the APIs trust X-Forwarded-For from 127.0.0.1)."""
    return f"198.51.100.{next(_addresses)}"


@pytest.fixture(scope="module", params=BACKENDS)
def limited(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An instance with small limits, on each backend."""
    with running(_make(request.param, tmp_path_factory, redis_db=13, extra=LIMITS)) as s:
        yield s


def _filed(s: Stack) -> dict[str, Any]:
    # A kiosk of its own per complaint: the kiosk limit is another test's subject.
    key = run_cli(s.env, "kiosks", "add", f"kios-{time.monotonic_ns()}", "--data-dir", str(s.data_dir))
    r = httpx.post(
        f"{s.intake_url}/api/v1/complaints",
        json=complaint_body(),
        headers={"X-Kiosk-Key": key.stdout.strip().splitlines()[-1]},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _track(url: str, ticket: str, code: str, address: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{url}/api/v1/track/{ticket}",
        params={"code": code, **params},
        headers={"X-Forwarded-For": address},
        timeout=10,
    )


def _is_rate_limited(r: httpx.Response) -> int:
    """The Retry-After of a well-formed 429 in the API's error format."""
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["code"] == "rate_limited"
    assert body["message"].startswith("Terlalu banyak percobaan")
    assert "coba lagi dalam" in body["message"]
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= WINDOW
    return wait


def test_the_nth_wrong_code_gets_429_and_the_right_code_works_after_the_window(limited: Stack) -> None:
    s, address = limited, an_address()
    filed = _filed(s)
    ticket, code = filed["ticket"], filed["tracking_code"]
    for _ in range(3):
        assert _track(s.intake_url, ticket, "SALAH123", address).status_code == 404
    wait = _is_rate_limited(_track(s.intake_url, ticket, "SALAH123", address))
    # While the ticket is held, the right code is refused too: nothing is looked up.
    _is_rate_limited(_track(s.intake_url, ticket, code, address))
    page = _track(s.intake_url, ticket, code, address, format="html")
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert "Terlalu banyak percobaan" in page.text and ticket not in page.text
    # The survey's page and its post count the same wrong codes.
    survey = httpx.get(
        f"{s.intake_url}/api/v1/track/{ticket}/feedback",
        params={"code": code},
        headers={"X-Forwarded-For": address},
        timeout=10,
    )
    assert survey.status_code == 429 and "Terlalu banyak percobaan" in survey.text
    time.sleep(wait + 0.5)
    assert _track(s.intake_url, ticket, code, address).status_code == 200


def test_wrong_codes_from_one_address_are_counted_across_tickets(limited: Stack) -> None:
    s, address = limited, an_address()
    for n in range(5):
        assert _track(s.intake_url, f"ADU-2000-00000{n}", "SALAH123", address).status_code == 404
    _is_rate_limited(_track(s.intake_url, "ADU-2000-000009", "SALAH123", address))
    # Another address is not held.
    assert _track(s.intake_url, "ADU-2000-000009", "SALAH123", an_address()).status_code == 404


def _sign_in(s: Stack, username: str, password: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{s.staff_url}/api/v1/auth/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
        timeout=10,
    )


def _console_sign_in(s: Stack, username: str, password: str, address: str) -> httpx.Response:
    with httpx.Client(base_url=s.staff_url, headers={"X-Forwarded-For": address}, timeout=10) as client:
        form = client.get("/masuk")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        return client.post("/masuk", data={"username": username, "password": password, "csrf": csrf})


def test_failed_sign_ins_lock_out_until_the_cli_unlocks(limited: Stack) -> None:
    s, address = limited, an_address()
    for _ in range(3):
        assert _sign_in(s, "kadis", "bukan-sandinya", address).status_code == 401
    locked = _sign_in(s, "kadis", PASSWORD, address)  # the right password, during the lockout
    assert locked.status_code == 429, locked.text
    assert locked.json()["code"] == "rate_limited"
    assert "minta admin membuka kunci" in locked.json()["message"]
    assert 3000 < int(locked.headers["Retry-After"]) <= 3600
    page = _console_sign_in(s, "kadis", PASSWORD, address)
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "Terlalu banyak percobaan masuk yang gagal" in page.text
    # The officer at another computer still signs in: the lockout is this username from this address.
    assert _sign_in(s, "kadis", PASSWORD, an_address()).status_code == 200

    out = run_cli(s.env, "users", "unlock", "kadis", "--data-dir", str(s.data_dir))
    assert out.returncode == 0, out.stderr
    assert "dibuka" in out.stdout
    assert _sign_in(s, "kadis", PASSWORD, address).status_code == 200
    assert _console_sign_in(s, "kadis", PASSWORD, address).status_code == 303

    unknown = run_cli(s.env, "users", "unlock", "tidak-ada", "--data-dir", str(s.data_dir))
    assert unknown.returncode == 1 and "tidak ada" in unknown.stderr and "Traceback" not in unknown.stderr


def test_an_address_guessing_many_usernames_is_held_and_the_cli_lifts_it(limited: Stack) -> None:
    s, address = limited, an_address()
    for n in range(8):
        assert _console_sign_in(s, f"tebak{n}", "bukan-sandinya", address).status_code == 401
    assert _sign_in(s, "sekdis", PASSWORD, address).status_code == 429
    out = run_cli(s.env, "users", "unlock", "sekdis", "--address", address, "--data-dir", str(s.data_dir))
    assert out.returncode == 0, out.stderr
    assert _sign_in(s, "sekdis", PASSWORD, address).status_code == 200


def test_a_kiosk_filing_past_its_limit_gets_429(limited: Stack) -> None:
    s = limited
    key = run_cli(s.env, "kiosks", "add", "kios-banjir", "--data-dir", str(s.data_dir))
    headers = {"X-Kiosk-Key": key.stdout.strip().splitlines()[-1]}
    body = complaint_body()
    url = f"{s.intake_url}/api/v1/complaints"
    for _ in range(4):
        assert httpx.post(url, json=body, headers=headers, timeout=10).status_code == 201
    refused = httpx.post(url, json=body, headers=headers, timeout=10)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "rate_limited" and "Kios ini" in refused.json()["message"]
    assert int(refused.headers["Retry-After"]) > 3000
    # Other kiosks file as before.
    assert s.file().status_code == 201


def _kiosk_form() -> dict[str, str]:
    """The kiosk page's form as a citizen fills it (ComplaintIn's fields, dotted, and the consent)."""
    body = complaint_body()
    form = {f"complainant.{k}": v for k, v in body.pop("complainant").items()}
    form.update({k: str(v) for k, v in body.items()})
    return {**form, "waiting_on_site": "false", "consent": "yes"}


def test_the_kiosk_page_past_its_kiosk_limit_says_so_and_keeps_the_input(limited: Stack) -> None:
    s = limited
    printed = run_cli(s.env, "kiosks", "add", "kios-halaman", "--enrol", "--data-dir", str(s.data_dir))
    link = next(line for line in printed.stdout.splitlines() if "/kios/daftar/" in line).strip()
    path = link[link.index("/kios/daftar/") :]
    with httpx.Client(base_url=s.intake_url, timeout=10) as browser:
        assert browser.post(path).status_code in (200, 303)
        for n in range(4):
            filed = browser.post("/kios", data={**_kiosk_form(), "idempotency_key": f"kios-{n}-{'0' * 30}"})
            assert filed.status_code == 200 and "ADU-" in filed.text, filed.text
        refused = browser.post("/kios", data={**_kiosk_form(), "idempotency_key": "kios-9-" + "0" * 30})
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 3000
    assert "Kios ini mengirim terlalu banyak pengaduan" in refused.text
    assert "THR belum dibayar" in refused.text  # what the citizen typed is still there


def test_the_counters_live_in_redis_or_in_the_database(limited: Stack) -> None:
    s, address = limited, an_address()
    assert _track(s.intake_url, "ADU-2000-000100", "SALAH123", address).status_code == 404
    rows = s.sql("SELECT key FROM rate_counters WHERE key LIKE :k", k=f"aduan/lookup_address/{address}/%")
    if s.name == "embedded":
        assert len(rows) == 1
        return
    assert rows == []
    client = redis.Redis.from_url(s.env["ADUAN_BROKER_URL"])
    assert client.keys(f"aduan-limits:aduan/lookup_address/{address}/*")


def test_two_api_processes_share_the_counters(limited: Stack) -> None:
    s, address = limited, an_address()
    with (
        serving("intake", s.env, s.data_dir, unused_port()) as one,
        serving("intake", s.env, s.data_dir, unused_port()) as two,
    ):
        for n, url in enumerate((one, two, one, two, one)):  # five tickets: the address's limit
            assert _track(url, f"ADU-2000-00020{n}", "SALAH123", address).status_code == 404
        _is_rate_limited(_track(two, "ADU-2000-000209", "SALAH123", address))
        _is_rate_limited(_track(one, "ADU-2000-000209", "SALAH123", address))


def test_the_counter_store_answered_throughout(limited: Stack) -> None:
    """Every count above reached its store (a store that fails lets requests pass, and logs it)."""
    assert "counter store unreachable" not in limited.logs()
