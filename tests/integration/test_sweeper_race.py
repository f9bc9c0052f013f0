"""Reminders and escalations fire exactly once: two sweepers at once, and a sweeper killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from shared.models import Complaint, Deadline, History
from shared.security import FieldCipher
from shared.settings import Settings
from tests.integration.stack import ROOT, _base_env, _data_key
from tests.support import faults
from tests.support.database import migrated

pytestmark = pytest.mark.integration

TIMERS = 300  # 100 complaints x (reminder, breach, second), all due


@pytest.fixture(params=["postgres", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """A migrated database full of due timers, and the environment that points a sweeper at it."""
    env = _base_env(
        {
            "ADUAN_DATA_DIR": str(tmp_path),
            "ADUAN_BROKER_URL": "filesystem://",
            "ADUAN_SECRET_KEY": "uji-kunci-rahasia-123",
            "ADUAN_DATA_KEY": _data_key(),
            "ADUAN_SWEEP_INTERVAL": "0.2",
            "ADUAN_OUTBOX_BATCH": "40",
        }
    )
    with migrated(env, backend=request.param, name=f"aduan_sw_{os.getpid()}_{request.param}") as settings:
        engine = create_engine(settings.sync_database_url())
        _fill(engine, settings)
        yield env, settings.sync_database_url()
        engine.dispose()


def _fill(engine: Engine, settings: Settings) -> None:
    cipher = FieldCipher(settings.data_key_bytes())
    entered = datetime.now(UTC) - timedelta(hours=3)
    with Session(engine) as s, s.begin():
        for i in range(TIMERS // 3):
            c = Complaint(
                ticket=f"ADU-2026-{i:06d}",
                tracking_code_enc=cipher.encrypt("X", field="t"),
                status="open",
                step="verification",
                outcome=None,
                handoff_pending=False,
                channel="kiosk",
                subject="s",
                description="d",
                category_code=None,
                waiting_on_site=False,
                preferred_reply="in_person",
                confidential=True,
                complainant_name="n",
                received_at=entered,
                step_entered_at=entered,
                step_due_at=entered,
                updated_at=entered,
            )
            s.add(c)
            s.flush()
            for n, kind in enumerate(("reminder", "breach", "second")):
                s.add(
                    Deadline(
                        complaint_id=c.id,
                        step="verification",
                        entered_at=entered,
                        kind=kind,
                        due_at=entered + timedelta(minutes=n),
                    )
                )


def _sweeper(env: dict[str, str], **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "launcher.cli", "sweeper"],
        env={**env, **extra},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    with Session(engine) as s:
        unfired = s.scalar(select(func.count()).select_from(Deadline).where(Deadline.fired_at.is_(None))) or 0
        fired = s.scalar(select(func.count()).select_from(Deadline).where(Deadline.result == "fired")) or 0
        rows = (
            s.scalar(
                select(func.count()).select_from(History).where(History.action.in_(["reminder", "escalated"]))
            )
            or 0
        )
    engine.dispose()
    return unfired, fired, rows


def _wait_done(url: str, timeout: float = 60) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    counts = _counts(url)
    while counts[0] and time.monotonic() < deadline:
        time.sleep(0.2)
        counts = _counts(url)
    return counts


def test_two_sweepers_at_once_fire_each_timer_once(database: tuple[dict[str, str], str]) -> None:
    env, url = database
    sweepers = [_sweeper(env), _sweeper(env)]
    try:
        assert _wait_done(url) == (0, TIMERS, TIMERS)
    finally:
        for p in sweepers:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
    time.sleep(0.5)
    assert _counts(url) == (0, TIMERS, TIMERS)


def test_a_sweeper_killed_mid_batch_loses_nothing_and_repeats_nothing(
    database: tuple[dict[str, str], str],
) -> None:
    env, url = database
    doomed = _sweeper(env, **faults.env(sweep_pause=30))
    try:
        time.sleep(4)  # it has claimed and fired its first batch and sleeps before COMMIT
        assert _counts(url)[2] == 0  # nothing committed yet
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    survivor = _sweeper(env)
    try:
        assert _wait_done(url) == (0, TIMERS, TIMERS)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=30)
