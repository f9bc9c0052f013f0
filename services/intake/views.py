"""Intake API routes: kiosks post complaints, citizens track them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service
from services.intake.schemas import Category, ComplaintCreated, ComplaintIn, TrackView
from shared import outbox
from shared.api import ApiError
from shared.clock import now
from shared.db import async_session_factory

router = APIRouter(prefix="/api/v1")


async def get_session() -> AsyncIterator[AsyncSession]:
    async with async_session_factory()() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def current_kiosk(session: SessionDep, x_kiosk_key: Annotated[str | None, Header()] = None) -> int:
    if not x_kiosk_key:
        raise ApiError(401, "kiosk_key_missing", "Header X-Kiosk-Key wajib diisi.")
    kiosk_id = await service.kiosk_for_key(session, x_kiosk_key)
    if session.in_transaction():
        await session.rollback()  # end the read; the use case opens its own transaction
    if kiosk_id is None:
        raise ApiError(401, "kiosk_key_invalid", "Kunci kios tidak dikenal atau tidak aktif.")
    return kiosk_id


@router.post("/complaints", status_code=201, response_model=ComplaintCreated)
async def file_complaint(
    body: ComplaintIn,
    session: SessionDep,
    kiosk_id: Annotated[int, Depends(current_kiosk)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """File a complaint; with an Idempotency-Key a retried POST returns the first response."""
    key = (idempotency_key, service.body_hash(body)) if idempotency_key else None
    if key is not None:
        first = await service.replay(session, kiosk_id=kiosk_id, key=key[0], digest=key[1])
        await session.rollback()
        if first is not None:
            return JSONResponse(status_code=201, content=first)
    try:
        async with session.begin():
            filed = await service.file_complaint(session, body, kiosk_id=kiosk_id, idempotency=key, now=now())
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
        return JSONResponse(status_code=201, content=first)
    if filed.messages:
        outbox.publish(filed.messages)
    return JSONResponse(status_code=201, content=filed.response)


@router.get("/track/{ticket}", response_model=TrackView)
async def track(
    ticket: str, session: SessionDep, code: Annotated[str, Query(max_length=32)] = ""
) -> TrackView:
    """The citizen's view; an unknown ticket and a wrong code give the same 404."""
    view = await service.track(session, ticket, code)
    if view is None:
        raise ApiError(404, "not_found", "Nomor tiket atau kode pelacakan tidak cocok.")
    return view


@router.get("/categories", response_model=list[Category])
async def categories(session: SessionDep) -> list[Category]:
    return await service.active_categories(session)
