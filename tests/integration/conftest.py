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


def _session_stack(kind: str, tmp: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(_make(kind, tmp, redis_db=11, migrated=False), by_cli=True) as s:
        yield s


@pytest.fixture(scope="session")
def postgres_session_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _session_stack("postgres", tmp_path_factory)


@pytest.fixture(scope="session")
def embedded_session_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _session_stack("embedded", tmp_path_factory)


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request: pytest.FixtureRequest) -> Stack:
    """A provisioned instance (kiosk, one account per role) on each backend, started on an empty
    database (the other stacks start from a copy migrated to head: tests/integration/stack.py) and
    its kiosk and first account added through the CLI.

    Each backend's instance starts once per test process and runs to its end: under pytest-xdist a
    worker runs its modules one after another, each on both backends, and a session fixture
    parametrised directly would stop one instance and start the other at every switch."""
    found: Stack = request.getfixturevalue(f"{request.param}_session_stack")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: its tests open their own contexts."""
    with chromium() as b:
        yield b
