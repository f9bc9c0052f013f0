"""Channels that carry a message to a citizen. Real gateways arrive with the notify issue;
here the only implementation records the message in the database and the log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from shared.settings import Settings

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Outgoing:
    notification_id: int
    channel: str  # sms / whatsapp / email
    recipient: str
    subject: str | None
    body: str
    html: str | None = None


@dataclass(frozen=True)
class SendResult:
    verdict: Verdict
    gateway: str
    provider_id: str | None = None
    error: str | None = None


class Channel(Protocol):
    """Sends one message; must not raise for a refusal it can describe in SendResult."""

    name: str

    def send(self, message: Outgoing) -> SendResult: ...


def mask_recipient(recipient: str) -> str:
    """Enough to recognise a recipient in a log line, not enough to contact them."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    return recipient[:6] + "*" * max(len(recipient) - 9, 0) + recipient[-3:]


class LogChannel:
    """The embedded default: the notification row is the record; the log gets a masked line."""

    name = "log"

    def send(self, message: Outgoing) -> SendResult:
        log.info(
            "notify[%s] #%s to %s (%d chars)",
            message.channel,
            message.notification_id,
            mask_recipient(message.recipient),
            len(message.body),
        )
        return SendResult(Verdict.ACCEPTED, gateway=self.name, provider_id=f"log-{message.notification_id}")


class Channels:
    def __init__(self) -> None:
        self._log = LogChannel()

    def for_kind(self, kind: str) -> Channel:
        return self._log

    def describe(self) -> list[str]:
        return [f"{kind}: log" for kind in ("email", "sms", "whatsapp")]

    def live(self, kind: str) -> bool:
        return False

    def receipt_secret(self, gateway: str) -> str | None:
        return None

    def parse_receipt(self, gateway: str, payload: Mapping[str, Any]) -> list[Receipt]:
        raise ValueError(gateway)


@dataclass(frozen=True)
class Receipt:
    provider_id: str
    status: str
    detail: str | None = None


def load_channels(settings: Settings) -> Channels:
    return Channels()
