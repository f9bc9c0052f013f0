"""Intake orchestration shared by the JSON API and the kiosk page: file a complaint exactly once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service
from services.intake.schemas import ComplaintIn
from shared import outbox
from shared.api import ApiError
from shared.clock import now
from shared.db import in_writer_thread
from shared.filing import Filed, body_hash
from shared.ratelimit import Count, Rule, async_limiter


async def file_once(
    session: AsyncSession, body: ComplaintIn, *, kiosk_id: int, idempotency_key: str | None
) -> dict[str, Any]:
    """File `body` for the kiosk (one transaction); with a key, a retry gets the first response."""
    key = (idempotency_key, body_hash(body)) if idempotency_key else None
    on_sqlite = not service.files_in_one_statement(session)
    if key is not None:
        first = await _replay(session, kiosk_id=kiosk_id, key=key, on_sqlite=on_sqlite)
        if first is not None:
            return first
    await async_limiter().take(Count.of(Rule.FILING_KIOSK, kiosk_id))  # a retry above is not counted
    filed: Filed | None
    try:
        if on_sqlite:
            # The whole transaction in one hop to the writer thread (see shared.db.in_writer_thread).
            filed = await in_writer_thread(
                service.file_row_by_row, body, kiosk_id=kiosk_id, idempotency=key, now=now()
            )
        else:
            # The statement commits on its own; the session only reads what is not cached yet.
            try:
                filed = await service.file_complaint(
                    session, body, kiosk_id=kiosk_id, idempotency=key, now=now()
                )
            finally:
                if session.in_transaction():
                    await session.rollback()
    except IntegrityError:
        if key is None:
            raise
        filed = None  # a concurrent retry with the same key committed first
    if filed is None:
        assert key is not None  # noqa: S101 - only a used Idempotency-Key stops a filing
        first = await _replay(session, kiosk_id=kiosk_id, key=key, on_sqlite=on_sqlite)
        if first is None:
            raise ApiError(409, "conflict", "Pengaduan dengan Idempotency-Key ini sedang diproses.")
        return first
    if filed.messages:  # SQLite: published after commit, with the concurrent filings' (off the event loop)
        await outbox.together.publish(filed.messages)
    return filed.response


async def _replay(
    session: AsyncSession, *, kiosk_id: int, key: tuple[str, str], on_sqlite: bool
) -> dict[str, Any] | None:
    """`service.replay` in a read of its own, ended before the filing's transaction begins."""
    if on_sqlite:
        return await in_writer_thread(service.replay, kiosk_id=kiosk_id, key=key[0], digest=key[1])
    try:
        return await session.run_sync(service.replay, kiosk_id=kiosk_id, key=key[0], digest=key[1])
    finally:
        await session.rollback()
