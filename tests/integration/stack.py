"""The real system under test: `aduan up` as a child process, on PostgreSQL+Redis or embedded."""

from __future__ import annotations

import atexit
import base64
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import psycopg
from sqlalchemy import Engine, create_engine, text

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN_URL = os.environ.get(
    "ADUAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ADUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379")
# pytest-xdist's worker of this process (gw0, gw1, ...; none when the suite runs serially) and their count.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
# The suite's Redis db indexes are 8-15 (plus this shift); its second xdist worker takes 0-7, so two
# workers never use or flush the same db, and a third could not have one of its own (tests/conftest.py
# refuses it). Checkouts that run their suites side by side each use a Redis of their own
# (ADUAN_TEST_REDIS_URL), or, run serially, shift their db indexes apart (0-15).
REDIS_DB_SHIFT = int(os.environ.get("ADUAN_TEST_REDIS_DB_SHIFT", "0")) + 8 * WORKER
PASSWORD = "rahasia-uji-123"
PROVISION_TIMEOUT = 180.0  # seconds for each of a stack's set-up commands

USERS = {
    "fo": ("front_office", None),
    "fo2": ("front_office", None),
    "kasubag": ("kasubag_umum", None),
    "sekdis": ("sekretaris", None),
    "hi": ("bidang", "hi_jamsos"),
    "penempatan": ("bidang", "penempatan"),
    "kadis": ("kepala_dinas", None),
}

# The officer types the KTP's number into the document field; it must come back masked everywhere.
FORWARD = {"identity_verified": True, "id_document": "KTP 3307015203900001"}


def wib_year() -> int:
    """This year in WIB: tickets and agenda numbers run per year (WIB)."""
    return datetime.now(ZoneInfo("Asia/Jakarta")).year


# Ports for the stacks' APIs: below the kernel's ephemeral range (32768+, where connections take their
# local ports and `bind(0)` finds free ones), in a band of this xdist worker's own, so the workers never
# hand out the same port; a port something else holds (another checkout's suite) is skipped.
_PORT_LOW, _PORT_HIGH = 20000, 32000
_port_band = (_PORT_HIGH - _PORT_LOW) // max(WORKERS, 1)
_port_lock = threading.Lock()
_port_rng = random.Random()
_next_port = _PORT_LOW + _port_band * WORKER + _port_rng.randrange(_port_band // 2)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports() -> tuple[int, int]:
    """Two free ports next to each other, not handed out before in this process (its band holds
    thousands of pairs; a whole run takes a few hundred at most)."""
    global _next_port
    band_end = _PORT_LOW + _port_band * (WORKER + 1)
    with _port_lock:
        while True:
            _next_port += 2
            if _next_port + 1 >= band_end:
                _next_port = _PORT_LOW + _port_band * WORKER
            if _free(_next_port) and _free(_next_port + 1):
                return _next_port, _next_port + 1


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`aduan ARGS` as a child process run to its end (PROVISION_TIMEOUT at most: at a load of 20-28
    `aduan kiosks add` outlasted 60 s), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "launcher.cli", *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
        cwd=ROOT,
        timeout=PROVISION_TIMEOUT,
    )


def _aduan(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    out = run_cli(env, *args, stdin=stdin)
    if out.returncode != 0:
        raise RuntimeError(f"aduan {' '.join(args)} failed: {out.stderr}")
    return out.stdout


@dataclass
class Stack:
    """One running instance and clients for it."""

    name: str
    data_dir: Path
    env: dict[str, str]
    db_url: str  # synchronous SQLAlchemy URL for assertions
    intake_url: str
    staff_url: str
    proc: subprocess.Popen[str] | None = None
    kiosk_key: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    banner: str = ""
    _engine: Engine | None = None
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> None:  # at a load of 25 an empty SQLite took 104 s
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "launcher.cli",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--intake-port",
                self.intake_url.rsplit(":", 1)[1],
                "--staff-port",
                self.staff_url.rsplit(":", 1)[1],
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"aduan up exited: {''.join(lines)}{self.logs()}")
            lines.append(line)
            if line.startswith("Tekan Ctrl-C"):
                break
        else:
            raise RuntimeError(f"aduan up not ready in {timeout}s: {''.join(lines)}")
        self.banner = "".join(lines)
        # keep draining stdout so the supervisor never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.banner += line

    def stop(self) -> int:
        rc = 0
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = -9
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._engine is not None:
            self._engine.dispose()
        for fn in reversed(self._cleanup):
            fn()
        return rc

    def logs(self) -> str:
        out = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def pid(self, child: str) -> int:
        return int((self.data_dir / "run" / f"{child}.pid").read_text())

    def log_path(self, child: str) -> Path:
        """The log of `child` (intake-api, notify-worker, ...): its own, or on the embedded default
        the log of the process that runs it (api: both APIs; worker: both queues and the sweeper)."""
        own = self.data_dir / "logs" / f"{child}.log"
        if own.exists():
            return own
        combined = "api" if child.endswith("-api") else "worker"
        return self.data_dir / "logs" / f"{combined}.log"

    def worker_pid(self, queue: str) -> int:
        """The worker consuming `queue`: a process of its own, or the embedded default's one worker."""
        own = self.data_dir / "run" / f"{queue}-worker.pid"
        return int(own.read_text()) if own.exists() else self.pid("worker")

    # --- set-up through the CLI --------------------------------------------------------------

    def provision(self, *, by_cli: bool = False) -> None:
        """A kiosk and one account per role, in one process that imports the admin functions once
        (each CLI start costs two or three seconds of CPU: its imports and the schema check before
        every administrative command). `by_cli`: the kiosk and the first account through the CLI as
        an operator would, side by side with that process (the database's own locks order their
        writes); the session's stacks do it so (tests/integration/conftest.py)."""

        def cli(*args: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, "-m", "launcher.cli", *args, "--data-dir", str(self.data_dir)],
                env=self.env,
                cwd=ROOT,
                text=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )

        calls = [
            f"add_user({name!r}, role={role!r}, unit={unit!r}, password={PASSWORD!r})"
            for name, (role, unit) in USERS.items()
            if not (by_cli and name == "fo")
        ]
        if not by_cli:
            calls.append("print(add_kiosk('kios-uji'))")
        admin = subprocess.Popen(
            [sys.executable, "-c", "; ".join(["from launcher.admin import add_kiosk, add_user", *calls])],
            env={**self.env, "ADUAN_DATA_DIR": str(self.data_dir)},
            cwd=ROOT,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # The process whose output ends with the kiosk's key first, each with what it reads on stdin.
        procs: list[tuple[subprocess.Popen[str], str | None]] = [(admin, None)]
        if by_cli:
            procs = [
                (cli("kiosks", "add", "kios-uji"), None),
                (cli("users", "add", "fo", "--role", "front_office", "--password-stdin"), PASSWORD + "\n"),
                *procs,
            ]
        try:
            # At a load of 20 on this machine's two cores a command took over a minute to end.
            outputs = [(proc, *proc.communicate(stdin, timeout=PROVISION_TIMEOUT)) for proc, stdin in procs]
        finally:
            for proc, _stdin in procs:  # none left waiting on its stdin after a failure
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        for proc, _out, err in outputs:
            assert proc.returncode == 0, f"{proc.args!r}: {err}"
        self.kiosk_key = outputs[0][1].strip().splitlines()[-1]
        # The sign-ins one by one: each is an argon2 check (CPU and 64 MiB) in the API process, and
        # seven at once on a busy machine outlasted the client's 10 s timeout.
        for username in USERS:
            self.tokens[username] = self.login(username, PASSWORD)

    # --- HTTP --------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        r = httpx.post(
            f"{self.staff_url}/api/v1/auth/token",
            data={"username": username, "password": password},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token

    def file(
        self,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        hdrs = {"X-Kiosk-Key": self.kiosk_key, **(headers or {})}
        if key:
            hdrs["Idempotency-Key"] = key
        return httpx.post(
            f"{self.intake_url}/api/v1/complaints",
            json=body or complaint_body(),
            headers=hdrs,
            timeout=10,
        )

    def staff(self, user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return httpx.request(method, f"{self.staff_url}/api/v1{path}", headers=headers, timeout=10, **kwargs)

    def act(self, user: str, ticket: str, action: str, version: int, **inputs: Any) -> httpx.Response:
        return self.staff(
            user,
            "POST",
            f"/complaints/{ticket}/actions",
            json={"action": action, "version": version, **inputs},
        )

    def record(self, user: str, ticket: str) -> dict[str, Any]:
        r = self.staff(user, "GET", f"/complaints/{ticket}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def worklist(self, user: str) -> list[dict[str, Any]]:
        r = self.staff(user, "GET", "/worklist", params={"limit": 500})
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def wait_in_queue(self, user: str, ticket: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll `user`'s worklist until `ticket` shows (the hand-off landed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.worklist(user):
                if item["ticket"] == ticket:
                    return item
            time.sleep(0.02)
        raise AssertionError(f"{ticket} never reached {user}'s worklist\n{self.logs()}")

    # --- direct database reads for assertions ------------------------------------------------

    def sql(self, query: str, **params: Any) -> list[Any]:
        if self._engine is None:
            self._engine = create_engine(self.db_url)
        with self._engine.connect() as conn:
            return list(conn.execute(text(query), params).all())

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 - test tables


@contextmanager
def serving(service: str, env: dict[str, str], data_dir: Path, port: int) -> Iterator[str]:
    """`aduan serve SERVICE` as its own process, until it answers /healthz."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "launcher.cli", "serve", service, "--port", str(port)],
        env={**env, "ADUAN_DATA_DIR": str(data_dir)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"aduan serve {service} exited: {proc.communicate()[1]}")
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def alive(pid: int) -> bool:
    """True while process `pid` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # an orphan's new parent (PID 1 in a container) may be slow to reap it, or never do
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


@contextmanager
def running(stack: Stack, *, by_cli: bool = False) -> Iterator[Stack]:
    """Start and provision `stack` (`by_cli`: see Stack.provision); stop it (and drop what it
    created) on the way out."""
    try:
        stack.start()
        stack.provision(by_cli=by_cli)
        yield stack
    finally:
        stack.stop()


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complainant": {
            "name": "Siti Aminah",
            "nik": "3307015203900001",
            "phone": "081234567890",
            "email": "siti@example.co.id",
            "address": "Jl. Sabuk Alu 1, Wonosobo",
        },
        "subject": "THR belum dibayar",
        "description": "Perusahaan tempat saya bekerja belum membayar THR tahun ini.",
        "category": "thr",
        "preferred_reply": "whatsapp",
    }
    body.update(overrides)
    return body


def _data_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update(
        {
            "ADUAN_SWEEP_INTERVAL": "0.5",
            "ADUAN_OUTBOX_GRACE": "1",
            "ADUAN_LOG_LEVEL": "INFO",
            # Flows that deliver by SMS/WhatsApp/e-mail on the log channel; tests of the refusal unset it.
            "ADUAN_DEMO_LOG_CHANNELS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


_templates: dict[str, str] = {}
_templates_lock = threading.Lock()


def _migrated_template(kind: str) -> str:
    """A database migrated to head once per test process, that stacks start from a copy of: the
    PostgreSQL database's name, or the SQLite file's path. `aduan up` on an empty database (the
    migrations from 0001) stays tested by the session's `stack` fixture, tests/integration/
    test_launcher.py and test_migrations.py."""
    with _templates_lock:
        if kind in _templates:
            return _templates[kind]
        folder = Path(tempfile.mkdtemp(prefix="aduan-template-"))
        template, extra = str(folder / "aduan.db"), {}
        if kind == "postgres":
            name = template = f"aduan_tpl_{secrets.token_hex(4)}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            extra = {
                "ADUAN_DATABASE_URL": f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}",
                "ADUAN_SECRET_KEY": secrets.token_urlsafe(32),
                "ADUAN_DATA_KEY": _data_key(),
            }

            @atexit.register
            def drop() -> None:
                with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        _aduan(_base_env(extra), "migrate", "--data-dir", str(folder))
        _templates[kind] = template
        return template


def postgres_stack(
    tmp: Path, redis_db: int, extra: dict[str, str] | None = None, *, migrated: bool = True
) -> Stack:
    """An instance on this machine's PostgreSQL (a fresh database) and Redis (one db index); its
    schema copied at head from a template (`migrated`) or built by `aduan up` from empty."""
    name = f"aduan_t_{secrets.token_hex(4)}"
    template = f' TEMPLATE "{_migrated_template("postgres")}"' if migrated else ""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{template}')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    import redis

    broker = f"{REDIS_URL}/{(redis_db + REDIS_DB_SHIFT) % 16}"
    redis.Redis.from_url(broker).flushdb()
    env = _base_env(
        {
            "ADUAN_DATABASE_URL": f"{base}/{name}",
            "ADUAN_BROKER_URL": broker,
            "ADUAN_SECRET_KEY": secrets.token_urlsafe(32),
            "ADUAN_DATA_KEY": _data_key(),
            **(extra or {}),
        }
    )
    intake, staff = _ports()
    stack = Stack(
        "postgres",
        tmp,
        env,
        f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}",
        f"http://127.0.0.1:{intake}",
        f"http://127.0.0.1:{staff}",
    )

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.Redis.from_url(broker).flushdb()

    stack._cleanup.append(drop)
    return stack


def embedded_stack(tmp: Path, extra: dict[str, str] | None = None, *, migrated: bool = True) -> Stack:
    """An instance on the embedded default: SQLite in the data folder, kombu filesystem broker; its
    schema copied at head from a template (`migrated`) or built by `aduan up` from empty."""
    if migrated:
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_template("embedded"), tmp / "aduan.db")
    env = _base_env({"ADUAN_BROKER_URL": "filesystem://", **(extra or {})})
    intake, staff = _ports()
    return Stack(
        "embedded",
        tmp,
        env,
        f"sqlite:///{tmp / 'aduan.db'}",
        f"http://127.0.0.1:{intake}",
        f"http://127.0.0.1:{staff}",
    )


def eventually(fetch: Callable[[], T], ok: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Poll `fetch` until `ok` holds of its value (or fail with the last value after `timeout`)."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fetch()
    assert ok(value), value
    return value
