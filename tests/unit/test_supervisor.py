"""The supervisor: its restart back-off (doubling while a child keeps failing, reset once it ran a
while), and a thin parent that leaves the application stack to its children."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_supervisor_imports_no_application_stack() -> None:
    # `aduan up`'s parent runs as long as the system: the application stack (FastAPI, pydantic,
    # SQLAlchemy, alembic, Celery, httpx) belongs in its children, not in it.
    script = (
        "import sys; import launcher.supervisor; from launcher.cli import build_parser; "
        "build_parser().parse_args(['up']); "
        "heavy = ('fastapi', 'pydantic', 'sqlalchemy', 'alembic', 'celery', 'httpx', 'jinja2'); "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
