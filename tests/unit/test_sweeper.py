"""The sweeper's parts run on their own: one bad timer or a failing relay holds back no deadline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from services.routing import sweeper
from shared import notices
from shared.clock import now
from shared.db import unit_of_work
from shared.migrate import upgrade
from shared.models import Complaint, Deadline, Escalation, History, Notification, Outbox
from shared.settings import Settings, get_settings
from tests.unit.conftest import complaint_row
from tests.unit.test_sla import schedule_at_verification

COMPLAINTS = 5


@pytest.fixture
def settings() -> Iterator[Settings]:
    """The process-wide (embedded) database, migrated, with five complaints whose timers are due."""
    settings = get_settings()
    upgrade(settings)
    entered = now() - timedelta(days=30)
    with unit_of_work() as session:
        for i in range(COMPLAINTS):
            c = complaint_row(ticket=f"ADU-2026-90000{i}", step_entered_at=entered, received_at=entered)
            session.add(c)
            session.flush()
            schedule_at_verification(session, c.id, entered)
    yield settings
    with unit_of_work() as session:
        for table in (Notification, Escalation, History, Deadline, Outbox, Complaint):
            session.execute(delete(table))


def _results() -> dict[str, int]:
    with unit_of_work() as session:
        rows = session.execute(select(Deadline.result, func.count()).group_by(Deadline.result)).all()
    return {str(result): count for result, count in rows}


def test_a_timer_that_fails_on_its_own_is_set_aside_and_the_rest_fire(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        bad = session.scalars(select(Complaint.id).order_by(Complaint.id)).first()
    real = notices.queue_staff_notice

    def failing(session: Any, **kwargs: Any) -> int:
        if kwargs["complaint_id"] == bad:
            raise RuntimeError("a row this code cannot handle")
        return real(session, **kwargs)

    monkeypatch.setattr(notices, "queue_staff_notice", failing)
    fired = sweeper.fire_timers(settings)

    assert fired == (COMPLAINTS - 1) * 3
    assert _results() == {"fired": (COMPLAINTS - 1) * 3, "error": 3}
    with unit_of_work() as session:  # the failed timers left nothing half-written
        history = select(func.count()).select_from(History).where(History.complaint_id == bad)
        assert session.scalar(history) == 0
        assert session.scalar(select(Complaint.escalation_level).where(Complaint.id == bad)) == 0
        levels = session.scalars(select(Complaint.escalation_level).where(Complaint.id != bad)).all()
    assert set(levels) == {2}
    assert sweeper.fire_timers(settings) == 0  # set aside: not retried on every pass


def test_a_failing_relay_does_not_stop_the_timers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_settings: Settings) -> int:
        raise ConnectionError("broker gone")

    monkeypatch.setattr(sweeper, "relay_once", broken)
    sweeper.sweep_once(settings)
    assert _results() == {"fired": COMPLAINTS * 3}
