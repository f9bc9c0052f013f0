"""Helpers shared by the benchmarks: throwaway databases, `aduan up` as a child, accounts, figures.

Everything here starts processes and creates databases; every helper that does so undoes it in a
`finally`, so an interrupted benchmark leaves no server, database or broker data behind.
"""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG_HOST = "127.0.0.1:5432"
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}/postgres"
# A checkout benchmarking beside others points this at its own redis-server.
REDIS_HOST, REDIS_PORT = "127.0.0.1", int(os.environ.get("ADUAN_BENCH_REDIS_PORT", "6379"))

READY_TIMEOUT = 90.0  # `aduan up` migrates a fresh database first
STOP_TIMEOUT = 60.0  # the supervisor gives each child 15 s, then the broker 15 s
CLI_TIMEOUT = 60.0


def log(message: str) -> None:
    """Progress goes to stderr so that stdout holds only the final table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def base_env() -> dict[str, str]:
    """This environment without any ADUAN_* setting, so only what a benchmark sets applies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env["PYTHONUNBUFFERED"] = "1"
    # One bench kiosk files hundreds a second to measure capacity, far past what a real kiosk may:
    # a limit it never reaches, so each filing still pays for its count.
    env["ADUAN_LIMIT_FILING_KIOSK"] = "100000000/hour"
    return env


def new_secrets() -> dict[str, str]:
    return {
        "ADUAN_SECRET_KEY": secrets.token_urlsafe(32),
        "ADUAN_DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def load_note() -> str:
    """The machine's load when the benchmark began: figures taken beside other work are lower."""
    one, five, _ = os.getloadavg()
    note = f"load average at start {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"
    if one > 0.5:
        note += " -- other work was running; treat the figures as a floor"
    return note


def cpu_sample() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of the whole machine, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return 0, 0, 0
    idle = fields[3] + fields[4]  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return total - idle - steal, steal, total


def cpu_note(before: tuple[int, int, int]) -> str:
    """Machine CPU use since `before`: busy shows saturation, steal a noisy neighbour (VM)."""
    after = cpu_sample()
    total = (after[2] - before[2]) or 1
    return (
        f"cpu busy {100 * (after[0] - before[0]) / total:.0f} %, "
        f"steal {100 * (after[1] - before[1]) / total:.0f} %"
    )


# --- CPU per request: load-independent figures -----------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far; 0 when it is gone (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it (uvicorn's master and its workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def database_backends(database: str) -> list[int]:
    """The pids of PostgreSQL's backends serving `database` (the server runs on this machine)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [int(r[0]) for r in rows]


class CpuMeter:
    """CPU seconds used by a changing set of processes between `start` and `stop`: on a shared
    machine the CPU a request costs is a steadier figure than the requests a second it allows."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self._pids = pids
        self._before: dict[int, float] = {}

    def start(self) -> None:
        self._before = {pid: process_cpu(pid) for pid in self._pids()}

    def stop(self) -> float:
        """Seconds used since `start` (a process started meanwhile counts from zero)."""
        pids = set(self._pids()) | set(self._before)
        return sum(max(process_cpu(pid) - self._before.get(pid, 0.0), 0.0) for pid in pids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- PostgreSQL and Redis -------------------------------------------------------------------------


def pg_url(database: str) -> str:
    return f"postgresql://postgres@{PG_HOST}/{database}"


def create_database(prefix: str = "aduan_bench") -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    # FORCE: a pool that was not closed cleanly must not keep the database alive.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def throwaway_database(prefix: str = "aduan_bench") -> Iterator[str]:
    name = create_database(prefix)
    log(f"database {name} created")
    try:
        yield name
    finally:
        drop_database(name)
        log(f"database {name} dropped")


def flush_redis(db: int) -> None:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    try:
        client.flushdb()
    finally:
        client.close()


# --- `aduan up` -----------------------------------------------------------------------------------


@dataclass
class Aduan:
    """A running `aduan up` and what the benchmarks need from it."""

    data_dir: Path
    env: dict[str, str]
    intake_url: str
    staff_url: str
    database_url: str | None  # None: the embedded SQLite database in data_dir
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    background: CpuMeter | None = None  # the workers' and sweeper's CPU, when a benchmark meters it

    @property
    def label(self) -> str:
        if self.database_url:
            return "PostgreSQL + Redis"
        # The supervisor prints the broker it chose: its own redis-server, or filesystem://.
        broker = next((ln.split()[-1] for ln in self.output if ln.strip().startswith("broker")), "")
        kind = "filesystem broker" if broker.startswith("filesystem") else "redis-server child"
        return f"embedded (SQLite + {kind})"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `aduan ARGS --data-dir DIR` against this instance; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "launcher.cli", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"aduan {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def add_kiosk(self, name: str) -> str:
        """A new kiosk's key (the last line `aduan kiosks add` prints)."""
        return self.cli("kiosks", "add", name).strip().splitlines()[-1].strip()

    def add_user(self, username: str, role: str) -> str:
        """Create a staff account; its (random) password."""
        password = secrets.token_urlsafe(16)
        self.cli("users", "add", username, "--role", role, "--password-stdin", stdin=f"{password}\n")
        return password

    def token(self, username: str, password: str) -> str:
        response = httpx.post(
            f"{self.staff_url}/api/v1/auth/token",
            data={"username": username, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def outbox_backlog(self) -> int:
        """Outbox messages not yet consumed (notifications, hand-offs) and not given up on."""
        query = "SELECT count(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL"
        if self.database_url:
            with psycopg.connect(self.database_url) as conn:
                row = conn.execute(query).fetchone()
        else:
            path = self.data_dir / "aduan.db"
            lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                row = lite.execute(query).fetchone()
            finally:
                lite.close()
        return int(row[0]) if row else 0

    def wait_settled(self, timeout: float = 180.0) -> int:
        """Wait until the workers have drained the outbox, so the next measurement starts idle.

        Returns the backlog left when the timeout passed (0 when settled).
        """
        deadline = time.monotonic() + timeout
        backlog = self.outbox_backlog()
        while backlog and time.monotonic() < deadline:
            time.sleep(0.2)
            backlog = self.outbox_backlog()
        if backlog:
            log(f"outbox still holds {backlog} message(s) after {timeout:.0f} s")
        return backlog

    def service_pids(self, *names: str) -> list[int]:
        """The processes of the named children of `aduan up` (`intake-api`: its workers too)."""
        pids: list[int] = []
        for name in names:
            pid_file = self.data_dir / "run" / f"{name}.pid"
            with suppress(OSError, ValueError):
                pids += process_tree(int(pid_file.read_text()))
        return pids

    @property
    def database(self) -> str | None:
        """The PostgreSQL database's name (None: embedded SQLite)."""
        return self.database_url.rsplit("/", 1)[-1] if self.database_url else None

    def log_tails(self, lines: int = 15) -> str:
        parts = []
        for path in sorted((self.data_dir / "logs").glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


def _read_lines(stream: Any, sink: list[str], ready: threading.Event) -> None:
    # Drain the supervisor's stdout for its whole life so it never blocks on a full pipe.
    for line in stream:
        sink.append(line.rstrip("\n"))
        if line.startswith("Aduan siap"):
            ready.set()


def _stop_aduan(proc: subprocess.Popen[str], data_dir: Path) -> None:
    """SIGINT, as an operator's Ctrl-C: the supervisor stops its children in order."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            log("aduan up did not stop in time; killing it and the children it recorded")
    # Children run in sessions of their own; the supervisor writes each one's pid to run/.
    for pid_file in (data_dir / "run").glob("*.pid"):
        with suppress(ValueError, ProcessLookupError, PermissionError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@contextmanager
def aduan_up(env: dict[str, str], data_dir: Path) -> Iterator[Aduan]:
    """`aduan up` on free ports until the block ends; raises if it does not get ready."""
    intake_port, staff_port = free_port(), free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = data_dir / "aduan-up.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "launcher.cli",
                "up",
                "--data-dir",
                str(data_dir),
                "--intake-port",
                str(intake_port),
                "--staff-port",
                str(staff_port),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,  # our Ctrl-C must not reach it twice; we stop it ourselves
        )
    aduan = Aduan(
        data_dir=data_dir,
        env=env,
        intake_url=f"http://127.0.0.1:{intake_port}",
        staff_url=f"http://127.0.0.1:{staff_port}",
        database_url=env.get("ADUAN_DATABASE_URL"),
        proc=proc,
    )
    ready = threading.Event()
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, aduan.output, ready), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.wait(0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "aduan up did not get ready:\n"
                    + "\n".join(aduan.output)
                    + "\n"
                    + stderr_path.read_text(errors="replace")
                    + "\n"
                    + aduan.log_tails()
                )
        log(f"aduan up ready ({aduan.label}): {aduan.output[0]}")
        yield aduan
    finally:
        _stop_aduan(proc, data_dir)
        reader.join(timeout=5)
        log(f"aduan up stopped (exit code {proc.returncode})")


@dataclass(frozen=True)
class StackOptions:
    api_workers: int = 2
    pool_size: int = 16
    max_overflow: int = 0
    redis_db: int = 9
    background_nice: int | None = None  # None: the product's default (ADUAN_BACKGROUND_NICE)


@contextmanager
def postgres_stack(options: StackOptions) -> Iterator[Aduan]:
    """The production shape: a fresh PostgreSQL database and a flushed Redis database."""
    with (
        tempfile.TemporaryDirectory(prefix="aduan-bench-") as tmp,
        throwaway_database() as database,
    ):
        flush_redis(options.redis_db)
        env = (
            base_env()
            | new_secrets()
            | {
                "ADUAN_DATABASE_URL": pg_url(database),
                "ADUAN_BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{options.redis_db}",
                "ADUAN_API_WORKERS": str(options.api_workers),
                "ADUAN_DB_POOL_SIZE": str(options.pool_size),
                "ADUAN_DB_MAX_OVERFLOW": str(options.max_overflow),
            }
        )
        if options.background_nice is not None:
            env["ADUAN_BACKGROUND_NICE"] = str(options.background_nice)
        try:
            with aduan_up(env, Path(tmp) / "data") as aduan:
                yield aduan
        finally:
            flush_redis(options.redis_db)


@contextmanager
def embedded_stack(options: StackOptions, *, filesystem_broker: bool = False) -> Iterator[Aduan]:
    """The embedded default: SQLite in the data folder; `aduan up` spawns its own redis-server
    (or, with `filesystem_broker`, kombu's filesystem transport is forced)."""
    with tempfile.TemporaryDirectory(prefix="aduan-bench-") as tmp:
        env = base_env() | {"ADUAN_API_WORKERS": str(options.api_workers)}
        if filesystem_broker:
            env["ADUAN_BROKER_URL"] = "filesystem://"
        with aduan_up(env, Path(tmp) / "data") as aduan:
            yield aduan


# --- Requests and figures -------------------------------------------------------------------------

_NAMES = (
    "Siti Aminah",
    "Budi Santoso",
    "Sri Wahyuni",
    "Agus Prasetyo",
    "Dwi Lestari",
    "Joko Susilo",
    "Endang Rahayu",
    "Slamet Riyadi",
)
_SUBJECTS = (
    "THR belum dibayarkan",
    "THR dibayar kurang dari ketentuan",
    "THR dicicil tanpa kesepakatan",
    "THR tidak diberikan kepada pekerja kontrak",
)
_EMPLOYERS = ("PT Sumber Rejeki", "CV Dieng Makmur", "PT Carica Jaya", "Toko Sindoro")


def complaint_body(i: int) -> dict[str, Any]:
    """The i-th distinct valid complaint: a THR case, with NIK and mobile number, reply by SMS."""
    serial = i % 9999 + 1  # a NIK serial is never 0000
    day = (i // 9999) % 28 + 1
    month = (i // (9999 * 28)) % 12 + 1
    employer = _EMPLOYERS[i % len(_EMPLOYERS)]
    return {
        "complainant": {
            "name": _NAMES[i % len(_NAMES)],
            "nik": f"330701{day:02d}{month:02d}90{serial:04d}",
            "phone": f"0812{i % 10**8:08d}",
            "address": f"Jl. Kyai Muntang No. {i % 200 + 1}, Wonosobo",
        },
        "subject": _SUBJECTS[i % len(_SUBJECTS)],
        "description": (
            f"Saya bekerja di {employer} sejak 2019. Sampai H-3 Lebaran THR belum dibayarkan "
            f"dan pihak perusahaan tidak memberi penjelasan. Mohon ditindaklanjuti (ref {i})."
        ),
        "category": "thr",
        "preferred_reply": "sms",
    }


def complaint_json(i: int) -> bytes:
    return json.dumps(complaint_body(i), separators=(",", ":")).encode()


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the figures right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
