"""Yearly numbers (tickets, disposition agenda numbers): gap-free per transaction, never duplicated."""

from __future__ import annotations

from sqlalchemy import Insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared.models import Base, Counter


def insert_ignoring_conflicts(dialect: str, table: type[Base]) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` for the running backend."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _bump(name: str) -> object:
    return (
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    )


def next_number(session: Session, series: str, year: int) -> int:
    """The next number of `series` in `year`; the row lock is held until the caller commits."""
    name = f"{series}:{year}"
    value = session.execute(_bump(name)).scalar()  # type: ignore[call-overload]
    if value is None:
        dialect = session.get_bind().dialect.name
        session.execute(insert_ignoring_conflicts(dialect, Counter).values(name=name, value=0))
        value = session.execute(_bump(name)).scalar_one()  # type: ignore[call-overload]
    return int(value)


async def next_number_async(session: AsyncSession, series: str, year: int) -> int:
    """Async twin of `next_number` for the intake API."""
    name = f"{series}:{year}"
    value = (await session.execute(_bump(name))).scalar()  # type: ignore[call-overload]
    if value is None:
        dialect = session.get_bind().dialect.name
        await session.execute(insert_ignoring_conflicts(dialect, Counter).values(name=name, value=0))
        value = (await session.execute(_bump(name))).scalar_one()  # type: ignore[call-overload]
    return int(value)
