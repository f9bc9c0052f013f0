"""Drain: how fast the notify worker sends a burst's receipts, and its CPU per message.

    .venv/bin/python bench/drain.py [--complaints 2000] [--backend postgres|embedded|both]

Per backend: a fresh database (PostgreSQL, or the embedded SQLite file), migrated, and one notify
worker (`aduan worker notify`, as `aduan up` starts it) on a Redis database of its own
(ADUAN_BENCH_REDIS_PORT). SMS go to a local HTTP gateway (the tests' GatewayServer, the generic
adapter) and e-mail to a local SMTP server (aiosmtpd), both in this process.

1. The worker is started, sends one warm-up receipt, and is stopped (SIGSTOP).
2. N complaints are written as the intake writes them (the complaint row with its sealed contact,
   and its receipt's outbox row), each with a mobile number and an e-mail address: two messages
   per receipt. Their outbox messages are published as the product publishes them: on PostgreSQL
   by the sweeper's relay (`outbox.publish` of up to ADUAN_OUTBOX_BATCH rows at a time); on SQLite
   by the intake API after each commit (one at a time).
3. The worker is continued (SIGCONT); the clock runs until every receipt's messages are sent
   (none pending or sending, every notify outbox row processed).

Printed per backend: messages/s over the drain and the CPU per message of each process the drain
keeps busy, from /proc: the worker (user + system of every process of its session), the PostgreSQL
backends of the database (every backend `pg_stat_activity` lists at the start or the end), the
Redis server (its INFO cpu), and this process (the local gateway and SMTP server: the harness, not
the product; on two cores it competes with them). On PostgreSQL also the transactions committed per
message (pg_stat_database). The intake and the sweeper are left out: the figure is the background
pipeline's (bench/intake.py measures the intake).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from common import (
    REDIS_HOST,
    REDIS_PORT,
    ROOT,
    base_env,
    flush_redis,
    format_table,
    load_note,
    log,
    new_secrets,
    pg_url,
    throwaway_database,
)

sys.path.insert(0, str(ROOT))
from tests.support.gateway_server import GatewayServer
from tests.support.smtp_server import Handler, free_port

DRAIN_TIMEOUT = 600.0
TARGET = 600.0  # messages/s on PostgreSQL (issue 14)
TICKS = os.sysconf("SC_CLK_TCK")
PER_RECEIPT = 2  # an SMS and an e-mail


@dataclass
class Result:
    backend: str
    complaints: int
    messages: int
    drain_s: float
    worker_cpu_s: float
    failed: int
    postgres_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0
    harness_cpu_s: float = 0.0
    commits: int = 0

    @property
    def rate(self) -> float:
        return self.messages / self.drain_s if self.drain_s else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.per_message(self.worker_cpu_s)

    def per_message(self, seconds: float) -> float:
        return 1000 * seconds / max(self.messages, 1)


class CountingHandler(Handler):
    """The tests' SMTP handler, counting instead of keeping every message."""

    count: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK diterima"


@contextmanager
def local_channels() -> Iterator[tuple[dict[str, str], GatewayServer, CountingHandler]]:
    """A local SMS gateway and SMTP server, and the settings that send through them."""
    gateway = GatewayServer()
    gateway.start()
    smtp = CountingHandler()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    gateways = {
        "sms": {
            "url": f"{gateway.url}/sms",
            "recipient_field": "to",
            "text_field": "message",
            "phone_format": "08",
            "kinds": ["sms"],
            "success": {"path": "status", "equals": True, "id_path": "id.0"},
            "read_timeout": 10,
            "connect_timeout": 2,
        }
    }
    env = {
        "ADUAN_GATEWAYS": json.dumps(gateways),
        "ADUAN_SMS_GATEWAY": "sms",
        "ADUAN_EMAIL_BACKEND": "smtp",
        "ADUAN_SMTP_HOST": "127.0.0.1",
        "ADUAN_SMTP_PORT": str(port),
        "ADUAN_SMTP_SECURITY": "none",
        "ADUAN_SMTP_FROM": "pengaduan@disnakertrans.example.go.id",
        "ADUAN_SMTP_TIMEOUT": "10",
    }
    try:
        yield env, gateway, smtp
    finally:
        controller.stop()
        gateway.stop()


def session_cpu(sid: int) -> float:
    """User + system CPU seconds of every live process in session `sid`."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[3]) == sid:  # the session id (field 6 of stat)
                total += int(fields[11]) + int(fields[12])
    return total / TICKS


def pid_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` (0 when it is gone)."""
    with suppress(OSError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


def backend_pids() -> set[int]:
    """The PostgreSQL backends connected to this process's database (none on SQLite)."""
    from sqlalchemy import text

    from shared.db import engine

    if engine().dialect.name != "postgresql":
        return set()
    with engine().connect() as conn:
        rows = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        return {int(r[0]) for r in rows} - _OWN_BACKENDS


def commits() -> int:
    """Transactions committed in this process's database so far (0 on SQLite)."""
    from sqlalchemy import text

    from shared.db import engine

    if engine().dialect.name != "postgresql":
        return 0
    with engine().connect() as conn:
        return int(
            conn.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


def redis_cpu() -> float:
    """The Redis server's user + system CPU seconds so far (INFO cpu)."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def own_cpu() -> float:
    """This process's CPU seconds (every thread: the local gateway and SMTP server among them)."""
    times = os.times()
    return times.user + times.system


@contextmanager
def notify_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "launcher.cli", "worker", "notify"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- in this process: the product's own code on the same database ---------------------------------


def seed(count: int, first: int) -> list[Any]:
    """Write `count` complaints as the intake does, each with its receipt's outbox row; the
    outbox messages to publish (as the relay or the API would)."""
    from datetime import timedelta

    from sqlalchemy import insert

    from shared import outbox
    from shared.clock import now
    from shared.db import unit_of_work
    from shared.identity import identity_columns
    from shared.models import Complaint, Outbox, table_of
    from shared.security import cipher
    from shared.tasks import NotifyEvent, TaskName

    at = now()
    messages = []
    with unit_of_work() as session:
        for i in range(first, first + count):
            values = {
                "ticket": f"ADU-2026-{i + 1:06d}",
                "tracking_code_enc": cipher().encrypt(f"K7QX{i % 10000:04d}", field="tracking_code"),
                "status": "open",
                "step": "verification",
                "version": 1,
                "handoff_pending": False,
                "channel": "kiosk",
                "subject": "THR belum dibayarkan",
                "description": f"Perusahaan belum membayar THR (ref {i}).",
                "category_code": "thr",
                "waiting_on_site": False,
                "preferred_reply": "email",
                "confidential": False,
                "complainant_name": "Siti Aminah",
                **identity_columns(
                    nik=f"3307015203{90 + i // 10000 % 10:02d}{i % 10000:04d}",
                    phone=f"+62812{i % 10**8:08d}",
                    email=f"pengadu{i}@contoh.example.id",
                    address=None,
                ),
                "escalation_level": 0,
                "received_at": at,
                "step_entered_at": at,
                "stay_started_at": at,
                "step_due_at": at + timedelta(minutes=30),
                "updated_at": at,
            }
            complaint_id = session.execute(
                insert(table_of(Complaint)).values(values).returning(table_of(Complaint).c.id)
            ).scalar_one()
            payload = {"complaint_id": complaint_id, "event": NotifyEvent.RECEIPT.value, "method": None}
            row = session.execute(
                insert(table_of(Outbox))
                .values(outbox.values(TaskName.NOTIFY, payload, now=at))
                .returning(table_of(Outbox).c.id)
            ).scalar_one()
            messages.append(outbox.Message(row, TaskName.NOTIFY.value, "notify", payload))
    return messages


def publish(messages: list[Any], *, relayed: bool) -> None:
    from shared import outbox
    from shared.settings import get_settings

    if relayed:  # the sweeper's relay: a batch of due rows per transaction, published after it
        step = get_settings().outbox_batch
        for i in range(0, len(messages), step):
            outbox.publish(messages[i : i + step])
    else:  # the intake API on SQLite: each filing's receipt after its commit
        for m in messages:
            outbox.publish([m])


_OWN_BACKENDS: set[int] = set()  # this process's own connections (its polling), left out

_STATE = (
    "SELECT pg_backend_pid(),"
    " (SELECT count(*) FROM notifications WHERE status IN ('sent', 'delivered')),"
    " (SELECT count(*) FROM notifications WHERE status = 'failed'),"
    " (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')),"
    " (SELECT count(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL)"
)


def state() -> tuple[int, ...]:
    from sqlalchemy import text

    from shared.db import engine

    query = _STATE if engine().dialect.name == "postgresql" else _STATE.replace("pg_backend_pid()", "0")
    with engine().connect() as conn:
        pid, *counts = (int(v) for v in conn.execute(text(query)).one())
    _OWN_BACKENDS.add(pid)
    return tuple(counts)


def wait_drained(expected: int, deadline: float, worker: subprocess.Popen[bytes]) -> tuple[int, ...]:
    now = state()
    while not (now[0] + now[1] >= expected and now[2] == 0 and now[3] == 0):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError(f"not drained: {now} (expected {expected} sent)")
        time.sleep(0.05)
        now = state()
    return now


def measure(backend: str, complaints: int, env: dict[str, str], folder: Path) -> Result:
    os.environ.update(env)  # this process's own settings: the same database and broker
    from shared.migrate import upgrade
    from shared.settings import get_settings

    upgrade(get_settings())
    relayed = backend == "postgres"
    with notify_worker(env, folder / "notify-worker.log") as worker:
        publish(seed(1, 0), relayed=relayed)  # the warm-up: imports, connections, templates
        wait_drained(PER_RECEIPT, time.monotonic() + 120, worker)
        os.killpg(worker.pid, signal.SIGSTOP)
        messages = seed(complaints, 1)
        publish(messages, relayed=relayed)
        log(f"{backend}: {complaints} receipts written and published; the worker continues")
        backends = backend_pids()
        pg0 = {pid: pid_cpu(pid) for pid in backends}
        commits0, redis0 = commits(), redis_cpu()
        cpu0, own0 = session_cpu(worker.pid), own_cpu()
        t0 = time.monotonic()
        os.killpg(worker.pid, signal.SIGCONT)
        done = wait_drained(PER_RECEIPT * (complaints + 1), t0 + DRAIN_TIMEOUT, worker)
        drain = time.monotonic() - t0
        cpu, own = session_cpu(worker.pid) - cpu0, own_cpu() - own0
        pg = sum(pid_cpu(pid) - pg0.get(pid, 0.0) for pid in backends | backend_pids())
        redis_s, committed = redis_cpu() - redis0, commits() - commits0
    total = PER_RECEIPT * complaints
    log(
        f"{backend}: {total} messages in {drain:.2f} s, CPU s: worker {cpu:.2f}, postgres {pg:.2f},"
        f" redis {redis_s:.2f}, harness {own:.2f}; {committed} commits; state {done}"
    )
    return Result(backend, complaints, total, drain, cpu, done[1], pg, redis_s, own, committed)


def run_one(backend: str, complaints: int, redis_db: int, concurrency: int = 1) -> Result:
    """In a child process of its own: the settings are read once per process."""
    with tempfile.TemporaryDirectory(prefix="aduan-drain-") as tmp, local_channels() as (chan, gw, smtp):
        folder = Path(tmp)
        env = (
            base_env()
            | new_secrets()
            | chan
            | {
                "ADUAN_DATA_DIR": str(folder / "data"),
                "ADUAN_BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
                "ADUAN_WORKER_CONCURRENCY": str(concurrency),
            }
        )
        flush_redis(redis_db)
        try:
            if backend == "postgres":
                with throwaway_database("aduan_drain") as database:
                    env["ADUAN_DATABASE_URL"] = pg_url(database)
                    result = measure(backend, complaints, env, folder)
                    from shared.db import engine

                    engine().dispose()
            else:
                result = measure(backend, complaints, env, folder)
        except Exception:
            log((folder / "notify-worker.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            flush_redis(redis_db)
        log(f"{backend}: the gateway answered {len(gw.requests)} requests, the SMTP server {smtp.count}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=2000)
    parser.add_argument("--backend", choices=["postgres", "embedded", "both"], default="both")
    parser.add_argument("--redis-db", type=int, default=9, help="flushed before and after")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="the notify worker's processes (ADUAN_WORKER_CONCURRENCY)"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one backend, print JSON
    args = parser.parse_args()
    if args.one:
        r = run_one(args.one, args.complaints, args.redis_db, args.concurrency)
        print(json.dumps(r.__dict__))
        return 0
    started_under = load_note()
    backends = ["postgres", "embedded"] if args.backend == "both" else [args.backend]
    results = []
    for b in backends:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                b,
                *("--complaints", str(args.complaints)),
                "--redis-db",
                str(args.redis_db),
                *("--concurrency", str(args.concurrency)),
            ],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        results.append(Result(**json.loads(out.stdout.strip().splitlines()[-1])))
    names = {"postgres": "PostgreSQL + Redis", "embedded": "embedded (SQLite) + Redis"}
    print(
        format_table(
            [
                "backend",
                "receipts",
                "messages",
                "drain s",
                "messages/s",
                "CPU ms/msg: worker",
                "postgres",
                "redis",
                "harness",
                "commits/msg",
                "failed",
            ],
            [
                [
                    names[r.backend],
                    r.complaints,
                    r.messages,
                    f"{r.drain_s:.1f}",
                    f"{r.rate:.0f}",
                    f"{r.cpu_ms:.2f}",
                    f"{r.per_message(r.postgres_cpu_s):.2f}" if r.backend == "postgres" else "-",
                    f"{r.per_message(r.redis_cpu_s):.2f}",
                    f"{r.per_message(r.harness_cpu_s):.2f}",
                    f"{r.commits / max(r.messages, 1):.2f}" if r.backend == "postgres" else "-",
                    r.failed,
                ]
                for r in results
            ],
        )
    )
    print(f"target: >= {TARGET:.0f} messages/s on PostgreSQL (a 10 s burst drained in <= 20 s)")
    print(started_under)
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
