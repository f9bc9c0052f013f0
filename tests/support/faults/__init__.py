"""Test-only fault injection for processes the tests start (see sitecustomize.py here)."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def env(**faults: float) -> dict[str, str]:
    """Environment that loads the faults into a child process: `env(handoff_pause=2.5)`."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **{f"ADUAN_FAULT_{k.upper()}": str(v) for k, v in faults.items()}}
