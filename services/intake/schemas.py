"""Request and response bodies of the intake API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.complaint_in import Channel as Channel
from shared.complaint_in import CitizenReply as CitizenReply
from shared.complaint_in import ComplainantIn as ComplainantIn
from shared.complaint_in import ComplaintCreated as ComplaintCreated
from shared.complaint_in import ComplaintIn as ComplaintIn
from shared.survey import COMMENT_MAX


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


class MergedInto(BaseModel):
    """The complaint a duplicate was merged with, as far as its complainant may know: its ticket
    and where it stands (never its tracking code, its complainant or its answer)."""

    ticket: str
    status: str
    status_label: str
    step: str | None
    step_number: int | None  # 1-6 while open
    updated_at: datetime


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
    merged_into: MergedInto | None = None  # closed as a duplicate: the original that carries on
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
