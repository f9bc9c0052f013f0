"""Request and response bodies of the staff API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from shared.complaint_in import ComplaintIn
from shared.linking import Relation
from shared.validation import INT_MAX


class JsonBody(Response):
    """A JSON body already serialised (`json_body`)."""

    media_type = "application/json"


def json_body(model: type[BaseModel], **fields: Any) -> bytes:
    """`model`'s JSON of `fields`, which the service built itself from its own rows (every field of
    every row, in its model's order): written as it is, not validated field by field again.
    pydantic's own serialiser, so values read as they would through the model (tests compare)."""
    return to_json({name: fields[name] for name in model.model_fields})


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime
    role: str
    unit: str | None


class Me(BaseModel):
    username: str
    role: str
    unit: str | None
    full_name: str | None = None
    job_title: str | None = None  # jabatan, printed with the name and NIP on the lembar disposisi
    nip: str | None = None
    email: str | None = None
    notify_by_email: bool = False  # new items in the queue, reminders and escalations
    # An admin reset the password: until POST /me/password, every other call is 403.
    must_change_password: bool = False


class _Summary(BaseModel):
    """What a list row shows of a complaint."""

    ticket: str
    subject: str
    category: str | None
    received_at: datetime
    step_due_at: datetime | None
    overdue: bool
    escalation_level: int
    paused_at: datetime | None = None  # waiting for the complainant's documents since
    paused_too_long: bool = False  # waiting past ADUAN_PAUSE_LIMIT (30 days): treat as withdrawn?
    waiting_on_site: bool
    version: int
    unit: str | None = None  # the bidang it was disposed to


class DeliveryContact(BaseModel):
    """What the front office needs to hand the answer over in person or by phone."""

    name: str
    phone: str | None
    email: str | None
    preferred_reply: str


class WorklistItem(_Summary):
    step: str
    # At delivery: the answer on its way through a gateway (sending) or why it did not arrive
    # (unreachable / ambiguous), with the tries so far, the contact and the answer to read out.
    delivery_state: str | None = None
    delivery_note: str | None = None
    delivery_attempts: int = 0
    contact: DeliveryContact | None = None
    answer: str | None = None


class ComplaintSummary(_Summary):
    status: str
    step: str | None
    outcome: str | None


class ComplaintList(BaseModel):
    items: list[ComplaintSummary]
    total: int  # exact up to 10,000; past that 10,000 with total_exact false
    total_exact: bool = True
    next_cursor: str | None = None  # the next page: ?cursor=...; null on the last page
    prev_cursor: str | None = None  # the page before; null on the first page


class Worklist(BaseModel):
    items: list[WorklistItem]
    total: int
    # Front office: messages that could not be sent (GET /api/v1/notifications?status=failed).
    failed_notifications: int = 0
    next_cursor: str | None = None  # as in ComplaintList
    prev_cursor: str | None = None


class ComplainantView(BaseModel):
    name: str
    nik: str | None  # always masked: 3307********0001
    phone: str | None
    email: str | None
    address: str | None
    hidden: bool = False  # identity withheld from this role (confidential complaint)


class DispositionView(BaseModel):
    agenda_number: str
    unit: str
    cc_units: list[str]
    instructions: list[str]
    urgency: str
    note: str | None
    signed_by: str
    at: datetime


class DeliveryView(BaseModel):
    method: str
    outcome: str  # delivered / unreachable; through a gateway also sending / ambiguous
    note: str | None
    actor: str
    at: datetime
    recipient: str | None = None  # the number called or the address the gateway sent to
    to_whom: str | None = None
    gateway: str | None = None
    provider_id: str | None = None
    result_at: datetime | None = None


class HistoryView(BaseModel):
    at: datetime
    actor: str
    role: str | None
    action: str
    from_step: str | None
    to_step: str | None
    note: str | None
    detail: dict[str, Any] | None = None


class LegalClocks(BaseModel):
    """The complainant's clocks beside the step clock, in calendar days: the first reply from
    receipt, the decision from the day the file is complete (Perpres 76/2013)."""

    first_reply_due_at: datetime
    first_reply_at: datetime | None
    # receipt, or when the documents the front office asked for came in (info_received); null
    # while the complaint waits for them: the decision clock has not started
    file_complete_at: datetime | None
    decision_due_at: datetime | None
    decided_at: datetime | None
    first_reply_overdue: bool
    decision_overdue: bool


class FeedbackView(BaseModel):
    """The complainant's rating of the service (SKM score 1-4), once the complaint is closed."""

    score: int
    score_label: str
    comment: str | None
    created_at: datetime


class EarlierComplaint(BaseModel):
    """An earlier complaint by the same complainant, found by the blind index of the NIK or phone."""

    ticket: str
    received_at: datetime
    step: str | None
    outcome: str | None
    state: str  # the step it is at, or how it ended (Indonesian)
    matched_by: list[str]  # "nik", "phone"


class LinkView(BaseModel):
    """A link to another complaint, as this complaint stands to it."""

    ticket: str  # the other complaint
    relation: Relation  # related / duplicate_of (this repeats the other) / has_duplicate
    relation_label: str  # "Terkait dengan", "Duplikat dari", "Memiliki duplikat"
    state: str  # where the other complaint is, or how it ended (Indonesian)
    step: str | None
    outcome: str | None
    created_by: str
    created_at: datetime


class LinkIn(BaseModel):
    """Link this complaint to `other` as `relation` (read from this complaint's side)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    other: str = Field(min_length=1, max_length=30, description="The other complaint's ticket")
    relation: Relation = Field(
        description="related; duplicate_of: this complaint repeats `other`; "
        "has_duplicate: `other` repeats this one"
    )


class ComplaintView(BaseModel):
    ticket: str
    status: str
    step: str | None
    outcome: str | None
    version: int
    handoff_pending: bool
    channel: str
    subject: str
    description: str
    category: str | None
    waiting_on_site: bool
    preferred_reply: str
    confidential: bool
    complainant: ComplainantView
    unit: str | None
    received_at: datetime
    step_entered_at: datetime | None
    step_due_at: datetime | None
    overdue: bool
    closed_at: datetime | None
    disposition: DispositionView | None
    dispositions: list[DispositionView]
    answer: str | None
    delivery_attempts: list[DeliveryView]
    history: list[HistoryView]
    allowed_actions: list[str]
    escalation_level: int
    legal: LegalClocks
    feedback: FeedbackView | None = None
    # The same person's earlier complaints (by NIK or phone); None for a role not shown identity.
    earlier: list[EarlierComplaint] | None = None
    # ... and their later ones, oldest first (a complaint's page shows both ways).
    later: list[EarlierComplaint] | None = None
    # Links to other complaints (related, duplicate); None for a role that does not read them all.
    links: list[LinkView] | None = None


class ActionIn(BaseModel):
    """`{"action", "version", …}`: the remaining fields are the action's Kelengkapan."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(min_length=1, max_length=40)
    version: int = Field(ge=1, le=INT_MAX)


class ActionAccepted(BaseModel):
    ticket: str
    action: str
    status: str
    step: str | None
    outcome: str | None
    version: int
    handoff_pending: bool


class ArchiveView(BaseModel):
    """The whole process as one record."""

    office: str
    ticket: str
    status: str
    outcome: str | None
    outcome_label: str | None
    channel: str
    subject: str
    description: str
    category: str | None
    complainant: ComplainantView
    received_at: datetime
    closed_at: datetime | None
    archived: bool
    dispositions: list[DispositionView]
    answer: str | None
    delivery_attempts: list[DeliveryView]
    handoffs: list[HistoryView]
    feedback: FeedbackView | None = None


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    unit: str | None = None
    position: int = Field(default=0, ge=-INT_MAX, le=INT_MAX)


class CategoryPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    unit: str | None = None
    position: int | None = Field(default=None, ge=-INT_MAX, le=INT_MAX)
    active: bool | None = None


class CategoryView(BaseModel):
    code: str
    name: str
    unit: str | None
    position: int
    active: bool


class EscalationItem(BaseModel):
    ticket: str
    subject: str
    step: str
    level: int  # 0 reminder, 1 past the standard, 2 past twice the standard
    label: str
    holder_role: str
    unit: str | None
    due_at: datetime
    fired_at: datetime
    notify_at: datetime


class EscalationList(BaseModel):
    items: list[EscalationItem]
    total: int


class CalendarDay(BaseModel):
    day: date
    open: bool
    hours: list[str]
    reason: str | None
    override: bool


class CalendarMonth(BaseModel):
    month: str
    calendar: str
    days: list[CalendarDay]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    open: bool = False
    reason: str = Field(min_length=1, max_length=200)


class NotificationItem(BaseModel):
    """One message, as the dead-letter list shows it (the recipient masked, never the body)."""

    id: int
    ticket: str
    event: str
    audience: str
    channel: str
    recipient: str
    gateway: str
    status: str
    attempts: int
    error: str | None
    provider_id: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationItem]
    total: int


class InstructionList(BaseModel):
    """The lembar disposisi's tick boxes, in order."""

    model_config = ConfigDict(extra="forbid")
    instructions: list[str] = Field(max_length=50)


class MePatch(BaseModel):
    """An officer's own profile: name, jabatan and NIP (on prints), e-mail for notices."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    full_name: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    nip: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    notify_by_email: bool | None = None


class AccountView(BaseModel):
    username: str
    full_name: str | None
    role: str
    unit: str | None
    job_title: str | None
    nip: str | None
    email: str | None
    active: bool
    must_change_password: bool
    last_sign_in_at: datetime | None
    created_at: datetime


class AccountIn(BaseModel):
    """A new account; it gets a one-time password, changed at first sign-in."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    role: str = Field(max_length=30)
    unit: str | None = Field(default=None, max_length=50)
    full_name: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    nip: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, max_length=30)
    unit: str | None = Field(default=None, max_length=50)
    full_name: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    nip: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)


class OneTimePassword(BaseModel):
    """Shown once: the officer signs in with it and must then choose their own."""

    username: str
    password: str


class AuditItem(BaseModel):
    at: datetime
    actor: str
    actor_role: str
    action: str
    ticket: str | None
    target: str | None
    detail: dict[str, Any] | None
    address: str | None


class AuditList(BaseModel):
    items: list[AuditItem]
    total: int


class KioskView(BaseModel):
    name: str
    active: bool
    enrolled: bool
    created_at: datetime
    last_filed_at: datetime | None


class KioskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class KioskEnrolment(BaseModel):
    """A one-time link to open on the kiosk's own browser."""

    enrol_url: str
    enrol_expires_at: datetime


class KioskAdded(KioskEnrolment):
    """Shown once: the kiosk's key (only its hash is kept) and its enrolment link."""

    name: str
    key: str


class DeskFilingIn(BaseModel):
    """The front desk files a complaint and may verify it and forward or resolve it at once."""

    model_config = ConfigDict(extra="forbid")

    complaint: ComplaintIn  # channel: walk_in, phone, letter or email
    then: Literal["forward", "resolve"] | None = None  # None: it stays at verification
    inputs: dict[str, Any] = Field(default_factory=dict)  # the action's inputs, as for /actions


class DeskFiled(BaseModel):
    ticket: str
    tracking_code: str
    status: str
    step: str | None
    outcome: str | None
    replayed: bool  # the Idempotency-Key was used before: nothing new was filed


class OfficeView(BaseModel):
    """The office as printed; until an admin saves one, the server's settings."""

    name: str
    address: str
    city: str  # where prints are signed
    logo_url: str | None  # on this port; the version in the query changes with the logo
    saved: bool  # False: the settings' defaults


class OfficeIn(BaseModel):
    """The office's name, address and city (each 1-200/300/100 characters, spaces collapsed)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    address: str
    city: str


class PasswordChange(BaseModel):
    """One's own password: the current one (after an admin's reset, the one-time password) and a new
    one of at least 8 characters."""

    model_config = ConfigDict(extra="forbid")
    current: str = Field(max_length=200)
    new: str = Field(max_length=200)
