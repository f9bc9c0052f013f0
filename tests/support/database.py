"""A database of a test's own at the migrations' head, outside a running stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from shared.migrate import upgrade
from shared.settings import Settings
from tests.integration.stack import POSTGRES_ADMIN_URL


def _drop(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated(env: dict[str, str], *, backend: str, name: str) -> Iterator[Settings]:
    """The settings of `env` with a migrated database: on "postgres" a database `name`, made afresh
    and dropped afterwards (`env` gets its URL); on "sqlite" the file in `env`'s data folder."""
    if backend == "postgres":
        _drop(name)
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["ADUAN_DATABASE_URL"] = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    settings = Settings.model_validate({k[6:].lower(): v for k, v in env.items() if k.startswith("ADUAN_")})
    upgrade(settings)
    try:
        yield settings
    finally:
        if backend == "postgres":
            _drop(name)
