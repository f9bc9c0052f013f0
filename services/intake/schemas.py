"""Request and response bodies of the intake API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.clock import now, to_wib
from shared.sop import ReplyMethod
from shared.survey import COMMENT_MAX
from shared.validation import NOT_BLANK, PhoneNumber, check_email, check_nik


class Channel(StrEnum):
    KIOSK = "kiosk"
    WALK_IN = "walk_in"
    PHONE = "phone"
    WEB = "web"
    LETTER = "letter"


CitizenReply = Literal[
    ReplyMethod.IN_PERSON,
    ReplyMethod.PHONE,
    ReplyMethod.SMS,
    ReplyMethod.EMAIL,
    ReplyMethod.WHATSAPP,
]


def _nik(value: str) -> str:
    return check_nik(value, today=to_wib(now()).date())


class ComplainantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(max_length=200), NOT_BLANK]
    nik: Annotated[str, AfterValidator(_nik)] | None = None
    phone: PhoneNumber | None = None
    email: Annotated[str, StringConstraints(max_length=254), AfterValidator(check_email)] | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None


class ComplaintIn(BaseModel):
    """What a kiosk (or the front desk, phone, web) posts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    complainant: ComplainantIn
    subject: Annotated[str, StringConstraints(max_length=200), NOT_BLANK]
    description: Annotated[str, StringConstraints(max_length=4000), NOT_BLANK]
    category: Annotated[str, StringConstraints(max_length=50)] | None = None
    channel: Channel = Channel.KIOSK
    waiting_on_site: bool = False
    preferred_reply: CitizenReply = ReplyMethod.IN_PERSON
    confidential: bool = True


class ComplaintCreated(BaseModel):
    ticket: str
    tracking_code: str
    status: str
    step: str
    received_at: datetime
    step_due_at: datetime | None


class Category(BaseModel):
    code: str
    name: str
    unit: str | None


class PublicEvent(BaseModel):
    at: datetime
    status: str
    label: str


class TrackFeedback(BaseModel):
    """The citizen's own rating, as the track view shows it."""

    score: int
    created_at: datetime


class TrackView(BaseModel):
    """The citizen's view: no identity, no internal notes."""

    ticket: str
    status: str
    status_label: str
    step: str | None
    outcome: str | None
    received_at: datetime
    updated_at: datetime
    step_due_at: datetime | None
    closed_at: datetime | None
    history: list[PublicEvent] = Field(default_factory=list)
    answer: str | None = None
    referred_to: str | None = None
    feedback: TrackFeedback | None = None
    feedback_url: str | None = None  # closed and not yet rated: where to rate the service


class FeedbackIn(BaseModel):
    """The citizen's answer to the satisfaction survey (JSON, or the page's form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: int = Field(ge=1, le=4)
    comment: Annotated[str, StringConstraints(max_length=COMMENT_MAX)] | None = None


class FeedbackOut(BaseModel):
    ticket: str
    score: int
    score_label: str
    comment: str | None
    created_at: datetime
