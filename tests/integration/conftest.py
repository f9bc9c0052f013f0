"""Integration fixtures: one running instance per backend, shared by the tests of a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.integration.stack import Stack, embedded_stack, postgres_stack, running
from tests.support.browser import chromium

BACKENDS = ["postgres", "embedded"]


def _make(
    kind: str,
    tmp: pytest.TempPathFactory,
    redis_db: int,
    extra: dict[str, str] | None = None,
    *,
    migrated: bool = True,
) -> Stack:
    folder = tmp.mktemp(f"stack-{kind}")
    if kind == "postgres":
        return postgres_stack(folder, redis_db, extra, migrated=migrated)
    return embedded_stack(folder, extra, migrated=migrated)


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A provisioned instance (kiosk, one account per role) on each backend, started on an empty
    database (the other stacks start from a copy migrated to head: tests/integration/stack.py)."""
    with running(_make(request.param, tmp_path_factory, redis_db=11, migrated=False)) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: its tests open their own contexts."""
    with chromium() as b:
        yield b
