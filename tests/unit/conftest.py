"""Unit-test fixtures: a migrated SQLite database in a temp folder, one session per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shared.db import make_engine
from shared.migrate import upgrade
from shared.settings import Settings, get_settings

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder: Path = tmp_path_factory.mktemp("unitdb")
    settings = Settings(
        data_dir=folder, secret_key=get_settings().secret_key, data_key=get_settings().data_key
    )
    upgrade(settings)
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back at the end of the test (no outbox publishing hooks)."""
    with engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        trans.rollback()
