"""How long `aduan up` takes to be ready on the embedded default (the issue's bound: 10 s), and
how much memory its process tree holds at idle.

    .venv/bin/python bench/startup.py [--runs 5] [--idle 15]

Each run starts `aduan up` exactly as the README's run command does (no ADUAN_* settings), first on
an empty data folder (creates the database, migrates, makes the admin) and then again on the same
folder, and times from the process start until the banner's "Aduan siap" line, which `up` prints
only once both APIs answer /readyz (database and broker reachable).

Then the footprint: one more `aduan up` on a fresh folder, left idle for --idle seconds after it is
ready (one complaint filed first, so the filing path is loaded as it would be in an office), and
the RSS and PSS of every process of its tree (the supervisor and all its descendants) read from
/proc/PID/smaps_rollup (Linux). RSS counts shared pages (the interpreter, shared libraries) once per
process; PSS divides each shared page among the processes sharing it, so the PSS column adds up to
what the tree really holds. --runs 0 measures the footprint alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import aduan_up, base_env, complaint_json, format_table, load_note, log

MIB = 1024 * 1024


@dataclass(frozen=True)
class Footprint:
    pid: int
    name: str
    rss: int  # bytes
    pss: int  # bytes


def _children_of(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's children file, Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        pids.append(pid)
        todo += _children_of(pid)
    return pids


def _name(pid: int) -> str:
    """What the process runs, briefly: `launcher.cli worker routing`, `redis-server`."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    argv = [a for a in argv if a]
    if "launcher.cli" in argv:
        words = argv[argv.index("launcher.cli") + 1 :]
        # the command and its words, without options, ports, hosts and paths
        return " ".join(w for w in words if not (w.startswith("-") or w.isdigit() or set("./") & set(w)))
    if any(a.endswith("aduan") for a in argv[:2]):
        return " ".join(argv[1:2] + argv[2:3])
    return Path(argv[0]).name.split()[0] if argv else "?"


def footprint(root: int) -> list[Footprint]:
    """RSS and PSS of `root` and every descendant, from /proc/PID/smaps_rollup."""
    rows = []
    for pid in _tree(root):
        values: dict[str, int] = {}
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                key, _, rest = line.partition(":")
                values[key] = int(rest.split()[0]) * 1024
            name = _name(pid)
        except OSError:
            continue  # gone meanwhile
        rows.append(Footprint(pid, name, values.get("Rss", 0), values.get("Pss", 0)))
    return rows


def measure_footprint(idle: float) -> list[Footprint]:
    """The tree of a fresh `aduan up`, idle for `idle` seconds after one filing."""
    with tempfile.TemporaryDirectory(prefix="aduan-bench-mem-") as tmp:
        data_dir = Path(tmp) / "data"
        with aduan_up(base_env(), data_dir) as aduan:
            key = aduan.add_kiosk("kios-bench")
            response = httpx.post(
                f"{aduan.intake_url}/api/v1/complaints",
                content=complaint_json(1),
                headers={"X-Kiosk-Key": key, "Content-Type": "application/json"},
                timeout=30,
            )
            response.raise_for_status()
            aduan.wait_settled()
            log(f"idle for {idle:.0f} s")
            time.sleep(idle)
            return footprint(aduan.proc.pid)


def footprint_table(rows: list[Footprint]) -> str:
    table = [[r.name, r.pid, f"{r.rss / MIB:.1f}", f"{r.pss / MIB:.1f}"] for r in rows]
    table.append(
        [
            f"total ({len(rows)} processes)",
            "",
            f"{sum(r.rss for r in rows) / MIB:.1f}",
            f"{sum(r.pss for r in rows) / MIB:.1f}",
        ]
    )
    return format_table(["process", "pid", "RSS MiB", "PSS MiB"], table)


def _once(data_dir: Path) -> tuple[float, float]:
    """(wall seconds until ready, the seconds `up` itself reports)."""
    started = time.monotonic()
    with aduan_up(base_env(), data_dir) as aduan:
        wall = time.monotonic() - started
        reported = float(aduan.output[0].split("dalam ", 1)[1].split(" ", 1)[0])
    return wall, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds idle before the footprint")
    args = parser.parse_args()
    log(load_note())
    if args.runs == 0:
        print(f"aduan up, embedded default, idle {args.idle:.0f} s after one filing")
        print(footprint_table(measure_footprint(args.idle)))
        return
    first: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="aduan-bench-start-") as tmp:
            data_dir = Path(tmp) / "data"
            first.append(_once(data_dir))
            again.append(_once(data_dir))
        log(f"run {i + 1}: fresh {first[-1][0]:.2f} s, again {again[-1][0]:.2f} s")
    rows = [
        [
            name,
            f"{statistics.median(w for w, _ in runs):.2f}",
            f"{max(w for w, _ in runs):.2f}",
            f"{statistics.median(r for _, r in runs):.2f}",
        ]
        for name, runs in (("empty data folder", first), ("existing data folder", again))
    ]
    print(f"aduan up, embedded default, {args.runs} runs each")
    print(format_table(["start", "median s", "max s", "up's own figure, median s"], rows))
    print()
    print(f"aduan up, embedded default, idle {args.idle:.0f} s after one filing")
    print(footprint_table(measure_footprint(args.idle)))


if __name__ == "__main__":
    main()
