"""How long `aduan up` takes to be ready on the embedded default (the issue's bound: 10 s).

    .venv/bin/python bench/startup.py [--runs 5]

Each run starts `aduan up` exactly as the README's run command does (no ADUAN_* settings), first on
an empty data folder (creates the database, migrates, makes the admin) and then again on the same
folder, and times from the process start until the banner's "Aduan siap" line, which `up` prints
only once both APIs answer /readyz (database and broker reachable).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import aduan_up, base_env, format_table, load_note, log


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
    args = parser.parse_args()
    log(load_note())
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


if __name__ == "__main__":
    main()
