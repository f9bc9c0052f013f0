"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db import make_engine
from shared.migrate import alembic_config, upgrade
from shared.models import Base
from shared.settings import Settings, get_settings
from tests.integration.stack import POSTGRES_ADMIN_URL


def _diff(settings: Settings) -> list[object]:
    upgrade(settings)
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        engine.dispose()


def _settings(folder: Path, **extra: str) -> Settings:
    base = get_settings()
    return Settings(data_dir=folder, secret_key=base.secret_key, data_key=base.data_key, **extra)  # type: ignore[arg-type]


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    assert _diff(_settings(tmp_path)) == []


def test_postgres_schema_matches_models(tmp_path: Path) -> None:
    name = f"aduan_m_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
        assert _diff(_settings(tmp_path, database_url=f"postgresql+psycopg://{base}/{name}")) == []
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade(settings)
    command.downgrade(alembic_config(settings), "base")
    assert _diff(settings) == []
