"""`/readyz` says 503 while the database or the broker cannot be reached; `/healthz` stays 200."""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import (
    POSTGRES_ADMIN_URL,
    REDIS_DB_SHIFT,
    REDIS_URL,
    _base_env,
    _data_key,
    _ports,
    serving,
)
from tests.support.gateway_server import unused_port

pytestmark = pytest.mark.integration

REDIS = f"{REDIS_URL}/{(13 + REDIS_DB_SHIFT) % 16}"  # only connected to, never written


def _secrets() -> dict[str, str]:
    return {"ADUAN_SECRET_KEY": secrets.token_urlsafe(32), "ADUAN_DATA_KEY": _data_key()}


def _postgres(database: str, port: int | None = None) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    if port is not None:
        base = base.rsplit(":", 1)[0] + f":{port}"
    return f"{base}/{database}"


CASES = {
    # A database that does not exist on the real server (a typo in ADUAN_DATABASE_URL).
    "missing-database": (
        {"ADUAN_DATABASE_URL": _postgres(f"aduan_absent_{secrets.token_hex(4)}"), "ADUAN_BROKER_URL": REDIS},
        "unreachable",
        "ok",
    ),
    # No database server on that port (PostgreSQL down).
    "database-down": (
        {"ADUAN_DATABASE_URL": _postgres("aduan", port=unused_port()), "ADUAN_BROKER_URL": REDIS},
        "unreachable",
        "ok",
    ),
    # The embedded SQLite database is fine; no Redis on that port.
    "broker-down": (
        {"ADUAN_BROKER_URL": f"redis://127.0.0.1:{unused_port()}/0"},
        "ok",
        "unreachable",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_readyz_is_503_while_a_dependency_is_unreachable_and_healthz_stays_200(
    case: str, tmp_path: Path
) -> None:
    settings, database, broker = CASES[case]
    env = _base_env({**_secrets(), **settings})
    with ExitStack() as running:
        urls = [
            running.enter_context(serving(service, env, tmp_path, port))
            for service, port in zip(("intake", "staff"), _ports(), strict=True)
        ]
        for url in urls:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            r = httpx.get(f"{url}/readyz", timeout=15)
            assert r.status_code == 503, (url, r.text)
            assert r.json() == {"status": "not_ready", "database": database, "broker": broker}
            assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
