"""`aduan up`: the whole system as child processes on one machine, supervised until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

from launcher.admin import ensure_admin
from services.notify.channels import load_channels
from services.notify.messages import check_templates
from shared.migrate import upgrade
from shared.settings import Settings, get_settings
from shared.sop import CHOICE_LABELS, ReplyMethod

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
# A child that ran this long before it stopped was healthy: its restart back-off starts over at 1 s.
STABLE_AFTER = 60.0
MAX_RESTART_DELAY = 30


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None
    ready_url: str | None = None
    nice: int = 0  # added to this child's nice level (lower CPU priority)
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
            # The supervisor runs no threads, so a preexec_fn is safe here.
            preexec_fn=_niced(self.nice) if self.nice else None,
        )
        (run_dir / f"{self.name}.pid").write_text(str(self.proc.pid))
        self.started_at = time.monotonic()

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


def _niced(increment: int) -> Callable[[], None]:
    """Run in the child before exec: lower its CPU priority by `increment`."""

    def apply() -> None:
        os.nice(increment)
        # With autogroup scheduling (Linux's default), each session is a group that gets an equal
        # share of the CPU whatever its processes' nice; the child's new session needs it too.
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(increment))

    return apply


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


def _broker(
    settings: Settings, run_dir: Path, log_dir: Path | None, env: dict[str, str]
) -> tuple[str, Child | None]:
    """The broker URL to use and, when we spawn redis-server, its child."""
    if settings.broker_url:
        return settings.broker_url, None
    redis = shutil.which("redis-server")
    if redis is None:
        return "filesystem://", None
    port = _free_port()
    redis_dir = settings.data_dir / "redis"
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


def _children(
    settings: Settings,
    env: dict[str, str],
    log_dir: Path | None,
    intake_port: int,
    staff_port: int,
    host: str,
) -> list[Child]:
    py = [sys.executable, "-m", "launcher.cli"]

    def log(name: str) -> Path | None:
        return log_dir / f"{name}.log" if log_dir else None

    nice = settings.background_nice  # the APIs answer people; the background can wait a moment
    return [
        Child("routing-worker", [*py, "worker", "routing"], env, log("routing-worker"), nice=nice),
        Child("notify-worker", [*py, "worker", "notify"], env, log("notify-worker"), nice=nice),
        Child("sweeper", [*py, "sweeper"], env, log("sweeper"), nice=nice),
        Child(
            "intake-api",
            [*py, "serve", "intake", "--port", str(intake_port), "--host", host],
            env,
            log("intake-api"),
            f"http://{host}:{intake_port}/readyz",
        ),
        Child(
            "staff-api",
            [*py, "serve", "staff", "--port", str(staff_port), "--host", host],
            env,
            log("staff-api"),
            f"http://{host}:{staff_port}/readyz",
        ),
    ]


def _wait_ready(children: list[Child], deadline: float) -> list[str]:
    """Names of the children not ready (database and broker reachable) by the deadline."""
    pending = [c for c in children if c.ready_url]
    with httpx.Client(timeout=0.5) as client:
        while pending and time.monotonic() < deadline:
            for c in list(pending):
                if not c.alive():
                    return [c.name]
                try:
                    if c.ready_url and client.get(c.ready_url).status_code == 200:
                        pending.remove(c)
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
    dead = [c.name for c in children if not c.alive()]
    return dead + [c.name for c in pending]


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


def delivery_methods(settings: Settings) -> str:
    """The banner's line on how `deliver` can reach a complainant: which message methods really send."""
    kinds = (ReplyMethod.SMS, ReplyMethod.WHATSAPP, ReplyMethod.EMAIL)
    sending = [CHOICE_LABELS[k] for k in kinds if k.value not in settings.log_only_kinds()]
    logged = [CHOICE_LABELS[k] for k in kinds if k.value in settings.log_only_kinds()]
    line = "langsung, telepon, surat" + (f"; terkirim lewat {', '.join(sending)}" if sending else "")
    if logged:
        what = "diterima (demo: ADUAN_DEMO_LOG_CHANNELS)" if settings.demo_log_channels else "ditolak"
        line += f"; {', '.join(logged)} hanya dicatat, tidak terkirim: {what}"
    return line


def up(*, intake_port: int | None, staff_port: int | None, host: str | None, log_to_console: bool) -> int:
    """Start everything, print the URLs, supervise (restarting a crashed child) until signalled."""
    started = time.monotonic()
    settings = get_settings()
    # Bad channel settings or a broken message template stop `up` before any child starts
    # (ConfigError: exit 78 with the message).
    channels = load_channels(settings)
    templates = check_templates(settings)
    host = host or settings.host
    intake_port = intake_port or settings.intake_port
    staff_port = staff_port or settings.staff_port
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    _claim(run_dir)
    log_dir = None if log_to_console else settings.data_dir / "logs"
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)

    stopping = False

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    env = {**os.environ, "ADUAN_DATA_DIR": str(settings.data_dir), "PYTHONUNBUFFERED": "1"}
    broker_url, broker = _broker(settings, run_dir, log_dir, env)
    env["ADUAN_BROKER_URL"] = broker_url
    (run_dir / "broker_url").write_text(broker_url)
    env.setdefault("ADUAN_PUBLIC_BASE_URL", f"http://{host}:{intake_port}")
    # Staff notices and the lembar disposisi's QR code link to the console where it really listens.
    env.setdefault("ADUAN_STAFF_BASE_URL", f"http://{host}:{staff_port}")
    os.environ["ADUAN_BROKER_URL"] = broker_url
    upgrade(settings)
    admin_password = ensure_admin()

    children = _children(settings, env, log_dir, intake_port, staff_port, host)
    for c in children:
        c.start(run_dir)
    failed = _wait_ready(children, time.monotonic() + READY_TIMEOUT)
    if failed:
        print(
            f"aduan: gagal memulai: {', '.join(failed)} (lihat {log_dir or 'keluaran di atas'})",
            file=sys.stderr,
        )
        _stop_all(children, broker)
        _release(run_dir)
        return 1

    where = "SQLite " + str(settings.sqlite_path) if settings.embedded else "PostgreSQL"
    print(f"Aduan siap dalam {time.monotonic() - started:.1f} detik.")
    print(f"  Konsol petugas         http://{host}:{staff_port}/   (buka di peramban, lalu masuk)")
    print(f"  API pengaduan (kios)   http://{host}:{intake_port}/api/v1   (dokumentasi: /docs)")
    print(f"  API petugas (staff)    http://{host}:{staff_port}/api/v1   (dokumentasi: /docs)")
    print(f"  basis data             {where}")
    print(f"  broker                 {broker_url}")
    print(f"  folder data            {settings.data_dir}")
    for line in channels.describe():
        print(f"  saluran                {line}")
    print(f"  penyampaian jawaban    {delivery_methods(settings)}")
    print(f"  templat pesan          {templates}")
    if log_dir:
        print(f"  log                    {log_dir}")
    if admin_password:
        print("  akun admin dibuat; kata sandi ini hanya ditampilkan sekali:")
        print(f"    admin / {admin_password}")
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
