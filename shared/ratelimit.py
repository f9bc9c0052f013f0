"""Rate limits on guessing and flooding, with counters every API process shares.

Each limit is a fixed window of the `limits` library: it opens at its first count and closes after
its period (ADUAN_LIMIT_*). The counters live in Redis when Redis is the broker, and otherwise in
the database's `rate_counters` table (the embedded default on kombu's filesystem broker), so two
API processes, or two hosts, count together. A counter store that cannot be reached lets requests
through, with one log line when it goes and one when it is back: a complaint filed while Redis
restarts matters more than a guess counted.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

import limits
import limits.aio.storage
import limits.aio.strategies
import limits.storage
import limits.strategies
from fastapi import Request
from limits.errors import StorageError
from redis import Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as SyncRetry
from sqlalchemy import Connection, Engine, case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Delete, Select

from shared import when
from shared.api import ApiError
from shared.clock import now
from shared.db import async_engine, engine, make_async_engine, make_engine
from shared.models import RateCounter
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")

NAMESPACE = "aduan"
REDIS_PREFIX = "aduan-limits"
REDIS_TIMEOUT = 2.0  # seconds; a store that answers slower than this is as good as gone
# After a failure the store is left alone this long (requests pass): no connect attempt per request.
RETRY_STORE_AFTER = 1.0


class Rule(StrEnum):
    """What is counted, and by whom; each has its ADUAN_LIMIT_<RULE> setting."""

    LOOKUP_ADDRESS = "lookup_address"  # wrong tracking codes from one client address
    LOOKUP_TICKET = "lookup_ticket"  # wrong tracking codes for one ticket
    SIGN_IN_PAIR = "sign_in_pair"  # failed sign-ins of one username from one address
    SIGN_IN_USER = "sign_in_user"  # failed sign-ins of one username from addresses not known for it
    SIGN_IN_ADDRESS = "sign_in_address"  # failed sign-ins from one address, any username
    FILING_KIOSK = "filing_kiosk"  # complaints filed by one kiosk
    WEB_FORM_ADDRESS = "web_form_address"  # submissions of a public web form from one address


_MESSAGES = {
    Rule.LOOKUP_ADDRESS: "Terlalu banyak percobaan dengan nomor tiket atau kode pelacakan yang salah.",
    Rule.LOOKUP_TICKET: "Terlalu banyak percobaan dengan kode pelacakan yang salah untuk tiket ini.",
    Rule.SIGN_IN_PAIR: "Terlalu banyak percobaan masuk yang gagal.",
    Rule.SIGN_IN_USER: "Terlalu banyak percobaan masuk yang gagal untuk akun ini.",
    Rule.SIGN_IN_ADDRESS: "Terlalu banyak percobaan masuk yang gagal dari alamat ini.",
    Rule.FILING_KIOSK: "Kios ini mengirim terlalu banyak pengaduan dalam waktu singkat.",
    Rule.WEB_FORM_ADDRESS: "Terlalu banyak pengiriman formulir dari alamat ini.",
}
_SIGN_IN_RULES = (Rule.SIGN_IN_PAIR, Rule.SIGN_IN_USER, Rule.SIGN_IN_ADDRESS)

# An address an account signed in from is remembered this long (see sign_in_counts).
KNOWN_ADDRESS = limits.RateLimitItemPerDay(1, 90, namespace=NAMESPACE)
_KNOWN = "sign_in_known"


class RateLimited(ApiError):
    """Over a limit: 429 with Retry-After and an Indonesian message saying how long to wait."""

    def __init__(self, rule: Rule, retry_after: int) -> None:
        wait = when.duration(timedelta(minutes=math.ceil(retry_after / 60)))
        message = f"{_MESSAGES[rule]} Silakan coba lagi dalam {wait}."
        if rule in _SIGN_IN_RULES:
            message += " Bila mendesak, minta admin membuka kunci akun Anda."
        super().__init__(429, "rate_limited", message, headers={"Retry-After": str(retry_after)})
        self.rule = rule
        self.retry_after = retry_after


_PLAIN = re.compile(r"^[A-Za-z0-9.:-]{1,64}$")


def part(value: str) -> str:
    """A key part: short plain text as it is; anything else (long, odd characters) as a digest."""
    if _PLAIN.match(value):
        return value
    return "~" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class Count:
    """One limit and the attempts it counts: a client address, a ticket, a username, a kiosk."""

    rule: Rule
    parts: tuple[str, ...]

    @classmethod
    def of(cls, rule: Rule, *who: str | int) -> Count:
        return cls(rule, tuple(part(str(w)) for w in who))


def lookup_counts(address: str, ticket: str) -> tuple[Count, ...]:
    """What a wrong tracking code counts against."""
    return Count.of(Rule.LOOKUP_ADDRESS, address), Count.of(Rule.LOOKUP_TICKET, ticket)


def sign_in_counts(username: str, address: str, *, known: bool) -> tuple[Count, ...]:
    """What a failed sign-in counts against (at a `known` address, only the pair's own failures)."""
    # An attacker elsewhere, failing on the same username, cannot lock the officer out at a
    # computer the account signed in from before.
    pair = Count.of(Rule.SIGN_IN_PAIR, username, address)
    if known:
        return (pair,)
    return pair, Count.of(Rule.SIGN_IN_USER, username), Count.of(Rule.SIGN_IN_ADDRESS, address)


def item_of(settings: Settings, rule: Rule) -> limits.RateLimitItem | None:
    """The rule's limit as set (None: turned off)."""
    return _item(getattr(settings, f"limit_{rule.value}"))


@lru_cache(maxsize=64)
def _item(text: str) -> limits.RateLimitItem | None:
    if text.strip().lower() == "off":
        return None
    parsed = limits.parse(text)
    return type(parsed)(parsed.amount, parsed.multiples, namespace=NAMESPACE)


def _known_key(username: str, address: str) -> str:
    return KNOWN_ADDRESS.key_for(_KNOWN, part(username), part(address))


class _Health:
    """Logs once when the counter store stops answering and once when it is back."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.passed = 0  # requests let through, uncounted, while it was down

    def resting(self) -> bool:
        """True shortly after a failure: the call is skipped (and passes) without trying the store."""
        if self.down_since is not None and time.monotonic() < self.retry_at:
            self.passed += 1
            return True
        return False

    def failed(self, exc: Exception) -> None:
        self.retry_at = time.monotonic() + RETRY_STORE_AFTER
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning(
                "rate limits: counter store unreachable (%s: %s); requests pass uncounted until it is back",
                type(exc).__name__,
                exc,
            )
        self.passed += 1

    def ok(self) -> None:
        if self.down_since is not None:
            log.warning(
                "rate limits: counter store back after %.0f s; %d request(s) passed uncounted",
                time.monotonic() - self.down_since,
                self.passed,
            )
            self.down_since, self.passed = None, 0


_STORE_ERRORS = (RedisError, SQLAlchemyError, StorageError, OSError)


def _retry_after(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


class Limiter:
    """The limits for synchronous code (the staff API and console, the CLI)."""

    def __init__(self, settings: Settings, storage: limits.storage.Storage) -> None:
        self.settings = settings
        self.storage = storage
        self.window = limits.strategies.FixedWindowRateLimiter(storage)
        self.health = _Health()

    def _safely(self, fn: Callable[..., T], *args: Any) -> T | None:
        if self.health.resting():
            return None
        try:
            result = fn(*args)
        except _STORE_ERRORS as exc:
            self.health.failed(exc)
            return None
        self.health.ok()
        return result

    def check(self, *counts: Count) -> None:
        """Raise RateLimited when any of `counts` is used up; counts nothing."""
        for c in counts:
            item = item_of(self.settings, c.rule)
            if item is None or self._safely(self.window.test, item, c.rule, *c.parts) is not False:
                continue
            stats = self._safely(self.window.get_window_stats, item, c.rule, *c.parts)
            if stats is not None:
                raise RateLimited(c.rule, _retry_after(stats.reset_time))

    def count(self, *counts: Count) -> None:
        """Count one attempt against each of `counts`."""
        for c in counts:
            item = item_of(self.settings, c.rule)
            if item is not None:
                self._safely(self.window.hit, item, c.rule, *c.parts)

    def take(self, c: Count) -> None:
        """Count one attempt; raise RateLimited when that one is over the limit."""
        item = item_of(self.settings, c.rule)
        if item is None or self._safely(self.window.hit, item, c.rule, *c.parts) is not False:
            return
        stats = self._safely(self.window.get_window_stats, item, c.rule, *c.parts)
        raise RateLimited(c.rule, _retry_after(stats.reset_time) if stats else 60)

    def known(self, username: str, address: str) -> bool:
        """True when the account signed in from this address within the last 90 days."""
        return bool(self._safely(self.storage.get, _known_key(username, address)))

    def signed_in(self, username: str, address: str) -> None:
        """A sign-in succeeded: its pair's failures are forgotten and its address is known."""
        pair = Count.of(Rule.SIGN_IN_PAIR, username, address)
        item = item_of(self.settings, Rule.SIGN_IN_PAIR)
        if item is not None:
            self._safely(self.window.clear, item, pair.rule, *pair.parts)
        if not self.known(username, address):
            self._safely(self.storage.incr, _known_key(username, address), KNOWN_ADDRESS.get_expiry())

    def unlock(self, username: str) -> int:
        """Lift the sign-in lockouts of `username` (from every address); the counters cleared."""
        rules = (Rule.SIGN_IN_PAIR, Rule.SIGN_IN_USER)
        return sum(_clear_prefix(self.storage, f"{NAMESPACE}/{rule}/{part(username)}/") for rule in rules)

    def unlock_address(self, address: str) -> int:
        """Lift the per-address sign-in lockout of `address`."""
        return _clear_prefix(self.storage, f"{NAMESPACE}/{Rule.SIGN_IN_ADDRESS}/{part(address)}/")


class AsyncLimiter:
    """The limits for the intake API's event loop (same counters, same rules as Limiter)."""

    def __init__(self, settings: Settings, storage: limits.aio.storage.Storage) -> None:
        self.settings = settings
        self.window = limits.aio.strategies.FixedWindowRateLimiter(storage)
        self.health = _Health()

    async def _safely(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T | None:
        if self.health.resting():
            return None
        try:
            result = await fn(*args)
        except _STORE_ERRORS as exc:
            self.health.failed(exc)
            return None
        self.health.ok()
        return result

    async def check(self, *counts: Count) -> None:
        """Raise RateLimited when any of `counts` is used up; counts nothing."""
        for c in counts:
            item = item_of(self.settings, c.rule)
            if item is None or await self._safely(self.window.test, item, c.rule, *c.parts) is not False:
                continue
            stats = await self._safely(self.window.get_window_stats, item, c.rule, *c.parts)
            if stats is not None:
                raise RateLimited(c.rule, _retry_after(stats.reset_time))

    async def count(self, *counts: Count) -> None:
        """Count one attempt against each of `counts`."""
        for c in counts:
            item = item_of(self.settings, c.rule)
            if item is not None:
                await self._safely(self.window.hit, item, c.rule, *c.parts)

    async def take(self, c: Count) -> None:
        """Count one attempt; raise RateLimited when that one is over the limit."""
        item = item_of(self.settings, c.rule)
        if item is None or await self._safely(self.window.hit, item, c.rule, *c.parts) is not False:
            return
        stats = await self._safely(self.window.get_window_stats, item, c.rule, *c.parts)
        raise RateLimited(c.rule, _retry_after(stats.reset_time) if stats else 60)


# --- where the counters live ---------------------------------------------------------------------


def redis_url(settings: Settings) -> str | None:
    """The broker's URL when it is Redis (the counters go there), else None (the database)."""
    url = settings.resolved_broker_url()
    return url if url.split("://", 1)[0] in ("redis", "rediss") else None


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _incr(dialect: str, key: str, expiry: int, amount: int) -> Any:
    """One statement: add to the window's count, or open a new window when the old one has closed."""
    at = now()
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    closed = RateCounter.expires_at <= at
    statement = insert(RateCounter).values(key=key, count=amount, expires_at=at + timedelta(seconds=expiry))
    return statement.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={
            "count": case((closed, amount), else_=RateCounter.count + amount),
            "expires_at": case((closed, statement.excluded.expires_at), else_=RateCounter.expires_at),
        },
    ).returning(RateCounter.count)


def _get(key: str) -> Select[int]:
    return select(RateCounter.count).where(RateCounter.key == key, RateCounter.expires_at > now())


def _expiry(key: str) -> Select[datetime]:
    return select(RateCounter.expires_at).where(RateCounter.key == key, RateCounter.expires_at > now())


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _delete_prefix(prefix: str) -> Delete:
    return delete(RateCounter).where(RateCounter.key.like(_like(prefix), escape="\\"))


class SqlStorage(limits.storage.Storage):
    """The counters in the database (each call its own short transaction)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _run(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._run(lambda c: int(c.execute(_incr(c.dialect.name, key, expiry, amount)).scalar_one()))

    def get(self, key: str) -> int:
        return self._run(lambda c: int(c.execute(_get(key)).scalar() or 0))

    def get_expiry(self, key: str) -> float:
        found = self._run(lambda c: c.execute(_expiry(key)).scalar())
        return found.timestamp() if found else time.time()

    def check(self) -> bool:
        return self._run(lambda c: c.execute(select(1)).scalar() == 1)

    def reset(self) -> int | None:
        return self._run(lambda c: c.execute(delete(RateCounter)).rowcount)

    def clear(self, key: str) -> None:
        self._run(lambda c: c.execute(delete(RateCounter).where(RateCounter.key == key)))

    def clear_prefix(self, prefix: str) -> int:
        return self._run(lambda c: c.execute(_delete_prefix(prefix)).rowcount)


class AsyncSqlStorage(limits.aio.storage.Storage):
    """The counters in the database, from the intake API's event loop."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def _scalar(self, make: Callable[[AsyncConnection], Any]) -> Any:
        async with self.engine.begin() as conn:
            return (await conn.execute(make(conn))).scalar()

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(await self._scalar(lambda c: _incr(c.dialect.name, key, expiry, amount)))

    async def get(self, key: str) -> int:
        return int(await self._scalar(lambda _c: _get(key)) or 0)

    async def get_expiry(self, key: str) -> float:
        found = await self._scalar(lambda _c: _expiry(key))
        return found.timestamp() if isinstance(found, datetime) else time.time()

    async def check(self) -> bool:
        return bool(await self._scalar(lambda _c: select(1)) == 1)

    async def reset(self) -> int | None:
        async with self.engine.begin() as conn:
            return (await conn.execute(delete(RateCounter))).rowcount

    async def clear(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(RateCounter).where(RateCounter.key == key))


def _clear_prefix(storage: limits.storage.Storage, prefix: str) -> int:
    """Delete every counter whose key starts with `prefix` (a username's, an address's)."""
    if isinstance(storage, SqlStorage):
        return storage.clear_prefix(prefix)
    assert isinstance(storage, limits.storage.RedisStorage)  # noqa: S101 - the two stores made here
    client: Redis = storage.storage
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}:{prefix}*", count=500))
    return int(client.delete(*keys)) if keys else 0


def prune(session: Session, *, at: datetime) -> int:
    """Delete the database's counters whose window has closed (the sweeper calls this)."""
    result = session.execute(delete(RateCounter).where(RateCounter.expires_at <= at))
    return int(getattr(result, "rowcount", 0) or 0)


def redis_storage(url: str) -> limits.storage.RedisStorage:
    """Counters in Redis, for synchronous code; a call fails at once when Redis is gone."""
    return limits.storage.RedisStorage(
        url,
        key_prefix=REDIS_PREFIX,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        # redis-py retries for seconds by default (limits types its options too narrowly for this)
        retry=SyncRetry(NoBackoff(), 0),  # type: ignore[arg-type]
    )


def async_redis_storage(url: str) -> limits.aio.storage.RedisStorage:
    """Counters in Redis, for the event loop; a call fails at once when Redis is gone."""
    return limits.aio.storage.RedisStorage(
        f"async+{url}",
        implementation="redispy",
        key_prefix=REDIS_PREFIX,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        retry=AsyncRetry(NoBackoff(), 0),  # type: ignore[arg-type]
    )


@lru_cache
def limiter() -> Limiter:
    """The process-wide limiter for synchronous code."""
    settings = get_settings()
    url = redis_url(settings)
    if url:
        return Limiter(settings, redis_storage(url))
    # On SQLite the counters have an engine of their own: one statement each, reads without a lock.
    return Limiter(
        settings, SqlStorage(make_engine(settings, single_statements=True) if settings.embedded else engine())
    )


@lru_cache
def async_limiter() -> AsyncLimiter:
    """The process-wide limiter for the intake API's event loop."""
    settings = get_settings()
    url = redis_url(settings)
    if url:
        return AsyncLimiter(settings, async_redis_storage(url))
    sql = make_async_engine(settings, single_statements=True) if settings.embedded else async_engine()
    return AsyncLimiter(settings, AsyncSqlStorage(sql))


def client_address(request: Request) -> str:
    """The client's address as the API saw it (behind a trusted proxy: X-Forwarded-For's)."""
    return request.client.host if request.client else "unknown"
