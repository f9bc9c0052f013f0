"""Unit-test fixtures: a migrated SQLite database in a temp folder, one session per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shared.db import make_engine
from shared.migrate import upgrade
from shared.models import Complaint, History, User
from shared.security import cipher
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


def complaint_row(**overrides: Any) -> Complaint:
    """A complaint at verification, received at T0 (not yet added); `overrides` change any column."""
    columns: dict[str, Any] = {
        "ticket": "ADU-2026-999999",
        "tracking_code_enc": cipher().encrypt("ABCD2345", field="tracking_code"),
        "status": "open",
        "step": "verification",
        "outcome": None,
        "handoff_pending": False,
        "channel": "kiosk",
        "subject": "THR belum dibayar",
        "description": "Perusahaan belum membayar THR.",
        "category_code": "thr",
        "waiting_on_site": False,
        "preferred_reply": "sms",
        "confidential": True,
        "complainant_name": "Budi",
        "phone": "+6281234567890",
        "received_at": T0,
        "step_entered_at": T0,
        "stay_started_at": T0,
        "step_due_at": T0 + timedelta(minutes=30),
        "updated_at": T0,
    }
    return Complaint(**(columns | overrides))


@pytest.fixture
def complaint(session: Session) -> Complaint:
    c = complaint_row()
    session.add(c)
    session.flush()
    return c


def add_received(session: Session, c: Complaint) -> None:
    """The intake's `received` row (the unit fixture's complaint has none): opens verification."""
    session.add(
        History(
            complaint_id=c.id,
            at=T0,
            actor="kiosk",
            role=None,
            action="received",
            from_step=None,
            to_step="verification",
            version=1,
        )
    )
    session.flush()


def add_officer(session: Session, username: str, role: str, email: str, *, notify: bool = True) -> None:
    """A staff account with an e-mail address for notices (on unless `notify` is False)."""
    session.add(
        User(
            username=username,
            password_hash="x",
            role=role,
            active=True,
            created_at=T0,
            email=email,
            notify_by_email=notify,
        )
    )
    session.flush()
