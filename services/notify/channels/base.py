"""The channel interface: what a send hands over, what comes back, and the log channel."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from shared.security import mask_contact
from shared.settings import ConfigError as SettingsConfigError

log = logging.getLogger("services.notify.channels")


class Verdict(StrEnum):
    """What a send attempt tells the caller about whether to try again."""

    ACCEPTED = "accepted"  # the gateway / SMTP server took the message
    PERMANENT = "permanent"  # refused for good (bad number, 4xx, rule says no, SMTP 5xx, auth): no retry
    TRANSIENT = "transient"  # certainly not sent (connect failure, 5xx, 429, SMTP 4xx): safe to retry
    AMBIGUOUS = "ambiguous"  # may have been sent (timeout or disconnect after the request): do not re-send


@dataclass(frozen=True)
class Outgoing:
    notification_id: int
    channel: str  # sms / whatsapp / email
    recipient: str  # E.164 phone (+62...) or e-mail address
    subject: str | None  # e-mail only
    body: str  # plain text
    html: str | None = None  # e-mail HTML alternative part, when there is one
    event: str | None = None  # the row's event ("receipt", "answer:<id>", …): what recording it involves


@dataclass(frozen=True)
class SendResult:
    verdict: Verdict
    gateway: str  # the configured gateway name ("log", "smtp", "wa", ...)
    provider_id: str | None = None
    error: str | None = None  # short reason for staff; never the body, never the full recipient


class Channel(Protocol):
    """Sends one message; never raises for a network or gateway problem (that is a SendResult)."""

    name: str

    def send(self, message: Outgoing) -> SendResult: ...


@dataclass(frozen=True)
class Receipt:
    """A delivery report a gateway POSTs back to us, normalised."""

    provider_id: str
    status: str  # delivered / failed / sent
    detail: str | None = None


class ConfigError(SettingsConfigError):
    """Bad channel or gateway configuration; the message names the setting and what is wrong.

    A subclass of the settings' ConfigError, so every `aduan` command already stops on it with
    exit code 78 and the message.
    """


mask_recipient = mask_contact  # enough to recognise a recipient in a log line, not to contact them


_PHONE_LIKE = re.compile(r"\+?\d[\d\s.-]{6,}\d")
_EMAIL_LIKE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _mask_number(match: re.Match[str]) -> str:
    """A run of 8 or more digits is a phone number: masked. Shorter runs (SMTP codes such as
    "550 5.1.1", amounts) are left as they are."""
    digits = re.sub(r"[\s.-]", "", match.group(0))
    return mask_recipient(digits) if len(digits) >= 8 else match.group(0)


def short_reason(text: str, limit: int = 120) -> str:
    """A provider's reason made safe for staff screens and logs: no full numbers or addresses, short."""
    text = " ".join(text.split())
    text = _EMAIL_LIKE.sub(lambda m: mask_recipient(m.group(0)), text)
    text = _PHONE_LIKE.sub(_mask_number, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LogChannel:
    """The embedded default: the notification row is the record; the log gets a masked line."""

    name = "log"

    def send(self, message: Outgoing) -> SendResult:
        log.info(
            "notify[%s] #%s to %s (%d chars) via log: not sent, only recorded",
            message.channel,
            message.notification_id,
            mask_recipient(message.recipient),
            len(message.body),
        )
        return SendResult(Verdict.ACCEPTED, self.name, provider_id=f"log-{message.notification_id}")
