"""The database schema: one source of truth shared by every service."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from shared import identity
from shared.delivery import AttemptOutcome, DeliveryState, NotificationStatus

# Indexes only PostgreSQL has (pg_trgm): the migrations create them there alone, and the schema
# comparison (shared.migrate.include_object) leaves them out on SQLite.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_complaints_subject_trgm"})

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only knows INTEGER PRIMARY KEY as an auto-incrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use shared.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(column: str, values: type[StrEnum]) -> str:
    """The CHECK of a column holding one of an enum's values (NULL passes, as CHECKs let it)."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Unit(Base):
    """A bidang (division) of the office that can receive a disposisi."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Category(Base):
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(30))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime]
    # Staff notices (new item in the queue, reminders, escalations) go to this address when on.
    email: Mapped[str | None] = mapped_column(String(254))
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Printed under the signature on the lembar disposisi.
    job_title: Mapped[str | None] = mapped_column(String(200))  # jabatan
    nip: Mapped[str | None] = mapped_column(String(18))  # Nomor Induk Pegawai, 18 digits
    last_sign_in_at: Mapped[datetime | None]
    # Set by an admin's password reset: the console sends the officer to the password page first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class AuditEntry(Base):
    """One admin change or one view of a complainant's identity (UU 27/2022): appended, never changed.

    The database refuses UPDATE and DELETE on the table (triggers, migration 0015)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_ticket_at", "ticket", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))  # the officer's username
    actor_role: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(60))
    ticket: Mapped[str | None] = mapped_column(String(30))
    target: Mapped[str | None] = mapped_column(String(200))  # an account, a kiosk, a day, a category
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    address: Mapped[str | None] = mapped_column(String(64))  # the client's IP address


class OfficeIdentity(Base):
    """The office as printed (letterheads, receipts, the recap): one row, written by the admin.

    No row: the settings (ADUAN_OFFICE_NAME, _ADDRESS, _CITY) stand; shared/office.py reads both."""

    __tablename__ = "office_identity"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(100))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG or JPEG, checked on upload
    logo_type: Mapped[str | None] = mapped_column(String(20))  # its media type
    logo_sha256: Mapped[str | None] = mapped_column(String(64))  # names the logo's URL (cache busting)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class DispositionInstruction(Base):
    """A tick box on the lembar disposisi; the admin edits the list (seeded with the SOP's five)."""

    __tablename__ = "disposition_instructions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Kiosk(Base):
    """A device allowed to post complaints; its key is shown once and stored as a SHA-256 hash.

    A kiosk's browser is enrolled by a one-time link (`enrol_token_hash`, until `enrol_expires_at`);
    opening it gives that browser a cookie whose secret is stored here as `browser_key_hash`.
    """

    __tablename__ = "kiosks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime]
    enrol_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime | None]
    browser_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class CalendarOverride(Base):
    """An admin's decision about one day (WIB): closed with a reason, or open despite a holiday."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Counter(Base):
    """Yearly numbering (tickets, agenda numbers): one row per (series, year), bumped in place."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def _not_null(column: str) -> dict[str, Any]:
    """A partial index's condition, on both backends: rows whose `column` has a value."""
    where = text(f"{column} IS NOT NULL")
    return {"postgresql_where": where, "sqlite_where": where}


_HAS_UNIT = _not_null("unit_code")
_HAS_OUTCOME = _not_null("outcome")


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        # The worklist: a role's steps, arrived, oldest deadline first.
        Index("ix_complaints_queue", "step", "handoff_pending", "step_due_at"),
        # A unit's worklist and list, and the archive by outcome: only complaints that have a unit
        # or an outcome are in these (a new complaint has neither, so a filing writes no entry);
        # every query compares the column with a value, which implies IS NOT NULL.
        Index("ix_complaints_unit_queue", "unit_code", "step", "step_due_at", **_HAS_UNIT),
        # The lists (every complaint, the archive), newest first by status, step, unit or outcome,
        # and by the date received: each a short walk down an index at a million complaints.
        Index("ix_complaints_status_id", "status", "id"),
        Index("ix_complaints_step_id", "step", "id"),
        Index("ix_complaints_unit_id", "unit_code", "id", **_HAS_UNIT),
        Index("ix_complaints_outcome_id", "outcome", "id", **_HAS_OUTCOME),
        # ... and the reports over a year of complaints (volume, legal clocks; SKM by the closing
        # date): what they group and judge by carried in the index, for index-only scans.
        Index(
            "ix_complaints_received_at",
            "received_at",
            postgresql_include=[
                "category_code",
                "channel",
                "unit_code",
                "status",
                "outcome",
                "closed_at",
                "paused_at",
            ],
        ),
        Index(
            "ix_complaints_closed_at",
            "closed_at",
            postgresql_include=["id", "status", "outcome", "unit_code"],
            **_not_null("closed_at"),
        ),
        # The search by subject (ILIKE '%...%'): trigrams on PostgreSQL; SQLite keeps its scan.
        Index(
            "ix_complaints_subject_trgm",
            "subject",
            postgresql_using="gin",
            postgresql_ops={"subject": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        CheckConstraint(one_of("delivery_state", DeliveryState), name="delivery_state_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(30), unique=True)
    tracking_code_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10))
    step: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(30))
    # Compare-and-set guard: every UPDATE says WHERE version = the version read.
    version: Mapped[int] = mapped_column(Integer)
    # True between an accepted action and the routing worker placing the complaint in the next queue.
    handoff_pending: Mapped[bool] = mapped_column(Boolean)

    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    waiting_on_site: Mapped[bool] = mapped_column(Boolean)
    preferred_reply: Mapped[str] = mapped_column(String(20))
    confidential: Mapped[bool] = mapped_column(Boolean)

    complainant_name: Mapped[str] = mapped_column(String(200))
    # Identity at rest (shared/identity): encrypted; the NIK and phone also by blind index, the
    # only way they are searched. `phone`, `email` and `address` below read and write them.
    nik_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    nik_masked: Mapped[str | None] = mapped_column(String(16))
    nik_index: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))

    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    answer: Mapped[str | None] = mapped_column(Text)
    # 0 on time; 1 past the step's standard (escalated); 2 past twice the standard (kepala dinas).
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Waiting for the complainant's documents (request_info): the step clock is stopped and the
    # open time that was left is kept, to resume with.
    paused_at: Mapped[datetime | None]
    paused_remaining_s: Mapped[int | None] = mapped_column(Integer)
    # Open time of the step's budget used before the current stay (0 unless resumed after a
    # pause): a recomputed deadline keeps counting it.
    step_used_s: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # When the complaint arrived at its current step; unlike step_entered_at, not moved by a
    # resumption: the escalations of the whole stay stay in view.
    stay_started_at: Mapped[datetime | None]
    # The answer on its way through a gateway, or why it did not arrive (shared.delivery's
    # DeliveryState); None when no electronic delivery is under way or in trouble.
    delivery_state: Mapped[str | None] = mapped_column(String(20))
    delivery_note: Mapped[str | None] = mapped_column(Text)

    received_at: Mapped[datetime]
    step_entered_at: Mapped[datetime | None]
    step_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    history: Mapped[list[History]] = relationship(
        back_populates="complaint", order_by="History.id", lazy="raise"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it once

    @property
    def phone(self) -> str | None:
        """The complainant's phone number (E.164), decrypted."""
        return identity.unseal(self.phone_enc, field="phone")

    @phone.setter
    def phone(self, value: str | None) -> None:
        self.phone_enc = identity.seal(value, field="phone")
        self.phone_index = identity.blind_index(value, field="phone") if value else None

    @property
    def email(self) -> str | None:
        return identity.unseal(self.email_enc, field="email")

    @email.setter
    def email(self, value: str | None) -> None:
        self.email_enc = identity.seal(value, field="email")

    @property
    def address(self) -> str | None:
        return identity.unseal(self.address_enc, field="address")

    @address.setter
    def address(self, value: str | None) -> None:
        self.address_enc = identity.seal(value, field="address")


class LinkKind(StrEnum):
    RELATED = "related"
    DUPLICATE = "duplicate"


class ComplaintLink(Base):
    """Two complaints an officer linked: related, or one a duplicate of the other (the original).

    Stored once per pair, the lower id first (so a pair is one row whichever side linked it, and
    no complaint links itself); a complaint is the duplicate of at most one original
    (`duplicate_id` is unique). shared/linking writes and reads these rows.
    """

    __tablename__ = "complaint_links"
    __table_args__ = (
        UniqueConstraint("low_id", "high_id", name="uq_complaint_links_pair"),
        CheckConstraint("low_id < high_id", name="ordered_pair"),
        CheckConstraint(one_of("kind", LinkKind), name="kind_known"),
        CheckConstraint(
            "(kind = 'related' AND duplicate_id IS NULL) OR "
            "(kind = 'duplicate' AND duplicate_id IS NOT NULL AND duplicate_id IN (low_id, high_id))",
            name="duplicate_side",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    high_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # For a duplicate: which of the two is the duplicate (the other is its original).
    duplicate_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Deadline(Base):
    """A timer as a row: a reminder, a breach or a second-level breach of one stay at one step.

    The sweeper claims due rows and fires each once, guarded by the complaint still being in the
    same stay (same step, same `step_entered_at`); a row whose stay ended is closed unfired.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("complaint_id", "step", "entered_at", "kind", name="uq_deadlines_once"),
        Index(
            "ix_deadlines_due",
            "due_at",
            postgresql_where=text("fired_at IS NULL"),
            sqlite_where=text("fired_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No index of its own: uq_deadlines_once begins with it.
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    step: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))  # reminder / breach / second
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    # fired / stale (the stay had ended) / error (failed on its own; logged, set aside)
    result: Mapped[str | None] = mapped_column(String(20))
    # Open time of the step's budget used before this stay (a stay resumed after a pause).
    used_s: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Escalation(Base):
    """A reminder to the holder or an escalation to the next level, for the target's view."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime]
    level: Mapped[int] = mapped_column(Integer)  # 0 reminder, 1 breach, 2 second level
    target_role: Mapped[str] = mapped_column(String(30), index=True)
    target_unit: Mapped[str | None] = mapped_column(String(50))
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime]
    notify_at: Mapped[datetime]  # staff notices wait for office hours


class History(Base):
    """Append-only: one row per change of a complaint, written in the same transaction."""

    __tablename__ = "history"
    __table_args__ = (
        # The legal clocks: when the documents asked for came in (a few rows among millions).
        Index(
            "ix_history_info_received",
            "complaint_id",
            "at",
            postgresql_where=text("action = 'info_received'"),
            sqlite_where=text("action = 'info_received'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(30))
    from_step: Mapped[str | None] = mapped_column(String(20))
    to_step: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None]
    version: Mapped[int] = mapped_column(Integer)

    complaint: Mapped[Complaint] = relationship(back_populates="history", lazy="raise")


class StayRecord(Base):
    """A completed stay at a step, written with the history row that ended it (shared.stays)."""

    __tablename__ = "stays"
    __table_args__ = (
        # The SLA reports: the stays that ended in a period, per step (and per bidang).
        Index("ix_stays_left_at", "left_at", "step"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    history_id: Mapped[int] = mapped_column(ForeignKey("history.id"), unique=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(50))  # the bidang of a drafting stay
    entered_at: Mapped[datetime]
    left_at: Mapped[datetime]
    # Spans waiting for the complainant ([[from, to], ...] ISO 8601): kept to measure again when
    # the office calendar changes.
    paused: Mapped[list[Any] | None]
    office_minutes: Mapped[float] = mapped_column(Float)


class StayMinutes(Base):
    """How many stays ended in a WIB month at a step (and bidang) after a whole number of office
    minutes (rounded up): the SLA reports' histogram, written with the stays it counts (shared.stays).
    """

    __tablename__ = "stay_minutes"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM (WIB) of left_at
    step: Mapped[str] = mapped_column(String(20), primary_key=True)
    unit: Mapped[str] = mapped_column(String(50), primary_key=True)  # "": no bidang (see StayRecord)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True)  # ceil(office_minutes)
    stays: Mapped[int] = mapped_column(Integer)


class Disposition(Base):
    """The lembar disposisi: the Sekretaris's instruction to a bidang, with a yearly agenda number."""

    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("year", "agenda_seq", name="uq_dispositions_agenda"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    agenda_seq: Mapped[int] = mapped_column(Integer)
    agenda_number: Mapped[str] = mapped_column(String(30))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    cc_units: Mapped[list[Any]]
    instructions: Mapped[list[Any]]
    urgency: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class DeliveryAttempt(Base):
    """One try at handing the answer over: by a person (in person, phone, letter) or a gateway.

    `outcome`: delivered / unreachable, or for a gateway while it works: sending, then delivered,
    unreachable (refused for good or given up after the retries) or ambiguous (may have arrived);
    shared.delivery's AttemptOutcome and its allowed moves.
    """

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        CheckConstraint(one_of("outcome", AttemptOutcome), name="outcome_known"),
        # The legal clocks: each complaint's first delivered answer.
        Index(
            "ix_delivery_attempts_delivered",
            "complaint_id",
            "at",
            postgresql_where=text("outcome = 'delivered'"),
            sqlite_where=text("outcome = 'delivered'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    gateway: Mapped[str | None] = mapped_column(String(50))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    recipient_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # the address or number used, sealed
    to_whom: Mapped[str | None] = mapped_column(String(200))  # who received it in person / on the phone
    result_at: Mapped[datetime | None]

    @property
    def recipient(self) -> str | None:
        return identity.unseal(self.recipient_enc, field="recipient")

    @recipient.setter
    def recipient(self, value: str | None) -> None:
        self.recipient_enc = identity.seal(value, field="recipient")


class Outbox(Base):
    """Messages to the broker, written in the transaction that caused them.

    Published right after commit; a message whose consumer has not marked it processed by
    `next_attempt_at` is published again by the sweeper's reconciler, up to a bound.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where=text("processed_at IS NULL AND dead_at IS NULL"),
            sqlite_where=text("processed_at IS NULL AND dead_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    processed_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A filing's key, per kiosk or, at the front desk, per officer: a second post files nothing."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("kiosk_id", "key", name="uq_idempotency_keys_kiosk_key"),
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        CheckConstraint("(kiosk_id IS NULL) <> (user_id IS NULL)", name="one_owner"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Notification(Base):
    """One message to one recipient about one event; the unique key makes sending idempotent.

    `status`: pending (waiting for its `next_attempt_at`: a retry or office hours), sending (claimed
    by a worker), sent (the gateway accepted it), delivered (the gateway's receipt confirmed it),
    failed (refused for good, or dead-lettered after the retries), ambiguous (may have been sent:
    never re-sent blindly), cancelled (a staff notice whose complaint moved on before it was
    due): shared.delivery's NotificationStatus and its allowed moves. The body is rendered at
    send time and not kept (it holds the tracking code).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("complaint_id", "event", "channel", "recipient_index", name="uq_notifications_once"),
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_notifications_provider", "gateway", "provider_id"),
        Index("ix_notifications_status", "status", "created_at"),
        CheckConstraint(one_of("status", NotificationStatus), name="status_known"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    # The phone number or e-mail address, sealed (shared/identity); the unique key uses its index.
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    recipient_index: Mapped[str] = mapped_column(String(64))
    gateway: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)  # no longer written (see above)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    audience: Mapped[str] = mapped_column(String(10), default="citizen", server_default="citizen")
    context: Mapped[dict[str, Any] | None]  # what a staff notice says (step, level, due time)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    resent_after_crash: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    @property
    def recipient(self) -> str:
        """The phone number (E.164) or e-mail address the message goes to, decrypted."""
        return identity.unseal(self.recipient_enc, field="recipient") or ""

    @recipient.setter
    def recipient(self, value: str) -> None:
        for column, sealed in identity.recipient_columns(value).items():
            setattr(self, column, sealed)


class Feedback(Base):
    """The complainant's rating of a closed complaint, once: 1-4 on the SKM scale (PermenPANRB 14/2017)."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 4", name="score_range"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)


class RateCounter(Base):
    """A rate limit's counter for one window (shared/ratelimit.py), when Redis is not the broker.

    Transport, not record: a row past `expires_at` counts as zero, and the sweeper deletes it.
    """

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(index=True)


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for hot paths that need no ORM bookkeeping (identity map, events)."""
    return cast(Table, model.__table__)


@event.listens_for(Session, "after_flush")
def _write_stays(session: Session, context: Any) -> None:
    """A history row that ends a stay at a step writes the stay in the same flush, whoever wrote
    it, wherever the models are used (shared.stays imports this module, hence the late import)."""
    from shared import stays

    stays.after_flush(session, context)
