"""A routing worker killed with SIGKILL in the middle of a hand-off: the complaint still lands once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.integration.conftest import BACKENDS, _make
from tests.integration.stack import Stack, running
from tests.integration.stack import alive as _alive
from tests.support import faults

pytestmark = pytest.mark.integration

PAUSE = 2.5  # the routing task sleeps this long after its UPDATE, before COMMIT


@pytest.fixture(scope="module", params=BACKENDS)
def crash_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _make(
        request.param,
        tmp_path_factory,
        redis_db=12,
        extra={
            **faults.env(handoff_pause=PAUSE),
            # Redis also redelivers the unacknowledged message: two deliveries, one effect.
            "ADUAN_BROKER_VISIBILITY_TIMEOUT": "3",
        },
    )
    with running(stack) as s:
        yield s


def test_sigkill_mid_handoff_lands_in_the_right_queue_exactly_once(crash_stack: Stack) -> None:
    s = crash_stack
    ticket = s.file().json()["ticket"]
    s.wait_in_queue("fo", ticket)
    worker = s.worker_pid("routing")
    r = s.act("fo", ticket, "forward", 1, identity_verified=True, id_document="KTP")
    assert r.status_code == 202, r.text
    time.sleep(PAUSE / 2)  # the hand-off has updated the row and sleeps before committing
    assert s.sql("SELECT handoff_pending FROM complaints WHERE ticket = :t", t=ticket)[0][0]
    os.kill(worker, signal.SIGKILL)

    item = s.wait_in_queue("kasubag", ticket, timeout=60)
    assert item["step"] == "review" and item["version"] == 2
    assert not _alive(worker) and s.worker_pid("routing") != worker  # the supervisor restarted it

    time.sleep(PAUSE + 3)  # let any duplicate delivery (reconciler, broker redelivery) run
    record = s.record("kadis", ticket)
    assert [h["action"] for h in record["history"]] == ["received", "forward", "queued"]
    assert (record["step"], record["version"], record["handoff_pending"]) == ("review", 2, False)
    rows = s.sql(
        "SELECT attempts, processed_at FROM outbox WHERE task = 'routing.handoff' "
        "AND CAST(payload AS TEXT) LIKE :p",
        p=f'%"complaint_id": {record_id(s, ticket)},%',
    )
    assert len(rows) == 1 and rows[0][1] is not None
    assert rows[0][0] >= 1  # the reconciler re-sent what the killed worker never finished

    # The restarted worker keeps working: the next hand-off lands normally.
    r = s.act("kasubag", ticket, "forward", 2)
    assert r.status_code == 202
    s.wait_in_queue("sekdis", ticket, timeout=30)


def record_id(s: Stack, ticket: str) -> int:
    return int(s.sql("SELECT id FROM complaints WHERE ticket = :t", t=ticket)[0][0])
