"""One configured HTTP adapter for SMS and WhatsApp gateways: the vendor is data, not code."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from services.notify.channels.base import (
    Outgoing,
    Receipt,
    SendResult,
    Verdict,
    log,
    mask_recipient,
    short_reason,
)

Scalar = str | bool | int | float
Kind = Literal["sms", "whatsapp"]
_ALL_KINDS: tuple[Kind, ...] = ("sms", "whatsapp")
_E164 = re.compile(r"^\+\d{8,15}$")
_MISSING = object()
KEEPALIVE_IDLE = 1.0  # seconds a kept connection may wait for the next message of a batch


class SuccessRule(BaseModel):
    """How a 2xx reply tells success and the provider's message id (dotted JSON paths, `a.0.b`)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None  # unset: every 2xx is a success
    equals: Scalar = True
    id_path: str | None = None
    reason_path: str | None = None  # the provider's reason when it says no


class ReceiptRule(BaseModel):
    """How to read the delivery reports the gateway POSTs back (JSON or form fields)."""

    model_config = ConfigDict(extra="forbid")

    items_path: str | None = None  # set when one callback carries a list of reports
    id_field: str
    status_field: str
    detail_field: str | None = None
    # provider status (compared lower-case) -> delivered / failed / sent; others are ignored
    statuses: dict[str, Literal["delivered", "failed", "sent"]]


class GatewaySpec(BaseModel):
    """A gateway's whole configuration: its preset's fields overridden by its own."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = None
    label: str | None = None
    kinds: list[Kind] = Field(default_factory=lambda: list(_ALL_KINDS))
    method: Literal["GET", "POST", "PUT"] = "POST"
    url: str
    body: Literal["form", "json"] = "form"  # GET sends the fields as query parameters
    recipient_field: str
    text_field: str
    phone_format: Literal["08", "62", "+62"] = "62"
    headers: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, Scalar] = Field(default_factory=dict)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    success: SuccessRule = Field(default_factory=SuccessRule)
    receipt: ReceiptRule | None = None
    receipt_secret: str | None = None


STRUCTURAL_KEYS = frozenset(GatewaySpec.model_fields)
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def placeholders(spec: GatewaySpec) -> set[str]:
    """The `{name}` parameters the URL, headers and constant fields use (token, userkey, host, ...)."""
    texts = [spec.url, *spec.headers.values(), *(v for v in spec.fields.values() if isinstance(v, str))]
    return {name for text in texts for name in _PLACEHOLDER.findall(text)}


def fill(text: str, params: Mapping[str, str]) -> str:
    """Replace `{name}` with its parameter; other braces (JSON in a constant) stay as they are."""
    return _PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), text)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (`data.messages.0.id`), or _MISSING."""
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def matches(value: Any, expected: Scalar) -> bool:
    """`status == true` matches true and "true"; `status == "1"` matches "1" and 1."""
    return value is not _MISSING and value is not None and _norm(value) == _norm(expected)


def format_phone(e164: str, style: str) -> str:
    """+6281234567890 as the gateway wants it: `08…`, `62…` or `+62…`."""
    if style == "+62":
        return e164
    if style == "08" and e164.startswith("+62"):
        return "0" + e164[3:]
    return e164[1:]  # 62…, and numbers from abroad for an `08` gateway (no national form exists)


def _scalar_text(value: Any) -> str | None:
    if value is _MISSING or value is None:
        return None
    if isinstance(value, list):  # Fonnte returns one id per target, as a list
        return _scalar_text(value[0]) if value else None
    if isinstance(value, dict):
        return None
    return str(value)


_REASON_KEYS = ("reason", "message", "detail", "text", "error", "msg")


def _reason(data: Any, rule: SuccessRule) -> str | None:
    paths = ([rule.reason_path] if rule.reason_path else []) + list(_REASON_KEYS)
    for path in paths:
        value = lookup(data, path)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


class HttpGatewayChannel:
    """Sends SMS or WhatsApp through a configured HTTP gateway (httpx, synchronous)."""

    def __init__(self, name: str, spec: GatewaySpec, params: Mapping[str, str]) -> None:
        self.name = name
        self.spec = spec
        self._url = fill(spec.url, params)
        self._headers = {k: fill(v, params) for k, v in spec.headers.items()}
        self._fields = {k: fill(v, params) if isinstance(v, str) else v for k, v in spec.fields.items()}
        self._parsed_url = httpx.URL(self._url)  # parsed once, not per message
        self._timeout = httpx.Timeout(spec.read_timeout, connect=spec.connect_timeout).as_dict()
        self._tls = ssl.create_default_context()  # built once; a transport per send reuses it
        self._transport: httpx.HTTPTransport | None = None  # within batch(): one for every send

    def _new_transport(self) -> httpx.HTTPTransport:
        # The transport alone, not a Client: a gateway call needs no cookies, auth or redirects
        # (a 3xx is a refusal, as it was when the client did not follow it), and the client's
        # layers over it cost as much CPU as the request itself.
        # Within a batch the connection is kept alive between messages (connect once, not per
        # message). A connection the gateway closed meanwhile would turn a certain "not sent" into
        # an ambiguous "maybe sent", so one idle for KEEPALIVE_IDLE is not reused: far below any
        # gateway's idle timeout (seconds to minutes), while a batch's sends follow each other
        # within milliseconds. The pool also drops a connection the server has closed (it checks
        # before each reuse) or said it will close (`Connection: close`).
        return httpx.HTTPTransport(
            verify=self._tls, limits=httpx.Limits(max_connections=1, keepalive_expiry=KEEPALIVE_IDLE)
        )

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Sends in this block share one HTTP transport and its connection (set up once, not per message)."""
        if self._transport is not None:  # nested: the outer block's transport serves
            yield
            return
        self._transport = self._new_transport()
        try:
            yield
        finally:
            transport, self._transport = self._transport, None
            transport.close()

    @property
    def url(self) -> str:
        return self._url

    def describe(self) -> str:
        """`wa (fonnte, api.fonnte.com)`: never the path or query, which may carry a key."""
        host = urlsplit(self._url).hostname or "?"
        return f"{self.name} ({self.spec.preset or 'http'}, {host})"

    def request(self, message: Outgoing) -> httpx.Request:
        """The HTTP request for `message` (also what the tests compare with each preset)."""
        values: dict[str, Any] = dict(self._fields)
        values[self.spec.recipient_field] = format_phone(message.recipient, self.spec.phone_format)
        values[self.spec.text_field] = message.body
        headers = {"Accept": "application/json", **self._headers}
        extensions = {"timeout": self._timeout}
        url = self._parsed_url
        if self.spec.method == "GET":
            params = {k: _norm(v) if isinstance(v, bool) else str(v) for k, v in values.items()}
            return httpx.Request("GET", url, params=params, headers=headers, extensions=extensions)
        if self.spec.body == "json":
            return httpx.Request(self.spec.method, url, json=values, headers=headers, extensions=extensions)
        form = {k: _norm(v) if isinstance(v, bool) else str(v) for k, v in values.items()}
        return httpx.Request(self.spec.method, url, data=form, headers=headers, extensions=extensions)

    def send(self, message: Outgoing) -> SendResult:
        if not _E164.match(message.recipient):
            result = SendResult(Verdict.PERMANENT, self.name, error="nomor penerima bukan format E.164")
        else:
            result = self._send(message)
        log.info(
            "notify[%s] #%s to %s via %s: %s%s",
            message.channel,
            message.notification_id,
            mask_recipient(message.recipient),
            self.name,
            result.verdict,
            f" ({result.error})" if result.error else "",
        )
        return result

    def _result(self, verdict: Verdict, error: str) -> SendResult:
        return SendResult(verdict, self.name, error=short_reason(error))

    def _send(self, message: Outgoing) -> SendResult:
        # Within batch() the transport (and its kept connection, see _new_transport) is shared.
        try:
            if self._transport is not None:
                response = self._exchange(self._transport, message)
            else:
                with self._new_transport() as transport:
                    response = self._exchange(transport, message)
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            return self._result(Verdict.TRANSIENT, "gateway tidak menjawab saat menyambung")
        except httpx.ConnectError:
            return self._result(Verdict.TRANSIENT, "gateway menolak koneksi atau tidak dapat dihubungi")
        except httpx.TimeoutException:
            return self._result(
                Verdict.AMBIGUOUS,
                "batas waktu habis setelah permintaan terkirim; pesan mungkin sudah terkirim",
            )
        except httpx.LocalProtocolError as exc:
            return self._result(Verdict.PERMANENT, f"permintaan tidak valid: {exc}")
        except httpx.HTTPError as exc:  # read error, remote disconnect, protocol error after sending
            return self._result(
                Verdict.AMBIGUOUS,
                f"koneksi terputus setelah permintaan terkirim ({type(exc).__name__}); "
                "pesan mungkin sudah terkirim",
            )
        return self.verdict(response)

    def _exchange(self, transport: httpx.HTTPTransport, message: Outgoing) -> httpx.Response:
        """Send the request and read the whole reply (the connection is free for the next one)."""
        response = transport.handle_request(self.request(message))
        try:
            response.read()
        finally:
            response.close()
        return response

    def verdict(self, response: httpx.Response) -> SendResult:
        """2xx and the success rule -> ACCEPTED; 408/429/5xx -> TRANSIENT; other refusals -> PERMANENT."""
        code = response.status_code
        try:
            data: Any = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        reason = _reason(data, self.spec.success)
        detail = f": {reason}" if reason else ""
        if code in (408, 429) or code >= 500:
            return self._result(Verdict.TRANSIENT, f"gateway HTTP {code}{detail}")
        if not 200 <= code < 300:
            return self._result(Verdict.PERMANENT, f"ditolak gateway, HTTP {code}{detail}")
        rule = self.spec.success
        if rule.path is not None:
            if data is None:
                return self._result(Verdict.PERMANENT, "jawaban gateway tidak dapat dibaca (bukan JSON)")
            if not matches(lookup(data, rule.path), rule.equals):
                return self._result(Verdict.PERMANENT, f"ditolak gateway: {reason or 'tanpa alasan'}")
        provider_id = _scalar_text(lookup(data, rule.id_path)) if rule.id_path and data is not None else None
        return SendResult(Verdict.ACCEPTED, self.name, provider_id=provider_id)

    def parse_receipt(self, payload: Mapping[str, Any]) -> list[Receipt]:
        """Delivery reports in `payload`; ValueError when it lacks the rule's fields."""
        rule = self.spec.receipt
        if rule is None:
            raise ValueError(f"gateway {self.name!r} has no receipt rule")
        items: Any = [payload]
        if rule.items_path is not None:
            items = lookup(payload, rule.items_path)
            if not isinstance(items, list):
                raise ValueError(f"receipt has no list at {rule.items_path!r}")
        receipts: list[Receipt] = []
        for item in items:
            provider_id = _scalar_text(lookup(item, rule.id_field))
            status = _scalar_text(lookup(item, rule.status_field))
            if provider_id is None or status is None:
                raise ValueError(f"receipt needs {rule.id_field!r} and {rule.status_field!r}")
            normalised = rule.statuses.get(status.strip().lower())
            if normalised is None:
                continue  # a state we do not track (read, pending, ...)
            detail = _scalar_text(lookup(item, rule.detail_field)) if rule.detail_field else None
            receipts.append(Receipt(provider_id, normalised, short_reason(detail) if detail else None))
        return receipts
