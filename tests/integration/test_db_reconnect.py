"""The synchronous engine (staff API, workers) outlives connections PostgreSQL dropped (a restart, an
idle timeout) without a ping on every checkout: an idle connection is pinged and replaced before use,
and a busy one that died fails one statement, after which the pool hands out fresh connections."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from shared import db
from shared.settings import Settings, get_settings
from tests.integration.stack import POSTGRES_ADMIN_URL


@pytest.fixture
def database() -> Iterator[str]:
    name = f"aduan_r_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database: str, tmp_path: Path) -> Iterator[Engine]:
    base = get_settings()
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
    settings = Settings(
        data_dir=tmp_path,
        secret_key=base.secret_key,
        data_key=base.data_key,
        database_url=f"postgresql+psycopg://{url}/{database}",
        db_pool_size=2,
        db_max_overflow=0,
    )
    made = db.make_engine(settings)
    try:
        yield made
    finally:
        made.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _drop_connections(database: str) -> int:
    """What a server restart does to the pool: every backend of `database` terminated."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def test_a_connection_idle_past_the_interval_is_pinged_and_replaced(
    engine: Engine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(engine)
    assert _drop_connections(database) == 1
    monkeypatch.setattr(db, "PING_IDLE_AFTER", 0.0)  # every connection back in the pool counts as idle
    assert _backend(engine) != first  # no error: the ping found it dead and the pool opened another


def test_a_busy_connection_that_died_fails_one_statement_then_the_pool_recovers(
    engine: Engine, database: str
) -> None:
    with engine.connect() as a, engine.connect() as b:  # both pooled connections, just used
        a.execute(text("SELECT 1"))
        b.execute(text("SELECT 1"))
    assert _drop_connections(database) == 2
    with pytest.raises(DBAPIError) as failed:  # within the interval: not pinged, so one failure
        _backend(engine)
    assert failed.value.connection_invalidated
    # The failure invalidated the pool's older connection too: the next requests get fresh ones.
    assert _backend(engine) > 0
    assert _backend(engine) > 0


def test_a_connection_back_in_use_within_the_interval_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    original = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    for _ in range(5):
        _backend(engine)
    assert pings == []
    monkeypatch.setattr(db, "PING_IDLE_AFTER", 0.0)
    _backend(engine)
    assert len(pings) == 1  # the same hook pings once the connection counts as idle
