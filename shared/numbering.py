"""Yearly numbers (tickets, disposition agenda numbers): gap-free per transaction, never duplicated."""

from __future__ import annotations

from sqlalchemy import Engine, Insert, Table, bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared.models import Base, Counter


def insert_ignoring_conflicts(dialect: str, table: type[Base] | Table) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` for the running backend."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _bump(name: str) -> object:
    return (
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    )


# `_bump` with the name as a parameter: one statement object, compiled once (the intake on SQLite
# numbers every filing with it; building the statement per call cost more than running it).
_BUMP = (
    update(Counter)
    .where(Counter.name == bindparam("counter_name"))
    .values(value=Counter.value + 1)
    .returning(Counter.value)
)


def next_number(session: Session, series: str, year: int) -> int:
    """The next number of `series` in `year`; the row lock is held until the caller commits."""
    name = f"{series}:{year}"
    conn = session.connection()  # Core: no ORM objects of the counter to keep in step
    value = conn.execute(_BUMP, {"counter_name": name}).scalar()
    if value is None:
        conn.execute(insert_ignoring_conflicts(conn.dialect.name, Counter).values(name=name, value=0))
        value = conn.execute(_BUMP, {"counter_name": name}).scalar_one()
    return int(value)


_sequences_ready: set[str] = set()


async def next_ticket_number(session: AsyncSession, year: int) -> int:
    """The next ticket number of `year`.

    On PostgreSQL a per-year SEQUENCE: `nextval` never waits for other filings, so concurrent
    kiosks do not queue behind one row lock (a filing that rolls back leaves a gap; numbers are
    never reused). On SQLite, where writers are serialized anyway, the gap-free counter row.
    """
    if session.get_bind().dialect.name != "postgresql":
        return await next_number_async(session, "ticket", year)
    name = await ticket_sequence(year)
    return int((await session.execute(text(f"SELECT nextval('{name}')"))).scalar_one())


async def ticket_sequence(year: int) -> str:
    """The name of `year`'s ticket SEQUENCE on PostgreSQL, created on first use."""
    name = f"ticket_seq_{year:04d}"
    if name not in _sequences_ready:
        await _create_sequence(name)
        _sequences_ready.add(name)
    return name


def sequence_ready(engine: Engine, year: int) -> str:
    """`ticket_sequence` for a synchronous caller (the front desk), on its engine."""
    name = f"ticket_seq_{year:04d}"
    if name not in _sequences_ready:
        for attempt in range(3):
            try:
                with engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text(f"CREATE SEQUENCE IF NOT EXISTS {name}")
                    )
                break
            except IntegrityError:  # two processes created it at the same instant
                if attempt == 2:
                    raise
        _sequences_ready.add(name)
    return name


async def _create_sequence(name: str) -> None:
    """CREATE SEQUENCE IF NOT EXISTS in its own autocommit connection (racing creators are fine)."""
    from shared.db import async_engine

    for attempt in range(3):
        try:
            async with async_engine().connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name}"))
            return
        except IntegrityError:  # two processes created it at the same instant
            if attempt == 2:
                raise


async def next_number_async(session: AsyncSession, series: str, year: int) -> int:
    """Async twin of `next_number` for the intake API."""
    name = f"{series}:{year}"
    value = (await session.execute(_bump(name))).scalar()  # type: ignore[call-overload]
    if value is None:
        dialect = session.get_bind().dialect.name
        await session.execute(insert_ignoring_conflicts(dialect, Counter).values(name=name, value=0))
        value = (await session.execute(_bump(name))).scalar_one()  # type: ignore[call-overload]
    return int(value)
