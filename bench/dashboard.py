"""The leadership's dashboard and its JSON reports for a 12-month period, on PostgreSQL.

    .venv/bin/python bench/dashboard.py [--complaints 1000000] [--requests 20] [--months 12]
        [--keep | --database NAME]

1. Set-up as bench/console.py seeds it (a fresh database dropped at the end; N complaints by one
   INSERT ... SELECT over generate_series, one a minute back from now, so 1,000,000 span about 23
   months), plus what the reports read of a closed complaint: its history (every other one through
   all six steps, with the disposition naming its bidang; the rest answered at verification), the
   stays that history ended (shared.stays.backfill, as migration 0021 fills the table, and their
   histogram, as 0023 fills stay_minutes), an SKM rating for one in three, then VACUUM ANALYZE (the
   archive as autovacuum leaves it: all-visible, so index-only scans stay index-only).
2. `aduan serve staff` (one uvicorn process, as `aduan up` runs it) against that database.
3. As kasubag umum, sequential requests after a warm-up of two: the dashboard page
   (`/dasbor?dari=&sampai=`, the last --months months) and the JSON reports of the same period
   (`/api/v1/reports/volume`, `/sla`, `/satisfaction`). The target is p95 <= 300 ms for the page.

Seeding 1,000,000 takes tens of minutes: `--keep` leaves the seeded database behind (its name is
logged) and `--database NAME` runs against such a kept one (migrated to the head, not seeded again;
drop it with `dropdb` when done). The history rows figure is then counted, not seeded.

Progress goes to stderr; the table at the end to stdout.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from common import cpu_note, cpu_sample, format_table, load_note, log, percentile, pg_url
from console import PASSWORD, QUEUE_STEPS, console_client, seeded_staff_api
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from shared import stays
from shared.settings import Settings

WARMUP = 2
ACTIONS = ("forward", "review", "dispose", "submit_draft", "approve_answer", "deliver")
ROLES = ("front_office", "kasubag_umum", "sekretaris", "bidang", "kasubag_umum", "front_office")


def seed_reports(url: str) -> dict[str, float]:
    """History and ratings of the closed complaints, as the reports read them."""
    times: dict[str, float] = {}
    with psycopg.connect(url) as pg:
        t0 = time.perf_counter()
        # e = 0 opens step k (received / queued), e = 1 leaves it; odd ids end at verification.
        pg.execute(
            """
            INSERT INTO history (complaint_id, at, actor, role, action, from_step, to_step, note,
                detail, version)
            SELECT c.id,
                c.received_at + make_interval(mins => k * 600 + e * (30 + (c.id %% 400)::int)),
                'bench',
                CASE WHEN e = 1 THEN (%(roles)s::text[])[k + 1] END,
                CASE WHEN e = 0 THEN (CASE WHEN k = 0 THEN 'received' ELSE 'queued' END)
                     WHEN c.id %% 2 = 1 THEN 'answer_on_the_spot'
                     ELSE (%(actions)s::text[])[k + 1] END,
                CASE WHEN e = 1 THEN (%(steps)s::text[])[k + 1] END,
                CASE WHEN e = 0 THEN (%(steps)s::text[])[k + 1]
                     WHEN c.id %% 2 = 0 AND k < 5 THEN (%(steps)s::text[])[k + 2] END,
                NULL,
                CASE WHEN e = 1 AND k = 2 AND c.id %% 2 = 0 THEN json_build_object('unit', c.unit_code)
                     WHEN e = 1 AND (k = 5 OR c.id %% 2 = 1) THEN json_build_object('outcome', 'answered')
                END,
                1 + 2 * k + e
            FROM complaints c CROSS JOIN generate_series(0, 5) AS k CROSS JOIN generate_series(0, 1) AS e
            WHERE c.status = 'closed' AND (c.id %% 2 = 0 OR k = 0)
            """,
            {"roles": list(ROLES), "actions": list(ACTIONS), "steps": list(QUEUE_STEPS)},
        )
        times["history"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pg.execute(
            """
            INSERT INTO feedback (complaint_id, score, comment, created_at)
            SELECT id, 1 + mod(id / 3, 4), NULL, closed_at + interval '1 day'
            FROM complaints WHERE status = 'closed' AND mod(id, 3) = 0
            """
        )
        times["feedback"] = time.perf_counter() - t0
        pg.commit()
        t0 = time.perf_counter()
        # The stays those rows ended, as migration 0021 writes them from the history (what the
        # history rows' writer writes with each row in production).
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
        with engine.begin() as conn:
            times["stays rows"] = float(stays.backfill(conn, Settings(database_url=url)))
            # ... and their histogram, as migration 0023 fills it from them
            stays.backfill_minutes(conn)
        engine.dispose()
        times["stays"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        vacuum(pg)
        times["vacuum"] = time.perf_counter() - t0
        rows = pg.execute("SELECT count(*) FROM history").fetchone()
        times["history rows"] = float(rows[0]) if rows else 0.0
    return times


def vacuum(pg: psycopg.Connection[Any]) -> None:
    """VACUUM ANALYZE, as autovacuum leaves an office's archive: its pages all-visible, so that the
    reports' index-only scans read no table page (a freshly written table's would read every one)."""
    pg.commit()
    pg.autocommit = True
    pg.execute("VACUUM ANALYZE")
    pg.autocommit = False


def timed(client: httpx.Client, path: str, params: dict[str, str], runs: int, limit: float) -> list[float]:
    """Milliseconds of `runs` sequential GETs after WARMUP unmeasured ones; stops early (returning
    what it has, at least the first answer, warm-up or not) once the requests have taken `limit` s."""
    out: list[float] = []
    began = time.perf_counter()
    for i in range(WARMUP + runs):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        if i >= WARMUP or time.perf_counter() - began > limit:
            out.append(elapsed)
        log(f"  {path}: {elapsed:.0f} ms")
        if time.perf_counter() - began > limit:
            break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--open-per-step", type=int, default=300)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--limit", type=float, default=600, help="seconds per row at most")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep", action="store_true", help="keep the seeded database at the end")
    kept.add_argument("--database", help="reuse this kept database instead of seeding one")
    args = parser.parse_args()
    notes = [load_note()]
    seeded: dict[str, float] = {}

    def also(url: str) -> dict[str, float]:
        seeded.update(seed_reports(url))
        return seeded

    with seeded_staff_api(
        args.complaints, args.open_per_step, also, keep=args.keep, reuse=args.database
    ) as base:
        if args.database is not None:
            with psycopg.connect(pg_url(args.database)) as pg:
                row = pg.execute("SELECT count(*) FROM history").fetchone()
                vacuum(pg)  # after the migrations (new tables, new indexes)
            seeded["history rows"] = float(row[0]) if row else 0.0
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "kasubag", "password": PASSWORD}
        ).json()["access_token"]
        api = httpx.Client(base_url=base, timeout=3600, headers={"Authorization": f"Bearer {token}"})
        browser = console_client(base)
        browser.timeout = httpx.Timeout(3600)
        today = datetime.now(UTC).date()
        # The current month and the --months - 1 before it (at most the reports' 366 days).
        start = today.replace(day=1)
        for _ in range(args.months - 1):
            start = (start - timedelta(days=1)).replace(day=1)
        period = {"from": start.isoformat(), "to": today.isoformat()}
        cases = (
            ("dashboard page /dasbor", browser, "/dasbor", {"dari": period["from"], "sampai": period["to"]}),
            ("JSON /reports/volume", api, "/api/v1/reports/volume", period),
            ("JSON /reports/sla", api, "/api/v1/reports/sla", period),
            ("JSON /reports/satisfaction", api, "/api/v1/reports/satisfaction", period),
        )
        rows = []
        before = cpu_sample()
        for name, client, path, params in cases:
            log(name)
            ms = timed(client, path, params, args.requests, args.limit)
            rows.append(
                (name, len(ms), f"{percentile(ms, 50):.0f}", f"{percentile(ms, 95):.0f}", f"{max(ms):.0f}")
            )
        notes.append(cpu_note(before))
        notes.append(f"period {period['from']} .. {period['to']}; history rows {seeded['history rows']:,.0f}")
    print(f"{args.complaints:,} complaints on PostgreSQL, {args.requests} sequential requests per row")
    print(format_table(("request", "timed", "p50 ms", "p95 ms", "max ms"), rows))
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
