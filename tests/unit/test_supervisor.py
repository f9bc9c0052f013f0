"""The supervisor: its restart back-off (doubling while a child keeps failing, reset once it ran a
while), and a thin parent that leaves the application stack to its children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from launcher.supervisor import CLI, STABLE_AFTER, Child, _start_children, _start_standbys, _stop_standbys


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


def _sweeper_standby() -> tuple[str, subprocess.Popen[bytes]]:
    [standby] = _start_standbys(["sweeper"])  # `aduan standby sweeper`: the lightest kind
    return standby


def test_a_standby_runs_the_command_environment_and_log_it_is_sent(tmp_path: Path) -> None:
    # The plan decides these only once `aduan prepare` has run: the standby learns them on stdin.
    log = tmp_path / "logs" / "checker.log"
    log.parent.mkdir()
    env = {**os.environ, "ADUAN_DATA_DIR": str(tmp_path / "data"), "ADUAN_BROKER_URL": "filesystem://"}
    child = Child("checker", [*CLI, "check"], env, log, kind="sweeper")
    standbys = [_sweeper_standby()]
    try:
        _start_children([child], standbys, tmp_path)
        assert not standbys  # taken
        assert child.proc is not None and child.proc.wait(timeout=60) == 0
        assert (tmp_path / "checker.pid").read_text() == str(child.proc.pid)
        assert f"data_dir={tmp_path / 'data'} embedded=True broker=filesystem://" in log.read_text()
    finally:
        _stop_standbys(standbys)


def test_a_child_without_a_live_standby_of_its_kind_starts_on_its_own(tmp_path: Path) -> None:
    dead = _sweeper_standby()
    os.killpg(dead[1].pid, signal.SIGKILL)
    dead[1].wait()
    live = _sweeper_standby()
    standbys = [dead, live]
    children = [
        Child("gone", [sys.executable, "-c", "pass"], {}, None, kind="sweeper"),  # its standby died
        Child("other", [sys.executable, "-c", "pass"], {}, None, kind="api"),  # no standby of its kind
    ]
    try:
        _start_children(children, standbys, tmp_path)
        for c in children:
            assert c.proc is not None and c.proc not in (dead[1], live[1])
            assert c.proc.wait(timeout=30) == 0
        assert standbys == [live] and live[1].poll() is None  # the live standby nobody took ...
    finally:
        _stop_standbys(standbys)
    assert live[1].returncode is not None and not standbys  # ... is stopped
