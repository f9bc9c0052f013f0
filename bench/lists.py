"""Every staff list endpoint at two sizes, side by side, on PostgreSQL.

    .venv/bin/python bench/lists.py [--sizes 10000,1000000] [--open-per-step 300] [--requests 200]
        [--keep | --reuse NAME,NAME]

For each size: a fresh database seeded as bench/console.py seeds it (INSERT ... SELECT over
generate_series: all but a few hundred complaints per step closed), `aduan serve staff`, then
sequential requests on one keep-alive connection, after a warm-up, of each list as the Kepala Dinas,
kasubag umum, the front office and a bidang read them (the JSON API and the console's pages). The
table gives p50/p95 in milliseconds per size: a list that stays flat from 10k to 1M is served by an
index; one that grows scans. Beside each cell, the server's CPU milliseconds per request (user +
system of the `aduan serve staff` process, from /proc, warm-up included): on a shared machine a
steadier figure than the wall-clock times.

`--keep` leaves each size's seeded database behind (the names are logged); `--reuse` names them
back, one per size in the order of `--sizes`, migrated to the head but not seeded again: seeding a
million complaints takes minutes.

Progress goes to stderr; the table at the end to stdout.
"""

from __future__ import annotations

import argparse
import os

import httpx
from common import format_table, load_note, log, percentile, process_cpu
from console import PASSWORD, SERVER_PIDS, WARMUP, console_client, seeded_staff_api, timed

# (label, who, path): "api" requests carry a bearer token, "page" ones a console session
CASES = (
    ("complaints?status=open", "api", "/api/v1/complaints?status=open&limit=50"),
    ("complaints?status=closed", "api", "/api/v1/complaints?status=closed&limit=50"),
    ("complaints (all)", "api", "/api/v1/complaints?limit=50"),
    ("complaints?step=drafting", "api", "/api/v1/complaints?step=drafting&limit=50"),
    ("complaints?unit=hi_jamsos", "api", "/api/v1/complaints?unit=hi_jamsos&limit=50"),
    ("complaints?status=closed, page 100", "api", "/api/v1/complaints?status=closed&limit=50&offset=5000"),
    # the same page reached by cursor: the next_cursor of page 99 (found by walking there first)
    (
        "complaints?status=closed, page 100 by cursor",
        "api",
        "/api/v1/complaints?status=closed&limit=50&cursor=@100",
    ),
    ("worklist", "api", "/api/v1/worklist?limit=100"),
    ("escalations", "api", "/api/v1/escalations?limit=50"),
    ("console /semua?status=open", "page", "/semua?status=open"),
    ("console /arsip", "page", "/arsip"),
    ("console /arsip?cari= (subject)", "page", "/arsip?cari=nomor+4242"),
)


def walked_to(client: httpx.Client, path: str) -> str:
    """`path` with `cursor=@N` replaced by the cursor of page N, walked to by next_cursor."""
    if "cursor=@" not in path:
        return path
    head, pages = path.split("cursor=@")
    url = head.rstrip("&")
    for _ in range(int(pages) - 1):
        cursor = client.get(url).json()["next_cursor"]
        url = f"{head}cursor={cursor}"
    return url


def run_size(
    size: int, open_per_step: int, requests: int, *, keep: bool, reuse: str | None
) -> dict[str, tuple[float, float, float]]:
    """Per list: p50 and p95 milliseconds, and the server's CPU milliseconds per request."""
    with seeded_staff_api(size, open_per_step, keep=keep, reuse=reuse) as base:
        pid = SERVER_PIDS[base]
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "kasubag", "password": PASSWORD}
        ).json()["access_token"]
        clients = {
            "api": httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}),
            "page": console_client(base),
        }
        out = {}
        for label, who, path in CASES:
            log(f"{size:,}: {label}")
            url = walked_to(clients[who], path)
            cpu = process_cpu(pid)
            ms = timed(clients[who], url, requests)
            cpu_ms = (process_cpu(pid) - cpu) * 1000 / (WARMUP + requests)
            out[label] = (percentile(ms, 50), percentile(ms, 95), cpu_ms)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--open-per-step", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the seeded databases behind")
    parser.add_argument("--reuse", help="kept databases to reuse, one per size: NAME,NAME")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    reuse = args.reuse.split(",") if args.reuse else [None] * len(sizes)
    if len(reuse) != len(sizes):
        parser.error("--reuse names one database per size")
    results = {
        size: run_size(size, args.open_per_step, args.requests, keep=args.keep, reuse=name)
        for size, name in zip(sizes, reuse, strict=True)
    }
    headers = ["list", *(f"{s:,}: p50 / p95 ms, CPU ms" for s in sizes)]
    rows = [
        [label, *("{:.1f} / {:.1f}, {:.1f}".format(*results[s][label]) for s in sizes)]
        for label, _, _ in CASES
    ]
    print(f"PostgreSQL, {args.requests} sequential requests per cell, kasubag umum's view")
    print(format_table(headers, rows))
    print(load_note())
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
