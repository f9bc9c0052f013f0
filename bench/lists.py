"""Every staff list endpoint at two sizes, side by side, on PostgreSQL.

    .venv/bin/python bench/lists.py [--sizes 10000,1000000] [--open-per-step 300] [--requests 200]

For each size: a fresh database seeded as bench/console.py seeds it (INSERT ... SELECT over
generate_series: all but a few hundred complaints per step closed), `aduan serve staff`, then
sequential requests on one keep-alive connection, after a warm-up, of each list as the Kepala Dinas,
kasubag umum, the front office and a bidang read them (the JSON API and the console's pages). The
table gives p50/p95 in milliseconds per size: a list that stays flat from 10k to 1M is served by an
index; one that grows scans.

Progress goes to stderr; the table at the end to stdout.
"""

from __future__ import annotations

import argparse
import os

import httpx
from common import format_table, load_note, log, percentile
from console import PASSWORD, console_client, seeded_staff_api, timed

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


def run_size(size: int, open_per_step: int, requests: int) -> dict[str, tuple[float, float]]:
    with seeded_staff_api(size, open_per_step) as base:
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
            ms = timed(clients[who], walked_to(clients[who], path), requests)
            out[label] = (percentile(ms, 50), percentile(ms, 95))
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--open-per-step", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: run_size(size, args.open_per_step, args.requests) for size in sizes}
    headers = ["list", *(f"{s:,} p50/p95 ms" for s in sizes)]
    rows = [
        [label, *(f"{results[s][label][0]:.1f} / {results[s][label][1]:.1f}" for s in sizes)]
        for label, _, _ in CASES
    ]
    print(f"PostgreSQL, {args.requests} sequential requests per cell, kasubag umum's view")
    print(format_table(headers, rows))
    print(load_note())
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
