"""`aduan up`: the whole system as child processes on one machine, supervised until Ctrl-C.

The supervisor is a thin parent: it imports the standard library only (the configuration check,
the migrations and the first admin run in a child, `aduan prepare`), so it holds a few MiB
instead of the whole application stack for as long as the system runs.

On the embedded default (SQLite) it starts three children: the broker, one process serving both
HTTP APIs on their two ports, and one Celery worker consuming both queues with the sweeper as a
thread. Outside it (PostgreSQL) each service runs in a process of its own, as in production.

The children start while `aduan prepare` runs: each is first an `aduan standby KIND` that imports
its part of the application (a few seconds each) and then waits on its stdin for its orders (the
command, the environment and the log the plan decides), sent once prepare has checked the
configuration and migrated; so the imports no longer wait for the migrations. Which standbys to
start is a guess from the environment (ADUAN_DATABASE_URL); a wrong guess costs time, never
behaviour: a child without a standby of its kind starts as before, a standby left over is stopped.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlsplit

# How long the children may take to answer /readyz (a busy office PC at boot can be slow); a child that
# dies before then fails the start at once.
READY_TIMEOUT = float(os.environ.get("ADUAN_READY_TIMEOUT", "60"))
STOP_TIMEOUT = 15.0
# A child that ran this long before it stopped was healthy: its restart back-off starts over at 1 s.
STABLE_AFTER = 60.0
MAX_RESTART_DELAY = 30
WORKER_QUEUES = ("routing", "notify")  # the embedded default's one worker consumes both
CLI = (sys.executable, "-m", "launcher.cli")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None
    ready_urls: tuple[str, ...] = ()  # answered 200 by /readyz once the child can serve
    kind: str = ""  # the standby (`aduan standby KIND`) that can become this child, if any
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0  # restarts in a row, each after less than STABLE_AFTER of running
    next_start: float = 0.0
    started_at: float = 0.0
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, run_dir: Path) -> None:
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.argv,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
        )
        (run_dir / f"{self.name}.pid").write_text(str(self.proc.pid))
        self.started_at = time.monotonic()

    def take_over(self, standby: subprocess.Popen[bytes], run_dir: Path) -> bool:
        """Become `standby` (its imports done): send it this child's command, environment and log.
        False when the standby is gone (this child then starts as a process of its own)."""
        order = {"argv": self.argv[len(CLI) :], "env": self.env, "log": str(self.log_path or "")}
        if standby.stdin is None:
            return False
        try:
            if standby.poll() is not None:
                return False
            standby.stdin.write(json.dumps(order).encode() + b"\n")
        except OSError:  # it died between the poll and the write
            standby.wait()
            return False
        finally:
            with contextlib.suppress(OSError):
                standby.stdin.close()
        self.proc = standby
        (run_dir / f"{self.name}.pid").write_text(str(standby.pid))
        self.started_at = time.monotonic()
        return True

    def restart_delay(self, now: float) -> int:
        """Seconds to wait before starting this stopped child again: 1, 2, 4 ... 30 while it keeps
        stopping soon after each start, 1 again once it had run for STABLE_AFTER."""
        if now - self.started_at >= STABLE_AFTER:
            self.restarts = 0
        self.restarts += 1
        return min(1 << min(self.restarts - 1, 5), MAX_RESTART_DELAY)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive() and self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def lower_priority(increment: int) -> None:
    """Lower this process's CPU priority (the calling thread's, and its session's) by `increment`."""
    os.nice(increment)
    # With autogroup scheduling (Linux's default), each session is a group that gets an equal
    # share of the CPU whatever its processes' nice; the child's new session needs it too.
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(increment))


class AlreadyRunning(RuntimeError):
    """Another `aduan up` supervises this data folder."""


def _our_process(pid: int) -> bool:
    """True when `pid` is alive and is one of ours (a pid may have been reused since it was written)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: alive is the best we can tell
    return any(mark in cmdline for mark in (b"aduan", b"launcher.cli", b"redis-server"))


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _claim(run_dir: Path) -> None:
    """Make this process the data folder's supervisor, clearing up after one that died uncleanly.

    A supervisor killed with SIGKILL (or by the OOM killer, or a power cut) leaves its children
    running in their own sessions and its run files behind: stop those children and forget their
    broker, so this start spawns a fresh one instead of pointing everything at a dead port.
    """
    pid = _read_pid(run_dir / "up.pid")
    if pid is not None and pid != os.getpid() and _our_process(pid):
        raise AlreadyRunning(f"aduan up sudah berjalan pada folder data ini (pid {pid})")
    stale = [p for f in run_dir.glob("*.pid") if f.name != "up.pid" and (p := _read_pid(f)) is not None]
    stale = [p for p in stale if _our_process(p)]
    for p in stale:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(_our_process(p) for p in stale) and time.monotonic() < deadline:
        time.sleep(0.1)
    for p in stale:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p, signal.SIGKILL)
    for f in run_dir.glob("*.pid"):
        f.unlink(missing_ok=True)
    (run_dir / "broker_url").unlink(missing_ok=True)
    (run_dir / "up.pid").write_text(str(os.getpid()))


def _release(run_dir: Path) -> None:
    """Forget this run: its pid files and its broker (the up.pid last, once the rest is gone)."""
    for pid_file in run_dir.glob("*.pid"):
        if pid_file.name != "up.pid":
            pid_file.unlink(missing_ok=True)
    (run_dir / "broker_url").unlink(missing_ok=True)
    (run_dir / "up.pid").unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_redis(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@dataclass(frozen=True)
class Plan:
    """What `aduan prepare` found (settings read, channels and templates checked, database
    migrated, first admin made): what the supervisor needs of the settings, and the banner's lines."""

    data_dir: Path
    host: str
    intake_port: int
    staff_port: int
    background_nice: int
    embedded: bool
    broker_url: str | None  # configured (ADUAN_BROKER_URL); None: spawn redis-server or use files
    database: str  # the banner's line
    banner: list[str]  # the channels', the delivery methods' and the templates' lines
    admin_password: str | None  # made on this run, shown once

    @classmethod
    def of(cls, data: dict[str, Any]) -> Plan:
        return cls(**{**data, "data_dir": Path(data["data_dir"])})


class PrepareFailed(RuntimeError):
    """`aduan prepare` exited with this code; it has printed why (78: the configuration)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _guess_kinds() -> list[str]:
    """The standbys `up` will likely need, guessed from the environment before prepare reads the
    settings (the embedded default unless ADUAN_DATABASE_URL names another database)."""
    url = os.environ.get("ADUAN_DATABASE_URL") or ""
    if not url or url.startswith("sqlite"):
        return ["worker", "api"]
    return ["worker", "worker", "sweeper", "api", "api"]


def _start_standbys(kinds: list[str]) -> list[tuple[str, subprocess.Popen[bytes]]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return [
        (
            kind,
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*CLI, "standby", kind],
                stdin=subprocess.PIPE,
                env=env,
                start_new_session=True,  # as every child: Ctrl-C reaches the supervisor only
            ),
        )
        for kind in kinds
    ]


def _stop_standbys(standbys: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """Stop the standbys no child took (they have only imported: nothing to clean up)."""
    for _kind, proc in standbys:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    for _kind, proc in standbys:
        proc.wait()
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
    standbys.clear()


def _start_children(
    children: list[Child], standbys: list[tuple[str, subprocess.Popen[bytes]]], run_dir: Path
) -> None:
    """Start each child: from a standby of its kind when one is waiting, else as a new process."""
    for c in children:
        taken = next((i for i, (kind, _proc) in enumerate(standbys) if kind == c.kind), None)
        if taken is None or not c.take_over(standbys.pop(taken)[1], run_dir):
            c.start(run_dir)


def _prepare() -> Plan:
    """Run `aduan prepare` in a child: the application stack is imported there, never here."""
    done = subprocess.run(
        [sys.executable, "-m", "launcher.cli", "prepare"],
        stdout=subprocess.PIPE,
        check=False,
    )
    if done.returncode != 0:
        raise PrepareFailed(done.returncode)
    return Plan.of(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def _broker(plan: Plan, run_dir: Path, log_dir: Path | None, env: dict[str, str]) -> tuple[str, Child | None]:
    """The broker URL to use and, when we spawn redis-server, its child."""
    if plan.broker_url:
        return plan.broker_url, None
    redis = shutil.which("redis-server")
    if redis is None:
        return "filesystem://", None
    port = _free_port()
    redis_dir = plan.data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    child = Child(
        "redis",
        [
            redis,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--protected-mode",
            "yes",
        ],
        env,
        log_dir / "redis.log" if log_dir else None,
    )
    child.start(run_dir)
    if not _wait_redis(port, time.monotonic() + 5):
        child.signal(signal.SIGTERM)
        raise RuntimeError("redis-server did not start; see its log")
    return f"redis://127.0.0.1:{port}/0", child


def _children(plan: Plan, env: dict[str, str], log_dir: Path | None) -> list[Child]:
    py = list(CLI)
    host, intake_port, staff_port = plan.host, plan.intake_port, plan.staff_port
    intake_ready, staff_ready = f"http://{host}:{intake_port}/readyz", f"http://{host}:{staff_port}/readyz"

    def log(name: str) -> Path | None:
        return log_dir / f"{name}.log" if log_dir else None

    # The APIs answer people; the background can wait a moment. Each background child lowers its
    # priority itself once it is ready: starved of CPU from its first instruction by a busy
    # machine, a worker took a minute to start (and to come back after a crash).
    niced = ["--nice-when-ready", str(plan.background_nice)]
    if plan.embedded:
        # One office's PC: one worker for both queues (the sweeper a thread in it) and one process
        # for both APIs, each on its own port. SQLite has one writer at a time anyway.
        return [
            Child(
                "worker",
                [*py, "worker", *WORKER_QUEUES, "--with-sweeper", *niced],
                env,
                log("worker"),
                kind="worker",
            ),
            Child(
                "api",
                [
                    *py,
                    "apis",
                    "--intake-port",
                    str(intake_port),
                    "--staff-port",
                    str(staff_port),
                    "--host",
                    host,
                ],
                env,
                log("api"),
                (intake_ready, staff_ready),
                kind="api",
            ),
        ]
    return [
        Child(
            "routing-worker", [*py, "worker", "routing", *niced], env, log("routing-worker"), kind="worker"
        ),
        Child("notify-worker", [*py, "worker", "notify", *niced], env, log("notify-worker"), kind="worker"),
        Child("sweeper", [*py, "sweeper", *niced], env, log("sweeper"), kind="sweeper"),
        Child(
            "intake-api",
            [*py, "serve", "intake", "--port", str(intake_port), "--host", host],
            env,
            log("intake-api"),
            (intake_ready,),
            kind="api",
        ),
        Child(
            "staff-api",
            [*py, "serve", "staff", "--port", str(staff_port), "--host", host],
            env,
            log("staff-api"),
            (staff_ready,),
            kind="api",
        ),
    ]


def _answers_ready(url: str) -> bool:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=0.5)
    try:
        conn.request("GET", parts.path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _wait_ready(children: list[Child], deadline: float) -> list[str]:
    """Names of the children not ready (database and broker reachable) by the deadline."""
    pending = {(c.name, url): c for c in children for url in c.ready_urls}
    while pending and time.monotonic() < deadline:
        for (name, url), c in list(pending.items()):
            if not c.alive():
                return [c.name]
            if _answers_ready(url):
                del pending[(name, url)]
        time.sleep(0.05)
    dead = [c.name for c in children if not c.alive()]
    return dead + sorted({name for name, _ in pending} - set(dead))


def _stop_all(children: list[Child], broker: Child | None) -> None:
    for c in children:
        c.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for c in children:
        if c.proc is not None:
            try:
                c.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                c.signal(signal.SIGKILL)
                c.proc.wait()
        c.close_log()
    if broker is not None:
        broker.signal(signal.SIGTERM)
        if broker.proc is not None:
            try:
                broker.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                broker.signal(signal.SIGKILL)
        broker.close_log()


def up(*, intake_port: int | None, staff_port: int | None, host: str | None, log_to_console: bool) -> int:
    """Start everything, print the URLs, supervise (restarting a crashed child) until signalled."""
    started = time.monotonic()
    standbys = _start_standbys(_guess_kinds())  # their imports run while prepare runs
    try:
        return _supervise(
            standbys,
            started,
            intake_port=intake_port,
            staff_port=staff_port,
            host=host,
            log_to_console=log_to_console,
        )
    finally:
        _stop_standbys(standbys)  # those no child took, on every way out (exit 78 included)


def _supervise(
    standbys: list[tuple[str, subprocess.Popen[bytes]]],
    started: float,
    *,
    intake_port: int | None,
    staff_port: int | None,
    host: str | None,
    log_to_console: bool,
) -> int:
    # Bad settings, channel settings or a broken message template stop `up` before any child starts
    # (exit 78 with the message, printed by `aduan prepare`).
    try:
        plan = _prepare()
    except PrepareFailed as exc:
        return exc.code
    plan = Plan.of(
        {
            **plan.__dict__,
            "host": host or plan.host,
            "intake_port": intake_port or plan.intake_port,
            "staff_port": staff_port or plan.staff_port,
        }
    )
    host, intake_port, staff_port = plan.host, plan.intake_port, plan.staff_port
    run_dir = plan.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    _claim(run_dir)
    log_dir = None if log_to_console else plan.data_dir / "logs"
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)

    stopping = False

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    env = {**os.environ, "ADUAN_DATA_DIR": str(plan.data_dir), "PYTHONUNBUFFERED": "1"}
    broker_url, broker = _broker(plan, run_dir, log_dir, env)
    env["ADUAN_BROKER_URL"] = broker_url
    (run_dir / "broker_url").write_text(broker_url)
    env.setdefault("ADUAN_PUBLIC_BASE_URL", f"http://{host}:{intake_port}")
    # Staff notices and the lembar disposisi's QR code link to the console where it really listens.
    env.setdefault("ADUAN_STAFF_BASE_URL", f"http://{host}:{staff_port}")

    children = _children(plan, env, log_dir)
    _start_children(children, standbys, run_dir)
    _stop_standbys(standbys)
    failed = _wait_ready(children, time.monotonic() + READY_TIMEOUT)
    if failed:
        print(
            f"aduan: gagal memulai: {', '.join(failed)} (lihat {log_dir or 'keluaran di atas'})",
            file=sys.stderr,
        )
        _stop_all(children, broker)
        _release(run_dir)
        return 1

    print(f"Aduan siap dalam {time.monotonic() - started:.1f} detik.")
    print(f"  Konsol petugas         http://{host}:{staff_port}/   (buka di peramban, lalu masuk)")
    print(f"  API pengaduan (kios)   http://{host}:{intake_port}/api/v1   (dokumentasi: /docs)")
    print(f"  API petugas (staff)    http://{host}:{staff_port}/api/v1   (dokumentasi: /docs)")
    print(f"  basis data             {plan.database}")
    print(f"  broker                 {broker_url}")
    print(f"  folder data            {plan.data_dir}")
    for line in plan.banner:
        print(f"  {line}")
    if log_dir:
        print(f"  log                    {log_dir}")
    if plan.admin_password:
        print("  akun admin dibuat; kata sandi ini hanya ditampilkan sekali:")
        print(f"    admin / {plan.admin_password}")
    print("Tekan Ctrl-C untuk berhenti.", flush=True)
    # The spawned redis-server is supervised too: restarted on its port, its AOF keeps the queue.
    supervised = [broker, *children] if broker is not None else children
    while not stopping:
        for c in supervised:
            if stopping or c.alive():
                continue
            if c.next_start == 0.0:
                delay = c.restart_delay(time.monotonic())
                c.next_start = time.monotonic() + delay
                print(
                    f"aduan: {c.name} berhenti (kode {c.proc.returncode if c.proc else '?'}); "
                    f"dimulai ulang dalam {delay} detik",
                    file=sys.stderr,
                    flush=True,
                )
            elif time.monotonic() >= c.next_start:
                c.close_log()
                c.next_start = 0.0
                c.start(run_dir)
        time.sleep(0.2)

    print("aduan: menghentikan semua layanan ...", flush=True)
    _stop_all(children, broker)
    _release(run_dir)
    print("aduan: selesai.", flush=True)
    return 0
