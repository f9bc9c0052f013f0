"""Test-wide set-up: every test process gets its own data folder so nothing touches ./var."""

from __future__ import annotations

import os
import tempfile

# Before any project import reads settings: unit tests run on an embedded instance in a temp folder.
os.environ.setdefault("ADUAN_DATA_DIR", tempfile.mkdtemp(prefix="aduan-test-"))
for _name in ("ADUAN_DATABASE_URL", "ADUAN_BROKER_URL"):
    os.environ.pop(_name, None)
