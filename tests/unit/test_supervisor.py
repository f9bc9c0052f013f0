"""The supervisor's restart back-off: doubling while a child keeps failing, reset once it ran a while."""

from __future__ import annotations

from launcher.supervisor import STABLE_AFTER, Child


def _child() -> Child:
    return Child(name="routing-worker", argv=["true"], env={}, log_path=None)


def test_a_child_that_keeps_failing_waits_longer_each_time_up_to_30_seconds() -> None:
    child = _child()
    delays = []
    for i in range(8):
        child.started_at = float(i)  # each run lasts under a second
        delays.append(child.restart_delay(float(i) + 0.5))
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_ran_a_minute_starts_over_at_one_second() -> None:
    child = _child()
    for i in range(6):
        child.started_at = float(i)
        child.restart_delay(float(i) + 0.5)
    child.started_at = 100.0
    assert child.restart_delay(100.0 + STABLE_AFTER) == 1
    child.started_at = 200.0
    assert child.restart_delay(201.0) == 2
