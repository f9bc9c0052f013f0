"""Rate limits on the database's counters (the embedded default's store), sync and async."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from shared.clock import now, set_clock
from shared.db import make_async_engine, make_engine
from shared.models import RateCounter
from shared.ratelimit import (
    AsyncLimiter,
    AsyncSqlStorage,
    Count,
    Limiter,
    RateLimited,
    Rule,
    SqlStorage,
    async_redis_storage,
    lookup_counts,
    part,
    prune,
    redis_storage,
    sign_in_counts,
)
from shared.settings import ConfigError, Settings, get_settings, load_settings
from tests.integration.stack import REDIS_DB_SHIFT, REDIS_URL
from tests.support.gateway_server import closed_port

SMALL = {
    "limit_lookup_address": "5/minute",
    "limit_lookup_ticket": "3/minute",
    "limit_sign_in_pair": "2/minute",
    "limit_sign_in_user": "4/minute",
    "limit_sign_in_address": "6/minute",
    "limit_filing_kiosk": "2/hour",
    "limit_web_form_address": "off",
}


def small_settings() -> Settings:
    return get_settings().model_copy(update=SMALL)


@pytest.fixture
def limiter(engine: Engine) -> Iterator[Limiter]:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rate_counters"))
    yield Limiter(small_settings(), SqlStorage(engine))
    set_clock(None)


def test_a_wrong_code_past_the_limit_is_refused_until_the_window_closes(limiter: Limiter) -> None:
    counts = lookup_counts("10.0.0.1", "ADU-2026-000001")
    for _ in range(3):  # the ticket's limit: 3 wrong codes a minute
        limiter.check(*counts)
        limiter.count(*counts)
    with pytest.raises(RateLimited) as refused:
        limiter.check(*counts)
    assert refused.value.status == 429
    assert refused.value.code == "rate_limited"
    assert refused.value.rule == Rule.LOOKUP_TICKET
    assert 1 <= int((refused.value.headers or {})["Retry-After"]) <= 60
    assert "coba lagi dalam 1 menit" in refused.value.message
    # Another ticket from the same address is still open (the address allows 5).
    limiter.check(*lookup_counts("10.0.0.1", "ADU-2026-000002"))
    start = now()
    set_clock(lambda: start + timedelta(seconds=61))
    limiter.check(*counts)  # the window closed


def test_the_address_limit_counts_across_tickets(limiter: Limiter) -> None:
    for n in range(5):
        limiter.count(*lookup_counts("10.0.0.2", f"ADU-2026-00010{n}"))
    with pytest.raises(RateLimited) as refused:
        limiter.check(*lookup_counts("10.0.0.2", "ADU-2026-000200"))
    assert refused.value.rule == Rule.LOOKUP_ADDRESS
    limiter.check(*lookup_counts("10.0.0.3", "ADU-2026-000200"))


def test_filing_takes_one_each_and_refuses_past_the_limit(limiter: Limiter) -> None:
    kiosk = Count.of(Rule.FILING_KIOSK, 7)
    limiter.take(kiosk)
    limiter.take(kiosk)
    with pytest.raises(RateLimited) as refused:
        limiter.take(kiosk)
    assert "Kios ini" in refused.value.message
    assert 3500 < refused.value.retry_after <= 3600


def test_a_limit_set_off_counts_nothing(limiter: Limiter) -> None:
    form = Count.of(Rule.WEB_FORM_ADDRESS, "10.0.0.4")
    for _ in range(50):
        limiter.take(form)


def test_sign_in_lockout_is_lifted_by_unlock(limiter: Limiter) -> None:
    counts = sign_in_counts("fo", "10.0.0.5", known=limiter.known("fo", "10.0.0.5"))
    assert len(counts) == 3
    limiter.count(*counts)
    limiter.count(*counts)
    with pytest.raises(RateLimited) as refused:
        limiter.check(*counts)
    assert refused.value.rule == Rule.SIGN_IN_PAIR
    assert "minta admin membuka kunci" in refused.value.message
    assert limiter.unlock("fo") == 2  # the pair's and the username's counters
    limiter.check(*counts)


def test_an_attacker_elsewhere_cannot_lock_an_officer_out_of_a_known_address(limiter: Limiter) -> None:
    limiter.signed_in("hi", "10.0.0.6")  # the officer's own computer
    for n in range(4):  # failures on "hi" from four other addresses use up the username's limit
        limiter.count(*sign_in_counts("hi", f"10.9.0.{n}", known=limiter.known("hi", f"10.9.0.{n}")))
    with pytest.raises(RateLimited) as refused:
        limiter.check(*sign_in_counts("hi", "10.9.0.9", known=False))
    assert refused.value.rule == Rule.SIGN_IN_USER
    assert limiter.known("hi", "10.0.0.6")
    limiter.check(*sign_in_counts("hi", "10.0.0.6", known=True))


def test_a_good_sign_in_forgets_the_pairs_failures(limiter: Limiter) -> None:
    counts = sign_in_counts("kadis", "10.0.0.7", known=False)
    limiter.count(*counts)
    limiter.signed_in("kadis", "10.0.0.7")
    limiter.count(*sign_in_counts("kadis", "10.0.0.7", known=True))
    limiter.check(*sign_in_counts("kadis", "10.0.0.7", known=True))  # one failure since, of two


def test_odd_or_long_key_parts_become_digests() -> None:
    assert part("10.0.0.1") == "10.0.0.1"
    assert part("ADU-2026-000001") == "ADU-2026-000001"
    odd = part("a_b%*?/\x00" + "x" * 500)
    assert odd.startswith("~") and len(odd) == 33


def test_unlock_matches_its_own_username_only(limiter: Limiter) -> None:
    for name in ("fo", "fo2", "f_"):
        limiter.count(*sign_in_counts(name, "10.0.0.8", known=False))
    assert limiter.unlock("f_") == 2
    limiter.count(*sign_in_counts("fo", "10.0.0.8", known=False))  # the second of two: kept
    with pytest.raises(RateLimited):
        limiter.check(*sign_in_counts("fo", "10.0.0.8", known=False))


def test_closed_windows_are_pruned(limiter: Limiter, engine: Engine) -> None:
    limiter.count(*lookup_counts("10.0.0.9", "ADU-2026-000300"))
    with Session(engine) as session, session.begin():
        assert prune(session, at=now()) == 0
        assert prune(session, at=now() + timedelta(minutes=2)) == 2


def test_the_async_store_shares_the_counters(engine: Engine, limiter: Limiter) -> None:
    database = engine.url.database
    assert database is not None
    settings = small_settings().model_copy(update={"data_dir": Path(database).parent})
    counts = lookup_counts("10.0.1.1", "ADU-2026-000400")
    limiter.count(*counts)
    limiter.count(*counts)

    async def run() -> int:
        aengine = make_async_engine(settings)
        try:
            alimiter = AsyncLimiter(settings, AsyncSqlStorage(aengine))
            await alimiter.check(*counts)
            await alimiter.count(*counts)
            with pytest.raises(RateLimited):
                await alimiter.check(*counts)
            kiosk = Count.of(Rule.FILING_KIOSK, 8)
            await alimiter.take(kiosk)
            await alimiter.take(kiosk)
            with pytest.raises(RateLimited):
                await alimiter.take(kiosk)
            return 0
        finally:
            await aengine.dispose()

    assert asyncio.run(run()) == 0
    with engine.connect() as conn:
        keys = conn.scalars(select(RateCounter.key)).all()
    assert any(k.startswith("aduan/lookup_ticket/ADU-2026-000400/") for k in keys)


def test_an_unreachable_store_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import create_engine

    gone = create_engine("sqlite:////nonexistent-folder/aduan.db")
    limiter = Limiter(small_settings(), SqlStorage(gone))
    counts = lookup_counts("10.0.2.1", "ADU-2026-000500")
    for _ in range(10):
        limiter.count(*counts)
        limiter.check(*counts)
    down = [r.message for r in caplog.records if "counter store unreachable" in r.message]
    assert len(down) == 1, down


@pytest.mark.parametrize("value", ["ten per minute", "0/hour", "5/fortnight"])
def test_a_limit_setting_that_does_not_read_stops_start_up(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADUAN_LIMIT_LOOKUP_TICKET", value)
    with pytest.raises(ConfigError, match="ADUAN_LIMIT_LOOKUP_TICKET"):
        load_settings()


def test_the_defaults_let_a_kiosk_file_every_30_seconds_all_day() -> None:
    import limits

    filing = limits.parse(Settings().limit_filing_kiosk)
    assert filing.amount / filing.get_expiry() >= 1 / 30


__all__ = ["closed_port"]  # a fixture


async def _close(storage: AsyncRedisStorage) -> None:
    assert isinstance(storage.bridge, RedispyBridge)
    await storage.bridge.storage.aclose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis db index of this machine's test Redis, emptied before and after."""
    url = f"{REDIS_URL}/{(14 + REDIS_DB_SHIFT) % 16}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def test_on_redis_the_sync_and_async_limiters_share_the_counters(redis_url: str) -> None:
    sync = Limiter(small_settings(), redis_storage(redis_url))
    counts = lookup_counts("10.0.3.1", "ADU-2026-000600")
    sync.count(*counts)
    sync.count(*counts)

    async def run() -> None:
        storage = async_redis_storage(redis_url)
        alimiter = AsyncLimiter(small_settings(), storage)
        await alimiter.count(*counts)  # the ticket's third wrong code
        with pytest.raises(RateLimited) as refused:
            await alimiter.check(*counts)
        assert 50 < refused.value.retry_after <= 60
        await _close(storage)  # the loop ends here; a process keeps its client

    asyncio.run(run())
    with pytest.raises(RateLimited):
        sync.check(*counts)
    assert redis.Redis.from_url(redis_url).keys("aduan-limits:aduan/lookup_ticket/ADU-2026-000600/*")
    # Unlock on Redis: a username's counters, found by their prefix.
    sync.count(*sign_in_counts("fo", "10.0.3.2", known=False))
    sync.count(*sign_in_counts("fo2", "10.0.3.2", known=False))
    assert sync.unlock("fo") == 2
    assert sync.unlock("fo") == 0


def test_a_redis_that_is_gone_fails_fast_and_lets_requests_through(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{closed_port}/0"
    sync = Limiter(small_settings(), redis_storage(url))
    counts = lookup_counts("10.0.3.3", "ADU-2026-000700")
    started = time.monotonic()
    for _ in range(20):
        sync.check(*counts)
        sync.count(*counts)
        sync.take(Count.of(Rule.FILING_KIOSK, 9))

    async def run() -> None:
        storage = async_redis_storage(url)
        alimiter = AsyncLimiter(small_settings(), storage)
        for _ in range(20):
            await alimiter.check(*counts)
            await alimiter.take(Count.of(Rule.FILING_KIOSK, 9))
        await _close(storage)

    asyncio.run(run())
    assert time.monotonic() - started < 2  # no retries with backoff per call
    down = [r.message for r in caplog.records if "counter store unreachable" in r.message]
    assert len(down) == 2, down  # one per limiter (process), not one per request


def test_on_sqlite_a_check_reads_without_waiting_for_a_writer(engine: Engine, limiter: Limiter) -> None:
    database = engine.url.database
    assert database is not None
    settings = small_settings().model_copy(update={"data_dir": Path(database).parent})
    counters = make_engine(settings, single_statements=True)
    own = Limiter(small_settings(), SqlStorage(counters))
    counts = lookup_counts("10.0.4.1", "ADU-2026-000800")
    for _ in range(3):
        own.count(*counts)
    with engine.connect() as writer:
        writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the database's write lock, held
        started = time.monotonic()
        with pytest.raises(RateLimited):
            own.check(*counts)
        assert time.monotonic() - started < 1  # not the 30 s busy timeout
        assert own.health.down_since is None
        writer.rollback()
    counters.dispose()
