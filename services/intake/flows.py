"""Intake orchestration shared by the JSON API and the kiosk page: file a complaint exactly once."""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service
from services.intake.schemas import ComplaintIn
from shared import outbox
from shared.api import ApiError
from shared.clock import now
from shared.filing import body_hash
from shared.ratelimit import Count, Rule, async_limiter


async def file_once(
    session: AsyncSession, body: ComplaintIn, *, kiosk_id: int, idempotency_key: str | None
) -> dict[str, Any]:
    """File `body` for the kiosk (one transaction); with a key, a retry gets the first response."""
    key = (idempotency_key, body_hash(body)) if idempotency_key else None
    if key is not None:
        first = await service.replay(session, kiosk_id=kiosk_id, key=key[0], digest=key[1])
        await session.rollback()
        if first is not None:
            return first
    await async_limiter().take(Count.of(Rule.FILING_KIOSK, kiosk_id))  # a retry above is not counted
    try:
        if service.files_in_one_statement(session):
            # The statement commits on its own; the session only reads what is not cached yet.
            try:
                filed = await service.file_complaint(
                    session, body, kiosk_id=kiosk_id, idempotency=key, now=now()
                )
            finally:
                if session.in_transaction():
                    await session.rollback()
        else:
            async with session.begin():
                filed = await service.file_complaint(
                    session, body, kiosk_id=kiosk_id, idempotency=key, now=now()
                )
    except IntegrityError:
        if key is None:
            raise
        filed = None  # a concurrent retry with the same key committed first
    if filed is None:
        assert key is not None  # noqa: S101 - only a used Idempotency-Key stops a filing
        first = await service.replay(session, kiosk_id=kiosk_id, key=key[0], digest=key[1])
        await session.rollback()
        if first is None:
            raise ApiError(409, "conflict", "Pengaduan dengan Idempotency-Key ini sedang diproses.")
        return first
    if filed.messages:  # SQLite: published after commit; the broker call blocks, so off the event loop
        await run_in_threadpool(outbox.publish, filed.messages)
    return filed.response
