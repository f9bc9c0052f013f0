"""SLA timers as rows: what the sweeper costs when nothing is due, how late it fires a burst, and
how much memory the processes hold with many open timers.

    .venv/bin/python bench/sla.py [--complaints 100000] [--due 1000] [--backend postgres|sqlite]

1. Set-up: a fresh database (PostgreSQL by default, dropped at the end; or a SQLite file in a
   temporary folder), migrated with `shared.migrate.upgrade`; N open complaints at step
   verification with their three timers (reminder, breach, second), all due hours ahead.
2. Sweep time when nothing is due: `shared.sla.fire_due` in its own transaction with the real
   clock (before every due_at), and a whole `sweep_once` (outbox reconcile + prune, then fire).
3. Lateness when --due timers fall due at once: their breach timers are moved to a moment T just
   ahead, with the real sweeper (`aduan sweeper`) running as a separate process.
4. RSS of the sweeper (and of the routing worker) against an empty database and the full one.

Progress goes to stderr; the table at the end to stdout.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
from common import (
    ROOT,
    base_env,
    cpu_note,
    cpu_sample,
    format_table,
    load_note,
    log,
    new_secrets,
    percentile,
    pg_url,
    process_tree,
    throwaway_database,
)
from sqlalchemy import Engine, create_engine, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from shared.migrate import upgrade
from shared.models import Complaint, Deadline, Escalation
from shared.security import FieldCipher
from shared.settings import Settings

SWEEP_INTERVAL = 1.0  # seconds between the sweeper's passes (ADUAN_SWEEP_INTERVAL)
CHUNK = 5_000  # rows per bulk INSERT on SQLite (PostgreSQL uses COPY)
# Timer offsets from entering the step. Hours ahead, so that during the benchmark nothing falls
# due except the timers it moves on purpose.
OFFSETS = {"reminder": timedelta(hours=6), "breach": timedelta(hours=8), "second": timedelta(hours=16)}
SPREAD_S = 3_600  # complaints entered the step over the last hour: distinct keys in the index
EMPTY_RUNS, WARMUP_RUNS = 50, 5
SWEEP_RUNS = 20
# T = now + LEAD, taken one interval after the sweeper's first pass began: the UPDATE commits
# well before T, and T falls about half-way between two passes (the average case, not the
# worst: a T just after a pass would wait a whole interval).
LEAD = 2.0 + SWEEP_INTERVAL / 2
POLL = 0.05  # seconds between checks for "all fired"
FIRE_TIMEOUT = 180.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
RSS_SETTLE = 5 * SWEEP_INTERVAL  # let the sweeper run a few passes before reading its RSS
# From /work/shared/docs/PERF.md (measured there, not here): memory a Celery worker holds per
# `countdown=3600` task.
PERF_COUNTDOWN_KB = 8.6

COMPLAINT_COLUMNS = (
    "ticket",
    "tracking_code_enc",
    "status",
    "step",
    "version",
    "handoff_pending",
    "channel",
    "subject",
    "description",
    "waiting_on_site",
    "preferred_reply",
    "confidential",
    "complainant_name",
    "escalation_level",
    "received_at",
    "step_entered_at",
    "step_due_at",
    "updated_at",
)
DEADLINE_COLUMNS = ("complaint_id", "step", "entered_at", "kind", "due_at")


class BenchError(RuntimeError):
    pass


# --- Databases ------------------------------------------------------------------------------------


@dataclass
class Target:
    """One database, the environment that points an Aduan process at it, and its Settings."""

    backend: str
    env: dict[str, str]
    settings: Settings
    data_dir: Path

    def engine(self) -> Engine:
        # A plain engine for set-up and polling. On SQLite the services' engine opens every
        # transaction with BEGIN IMMEDIATE; a poller doing that would queue behind the sweeper.
        return create_engine(self.settings.sync_database_url())


def settings_of(env: dict[str, str]) -> Settings:
    """Settings from exactly these ADUAN_* variables (as tests/integration/test_sweeper_race.py)."""
    return Settings.model_validate({k[6:].lower(): v for k, v in env.items() if k.startswith("ADUAN_")})


@contextmanager
def target(backend: str, tmp: Path, name: str) -> Iterator[Target]:
    """A fresh migrated database; the PostgreSQL one is dropped when the block ends."""
    data_dir = tmp / name
    data_dir.mkdir()
    env = (
        base_env()
        | new_secrets()
        | {
            "ADUAN_DATA_DIR": str(data_dir),
            "ADUAN_BROKER_URL": "filesystem://",  # no Redis needed: the sweeper publishes nothing
            "ADUAN_SWEEP_INTERVAL": str(SWEEP_INTERVAL),
            "ADUAN_LOG_LEVEL": "INFO",
        }
    )
    if backend == "sqlite":
        env["ADUAN_DATABASE_URL"] = f"sqlite:///{data_dir / 'aduan.db'}"
        settings = settings_of(env)
        upgrade(settings)
        yield Target(backend, env, settings, data_dir)
        return
    with throwaway_database(f"aduan_bench_sla_{name}") as database:
        env["ADUAN_DATABASE_URL"] = pg_url(database)
        settings = settings_of(env)
        upgrade(settings)
        yield Target(backend, env, settings, data_dir)


def complaint_rows(n: int, base: datetime, tracking: bytes) -> Iterator[tuple[Any, ...]]:
    """N open complaints waiting at verification, in COMPLAINT_COLUMNS order."""
    for i in range(n):
        entered = base - timedelta(seconds=i % SPREAD_S)
        yield (
            f"ADU-2026-{i + 1:07d}",
            tracking,  # one ciphertext for all: nothing here decrypts it
            "open",
            "verification",
            1,
            False,
            "kiosk",
            "THR belum dibayarkan",
            "Perusahaan belum membayar THR.",
            False,
            "in_person",
            False,
            "Siti Aminah",
            0,
            entered,
            entered,
            entered + OFFSETS["breach"],
            entered,
        )


def deadline_rows(stays: Sequence[tuple[int, datetime]]) -> Iterator[tuple[Any, ...]]:
    """Three timers per stay, keyed by the complaint's own step_entered_at (the sweeper's guard)."""
    for complaint_id, entered in stays:
        for kind, offset in OFFSETS.items():
            yield (complaint_id, "verification", entered, kind, entered + offset)


def stays_of(engine: Engine) -> list[tuple[int, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Complaint.id, Complaint.step_entered_at).order_by(Complaint.id))
        return [(cid, entered) for cid, entered in rows if entered is not None]


def copy_postgres(url: str, engine: Engine, n: int, base: datetime, tracking: bytes) -> dict[str, float]:
    """COPY: one stream per table, an order of magnitude faster than multi-row INSERTs."""
    times: dict[str, float] = {}
    with psycopg.connect(url) as pg, pg.cursor() as cur:
        t0 = time.perf_counter()
        with cur.copy(f"COPY complaints ({', '.join(COMPLAINT_COLUMNS)}) FROM STDIN") as copy:
            for row in complaint_rows(n, base, tracking):
                copy.write_row(row)
        pg.commit()
        times["complaints"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        stays = stays_of(engine)
        with cur.copy(f"COPY deadlines ({', '.join(DEADLINE_COLUMNS)}) FROM STDIN") as copy:
            for row in deadline_rows(stays):
                copy.write_row(row)
        pg.commit()
        times["timers"] = time.perf_counter() - t1
    return times


def insert_chunks(
    engine: Engine, table: Any, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """Core INSERTs of CHUNK rows each (executemany), in one transaction."""
    with engine.begin() as conn:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(dict(zip(columns, row, strict=True)))
            if len(chunk) == CHUNK:
                conn.execute(insert(table), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(table), chunk)


def fill(t: Target, n: int) -> dict[str, float]:
    """Bulk-load N complaints and 3N timers; seconds per phase."""
    tracking = FieldCipher(t.settings.data_key_bytes()).encrypt("K7QX2M9P", field="tracking_code")
    base = datetime.now(UTC)
    engine = t.engine()
    try:
        if t.backend == "postgres":
            times = copy_postgres(t.env["ADUAN_DATABASE_URL"], engine, n, base, tracking)
        else:
            t0 = time.perf_counter()
            insert_chunks(engine, Complaint, COMPLAINT_COLUMNS, complaint_rows(n, base, tracking))
            times = {"complaints": time.perf_counter() - t0}
            t1 = time.perf_counter()
            insert_chunks(engine, Deadline, DEADLINE_COLUMNS, deadline_rows(stays_of(engine)))
            times["timers"] = time.perf_counter() - t1
        # Fresh statistics, as autovacuum would gather soon after a bulk load: the plans below
        # are then the ones production sees.
        t2 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        times["analyze"] = time.perf_counter() - t2
    finally:
        engine.dispose()
    return times


# --- 2. Sweep time when nothing is due ------------------------------------------------------------


@dataclass
class Idle:
    fire_due_ms: list[float] = field(default_factory=list)
    sweep_once_ms: list[float] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)


def measure_idle(t: Target) -> Idle:
    # Imported here: shared.db and the sweeper read the process-wide settings from os.environ,
    # which now point at the benchmark's database.
    os.environ.update({k: v for k, v in t.env.items() if k.startswith("ADUAN_")})
    from services.routing.sweeper import sweep_once
    from shared import db, office_days
    from shared.clock import now
    from shared.settings import get_settings
    from shared.sla import fire_due

    settings = get_settings()
    engine = db.make_engine(settings)  # the services' engine (BEGIN IMMEDIATE on SQLite)
    result = Idle()
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "FROM deadlines" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        for i in range(WARMUP_RUNS + EMPTY_RUNS):
            t0 = time.perf_counter()
            with Session(engine) as session, session.begin():
                claimed = fire_due(
                    session, now=now(), settings=settings, overrides=office_days.overrides(session)
                ).claimed
            elapsed = (time.perf_counter() - t0) * 1000
            if claimed:
                raise BenchError(f"{claimed} timer(s) claimed while none should be due")
            if i >= WARMUP_RUNS:
                result.fire_due_ms.append(elapsed)
        # The plan of the exact claiming statement fire_due sent (should use ix_deadlines_due).
        statement, parameters = captured[0]
        explain = "EXPLAIN " if t.backend == "postgres" else "EXPLAIN QUERY PLAN "
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(explain + statement, parameters).all()
        result.plan = [str(r[-1]).strip() for r in rows]
        for i in range(WARMUP_RUNS + SWEEP_RUNS):
            t0 = time.perf_counter()
            sweep_once(settings)
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= WARMUP_RUNS:
                result.sweep_once_ms.append(elapsed)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        engine.dispose()
        db.engine().dispose()
    return result


# --- Child processes ------------------------------------------------------------------------------


@contextmanager
def aduan_process(
    args: Sequence[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m launcher.cli ARGS` until the block ends; SIGTERM, then SIGKILL if it hangs."""
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "launcher.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own process group: a stuck one is killed with its children
        )
    log(f"started `aduan {' '.join(args)}` (pid {proc.pid})")
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} did not stop on SIGTERM; killing its process group")
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log(f"stopped `aduan {' '.join(args)}` (exit code {proc.returncode})")


def wait_for_line(proc: subprocess.Popen[bytes], log_path: Path, needle: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while needle not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"{log_path.name}: no {needle!r}:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)


def status_kb(pid: int, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_kb(pid: int, key: str) -> int:
    return sum(status_kb(p, key) for p in process_tree(pid))


# --- 3. Lateness ----------------------------------------------------------------------------------


@dataclass
class Burst:
    due_at: datetime
    lateness_ms: list[float]
    passes: int  # distinct fired_at values: sweeper passes that fired some of them
    gaps_ms: list[float]  # between the starts of consecutive firing passes (work + interval)
    all_fired_s: float  # T until the last of them was visible as committed
    fired: int
    stale: int


def measure_burst(t: Target, due: int, tmp: Path) -> Burst:
    engine = t.engine()
    try:
        with engine.connect() as conn:
            ids = list(conn.scalars(select(Complaint.id).order_by(Complaint.id)))
        step = max(1, len(ids) // due)
        chosen = ids[::step][:due]  # spread over the table, not one corner of the index
        log_path = tmp / "sweeper-burst.log"
        with aduan_process(["sweeper"], t.env, log_path) as proc:
            wait_for_line(proc, log_path, "sweeper: every")
            time.sleep(SWEEP_INTERVAL)  # past its first pass: imports and connections are warm
            moment = datetime.now(UTC) + timedelta(seconds=LEAD)
            with engine.begin() as conn:
                conn.execute(
                    update(Deadline)
                    .where(Deadline.kind == "breach", Deadline.complaint_id.in_(chosen))
                    .values(due_at=moment)
                )
            log(f"{len(chosen)} breach timers now due at {moment:%H:%M:%S.%f}")
            # Escalations is empty before the burst and holds one row per fired timer: a cheap
            # count that does not scan the 3N timers while the sweeper works.
            count = select(func.count()).select_from(Escalation)
            done = 0
            deadline = time.monotonic() + LEAD + FIRE_TIMEOUT
            while done < len(chosen) and time.monotonic() < deadline:
                time.sleep(POLL)
                with engine.connect() as conn:
                    done = conn.scalar(count) or 0
            all_fired_s = (datetime.now(UTC) - moment).total_seconds()
            if done < len(chosen):
                raise BenchError(f"only {done} of {len(chosen)} fired in {FIRE_TIMEOUT:.0f} s")
        with engine.connect() as conn:
            rows = conn.execute(
                select(Deadline.due_at, Deadline.fired_at, Deadline.result).where(
                    Deadline.fired_at.is_not(None)
                )
            ).all()
    finally:
        engine.dispose()
    lateness = [(f - d).total_seconds() * 1000 for d, f, _ in rows if f is not None]
    starts = sorted({f for _, f, _ in rows if f is not None})
    return Burst(
        due_at=moment,
        lateness_ms=lateness,
        passes=len(starts),
        gaps_ms=[(b - a).total_seconds() * 1000 for a, b in pairwise(starts)],
        all_fired_s=all_fired_s,
        fired=sum(1 for *_, r in rows if r == "fired"),
        stale=sum(1 for *_, r in rows if r == "stale"),
    )


# --- 4. RSS ---------------------------------------------------------------------------------------


@dataclass
class Memory:
    open_timers: int
    sweeper_kb: int
    sweeper_peak_kb: int
    worker_kb: int


def open_timers(t: Target) -> int:
    engine = t.engine()
    try:
        with engine.connect() as conn:
            return (
                conn.scalar(select(func.count()).select_from(Deadline).where(Deadline.fired_at.is_(None)))
                or 0
            )
    finally:
        engine.dispose()


def measure_memory(t: Target, tmp: Path, label: str) -> Memory:
    """The sweeper and the routing worker side by side, each after a few seconds of running."""
    timers = open_timers(t)
    sweeper_log, worker_log = tmp / f"sweeper-{label}.log", tmp / f"worker-{label}.log"
    with (
        aduan_process(["sweeper"], t.env, sweeper_log) as sweeper,
        aduan_process(["worker", "routing"], t.env, worker_log) as worker,
    ):
        wait_for_line(sweeper, sweeper_log, "sweeper: every")
        wait_for_line(worker, worker_log, "ready")
        time.sleep(RSS_SETTLE)
        if sweeper.poll() is not None or worker.poll() is not None:
            raise BenchError(f"a process exited early ({label})")
        return Memory(
            open_timers=timers,
            sweeper_kb=tree_kb(sweeper.pid, "VmRSS"),
            sweeper_peak_kb=tree_kb(sweeper.pid, "VmHWM"),
            worker_kb=tree_kb(worker.pid, "VmRSS"),
        )


# --- Report ---------------------------------------------------------------------------------------


def ms(values: Sequence[float], p: float) -> str:
    return f"{percentile(values, p):.2f}"


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MiB"


def report(
    args: argparse.Namespace,
    settings: Settings,
    setup: dict[str, float],
    idle: Idle,
    burst: Burst,
    empty: Memory,
    full: Memory,
    notes: list[str],
) -> None:
    backend = "PostgreSQL" if args.backend == "postgres" else "SQLite"
    timers = 3 * args.complaints
    print()
    print(
        f"SLA timers as rows on {backend}: {args.complaints:,} open complaints x 3 timers "
        f"(reminder/breach/second) = {timers:,} unfired rows in `deadlines`, all due hours ahead."
    )
    for note in notes:
        print(f"  {note}")

    print()
    print("1. Set-up (fresh database, migrated; bulk load; ANALYZE)")
    print(
        format_table(
            ["phase", "seconds"],
            [
                ["create + migrate", f"{setup['migrate']:.1f}"],
                [f"{args.complaints:,} complaints", f"{setup['complaints']:.1f}"],
                [f"{timers:,} timers", f"{setup['timers']:.1f}"],
                ["ANALYZE", f"{setup['analyze']:.1f}"],
                ["total", f"{sum(setup.values()):.1f}"],
            ],
        )
    )

    print()
    print(
        f"2. Sweep time when nothing is due ({EMPTY_RUNS} fire_due and {SWEEP_RUNS} sweep_once "
        f"runs after {WARMUP_RUNS} warm-up each; BEGIN to COMMIT, in this process)"
    )
    print(
        format_table(
            ["call", "p50 ms", "p99 ms", "max ms"],
            [
                ["fire_due (claims nothing)", *(ms(idle.fire_due_ms, p) for p in (50, 99, 100))],
                [
                    "sweep_once (outbox reconcile + prune, then fire_due)",
                    *(ms(idle.sweep_once_ms, p) for p in (50, 99, 100)),
                ],
            ],
        )
    )
    print("   plan of fire_due's claiming SELECT:")
    for line in idle.plan:
        print(f"     {line}")
    uses = any("ix_deadlines_due" in line for line in idle.plan)
    print(f"   uses the partial index ix_deadlines_due: {'yes' if uses else 'NO'}")

    print()
    passes = -(-args.due // settings.outbox_batch)
    print(f"3. Lateness when {args.due:,} breach timers fall due at once (real `aduan sweeper` process)")
    print(
        f"   lateness = fired_at - due_at. The sweeper runs a pass every {SWEEP_INTERVAL:g} s "
        f"(ADUAN_SWEEP_INTERVAL={SWEEP_INTERVAL:g}) and\n"
        f"   fires at most {settings.outbox_batch} timers per pass (ADUAN_OUTBOX_BATCH), so lateness "
        f"is bounded below by the sweep interval:\n"
        f"   a timer waits for the next pass (up to one interval, half on average), and {args.due:,} "
        f"timers need >= {passes} passes,\n"
        f"   each further pass one more interval later. fired_at is the clock when the firing pass "
        f"began; 'all fired' is\n"
        f"   from T until the last commit was visible (polled every {POLL * 1000:.0f} ms)."
    )
    print(
        format_table(
            ["measure", "value"],
            [
                ["timers fired / closed stale", f"{burst.fired:,} / {burst.stale:,}"],
                ["passes that fired them", f"{burst.passes}"],
                ["pass start to next pass start, p50", f"{ms(burst.gaps_ms, 50)} ms"],
                ["lateness min (first pass)", f"{ms(burst.lateness_ms, 0)} ms"],
                ["lateness p50", f"{ms(burst.lateness_ms, 50)} ms"],
                ["lateness p99", f"{ms(burst.lateness_ms, 99)} ms"],
                ["lateness max", f"{ms(burst.lateness_ms, 100)} ms"],
                [f"T -> all {args.due:,} fired", f"{burst.all_fired_s * 1000:.0f} ms"],
            ],
        )
    )

    print()
    print(
        f"4. Resident memory (VmRSS from /proc/<pid>/status) after {RSS_SETTLE:g} s of running "
        f"(~{RSS_SETTLE / SWEEP_INTERVAL:.0f} sweeper passes)"
    )
    print(
        format_table(
            ["process", f"{empty.open_timers:,} open timers", f"{full.open_timers:,} open timers"],
            [
                ["aduan sweeper, VmRSS", mb(empty.sweeper_kb), mb(full.sweeper_kb)],
                ["aduan sweeper, peak (VmHWM)", mb(empty.sweeper_peak_kb), mb(full.sweeper_peak_kb)],
                ["aduan worker routing, VmRSS", mb(empty.worker_kb), mb(full.worker_kb)],
            ],
        )
    )
    one = args.complaints * PERF_COUNTDOWN_KB
    print(
        f"   Timers are rows, so neither process holds them. For contrast, NOT measured here: "
        f"/work/shared/docs/PERF.md\n"
        f"   gives {PERF_COUNTDOWN_KB} KB per Celery countdown task held by a worker; "
        f"{args.complaints:,} countdowns (one per complaint) would hold\n"
        f"   ~{one / 1000:,.0f} MB, and {timers:,} (three per complaint) ~{3 * one / 1000:,.0f} MB, "
        f"by that figure."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=100_000, help="open complaints (3 timers each)")
    parser.add_argument("--due", type=int, default=1_000, help="breach timers made due at once")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    if not 0 < args.due <= args.complaints:
        parser.error("--due must be between 1 and --complaints")

    notes = [load_note()]
    cpu = cpu_sample()
    with tempfile.TemporaryDirectory(prefix="aduan-bench-sla-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        with target(args.backend, tmp, "full") as full:
            setup = {"migrate": time.perf_counter() - t0}
            log(f"loading {args.complaints:,} complaints and {3 * args.complaints:,} timers")
            setup |= fill(full, args.complaints)
            log(f"set-up took {sum(setup.values()):.1f} s")
            log("timing sweeps with nothing due")
            idle = measure_idle(full)
            log(f"making {args.due:,} timers due at once")
            burst = measure_burst(full, args.due, tmp)
            log("reading RSS against the full database")
            full_memory = measure_memory(full, tmp, "full")
            with target(args.backend, tmp, "empty") as empty:
                log("reading RSS against an empty database")
                empty_memory = measure_memory(empty, tmp, "empty")
    notes.append(cpu_note(cpu) + " over the whole run")
    report(args, full.settings, setup, idle, burst, empty_memory, full_memory, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
