"""The baseline of bench/intake.py: the least a complaint POST can do on this stack.

It validates the same body (`ComplaintIn`, so validation costs the same) and does ONE INSERT of
the row into a one-table schema with the SQLAlchemy async ORM over asyncpg, with the pool Aduan
uses. Whatever Aduan costs above this is its own work (kiosk check, ticket number, encryption,
history and outbox rows, publishing to the broker).

Served by bench/intake.py as:
    uvicorn baseline_app:create_app --factory --app-dir bench --workers N
configured by BENCH_BASELINE_DATABASE_URL, BENCH_BASELINE_POOL_SIZE, BENCH_BASELINE_MAX_OVERFLOW.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Boolean, DateTime, String, Text, create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.intake.schemas import ComplaintIn


class Base(DeclarativeBase):
    pass


class BaselineComplaint(Base):
    """The complaint's own fields, as wide as the body (Aduan's row adds its workflow columns)."""

    __tablename__ = "baseline_complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    complainant_name: Mapped[str] = mapped_column(String(200))
    nik: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(20))
    waiting_on_site: Mapped[bool] = mapped_column(Boolean)
    preferred_reply: Mapped[str] = mapped_column(String(20))
    confidential: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_schema(database_url: str) -> None:
    """Create the one table (run once before the workers start, so they do not race on DDL)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()


def create_app() -> FastAPI:
    url = os.environ["BENCH_BASELINE_DATABASE_URL"]
    # Same engine options as shared.db.make_async_engine (no pre-ping, connections recycled), so the
    # pool behaves the same and neither side pays a round trip the other does not.
    engine = create_async_engine(
        url.replace("postgresql://", "postgresql+asyncpg://", 1),
        pool_size=int(os.environ.get("BENCH_BASELINE_POOL_SIZE", "10")),
        max_overflow=int(os.environ.get("BENCH_BASELINE_MAX_OVERFLOW", "10")),
        pool_recycle=1800,
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="baseline", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/complaints", status_code=201)
    async def file_complaint(body: ComplaintIn) -> dict[str, int]:
        who = body.complainant
        row = BaselineComplaint(
            complainant_name=who.name,
            nik=who.nik,
            phone=who.phone,
            email=who.email,
            address=who.address,
            subject=body.subject,
            description=body.description,
            category_code=body.category,
            channel=body.channel.value,
            waiting_on_site=body.waiting_on_site,
            preferred_reply=body.preferred_reply.value,
            confidential=body.confidential,
            received_at=datetime.now(UTC),
        )
        async with sessions() as session, session.begin():
            session.add(row)
        return {"id": row.id}

    return app
