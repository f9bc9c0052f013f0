"""Hand-off latency: from an accepted staff action (HTTP 202) until the complaint shows in the
next role's worklist.

    .venv/bin/python bench/handoff.py [--handoffs 500] [--backend postgres|embedded|both]
                                      [--filesystem-broker] [--no-drain]

Per backend: a fresh `aduan up`, accounts front_office and kasubag_umum, N complaints filed
through the intake API. Then, one complaint at a time (so the figure is the hand-off's latency,
not queueing behind other hand-offs), front_office forwards it (verification -> review); t0 is
when the 202 arrives; kasubag_umum polls GET /worklist until the ticket is there (t1).

By default kasubag_umum then forwards the complaint on (review -> disposition) and the script
waits for that hand-off to land too, before the next one. That keeps kasubag_umum's worklist at
one item, so each poll is a few milliseconds and the figure is the hand-off's, not the time to
render a worklist that grows to N items. --no-drain leaves them queued (then N <= 500).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from common import (
    Aduan,
    CpuMeter,
    StackOptions,
    complaint_json,
    database_backends,
    embedded_stack,
    format_table,
    load_note,
    log,
    percentile,
    postgres_stack,
    process_cpu,
    process_tree,
)

TARGET_MS = {"postgres": 50.0, "embedded": 500.0}
POLL_INTERVAL = 0.002  # as fast as the staff API answers, with a breath between polls
HANDOFF_TIMEOUT = 30.0  # a hand-off slower than this is an error, not a figure
WORKLIST_LIMIT = 500


class BenchError(RuntimeError):
    pass


@dataclass
class Result:
    backend: str
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds
    action_times: list[float] = field(default_factory=list)  # the 202's own round trip
    poll_times: list[float] = field(default_factory=list)  # one worklist GET
    polls: list[int] = field(default_factory=list)  # GETs until the ticket showed
    action_cpu_s: float = 0.0  # the staff API's CPU during the measured forwards' POSTs
    poll_cpu_s: float = 0.0  # the staff API's CPU during the measured hand-offs' worklist GETs
    aduan_cpu_s: float = 0.0  # every Aduan process's CPU over the measured hand-offs (polls too)
    worker_cpu_s: float = 0.0  # the workers' (routing lands both hand-offs of a loop) over the same
    database_cpu_s: float = 0.0  # PostgreSQL's backends' over the same span

    def cpu_ms(self, seconds: float) -> float:
        """CPU milliseconds per measured hand-off."""
        return 1000 * seconds / max(len(self.latencies), 1)

    def ms(self, p: float, values: list[float] | None = None) -> float:
        return percentile(self.latencies if values is None else values, p) * 1000


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


def _wait_until(check: Callable[[], bool], what: str) -> int:
    """Call `check` until it is true, bounded in time and count; the number of calls."""
    deadline = time.perf_counter() + HANDOFF_TIMEOUT
    for calls in range(1, int(HANDOFF_TIMEOUT / POLL_INTERVAL) + 1):
        if check():
            return calls
        if time.perf_counter() > deadline:
            break
        time.sleep(POLL_INTERVAL)
    raise BenchError(f"{what}: not done after {HANDOFF_TIMEOUT:.0f} s")


def file_complaints(aduan: Aduan, client: httpx.Client, count: int) -> list[str]:
    key = aduan.add_kiosk("bench-kiosk")
    headers = {"X-Kiosk-Key": key, "Content-Type": "application/json"}
    tickets = []
    for i in range(count):
        response = client.post(
            f"{aduan.intake_url}/api/v1/complaints", content=complaint_json(i), headers=headers
        )
        tickets.append(_expect(response, 201, "file complaint").json()["ticket"])
    return tickets


def measure(aduan: Aduan, backend: str, *, handoffs: int, warmup: int, drain: bool) -> Result:
    fo_password = aduan.add_user("front_office", "front_office")
    ks_password = aduan.add_user("kasubag_umum", "kasubag_umum")
    fo = {"Authorization": f"Bearer {aduan.token('front_office', fo_password)}"}
    ks = {"Authorization": f"Bearer {aduan.token('kasubag_umum', ks_password)}"}
    result = Result(backend, aduan.label)
    api = f"{aduan.staff_url}/api/v1"
    # CPU from /proc: on a loaded machine a steadier figure than the latency. The staff API's
    # processes are metered around each forward's POST alone (no poll runs then).
    staff = aduan.service_pids("staff-api", "api") or process_tree(aduan.proc.pid)
    everything = CpuMeter(lambda: process_tree(aduan.proc.pid))
    workers = CpuMeter(lambda: _workers(aduan))
    database = aduan.database
    backends = CpuMeter(lambda: database_backends(database) if database else [])

    with httpx.Client(timeout=HANDOFF_TIMEOUT) as client:
        tickets = file_complaints(aduan, client, warmup + handoffs)
        log(f"{len(tickets)} complaints filed; waiting for their receipts to be sent")
        aduan.wait_settled()  # the notify worker must be idle before we time anything

        for n, ticket in enumerate(tickets):
            if n == warmup:
                everything.start()
                workers.start()
                backends.start()
            staff_cpu = sum(process_cpu(pid) for pid in staff)
            t_action = time.perf_counter()
            response = client.post(
                f"{api}/complaints/{ticket}/actions",
                headers=fo,
                json={
                    "action": "forward",
                    "version": 1,
                    "identity_verified": True,
                    "id_document": "KTP",
                },
            )
            t0 = time.perf_counter()
            if n >= warmup:
                result.action_cpu_s += sum(process_cpu(pid) for pid in staff) - staff_cpu
            accepted = _expect(response, 202, f"forward {ticket}").json()
            seen: dict[str, int] = {}

            def in_worklist(ticket: str = ticket, seen: dict[str, int] = seen, n: int = n) -> bool:
                t, cpu = time.perf_counter(), sum(process_cpu(pid) for pid in staff)
                items = _expect(
                    client.get(f"{api}/worklist", params={"limit": WORKLIST_LIMIT}, headers=ks),
                    200,
                    "worklist",
                ).json()["items"]
                result.poll_times.append(time.perf_counter() - t)
                if n >= warmup:
                    result.poll_cpu_s += sum(process_cpu(pid) for pid in staff) - cpu
                for item in items:
                    if item["ticket"] == ticket:
                        seen["version"] = item["version"]
                        return True
                return False

            polls = _wait_until(in_worklist, f"hand-off of {ticket} to review")
            t1 = time.perf_counter()
            if n >= warmup:
                result.latencies.append(t1 - t0)
                result.action_times.append(t0 - t_action)
                result.polls.append(polls)
            if drain:
                _drain(client, api, ks, ticket, seen.get("version", accepted["version"]))
            if (n + 1) % 100 == 0:
                log(f"{backend}: {n + 1}/{len(tickets)} hand-offs, p50 so far {result.ms(50):.1f} ms")
        result.aduan_cpu_s, result.database_cpu_s = everything.stop(), backends.stop()
        result.worker_cpu_s = workers.stop()
    return result


def _workers(aduan: Aduan) -> list[int]:
    """The Celery workers' processes in `aduan up`'s tree (by command line: older trees have no
    pid files)."""
    found = []
    for pid in process_tree(aduan.proc.pid):
        with suppress(OSError):
            if b" worker" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                found.append(pid)
    return found


def _drain(client: httpx.Client, api: str, ks: dict[str, str], ticket: str, version: int) -> None:
    """kasubag_umum forwards the complaint to the Sekretaris; wait until that hand-off lands, so
    the routing worker is idle when the next measured hand-off starts."""
    _expect(
        client.post(
            f"{api}/complaints/{ticket}/actions",
            headers=ks,
            json={"action": "forward", "version": version},
        ),
        202,
        f"drain {ticket}",
    )

    def landed() -> bool:
        view = _expect(client.get(f"{api}/complaints/{ticket}", headers=ks), 200, "view").json()
        return bool(view["step"] == "disposition" and not view["handoff_pending"])

    _wait_until(landed, f"hand-off of {ticket} to disposition")


def run_backend(backend: str, args: argparse.Namespace) -> Result:
    options = StackOptions(
        api_workers=args.api_workers,
        pool_size=args.pool_size,
        max_overflow=args.max_overflow,
        redis_db=args.redis_db,
    )
    stack = (
        postgres_stack(options)
        if backend == "postgres"
        else embedded_stack(options, filesystem_broker=args.filesystem_broker)
    )
    with stack as aduan:
        return measure(aduan, backend, handoffs=args.handoffs, warmup=args.warmup, drain=not args.no_drain)


def report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(
        f"Hand-off latency: 202 of front_office's forward -> ticket in kasubag_umum's worklist; "
        f"{args.handoffs} sequential hand-offs after {args.warmup} unmeasured, "
        f"{args.api_workers} API workers, worklist {'drained' if not args.no_drain else 'kept'}"
    )
    rows = []
    for r in results:
        target = TARGET_MS[r.backend]
        p95 = r.ms(95)
        rows.append(
            [
                r.label,
                len(r.latencies),
                f"{r.ms(50):.1f}",
                f"{p95:.1f}",
                f"{r.ms(100):.1f}",
                f"<= {target:g}",
                "met" if p95 <= target else "MISSED",
                f"{r.ms(50, r.action_times):.1f}",
                f"{r.ms(50, r.poll_times):.1f}",
                f"{100 * r.polls.count(1) / max(len(r.polls), 1):.0f}",
                f"{r.cpu_ms(r.action_cpu_s):.2f}",
                f"{1000 * r.poll_cpu_s / max(sum(r.polls), 1):.2f}",
                f"{r.cpu_ms(r.worker_cpu_s):.2f}",
                f"{r.cpu_ms(r.aduan_cpu_s):.2f}",
                f"{r.cpu_ms(r.database_cpu_s):.2f}" if r.backend == "postgres" else "-",
            ]
        )
    print(
        format_table(
            [
                "backend",
                "n",
                "p50 ms",
                "p95 ms",
                "max ms",
                "p95 target",
                "target",
                "action p50 ms",
                "poll p50 ms",
                "seen at 1st poll %",
                "action CPU ms",
                "CPU ms per poll",
                "workers CPU ms",
                "Aduan CPU ms",
                "PG CPU ms",
            ],
            rows,
        )
    )
    print(
        "(action = the forward POST's own round trip; poll = one GET /worklist. A hand-off seen\n"
        " at the first poll landed within that poll's round trip: the figure is then bounded by\n"
        " the cost of one worklist GET, not by the routing worker)\n"
        "CPU per measured hand-off, from /proc: action = the staff API's during the forward's POST;\n"
        " per poll = the staff API's during one worklist GET (of the measured hand-offs' polls);\n"
        " workers = the Celery workers' over the whole loop (two hand-offs landed per loop);\n"
        " Aduan = all of aduan up's processes over the whole loop (the forward, the routing worker,\n"
        " the polls and the drain's forward); PG = PostgreSQL's backends over the same loop"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=500, help="measured hand-offs (>= 500)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured hand-offs first")
    parser.add_argument("--backend", choices=["postgres", "embedded", "both"], default="both")
    parser.add_argument(
        "--filesystem-broker",
        action="store_true",
        help="embedded: force kombu's filesystem transport instead of redis-server",
    )
    parser.add_argument(
        "--no-drain",
        action="store_true",
        help="leave hand-offs in kasubag_umum's worklist (needs N + warmup <= 500)",
    )
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=16)
    parser.add_argument("--max-overflow", type=int, default=0)
    parser.add_argument("--redis-db", type=int, default=9, help="flushed before and after")
    args = parser.parse_args()
    if args.handoffs < 1 or args.warmup < 0:
        parser.error("--handoffs >= 1 and --warmup >= 0 please")
    if args.no_drain and args.handoffs + args.warmup > WORKLIST_LIMIT:
        parser.error(f"--no-drain needs --handoffs + --warmup <= {WORKLIST_LIMIT}")

    backends = ["postgres", "embedded"] if args.backend == "both" else [args.backend]
    started_under = load_note()
    results = []
    try:
        for backend in backends:
            results.append(run_backend(backend, args))
    except BenchError as exc:
        print(f"handoff: {exc}", file=sys.stderr)
        report(results, args)
        print(started_under)
        return 1
    report(results, args)
    print(started_under)
    return 0


if __name__ == "__main__":
    sys.exit(main())
