"""A complaint's record: the one place a history row is written, whoever writes it.

Officers' actions, arrivals in a queue, reminders and escalations, a gateway's verdict on the
answer, the intake's filing: each is one append-only `history` row in the transaction of the
change it records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared import identity
from shared.models import History

# The actor of rows the system writes (arrivals, timers, gateways' verdicts) rather than a person.
SYSTEM_ACTOR = "sistem"


class Row(TypedDict, total=False):
    """The columns of one history row; what is left out is empty (the actor: the system)."""

    complaint_id: Required[int | ColumnElement[int]]
    at: Required[datetime | ColumnElement[datetime]]
    action: Required[str]
    # The complaint's version once the change commits (a SQL expression where it is read in the
    # same statement).
    version: Required[int | ColumnElement[int]]
    actor: str | ColumnElement[str]
    role: str | None
    from_step: str | None
    to_step: str | ColumnElement[str] | None
    note: str | None
    detail: dict[str, Any] | ColumnElement[Any] | None


def values(**row: Unpack[Row]) -> dict[str, Any]:
    """Every column of one history row, for a Core INSERT."""
    return {
        "complaint_id": row["complaint_id"],
        "at": row["at"],
        "actor": row.get("actor", SYSTEM_ACTOR),
        "role": row.get("role"),
        "action": row["action"],
        "from_step": row.get("from_step"),
        "to_step": row.get("to_step"),
        "note": row.get("note"),
        "detail": identity.masked_phones(detail) if isinstance(detail := row.get("detail"), dict) else detail,
        "version": row["version"],
    }


def record(session: Session | AsyncSession, **row: Unpack[Row]) -> None:
    """Add one history row to the session's unit of work (written at its next flush)."""
    session.add(History(**values(**row)))
