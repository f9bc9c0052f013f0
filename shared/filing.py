"""Filing a complaint: the checks, and the complaint with the rows that come with it, from one
description of them. Shared by the intake (kiosk API, kiosk page, web form) and the staff console's
front desk, so that both file with the same code.

`Filing.rows()` gives every row once, as plain values for the tables, with `NEW_ID` / `NEW_TICKET`
where the value is the new complaint's own (known only once the database has numbered it). On
SQLite the rows are written one Core INSERT after another (the intake does it in its writer
thread, `shared.db.in_writer_thread`); on PostgreSQL the same rows become one
statement (a CTE per row, generated from the tables, compiled once per shape and run on the
pooled asyncpg connection without a BEGIN/COMMIT pair: one round trip per filing). The front desk
writes row by row on both backends, inside its own unit of work (filed, then the officer's action).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Dialect,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.util import greenlet_spawn

from shared import history, outbox
from shared.calendar import Override
from shared.clock import WIB
from shared.complaint_in import ComplaintCreated, ComplaintIn
from shared.identity import identity_columns
from shared.models import Complaint, Deadline, History, IdempotencyKey, Outbox, table_of
from shared.numbering import next_number, sequence_ready, ticket_sequence
from shared.security import cipher, new_tracking_code
from shared.settings import get_settings
from shared.sop import ReplyMethod, Status, Step, public_status
from shared.tasks import NotifyEvent, NotifyPayload, TaskName
from shared.validation import FieldError, InputError, check_mobile
from shared.workflow import Actor, Arrival, plan_arrival

COMPLAINTS = table_of(Complaint)
HISTORY = table_of(History)
DEADLINES = table_of(Deadline)
OUTBOX = table_of(Outbox)
IDEMPOTENCY_KEYS = table_of(IdempotencyKey)


@dataclass(frozen=True)
class _New:
    """A column of the new complaint row: its value is the database's, once it has written it."""

    column: str


NEW_ID = _New("id")
NEW_TICKET = _New("ticket")

Row = tuple[Table, dict[str, Any]]


@dataclass(frozen=True)
class Filed:
    response: dict[str, Any]
    messages: list[outbox.Message]


def ticket(prefix: str, year: int, seq: int) -> str:
    """`PREFIX-YEAR-000123`: six digits at least (the statement on PostgreSQL spells the same)."""
    return f"{prefix}-{year}-{seq:06d}"


@dataclass(frozen=True)
class Filing:
    """Everything a filing writes that is known before the database numbers it."""

    body: ComplaintIn
    kiosk_id: int | None  # None: filed by an officer at the front desk
    idempotency: tuple[str, str] | None  # (Idempotency-Key, hash of the body)
    now: datetime
    year: int
    code: str  # the tracking code
    stay: Arrival  # the verification step's deadline and timers
    # The sweeper relays the receipt (PostgreSQL: it does so every ADUAN_RELAY_INTERVAL); otherwise
    # the caller publishes it after commit.
    relayed: bool
    officer: Actor | None = None  # the Front Office officer who filed it at the desk
    officer_id: int | None = None  # the officer's account (whose idempotency keys these are)

    @property
    def actor(self) -> tuple[str, str | None]:
        """Who the history says filed it: the officer (and role), or the kiosk."""
        if self.officer is not None:
            return self.officer.name, self.officer.role.value
        return f"kiosk:{self.kiosk_id}", None

    @cached_property
    def _created(self) -> dict[str, Any]:
        return ComplaintCreated(
            ticket="",
            tracking_code="",
            status=public_status(Step.VERIFICATION, None)[0],
            step=Step.VERIFICATION.value,
            received_at=self.now,
            step_due_at=self.stay.due,
        ).model_dump(mode="json", exclude={"tracking_code"})

    def response(self, ticket: str | _New) -> dict[str, Any]:
        """The 201 body without the tracking code (the idempotency row keeps only this)."""
        return {**self._created, "ticket": ticket}

    def complaint(self) -> dict[str, Any]:
        """The complaint row but its ticket."""
        who = self.body.complainant
        return {
            "tracking_code_enc": cipher().encrypt(self.code, field="tracking_code"),
            "status": Status.OPEN.value,
            "step": Step.VERIFICATION.value,
            "outcome": None,
            "version": 1,
            "handoff_pending": False,
            "channel": self.body.channel.value,
            "subject": self.body.subject,
            "description": self.body.description,
            "category_code": self.body.category,
            "waiting_on_site": self.body.waiting_on_site,
            "preferred_reply": self.body.preferred_reply.value,
            "confidential": self.body.confidential,
            "complainant_name": who.name,
            **identity_columns(nik=who.nik, phone=who.phone, email=who.email, address=who.address or None),
            "kiosk_id": self.kiosk_id,
            "unit_code": None,
            "answer": None,
            "escalation_level": 0,
            "received_at": self.now,
            "step_entered_at": self.now,
            "stay_started_at": self.now,
            "step_due_at": self.stay.due,
            "closed_at": None,
            "updated_at": self.now,
        }

    def receipt(self) -> dict[str, Any]:
        """The outbox row of the receipt: always, contact or not (the notify worker sends it to
        each known contact and tells the front office of the new item in its queue)."""
        payload: NotifyPayload = {"complaint_id": 0, "event": NotifyEvent.RECEIPT.value, "method": None}
        row = outbox.values(TaskName.NOTIFY, {**payload, "complaint_id": NEW_ID}, now=self.now)
        return {**row, "next_attempt_at": self.now} if self.relayed else row

    def rows(self) -> list[Row]:
        """The rows written with the complaint, in order."""
        actor, role = self.actor
        rows: list[Row] = [
            (
                HISTORY,
                history.values(
                    complaint_id=NEW_ID,  # type: ignore[arg-type]  # the writer fills it in
                    at=self.now,
                    actor=actor,
                    role=role,
                    action="received",
                    to_step=Step.VERIFICATION.value,
                    detail={"channel": self.body.channel.value},
                    version=1,
                ),
            ),
            *((DEADLINES, {**t, "complaint_id": NEW_ID}) for t in self.stay.timers),
            (OUTBOX, self.receipt()),
        ]
        if self.idempotency is not None:
            key, digest = self.idempotency
            response = self.response(NEW_TICKET)
            owner = {"kiosk_id": self.kiosk_id} if self.officer is None else {"user_id": self.officer_id}
            rows.append(
                (
                    IDEMPOTENCY_KEYS,
                    {
                        **owner,
                        "key": key,
                        "body_hash": digest,
                        "complaint_id": NEW_ID,
                        "response": response,
                        "created_at": self.now,
                    },
                )
            )
        return rows

    def filed(self, ticket: str, complaint_id: int, outbox_id: int) -> Filed:
        """The 201 body, and the receipt to publish after commit unless the sweeper relays it."""
        response = {**self.response(ticket), "tracking_code": self.code}
        if self.relayed:
            return Filed(response, [])
        row = _resolved(self.receipt(), {"id": complaint_id})
        return Filed(response, [outbox.Message(outbox_id, row["task"], row["queue"], row["payload"])])


def _resolved(values: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with the new complaint's own values in place (in a JSON object too)."""

    def one(v: Any) -> Any:
        if isinstance(v, _New):
            return new[v.column]
        if isinstance(v, dict):
            return {k: one(x) for k, x in v.items()}
        return v

    return {k: one(v) for k, v in values.items()}


# --- Before a filing: the checks and the values known beforehand ---------------------------------

_PHONE_REPLIES = {ReplyMethod.PHONE, ReplyMethod.SMS, ReplyMethod.WHATSAPP}
_MOBILE_REPLIES = {ReplyMethod.SMS, ReplyMethod.WHATSAPP}


def check_contact(body: ComplaintIn) -> None:
    """The complainant must be reachable by the reply they asked for."""
    who = body.complainant
    reply = body.preferred_reply
    if reply in _PHONE_REPLIES and not who.phone:
        raise InputError(
            [
                FieldError(
                    "complainant.phone",
                    "contact_required",
                    "Nomor telepon wajib diisi untuk balasan yang dipilih.",
                )
            ]
        )
    if reply in _MOBILE_REPLIES and who.phone:
        check_mobile(who.phone, field="complainant.phone")
    if reply == ReplyMethod.EMAIL and not who.email:
        raise InputError(
            [
                FieldError(
                    "complainant.email",
                    "contact_required",
                    "Alamat e-mail wajib diisi untuk balasan melalui e-mail.",
                )
            ]
        )


def check_category(code: str | None, active: set[str]) -> None:
    """The category, when given, must be one of the active ones."""
    if code is not None and code not in active:
        raise InputError(
            [
                FieldError(
                    "category",
                    "category_unknown",
                    "Kategori tidak dikenal; lihat /api/v1/categories.",
                )
            ]
        )


def body_hash(body: ComplaintIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def prepare(
    body: ComplaintIn,
    *,
    kiosk_id: int | None,
    idempotency: tuple[str, str] | None,
    now: datetime,
    overrides: Mapping[date, Override],
    relayed: bool,
    officer: Actor | None = None,
    officer_id: int | None = None,
) -> Filing:
    """A filing of `body` received `now`: its tracking code, and the verification step's stay."""
    return Filing(
        body=body,
        kiosk_id=kiosk_id,
        idempotency=idempotency,
        now=now,
        year=now.astimezone(WIB).year,
        code=new_tracking_code(),
        stay=plan_arrival(Step.VERIFICATION, at=now, settings=get_settings(), overrides=overrides),
        relayed=relayed,
        officer=officer,
        officer_id=officer_id,
    )


# --- Row by row: one Core INSERT per row, in the caller's transaction -----------------------------


def ticket_number(session: Session, year: int) -> int:
    """The next ticket number of `year`, as the intake numbers it (see `next_ticket_number`)."""
    if session.get_bind().dialect.name != "postgresql":
        return next_number(session, "ticket", year)
    name = sequence_ready(session.connection().engine, year)
    return int(session.execute(text(f"SELECT nextval('{name}')")).scalar_one())


@lru_cache
def _insert(table: Table, *, returning_id: bool) -> Executable:
    """`INSERT INTO table` taking its values as parameters: one statement object per table, so its
    compiled form is found by a memoized cache key instead of one built from every value (which
    cost more CPU than the SQLite statement itself)."""
    statement = insert(table)
    return statement.returning(table.c.id) if returning_id else statement


def write_rows(session: Session, filing: Filing) -> Filed:
    """Every row of the filing, one INSERT after another, in the caller's transaction."""
    seq = ticket_number(session, filing.year)
    new: dict[str, Any] = {"ticket": ticket(get_settings().ticket_prefix, filing.year, seq)}
    complaint = {**filing.complaint(), "ticket": new["ticket"]}
    conn = session.connection()  # Core rows: the session's ORM layer has nothing to do for them
    new["id"] = conn.execute(_insert(COMPLAINTS, returning_id=True), complaint).scalar_one()
    outbox_id = 0
    for table, values in filing.rows():
        params = _resolved(values, new)
        if table is OUTBOX:
            outbox_id = conn.execute(_insert(table, returning_id=True), params).scalar_one()
        else:
            conn.execute(_insert(table, returning_id=False), params)
    return filing.filed(new["ticket"], new["id"], outbox_id)


# --- PostgreSQL: the same rows as one statement ---------------------------------------------------

# How each value of a row enters the statement: a parameter (the column's name alone), a column
# of the new complaint (the column and its `_New`), or a JSON object holding some (the column and,
# per key, its `_New` or the SQL type of its plain value).
_Entry = str | tuple[str, "_New | tuple[tuple[str, _New | str], ...]"]
_Shape = tuple[tuple[str, tuple[_Entry, ...]], ...]
_JSON_TYPES: dict[str, Any] = {"String": String, "Integer": Integer, "Boolean": Boolean, "JSON": JSON}
_HEADS, _COMPLAINT = -2, -1  # the statement's own parameters, then the complaint row, then `rows`


def _json_type(value: Any) -> str:
    """The SQL type of a plain value inside a JSON object (None: a typed NULL)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    return "String" if value is None or isinstance(value, str) else "JSON"


def _entry(col: str, value: Any) -> _Entry:
    if type(value) is _New:
        return (col, value)
    if any(type(x) is _New for x in value.values()):
        return (col, tuple((k, x if type(x) is _New else _json_type(x)) for k, x in value.items()))
    return col


_SPECIAL = frozenset({_New, dict})


def _shape(rows: list[Row]) -> _Shape:
    """What the statement for these rows depends on (its cache key), not their values."""
    return tuple(
        (table.name, tuple(col if type(v) not in _SPECIAL else _entry(col, v) for col, v in values.items()))
        for table, values in rows
    )


# Where a parameter's value is found: (source, column, key in a JSON object or None).
_Path = tuple[int, str, str | None]
_CONSTANTS = -3  # the values the statement carries itself (lpad's width), by parameter name


@dataclass(frozen=True)
class _Compiled:
    sql: str
    paths: tuple[_Path, ...]  # per `$n`, where its value is
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)
    constants: Mapping[str, Any]

    def args(self, sources: dict[int, Mapping[str, Any]]) -> list[Any]:
        sources[_CONSTANTS] = self.constants
        out = [sources[s][c] if k is None else sources[s][c][k] for s, c, k in self.paths]
        for i, process in self.processors:
            out[i] = process(out[i])
        return out


@lru_cache(maxsize=16)
def _statement(complaint: tuple[str, ...], shape: _Shape, dialect: Dialect) -> _Compiled:
    """The filing of this shape as one statement: ticket number, complaint, then each row."""
    paths: dict[str, _Path] = {}

    def param(name: str, path: _Path, type_: Any) -> Any:
        paths[name] = path
        return bindparam(name, type_=type_)

    seq = select(
        func.nextval(cast(param("sequence", (_HEADS, "sequence", None), Text), REGCLASS)).label("seq")
    )
    if any(name == IDEMPOTENCY_KEYS.name for name, _ in shape):
        # a key this kiosk used already files nothing (and returns no row)
        seq = seq.where(
            ~exists().where(
                IDEMPOTENCY_KEYS.c.kiosk_id == param("guard_kiosk", (_HEADS, "guard_kiosk", None), Integer),
                IDEMPOTENCY_KEYS.c.key == param("guard_key", (_HEADS, "guard_key", None), String),
            )
        )
    n = seq.cte("n")
    number = cast(n.c.seq, Text)
    ticket_sql = param("ticket_prefix", (_HEADS, "ticket_prefix", None), Text) + case(
        (n.c.seq < 1_000_000, func.lpad(number, 6, "0")), else_=number
    )
    columns = (param(f"c_{col}", (_COMPLAINT, col, None), COMPLAINTS.c[col].type) for col in complaint)
    new = (
        insert(COMPLAINTS)
        .from_select(["ticket", *complaint], select(ticket_sql, *columns), include_defaults=False)
        .returning(COMPLAINTS.c.id, COMPLAINTS.c.ticket)
        .cte("c")
    )

    def expr(i: int, table: Table, entry: _Entry) -> ColumnElement[Any]:
        if isinstance(entry, str):
            return param(f"r{i}_{entry}", (i, entry, None), table.c[entry].type)  # type: ignore[no-any-return]
        col, how = entry
        if isinstance(how, _New):
            return new.c[how.column]
        parts: list[Any] = []  # a JSON object holding some of the new complaint's values
        for key, inner in how:
            if isinstance(inner, _New):
                parts += [key, new.c[inner.column]]
            else:
                parts += [key, param(f"r{i}_{col}.{key}", (i, col, key), _JSON_TYPES[inner])]
        return cast(func.json_build_object(*parts), JSON)

    tables = {t.name: t for t in (HISTORY, DEADLINES, OUTBOX, IDEMPOTENCY_KEYS)}
    ctes = []
    outbox_id: ColumnElement[Any] | None = None
    for i, (name, entries) in enumerate(shape):
        table = tables[name]
        stmt = insert(table).from_select(
            [e if isinstance(e, str) else e[0] for e in entries],
            select(*(expr(i, table, e) for e in entries)).select_from(new),
            include_defaults=False,
        )
        if table is OUTBOX:
            done = stmt.returning(table.c.id).cte(f"r{i}")
            outbox_id = select(done.c.id).scalar_subquery()
        else:
            done = stmt.cte(f"r{i}")
        ctes.append(done)
    assert outbox_id is not None  # noqa: S101 - every filing writes its receipt
    final = select(new.c.id, new.c.ticket, outbox_id.label("outbox_id")).add_cte(*ctes)
    compiled = final.compile(dialect=dialect)
    binds = [compiled.binds[name] for name in compiled.positiontup or ()]
    processors = [b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds]
    return _Compiled(
        sql=compiled.string,
        paths=tuple(paths.get(b.key, (_CONSTANTS, b.key, None)) for b in binds),
        processors=tuple((i, p) for i, p in enumerate(processors) if p is not None),
        constants={b.key: b.value for b in binds if b.key not in paths},
    )


def _sources(filing: Filing, complaint: Mapping[str, Any], rows: list[Row], sequence: str) -> dict[int, Any]:
    """Where the statement's parameters are read from (see `_HEADS`)."""
    heads: dict[str, Any] = {
        "sequence": sequence,
        "ticket_prefix": f"{get_settings().ticket_prefix}-{filing.year}-",
    }
    if filing.idempotency is not None:
        heads["guard_kiosk"], heads["guard_key"] = filing.kiosk_id, filing.idempotency[0]  # kiosks only
    return {_HEADS: heads, _COMPLAINT: complaint, **{i: values for i, (_t, values) in enumerate(rows)}}


async def write_in_one_statement(session: AsyncSession, filing: Filing) -> Filed | None:
    """Every row of the filing in ONE statement: one round trip, committed on its own.

    Run on a pooled asyncpg connection of the session's engine itself, outside the session: the
    statement needs no transaction of the session's, and the session's transaction, connection and
    SQLAlchemy's per-statement work cost more than the rows here; the session's read, if any, is
    ended first. None when the idempotency key was already used.
    """
    engine = session.bind
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the filing statement runs on a session bound to an engine")
    if session.in_transaction():
        # End the session's read (categories, calendar: past their cache) before taking another
        # connection: a request holds one pooled connection at a time, or a burst of requests
        # could hold the whole pool and wait on each other.
        await session.rollback()
    sequence = await ticket_sequence(filing.year)
    complaint, rows = filing.complaint(), filing.rows()
    statement = _statement(tuple(complaint), _shape(rows), engine.dialect)
    args = statement.args(_sources(filing, complaint, rows, sequence))
    pooled = await engine.raw_connection()
    try:
        row = await pooled.driver_connection.fetchrow(statement.sql, *args)  # type: ignore[union-attr]
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == "23505":  # unique_violation: a concurrent retry won
            raise IntegrityError(statement.sql, None, exc) from exc
        raise
    finally:
        await greenlet_spawn(pooled.close)  # back to the pool (no transaction to end)
    if row is None:  # the idempotency key was already used
        return None
    return filing.filed(row["ticket"], row["id"], row["outbox_id"])


def relay_receipts() -> bool:
    """True where the sweeper relays due outbox rows often (PostgreSQL), so the API need not publish."""
    return not get_settings().embedded
