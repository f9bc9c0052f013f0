"""The staff console's server time beside the JSON worklist, on PostgreSQL with many complaints.

    .venv/bin/python bench/console.py [--complaints 1000000] [--open-per-step 300] [--requests 300]

1. Set-up: a fresh PostgreSQL database (dropped at the end), migrated; N complaints written by one
   INSERT ... SELECT over generate_series (all but a few hundred per step closed, as an office's
   years of archive), the open ones with three history rows each; one officer per queue.
2. `aduan serve staff` (one uvicorn process, as `aduan up` runs it) against that database.
3. For kasubag_umum's queue (review and answer review: 2 x --open-per-step open complaints, the
   console shows the first 100): sequential requests on one keep-alive connection, after a warm-up,
   of the JSON worklist (`GET /api/v1/worklist?limit=100`), the queue page (`GET /`), the queue's
   poll when nothing changed (`GET /antrean?seen=...`, 204), the JSON record and the complaint's page;
   then, a tenth as often, the list of every complaint (`/semua`) and an archive search (`/arsip`).
   The time is the loopback round trip: the server's time plus well under a millisecond of HTTP.

Progress goes to stderr; the table at the end to stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from tempfile import TemporaryDirectory

import httpx
import psycopg
from common import (
    ROOT,
    base_env,
    cpu_note,
    cpu_sample,
    create_database,
    format_table,
    free_port,
    load_note,
    log,
    new_secrets,
    percentile,
    pg_url,
    throwaway_database,
)

from shared.migrate import upgrade
from shared.security import FieldCipher, hash_password
from shared.settings import Settings

PASSWORD = "bench-console-1"
WARMUP = 30
QUEUE_STEPS = ("verification", "review", "disposition", "drafting", "answer_review", "delivery")
READY_TIMEOUT = 60.0
SERVER_PIDS: dict[str, int] = {}  # base URL -> pid of the `aduan serve staff` answering there


def seed(url: str, complaints: int, open_per_step: int, tracking: bytes) -> dict[str, float]:
    """N complaints by generate_series: the last open_per_step x 6 open (each step alike), the
    rest closed and answered; three history rows per open complaint; one officer per role."""
    opened = open_per_step * len(QUEUE_STEPS)
    now = datetime.now(UTC)
    times: dict[str, float] = {}
    with psycopg.connect(url) as pg:
        t0 = time.perf_counter()
        pg.execute(
            """
            INSERT INTO complaints (ticket, tracking_code_enc, status, step, outcome, version,
                handoff_pending, channel, subject, description, category_code, unit_code,
                waiting_on_site, preferred_reply, confidential, complainant_name,
                escalation_level, answer, received_at, step_entered_at, stay_started_at,
                step_due_at, closed_at, updated_at)
            SELECT 'ADU-' || (2020 + g %% 6) || '-' || lpad(g::text, 7, '0'), %(tracking)s,
                CASE WHEN g > %(closed)s THEN 'open' ELSE 'closed' END,
                CASE WHEN g > %(closed)s THEN (%(steps)s::text[])[1 + g %% 6] END,
                CASE WHEN g > %(closed)s THEN NULL ELSE 'answered' END,
                3, false, 'kiosk',
                'THR belum dibayar nomor ' || g, 'Perusahaan belum membayar THR tahun ini.',
                (ARRAY['thr','upah','phk','bpjs','k3','kontrak','penempatan'])[1 + g %% 7],
                CASE WHEN g %% 2 = 0 THEN 'hi_jamsos' ELSE 'penempatan' END,
                g %% 50 = 0, 'whatsapp', false, 'Siti Aminah',
                CASE WHEN g > %(closed)s THEN g %% 3 ELSE 0 END,
                'Perusahaan wajib membayar THR paling lambat H-7.',
                %(now)s - make_interval(mins => (%(n)s - g)),
                %(now)s - make_interval(mins => (%(n)s - g) %% 600),
                %(now)s - make_interval(mins => (%(n)s - g) %% 600),
                CASE WHEN g > %(closed)s THEN %(now)s + make_interval(mins => 30 - g %% 60) END,
                CASE WHEN g > %(closed)s THEN NULL ELSE %(now)s - make_interval(mins => (%(n)s - g)) END,
                %(now)s
            FROM generate_series(1, %(n)s) AS g
            """,
            {
                "tracking": tracking,
                "closed": complaints - opened,
                "n": complaints,
                "now": now,
                "steps": list(QUEUE_STEPS),
            },
        )
        times["complaints"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pg.execute(
            """
            INSERT INTO history (complaint_id, at, actor, role, action, from_step, to_step, note, detail,
                version)
            SELECT c.id, c.received_at + make_interval(mins => k), 'fo', 'front_office',
                (ARRAY['received','forward','queued'])[k + 1], NULL, c.step, 'Catatan ' || k, NULL, k + 1
            FROM complaints c CROSS JOIN generate_series(0, 2) AS k
            WHERE c.status = 'open'
            """
        )
        times["history"] = time.perf_counter() - t0
        for username, role, unit in (
            ("kasubag", "kasubag_umum", None),
            ("fo", "front_office", None),
            ("hi", "bidang", "hi_jamsos"),
        ):
            pg.execute(
                "INSERT INTO users (username, password_hash, role, unit_code, active, created_at,"
                " notify_by_email) VALUES (%s, %s, %s, %s, true, %s, false)",
                (username, hash_password(PASSWORD), role, unit, now),
            )
        t0 = time.perf_counter()
        pg.execute("ANALYZE")
        times["analyze"] = time.perf_counter() - t0
    return times


def timed(client: httpx.Client, path: str, runs: int, expect: tuple[int, ...] = (200,)) -> list[float]:
    """Milliseconds of `runs` sequential GETs after WARMUP unmeasured ones."""
    out: list[float] = []
    for i in range(WARMUP + runs):
        t0 = time.perf_counter()
        r = client.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code not in expect:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        if i >= WARMUP:
            out.append(elapsed)
    return out


def timed_poll(client: httpx.Client, seen: str, runs: int) -> tuple[list[float], int]:
    """The queue's poll as the page sends it: the fingerprint it holds, renewed from each 200 (a
    minute turned); milliseconds of `runs` polls after WARMUP, and how many answered with the list."""
    out: list[float] = []
    lists = 0
    for i in range(WARMUP + runs):
        t0 = time.perf_counter()
        r = client.get("/antrean", params={"seen": seen})
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code == 200:
            seen = r.text.split('data-seen="', 1)[1].split('"', 1)[0]
            lists += i >= WARMUP
        elif r.status_code != 204:
            raise RuntimeError(f"poll: {r.status_code} {r.text[:300]}")
        if i >= WARMUP:
            out.append(elapsed)
    return out, lists


def console_client(base: str) -> httpx.Client:
    """A browser-like client signed in to the console (session and CSRF cookies)."""
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/masuk").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = client.post("/masuk", data={"username": "kasubag", "password": PASSWORD, "csrf": csrf})
    if r.status_code != 303:
        raise RuntimeError(f"sign-in: {r.status_code}")
    return client


@contextmanager
def bench_database(prefix: str, *, keep: bool, reuse: str | None) -> Iterator[str]:
    """A fresh database dropped at the end (kept with `keep`), or the kept one named by `reuse`
    (left as it is)."""
    if reuse is not None:
        log(f"reusing database {reuse}")
        yield reuse
    elif keep:
        name = create_database(prefix)
        log(f"database {name} created; kept at the end (drop it when done)")
        yield name
    else:
        with throwaway_database(prefix) as name:
            yield name


@contextmanager
def seeded_staff_api(
    complaints: int,
    open_per_step: int,
    also: Callable[[str], dict[str, float]] | None = None,
    *,
    keep: bool = False,
    reuse: str | None = None,
) -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated and seeded (`seed`, then `also` given its URL), and
    `aduan serve staff` on it (one uvicorn process, as `aduan up` runs it): its base URL; all of it
    gone at the end. `keep` leaves the database behind (its name is logged); `reuse` names one kept
    so, migrated to the head again (a new migration's backfill runs on it) but not seeded again."""
    with (
        TemporaryDirectory(prefix="aduan-bench-staff-") as tmp,
        bench_database("aduan_bench_staff", keep=keep, reuse=reuse) as database,
    ):
        env = (
            base_env()
            | new_secrets()
            | {
                "ADUAN_DATA_DIR": tmp,
                "ADUAN_DATABASE_URL": pg_url(database),
                "ADUAN_BROKER_URL": "filesystem://",
                "ADUAN_LOG_LEVEL": "WARNING",
            }
        )
        settings = Settings.model_validate(
            {k[6:].lower(): v for k, v in env.items() if k.startswith("ADUAN_")}
        )
        t0 = time.perf_counter()
        upgrade(settings)
        log(f"migrated in {time.perf_counter() - t0:.1f} s")
        if reuse is None:
            tracking = FieldCipher(settings.data_key_bytes()).encrypt("ABCD2345", field="tracking_code")
            log(f"seeding {complaints:,} complaints")
            seeded = seed(pg_url(database), complaints, open_per_step, tracking)
            log("seeded: " + ", ".join(f"{k} {v:.1f} s" for k, v in seeded.items()))
            if also is not None:
                more = also(pg_url(database))
                log("seeded: " + ", ".join(f"{k} {v:,.1f}" for k, v in more.items()))
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "launcher.cli", "serve", "staff", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        SERVER_PIDS[base] = proc.pid
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the staff API did not start")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--open-per-step", type=int, default=300)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    notes = [load_note()]
    with seeded_staff_api(args.complaints, args.open_per_step) as base:
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "kasubag", "password": PASSWORD}
        ).json()["access_token"]
        api = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
        browser = console_client(base)
        queue = api.get("/api/v1/worklist", params={"limit": 200}).json()
        ticket = queue["items"][0]["ticket"]
        # The list's fingerprint: it changes when a complaint comes or goes, or a clock's minute
        # turns (then the poll answers 200 with the list, once, and 204 again after).
        poll = browser.get("/").text.split('data-seen="', 1)[1].split('"', 1)[0]
        cases: list[tuple[str, Callable[[], list[float]]]] = [
            (
                "JSON worklist (limit 100)",
                lambda: timed(api, "/api/v1/worklist?limit=100", args.requests),
            ),
            ("queue page /", lambda: timed(browser, "/", args.requests)),
            ("queue poll (204 unless changed)", lambda: polled(timed_poll(browser, poll, args.requests))),
            ("JSON complaint record", lambda: timed(api, f"/api/v1/complaints/{ticket}", args.requests)),
            ("complaint page", lambda: timed(browser, f"/pengaduan/{ticket}", args.requests)),
            # The lists over the whole archive, fewer times: they count every complaint they match.
            ("every complaint /semua (50)", lambda: timed(browser, "/semua", args.requests // 10)),
            (
                "archive search /arsip?cari=",
                lambda: timed(browser, "/arsip?cari=nomor+4242", args.requests // 10),
            ),
        ]

        def polled(result: tuple[list[float], int]) -> list[float]:
            notes.append(
                f"queue poll: {result[1]} of {args.requests} answered with the list (a minute turned)"
            )
            return result[0]

        rows = []
        before = cpu_sample()
        for name, run in cases:
            log(name)
            ms = run()
            rows.append((name, f"{percentile(ms, 50):.1f}", f"{percentile(ms, 95):.1f}", f"{max(ms):.1f}"))
        notes.append(cpu_note(before))
        notes.append(f"queue total for kasubag_umum: {queue['total']} open (the page shows 100)")
    print(f"{args.complaints:,} complaints on PostgreSQL, {args.requests} sequential requests per row")
    print(format_table(("request", "p50 ms", "p95 ms", "max ms"), rows))
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
