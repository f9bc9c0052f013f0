"""Notify channel tests: real SMTP and HTTP servers (tests/support), settings built per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.settings import Settings, get_settings
from tests.support.gateway_server import blackholed_port, closed_port, gateway_server
from tests.support.smtp_server import smtp_server, smtp_tls_server, smtps_server
from tests.unit.conftest import engine, session

__all__ = [
    "blackholed_port",
    "closed_port",
    "engine",
    "gateway_server",
    "make_settings",
    "session",
    "smtp_server",
    "smtp_tls_server",
    "smtps_server",
]


@pytest.fixture
def make_settings(tmp_path: Path) -> Any:
    """Settings with the given fields (`gateways` may be a dict), on a temp data folder."""

    def make(**fields: Any) -> Settings:
        if isinstance(fields.get("gateways"), dict):
            fields["gateways"] = json.dumps(fields["gateways"])
        base = get_settings()
        return Settings(data_dir=tmp_path, secret_key=base.secret_key, data_key=base.data_key, **fields)

    return make
