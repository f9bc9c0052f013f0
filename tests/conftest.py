"""Test-wide set-up: every test process gets its own data folder so nothing touches ./var."""

from __future__ import annotations

import os
import tempfile

import pytest

# Before any project import reads settings: unit tests run on an embedded instance in a temp folder.
os.environ.setdefault("ADUAN_DATA_DIR", tempfile.mkdtemp(prefix="aduan-test-"))
for _name in ("ADUAN_DATABASE_URL", "ADUAN_BROKER_URL"):
    os.environ.pop(_name, None)

# The Redis db indexes (0-15) hold two pytest-xdist workers apart and no more (tests/integration/stack.py).
MAX_WORKERS = 2


def pytest_configure(config: pytest.Config) -> None:
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > MAX_WORKERS:
        raise pytest.UsageError(f"-n {workers}: the suite runs on {MAX_WORKERS} workers at most")
