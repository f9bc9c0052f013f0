"""Engines and units of work for the synchronous (workers, staff API, CLI) and async (intake) sides."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from shared.settings import Settings, get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle this long is pinged (SELECT 1) before it is handed out, and
# replaced if the server dropped it (a restart, an idle timeout); one back in use sooner, as every
# connection is under load, is not: a ping on every checkout was one more round trip per request.
PING_IDLE_AFTER = 5.0  # seconds
RECYCLE_AFTER = 1800  # seconds: no connection lives longer (both engines)

P = ParamSpec("P")
T = TypeVar("T")


def _sqlite_tuning(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver so that SQLAlchemy's "begin" event can issue BEGIN IMMEDIATE:
    # a writer takes the lock up front instead of failing to upgrade a read lock later.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _install_sqlite_hooks(engine: Engine, *, single_statements: bool = False) -> None:
    event.listen(engine, "connect", _sqlite_tuning)
    if not single_statements:
        event.listen(engine, "begin", _sqlite_begin)


def make_engine(settings: Settings, *, single_statements: bool = False) -> Engine:
    """A synchronous engine for the configured database.

    `single_statements` (SQLite): no BEGIN, each statement is its own transaction, so a read takes
    no write lock; for work that is one statement at a time (the rate-limit counters).
    """
    url = settings.sync_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_hooks(engine, single_statements=single_statements)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=RECYCLE_AFTER,
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection at checkout only when it sat in the pool past PING_IDLE_AFTER.

    A dead one found so is replaced before the request sees it. One that dies within the interval
    fails the statement that finds it; SQLAlchemy then invalidates the pool's older connections,
    so one request fails, not every one (as on the intake's async engine, which never pings).
    """
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_IDLE_AFTER:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # the pool drops it and checks out another (a fresh connection, if need be)
            raise DisconnectionError("the pooled connection did not answer a ping") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checkout)


def make_async_engine(settings: Settings, *, single_statements: bool = False) -> AsyncEngine:
    """An asyncio engine for the configured database (`single_statements`: as make_engine's)."""
    url = settings.async_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # ONE connection per process: every transaction begins IMMEDIATE (a writer), and SQLite has
        # one writer at a time. Requests queue for the connection in order, woken the moment it is
        # free, instead of each waiting on SQLite's lock in its busy handler, which polls with
        # growing sleeps (up to 100 ms) and let a burst's unlucky filings wait seconds (p99 1.3 s).
        engine = create_async_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
        _install_sqlite_hooks(engine.sync_engine, single_statements=single_statements)
        return engine
    # No pre-ping on the hot intake path (it costs a round trip per request); connections are
    # recycled instead, and a dead one fails one request rather than every request.
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=RECYCLE_AFTER,
    )


@lru_cache
def engine() -> Engine:
    """The process-wide synchronous engine."""
    return make_engine(get_settings())


@lru_cache
def session_factory() -> sessionmaker[Session]:
    from shared.outbox import install_session_hooks

    install_session_hooks()
    return sessionmaker(engine(), expire_on_commit=False)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction: commits once at the end, rolls back on any error."""
    with session_factory()() as session, session.begin():
        yield session


# How long a thread waiting for the GIL lets the running one go on (Python's default: 5 ms). The
# SQLite driver gives the GIL up around every statement; a thread holding SQLite's write lock then
# waited up to a whole interval behind the event loop (or the worker's other thread) per statement,
# and every writer of every process waited behind it: a filing held the lock 24-33 ms on average
# with the default, 14-16 ms with 0.5 ms (a loaded 2-core machine, writer thread, c=16).
GIL_SWITCH_INTERVAL = 0.0005


def hand_gil_over_quickly() -> None:
    """For a process with a thread that writes to SQLite beside others: see GIL_SWITCH_INTERVAL."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


@lru_cache
def _writer_thread() -> ThreadPoolExecutor:
    hand_gil_over_quickly()
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")


def _unit(work: Callable[[Session], T]) -> T:
    with unit_of_work() as session:
        return work(session)


async def in_writer_thread(
    work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """SQLite: `work(session, ...)` as one unit of work on this process's writer thread.

    Through aiosqlite each statement is several round trips between the event loop and the
    driver's thread (about 0.6 ms of CPU per statement on a loaded 2-core machine, 30 round trips
    per filing: most of the intake's CPU). Here the whole transaction is one round trip, its
    statements run back to back on a synchronous connection, and the process's writers queue in
    order for the one thread instead of waiting on SQLite's lock in its busy handler.
    """

    def call(session: Session) -> T:
        return work(session, *args, **kwargs)

    return await asyncio.get_running_loop().run_in_executor(_writer_thread(), _unit, call)


@lru_cache
def async_engine() -> AsyncEngine:
    return make_async_engine(get_settings())


@lru_cache
def async_session_factory() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(async_engine(), expire_on_commit=False)


@asynccontextmanager
async def lazy_session() -> AsyncIterator[AsyncSession]:
    """A session for a hot path that mostly finds what it reads in caches (the intake's filing):
    closed, its connection back to the pool, only when it began a transaction. An unused session
    holds nothing, and closing one costs about as much CPU as building the filing's statement."""
    session = async_session_factory()()
    try:
        yield session
    finally:
        if session.in_transaction():
            await session.close()


@asynccontextmanager
async def async_unit_of_work() -> AsyncIterator[AsyncSession]:
    """One async transaction: commits once at the end, rolls back on any error."""
    async with async_session_factory()() as session, session.begin():
        yield session
