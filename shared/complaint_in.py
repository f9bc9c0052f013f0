"""What a complaint is filed with, from a kiosk, the public web or the front desk: the body, its
channel and the 201 answer. Shared, so the intake API and the staff console file with one schema."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from shared.clock import now, to_wib
from shared.sop import ReplyMethod
from shared.validation import NOT_BLANK, PhoneNumber, check_email, check_nik


class Channel(StrEnum):
    KIOSK = "kiosk"
    WALK_IN = "walk_in"
    PHONE = "phone"
    WEB = "web"
    LETTER = "letter"
    EMAIL = "email"


# Filed by a Front Office officer at the desk (no kiosk): a walk-in, a call, a letter, an e-mail.
DESK_CHANNELS = (Channel.WALK_IN, Channel.PHONE, Channel.LETTER, Channel.EMAIL)

# The channels as the office names them (reports, the console).
CHANNEL_LABELS: dict[str, str] = {
    Channel.KIOSK: "Kios",
    Channel.WALK_IN: "Datang langsung",
    Channel.PHONE: "Telepon",
    Channel.WEB: "Situs web",
    Channel.LETTER: "Surat",
    Channel.EMAIL: "E-mail",
}


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
