"""Channels that carry a message to a citizen: SMTP e-mail, SMS and WhatsApp through configured HTTP
gateways, and the log channel (the embedded default).

Build once per process with `load_channels(settings)` (or `get_channels()`), then
`channels.for_kind("sms").send(Outgoing(...))`: a send never raises for a network or gateway
problem; its `SendResult.verdict` says whether the message went, failed for good, may be retried, or
may have gone (ambiguous, not to be re-sent blindly).
"""

from __future__ import annotations

from functools import lru_cache

from services.notify.channels.base import (
    Channel,
    ConfigError,
    LogChannel,
    Outgoing,
    Receipt,
    SendResult,
    Verdict,
    mask_recipient,
)
from services.notify.channels.config import Channels, load_channels, presets
from shared.settings import get_settings

__all__ = [
    "Channel",
    "Channels",
    "ConfigError",
    "LogChannel",
    "Outgoing",
    "Receipt",
    "SendResult",
    "Verdict",
    "get_channels",
    "load_channels",
    "mask_recipient",
    "presets",
]


@lru_cache
def get_channels() -> Channels:
    """The process-wide channels, from the process-wide settings (validated on first call)."""
    return load_channels(get_settings())
