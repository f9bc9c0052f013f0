"""Throughput and latency of POST /api/v1/complaints, against a bare-FastAPI baseline.

    .venv/bin/python bench/intake.py [--concurrency 16 64] [--duration 15] [--warmup 3]
                                     [--api-workers 2] [--pool-size 16] [--embedded]

Default: Aduan on PostgreSQL + Redis (a fresh database, Redis db --redis-db flushed) and, in the
same run, bench/baseline_app.py (same body validation, one INSERT, same pool and worker count) on
its own fresh database. Each figure is a closed loop of C concurrent clients for --duration
seconds, after --warmup seconds that are not counted (PERF.md: a fresh cluster is slower at first).

--embedded runs Aduan on the embedded default (SQLite, its own redis-server) instead, WITHOUT the
baseline: the baseline is a PostgreSQL figure and a ratio across databases would mislead.

The load generator (raw keep-alive HTTP/1.1 by default, see RawHttp; --client httpx for one
httpx.AsyncClient) shares the 2 cores with the servers and the database; the ratio is the figure
to compare, the absolute numbers depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import uvloop
from common import (
    ROOT,
    Aduan,
    CpuMeter,
    StackOptions,
    base_env,
    complaint_json,
    cpu_note,
    cpu_sample,
    database_backends,
    embedded_stack,
    format_table,
    free_port,
    load_note,
    log,
    percentile,
    pg_url,
    postgres_stack,
    process_tree,
    throwaway_database,
)

MAX_REQUESTS_PER_RUN = 2_000_000  # a count bound on top of the time bound
REQUEST_TIMEOUT = 30.0
_serial = itertools.count(1)  # every request of the whole run gets a distinct body


@dataclass
class RunResult:
    target: str
    concurrency: int
    duration: float
    latencies: list[float] = field(default_factory=list)  # seconds, requests completed in window
    errors: Counter[str] = field(default_factory=Counter)
    sample_error: str = ""
    filed: int = 0  # 201 answers in the whole run, warm-up included (what the CPU figures divide)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds in the whole run, per part
    backlog: int | None = None  # aduan: outbox messages (receipts) still unsent when load ended
    drain: float | None = None  # aduan: seconds from the end of the load until the outbox was empty

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.duration

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def cpu_ms(self, part: str) -> str:
        """CPU ms per filing of one part (`api`, `db`), or "-" when not measured."""
        if part not in self.cpu or not self.filed:
            return "-"
        return f"{1000 * self.cpu[part] / self.filed:.2f}"


class RawHttp:
    """One keep-alive HTTP/1.1 connection that can POST a body and read a Content-Length reply.

    Why not httpx: httpcore 1.0's pool scans every pooled connection on each request
    (encode/httpx#3215); here one shared AsyncClient cost 1.8 / 4.5 / 11.6 ms of client CPU per
    request at c = 1 / 16 / 64 and capped any server at ~220 req/s (c=16) and ~100 (c=64). This
    costs ~0.1 ms, so the figures are the servers'. `--client httpx` keeps the httpx generator.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(b"%s%d\r\n\r\n%s" % (self.head, len(body), body))
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, close = None, False
            for line in head.lower().split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip() == b"close":
                    close = True
            if length is None:
                raise ValueError("reply without Content-Length")
            data = await self.reader.readexactly(length)
        except BaseException:
            self.close()  # the connection's state is unknown: start the next request afresh
            raise
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


_RAW_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, TimeoutError, ValueError)


async def _load(
    url: str,
    headers: dict[str, str],
    *,
    target: str,
    concurrency: int,
    warmup: float,
    duration: float,
    client: str,
) -> RunResult:
    """C virtual clients post back to back; only completions inside the measuring window count."""
    result = RunResult(target, concurrency, duration)
    headers = {**headers, "Content-Type": "application/json"}
    sent = 0
    window_start = time.perf_counter() + warmup
    window_end = window_start + duration

    async def client_loop(post: Callable[[bytes], Awaitable[tuple[int, bytes]]]) -> None:
        nonlocal sent
        while time.perf_counter() < window_end and sent < MAX_REQUESTS_PER_RUN:
            sent += 1
            body = complaint_json(next(_serial))
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, reply = await post(body)
            except (httpx.HTTPError, *_RAW_ERRORS) as exc:
                result.errors[type(exc).__name__] += 1
                continue
            t1 = time.perf_counter()
            if status != 201:
                result.errors[str(status)] += 1
                result.sample_error = result.sample_error or reply[:300].decode(errors="replace")
                continue
            result.filed += 1
            if window_start <= t1 <= window_end:
                result.latencies.append(t1 - t0)

    if client == "httpx":  # the generator as first briefed: one client, pool sized to C
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as shared:

            async def post(body: bytes) -> tuple[int, bytes]:
                response = await shared.post(url, content=body, headers=headers)
                return response.status_code, response.content

            await asyncio.gather(*(client_loop(post) for _ in range(concurrency)))
    else:
        connections = [RawHttp(url, headers) for _ in range(concurrency)]
        try:
            await asyncio.gather(*(client_loop(c.post) for c in connections))
        finally:
            for c in connections:
                c.close()
    return result


def measure(
    url: str,
    headers: dict[str, str],
    *,
    target: str,
    concurrency: int,
    warmup: float,
    duration: float,
    client: str,
    meters: dict[str, CpuMeter],
) -> RunResult:
    cpu_before = cpu_sample()
    for meter in meters.values():
        meter.start()
    # uvloop, as the servers use: the generator then takes less of the CPU the servers share.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(
            _load(
                url,
                headers,
                target=target,
                concurrency=concurrency,
                warmup=warmup,
                duration=duration,
                client=client,
            )
        )
    result.cpu = {part: meter.stop() for part, meter in meters.items()}
    log(
        f"{target} c={concurrency}: {result.rate:.0f} req/s, p50 {result.ms(50):.1f} ms, "
        f"p99 {result.ms(99):.1f} ms, errors {sum(result.errors.values())}; "
        f"CPU ms per filing: API {result.cpu_ms('api')}, database {result.cpu_ms('db')}; "
        f"{cpu_note(cpu_before)}"
    )
    return result


@contextmanager
def baseline_server(options: StackOptions) -> Iterator[tuple[str, dict[str, CpuMeter]]]:
    """bench/baseline_app.py under uvicorn with the same worker count and pool; its base URL and
    the meters of its processes' and its database backends' CPU."""
    from baseline_app import create_schema

    with throwaway_database("aduan_bench_baseline") as database:
        create_schema(pg_url(database))
        port = free_port()
        env = base_env() | {
            "BENCH_BASELINE_DATABASE_URL": pg_url(database),
            "BENCH_BASELINE_POOL_SIZE": str(options.pool_size),
            "BENCH_BASELINE_MAX_OVERFLOW": str(options.max_overflow),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "baseline_app:create_app",
                "--factory",
                "--app-dir",
                str(ROOT / "bench"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(options.api_workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_http(f"{base}/healthz", proc)
            log(f"baseline ready on {base} (pid {proc.pid})")
            yield base, _meters(lambda: process_tree(proc.pid), database)
        finally:
            proc.terminate()  # uvicorn's master stops its workers on SIGTERM
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: master and workers
                proc.wait()
            log("baseline stopped")


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: not healthy after {timeout:.0f} s")


def _meters(api: Callable[[], list[int]], database: str | None) -> dict[str, CpuMeter]:
    """CPU meters of an API's processes and (PostgreSQL) of its database's backends."""
    meters = {"api": CpuMeter(api)}
    if database is not None:
        meters["db"] = CpuMeter(lambda: database_backends(database))
    return meters


def run(args: argparse.Namespace) -> tuple[list[RunResult], list[RunResult], str]:
    options = StackOptions(
        api_workers=args.api_workers,
        pool_size=args.pool_size,
        max_overflow=args.max_overflow,
        redis_db=args.redis_db,
        background_nice=args.background_nice,
    )
    baseline: list[RunResult] = []
    aduan_runs: list[RunResult] = []
    stack = embedded_stack(options) if args.embedded else postgres_stack(options)
    with stack as aduan:
        kiosk_key = aduan.add_kiosk("bench-kiosk")
        meters = _meters(lambda: aduan.service_pids("intake-api", "api"), aduan.database)
        background = ("routing-worker", "notify-worker", "sweeper", "worker")
        aduan.background = CpuMeter(lambda: aduan.service_pids(*background))
        targets = [("aduan", f"{aduan.intake_url}/api/v1/complaints", {"X-Kiosk-Key": kiosk_key}, meters)]
        with contextlib.ExitStack() as servers:
            if not args.embedded:
                base, base_meters = servers.enter_context(baseline_server(options))
                targets.insert(0, ("baseline", f"{base}/api/v1/complaints", {}, base_meters))
            # Prime each target once at the highest concurrency: new databases and processes are
            # slower at first (WAL segments, caches, pools); only later runs are measured.
            for name, url, headers, meter in targets:
                _run(aduan, name, url, headers, meter, max(args.concurrency), 0.0, args.prime, args)
            for c in args.concurrency:
                for name, url, headers, meter in targets:
                    result = _run(aduan, name, url, headers, meter, c, args.warmup, args.duration, args)
                    (aduan_runs if name == "aduan" else baseline).append(result)
        label = aduan.label
    return baseline, aduan_runs, label


def _run(
    aduan: Aduan,
    target: str,
    url: str,
    headers: dict[str, str],
    meters: dict[str, CpuMeter],
    concurrency: int,
    warmup: float,
    duration: float,
    args: argparse.Namespace,
) -> RunResult:
    if target == "aduan" and aduan.background is not None:
        aduan.background.start()  # until the outbox is drained: the receipts' CPU after the load
    result = measure(
        url,
        headers,
        target=target,
        concurrency=concurrency,
        warmup=warmup,
        duration=duration,
        client=args.client,
        meters=meters,
    )
    ended = time.monotonic()
    if target == "aduan" and aduan.background is not None:
        # The notify worker keeps sending receipts after the load stops; let it finish so the
        # next measurement (baseline or aduan) does not share the CPU with these leftovers.
        # The drain time is part of the figure: the background runs niced (ADUAN_BACKGROUND_NICE)
        # and sends most receipts after the burst.
        result.backlog = aduan.outbox_backlog()
        left = aduan.wait_settled(timeout=600.0)
        result.drain = time.monotonic() - ended if not left else None
        result.cpu["background"] = aduan.background.stop()
        log(f"outbox backlog at the end: {result.backlog}; drained {result.drain or 0:.1f} s after the load")
    return result


def report(
    baseline: list[RunResult], aduan_runs: list[RunResult], label: str, args: argparse.Namespace
) -> None:
    print()
    pool = "" if args.embedded else f"pool {args.pool_size}+{args.max_overflow}; "
    # The embedded default serves both APIs from one process (launcher `aduan apis`): no workers.
    workers = "one API process" if args.embedded else f"{args.api_workers} API workers"
    print(
        f"POST /api/v1/complaints — aduan on {label}; {workers}, {pool}"
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up per row; "
        f"{args.client} client"
    )
    rows = []
    for i, a in enumerate(aduan_runs):
        b = baseline[i] if baseline else None
        rows.append(
            [
                a.concurrency,
                f"{b.rate:,.0f}" if b else "-",
                f"{b.ms(50):.1f}" if b else "-",
                f"{b.ms(99):.1f}" if b else "-",
                f"{a.rate:,.0f}",
                f"{a.ms(50):.1f}",
                f"{a.ms(99):.1f}",
                f"{a.rate / b.rate:.2f}" if b and b.rate else "-",
                a.backlog,
                f"{a.drain:.1f}" if a.drain is not None else "not drained",
            ]
        )
    print(
        format_table(
            [
                "concurrency",
                "baseline req/s",
                "p50 ms",
                "p99 ms",
                "aduan req/s",
                "p50 ms",
                "p99 ms",
                "aduan/baseline",
                "receipts unsent at end",
                "drained after (s)",
            ],
            rows,
        )
    )
    print(
        "drained after: seconds from the end of the load until every filed complaint's outbox rows "
        "were processed (receipts recorded); the workers run niced and catch up after a burst"
    )
    if not baseline:
        print("(embedded run: no baseline; the baseline is a PostgreSQL figure)")
    print()
    print("CPU ms per filing (whole run, warm-up included; from /proc, steadier than req/s when shared)")
    cpu_rows = []
    for i, a in enumerate(aduan_runs):
        b = baseline[i] if baseline else None
        served = _served_ms(a)
        base = _served_ms(b) if b else None
        cpu_rows.append(
            [
                a.concurrency,
                b.cpu_ms("api") if b else "-",
                b.cpu_ms("db") if b else "-",
                a.cpu_ms("api"),
                a.cpu_ms("db"),
                a.cpu_ms("background"),
                f"{base / served:.2f}" if base and served else "-",
            ]
        )
    print(
        format_table(
            [
                "concurrency",
                "baseline API",
                "baseline database",
                "aduan API",
                "aduan database",
                "aduan background (to drain)",
                "baseline/aduan (API + database)",
            ],
            cpu_rows,
        )
    )
    for r in [*baseline, *aduan_runs]:
        if r.errors:
            print(f"errors {r.target} c={r.concurrency}: {dict(r.errors)} {r.sample_error}")


def _served_ms(r: RunResult) -> float | None:
    """CPU ms per filing of the API and its database together (what serving the POST costs)."""
    if not r.filed or "api" not in r.cpu:
        return None
    return 1000 * (r.cpu["api"] + r.cpu.get("db", 0.0)) / r.filed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per row")
    parser.add_argument(
        "--prime", type=float, default=5.0, help="one unmeasured run per target first (seconds)"
    )
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument(
        "--pool-size",
        type=int,
        default=16,
        help="per process; keep 2 × workers × (pool + overflow) under 100",
    )
    parser.add_argument("--max-overflow", type=int, default=0)
    parser.add_argument("--redis-db", type=int, default=9, help="flushed before and after")
    parser.add_argument(
        "--background-nice",
        type=int,
        help="ADUAN_BACKGROUND_NICE for the workers and sweeper (default: the product's, 10)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: raw HTTP/1.1 connections (default) or one httpx.AsyncClient "
        "(costs 2-12 ms of client CPU per request here; see RawHttp)",
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="aduan on SQLite + its own redis-server, without the baseline",
    )
    args = parser.parse_args()
    if args.duration <= 0 or args.warmup < 0 or args.prime <= 0 or min(args.concurrency) < 1:
        parser.error("--duration and --prime > 0, --warmup >= 0, --concurrency >= 1 please")

    started_under = load_note()
    baseline, aduan_runs, label = run(args)
    report(baseline, aduan_runs, label, args)
    print(started_under)
    failed = any(r.errors or not r.latencies for r in [*baseline, *aduan_runs])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
