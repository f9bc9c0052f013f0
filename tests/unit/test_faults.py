"""The crash tests' faults are a test-only hook: loaded into a child process by PYTHONPATH, never shipped."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support import faults

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("shared", "services", "launcher")


def test_no_shipped_module_knows_of_the_faults() -> None:
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            assert not re.search(r"ADUAN_FAULT|\bfault_", path.read_text()), path


def _wrapped(env: dict[str, str], module: str, name: str) -> bool:
    probe = f"import {module} as m; print(hasattr(m.{name}, '__wrapped__'))"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip() == "True"


def test_the_hook_patches_only_the_faults_asked_for(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin:/bin", "ADUAN_DATA_DIR": str(tmp_path)}
    assert _wrapped({**base, **faults.env(sweep_pause=1)}, "shared.sla", "fire_due")
    assert not _wrapped({**base, **faults.env(sweep_pause=1)}, "services.routing.tasks", "arrive")
    assert _wrapped({**base, **faults.env(handoff_pause=1)}, "services.routing.tasks", "arrive")
    assert not _wrapped(base, "shared.sla", "fire_due")
