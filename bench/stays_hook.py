"""CPU of the `stays` hook per flush of a history row that ends a stay, in-process on SQLite.

    .venv/bin/python bench/stays_hook.py [--against REV] [--flushes 20] [--rounds 5]

A complaint with a history of N rows (the received row, then request_info / info_received pairs)
is forwarded and returned again and again; each forward's flush writes a stay. Printed: the CPU
(time.process_time) of that flush with no hook, with this checkout's hook and, with --against, with
shared/stays.py as it was at REV (read by `git show`), side by side in the same process. Medians of
--rounds rounds of --flushes flushes, each round on a fresh complaint in a rolled-back transaction.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from shared import stays  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.migrate import upgrade  # noqa: E402
from shared.models import History  # noqa: E402
from shared.settings import Settings, get_settings  # noqa: E402
from tests.unit.conftest import complaint_row  # noqa: E402

Hook = Callable[[Session, Any], None]
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # a Wednesday, 10:00 WIB


def _hook_at(rev: str) -> Hook:
    """The `after_flush` of shared/stays.py at git revision `rev`."""
    source = subprocess.run(
        ["git", "show", f"{rev}:shared/stays.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    folder = Path(tempfile.mkdtemp())
    (folder / "stays_at_rev.py").write_text(source)
    spec = importlib.util.spec_from_file_location("stays_at_rev", folder / "stays_at_rev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["stays_at_rev"] = module
    spec.loader.exec_module(module)
    hook: Hook = module.after_flush
    return hook


def _no_hook(_session: Session, _context: Any) -> None:
    return None


def one_round(engine: Engine, hook: Hook, history: int, flushes: int) -> float:
    """CPU milliseconds per flush that ends a stay, with `hook` as the stays hook."""
    # shared.models calls stays.after_flush at every flush (setattr: mypy holds the module typed)
    setattr(stays, "after_flush", hook)  # noqa: B010
    spent = 0.0
    with engine.connect() as conn:
        transaction = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            complaint = complaint_row()
            session.add(complaint)
            session.flush()
            at = T0

            def row(action: str, role: str | None, from_step: str | None, to_step: str | None) -> None:
                nonlocal at
                at += timedelta(seconds=10)
                session.add(
                    History(
                        complaint_id=complaint.id,
                        at=at,
                        actor="bench",
                        role=role,
                        action=action,
                        from_step=from_step,
                        to_step=to_step,
                        version=1,
                    )
                )

            row("received", None, None, "verification")
            for _ in range(history // 2):
                row("request_info", "front_office", "verification", None)
                row("info_received", "front_office", "verification", None)
            session.flush()
            for _ in range(flushes):
                row("forward", "front_office", "verification", "review")
                started = time.process_time()
                session.flush()
                spent += time.process_time() - started
                row("return", "kasubag_umum", "review", "verification")
                row("queued", None, None, "verification")
                session.flush()
        transaction.rollback()
    return 1000 * spent / flushes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV", help="also time shared/stays.py as at REV")
    parser.add_argument("--flushes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--history", type=int, nargs="+", default=[4, 40, 200])
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="aduan-bench-stays-"))
    settings = Settings(
        data_dir=folder, secret_key=get_settings().secret_key, data_key=get_settings().data_key
    )
    upgrade(settings)
    engine = make_engine(settings)
    hooks: dict[str, Hook] = {"no hook": _no_hook, "this checkout": stays.after_flush}
    if args.against:
        hooks[args.against] = _hook_at(args.against)
    one_round(engine, hooks["this checkout"], 4, 2)  # the holiday tables and caches, once
    print("CPU ms per flush of a history row that ends a stay (median of rounds)")
    print(f"{'history rows':>12}  " + "  ".join(f"{name:>14}" for name in hooks))
    for history in args.history:
        spent: dict[str, list[float]] = {name: [] for name in hooks}
        for _ in range(args.rounds):  # interleaved, so a change in the machine's load hits every hook
            for name, hook in hooks.items():
                spent[name].append(one_round(engine, hook, history, args.flushes))
        print(f"{history:>12}  " + "  ".join(f"{statistics.median(v):>14.2f}" for v in spent.values()))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
