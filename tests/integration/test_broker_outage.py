"""Redis gone for a while under a running instance: each process says so once and once more when it is
back (with how many messages waited), instead of a traceback per message; nothing is lost."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack import FORWARD, Stack, postgres_stack, running
from tests.support.gateway_server import unused_port

pytestmark = pytest.mark.integration


class Redis:
    """A redis-server of this test's own, to stop and start again on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Redis]]:
    redis = Redis(unused_port())
    redis.start()
    folder = tmp_path_factory.mktemp("stack-outage")
    stack = postgres_stack(
        folder, redis_db=8, extra={"ADUAN_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0"}
    )
    try:
        with running(stack) as s:
            yield s, redis
    finally:
        redis.stop()


def _log(stack: Stack, name: str) -> Path:
    return stack.data_dir / "logs" / f"{name}.log"


def test_a_broker_outage_is_two_lines_per_process_and_loses_nothing(outage: tuple[Stack, Redis]) -> None:
    s, redis = outage
    first = s.file().json()["ticket"]
    s.wait_in_queue("fo", first)
    marks = {name: _log(s, name).stat().st_size for name in ("staff-api", "sweeper")}

    redis.stop()
    r = s.act("fo", first, "forward", 1, **FORWARD)
    assert r.status_code == 202, r.text  # the change is committed; its message waits in the outbox
    waiting = [s.file().json()["ticket"] for _ in range(3)]
    time.sleep(3)  # several sweeper passes try to relay while the broker is away
    redis.start()

    s.wait_in_queue("kasubag", first, timeout=60)
    for ticket in waiting:
        s.wait_in_queue("fo", ticket, timeout=60)
    r = s.act("kasubag", first, "forward", 2)  # the staff API publishes again
    assert r.status_code == 202, r.text
    s.wait_in_queue("sekdis", first, timeout=30)

    for name, mark in marks.items():
        text = _log(s, name).read_bytes()[mark:].decode(errors="replace")
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
        assert text.count("broker unreachable") == 1, f"{name}:\n{text[-3000:]}"
        assert text.count("broker back after") == 1, f"{name}:\n{text[-3000:]}"
        assert "message(s) waited in the outbox" in text
