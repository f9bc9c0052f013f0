"""Channels that carry a message to a citizen. Real gateways arrive with the notify issue;
here the only implementation records the message in the database and the log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    notification_id: int
    channel: str  # sms / whatsapp / email
    recipient: str
    subject: str | None
    body: str


@dataclass(frozen=True)
class SendResult:
    status: str  # sent / failed
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
        return SendResult(status="sent", gateway=self.name, provider_id=f"log-{message.notification_id}")


def channel_for(kind: str) -> Channel:
    """The channel configured for sms / whatsapp / email (the log channel in this release)."""
    return LogChannel()
