"""Channels from settings: presets, validation at start-up, the per-kind choice and receipts."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationError

from services.notify.channels.base import Channel, ConfigError, LogChannel, Outgoing, Receipt
from services.notify.channels.gateway import STRUCTURAL_KEYS, GatewaySpec, HttpGatewayChannel, placeholders
from services.notify.channels.smtp import SmtpChannel, SmtpConfig
from shared.settings import PLACEHOLDER_SECRETS, Settings

KINDS = ("sms", "whatsapp", "email")
LOG_LINE = "log (tidak terkirim, hanya dicatat)"
_NESTED = ("headers", "fields", "success", "receipt")


@lru_cache
def presets() -> dict[str, dict[str, Any]]:
    """The shipped presets (services/notify/presets/*.toml), by file name."""
    folder = resources.files("services.notify").joinpath("presets")
    return {
        entry.name.removesuffix(".toml"): tomllib.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


class Channels:
    """The channel of each kind and the gateways' receipt rules, built once at process start."""

    def __init__(
        self,
        by_kind: Mapping[str, Channel],
        lines: Mapping[str, str],
        gateways: Mapping[str, HttpGatewayChannel],
        warnings: Sequence[str] = (),
        longest_send: float = 0.0,
    ) -> None:
        self._by_kind = dict(by_kind)
        self._lines = dict(lines)
        self._gateways = dict(gateways)
        self._warnings = list(warnings)
        # the longest one send may take (the slowest channel's timeouts), in seconds
        self.longest_send = longest_send

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several sends in a row: the SMTP channel keeps its connection open between messages and
        each gateway reuses one HTTP client, until the block ends."""
        with ExitStack() as stack:
            for channel in {id(c): c for c in self._by_kind.values()}.values():
                if isinstance(channel, SmtpChannel | HttpGatewayChannel):
                    stack.enter_context(channel.batch())
            yield

    def lanes(self, messages: Sequence[Outgoing]) -> list[list[Outgoing]]:
        """`messages` grouped by the channel that carries them (each group in order): a group can
        be sent beside the others, each on its own connection. An unknown kind is a group of its
        own (its send fails as any other)."""
        lanes: dict[int, list[Outgoing]] = {}
        for message in messages:
            channel = self._by_kind.get(message.channel)
            lanes.setdefault(id(channel), []).append(message)
        return list(lanes.values())

    @contextmanager
    def batch_of(self, kind: str) -> Iterator[None]:
        """`batch` for the one channel that carries `kind` (a lane of its own thread)."""
        channel = self._by_kind.get(kind)
        if isinstance(channel, SmtpChannel | HttpGatewayChannel):
            with channel.batch():
                yield
        else:
            yield

    def for_kind(self, kind: str) -> Channel:
        """The channel that carries `kind` (sms / whatsapp / email)."""
        try:
            return self._by_kind[kind]
        except KeyError:
            raise ValueError(f"unknown channel kind {kind!r} (one of {', '.join(KINDS)})") from None

    def describe(self) -> list[str]:
        """Banner lines: which kinds go out through which gateway, and which only log; warnings."""
        return [f"{kind}: {self._lines[kind]}" for kind in KINDS] + self._warnings

    def live(self, kind: str) -> bool:
        """False when `kind` goes to the log channel (nothing leaves the machine)."""
        return not isinstance(self.for_kind(kind), LogChannel)

    def receipt_secret(self, gateway: str) -> str | None:
        """The secret a receipts callback for `gateway` must carry; None: receipts are not enabled."""
        channel = self._gateways.get(gateway)
        if channel is None or channel.spec.receipt is None:
            return None
        return channel.spec.receipt_secret

    def parse_receipt(self, gateway: str, payload: Mapping[str, Any]) -> list[Receipt]:
        """Reports in a callback; ConfigError: receipts not enabled there; ValueError: bad payload."""
        channel = self._gateways.get(gateway)
        if channel is None:
            raise ConfigError(f"no gateway {gateway!r} in ADUAN_GATEWAYS")
        if channel.spec.receipt is None or channel.spec.receipt_secret is None:
            raise ConfigError(
                f"gateway {gateway!r} does not take receipts (needs a receipt rule and receipt_secret)"
            )
        return channel.parse_receipt(payload)


def _merge(preset: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**preset, **own}
    for key in _NESTED:
        if isinstance(preset.get(key), Mapping) and isinstance(own.get(key), Mapping):
            merged[key] = {**preset[key], **own[key]}
    return merged


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(gateway)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def build_gateway(name: str, raw: Any) -> HttpGatewayChannel:
    """One gateway from its ADUAN_GATEWAYS entry; ConfigError says what is wrong."""
    where = f"ADUAN_GATEWAYS[{name!r}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a JSON object, got {type(raw).__name__}")
    preset_name = raw.get("preset")
    base: dict[str, Any] = {}
    if preset_name is not None:
        known = presets()
        if preset_name not in known:
            raise ConfigError(f"{where}: unknown preset {preset_name!r} (known: {', '.join(sorted(known))})")
        base = known[preset_name]
    merged = _merge(base, raw)
    params = {k: v for k, v in merged.items() if k not in STRUCTURAL_KEYS}
    structural = {k: v for k, v in merged.items() if k in STRUCTURAL_KEYS}
    try:
        spec = GatewaySpec.model_validate(structural)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_pydantic_message(exc)}") from None
    needed = placeholders(spec)
    for key in sorted(params):
        if key not in needed:
            raise ConfigError(
                f"{where}: unknown key {key!r} (neither an HTTP gateway field nor a {{{key}}} "
                f"placeholder of its url, headers or fields)"
            )
        if not isinstance(params[key], str):
            raise ConfigError(f"{where}.{key} must be a string")
    for key in sorted(needed):
        value = params.get(key)
        if value is None or not value.strip():
            label = f" (preset {preset_name})" if preset_name else ""
            raise ConfigError(f"{where}{label}: {key} is missing")
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ConfigError(f"{where}.{key} is a placeholder value; set the real one")
    channel = HttpGatewayChannel(name, spec, params)
    url = urlsplit(channel.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"{where}.url must be an http(s) URL with a host")
    if spec.receipt is not None:
        spec.receipt.statuses = {k.strip().lower(): v for k, v in spec.receipt.statuses.items()}
    if spec.receipt_secret is not None and len(spec.receipt_secret) < 16:
        raise ConfigError(f"{where}.receipt_secret must be at least 16 characters")
    return channel


def _gateways(settings: Settings) -> dict[str, HttpGatewayChannel]:
    text = settings.gateways.get_secret_value().strip() or "{}"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        # The position, not the text: the value holds tokens.
        raise ConfigError(f"ADUAN_GATEWAYS is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            'ADUAN_GATEWAYS must be a JSON object of named gateways, e.g. {"wa": {"preset": "fonnte", ...}}'
        )
    return {str(name): build_gateway(str(name), entry) for name, entry in raw.items()}


def _smtp(settings: Settings) -> SmtpChannel:
    s = settings
    required = (("ADUAN_SMTP_HOST", s.smtp_host), ("ADUAN_SMTP_FROM", s.smtp_from))
    missing = [env for env, value in required if not value]
    if missing:
        raise ConfigError(f"ADUAN_EMAIL_BACKEND=smtp needs {' and '.join(missing)}")
    if s.smtp_security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"ADUAN_SMTP_SECURITY={s.smtp_security!r}: use starttls, ssl or none")
    if not 0 < s.smtp_port < 65536:
        raise ConfigError(f"ADUAN_SMTP_PORT={s.smtp_port}: not a TCP port")
    if s.smtp_timeout <= 0:
        raise ConfigError("ADUAN_SMTP_TIMEOUT must be more than 0 seconds")
    password = s.smtp_password.get_secret_value() if s.smtp_password else None
    if (s.smtp_username is None) != (password is None):
        raise ConfigError("ADUAN_SMTP_USERNAME and ADUAN_SMTP_PASSWORD go together: set both or neither")
    if s.smtp_ca_file is not None and not s.smtp_ca_file.is_file():
        raise ConfigError(f"ADUAN_SMTP_CA_FILE={s.smtp_ca_file}: no such file")
    try:
        sender = validate_email(s.smtp_from or "", check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ConfigError(f"ADUAN_SMTP_FROM={s.smtp_from!r} is not an e-mail address ({exc})") from None
    return SmtpChannel(
        SmtpConfig(
            host=s.smtp_host or "",
            port=s.smtp_port,
            security=s.smtp_security,
            username=s.smtp_username,
            password=password,
            from_address=sender,
            from_name=s.smtp_from_name or s.office_name,
            timeout=s.smtp_timeout,
            ca_file=s.smtp_ca_file,
        )
    )


def load_channels(settings: Settings) -> Channels:
    """Validate the channel settings and build every channel; ConfigError at start-up, never at a send."""
    log_channel = LogChannel()
    gateways = _gateways(settings)
    by_kind: dict[str, Channel] = {}
    lines: dict[str, str] = {}
    for kind, env, choice in (
        ("sms", "ADUAN_SMS_GATEWAY", settings.sms_gateway),
        ("whatsapp", "ADUAN_WHATSAPP_GATEWAY", settings.whatsapp_gateway),
    ):
        if choice is None or kind in settings.log_only_kinds():
            by_kind[kind], lines[kind] = log_channel, LOG_LINE
            continue
        gateway = gateways.get(choice.strip())
        if gateway is None:
            names = ", ".join(sorted(gateways)) or "none"
            raise ConfigError(f"{env}={choice!r}: no such gateway in ADUAN_GATEWAYS (configured: {names})")
        if kind not in gateway.spec.kinds:
            raise ConfigError(
                f"{env}={choice!r}: gateway {choice!r} carries only "
                f"{', '.join(gateway.spec.kinds)}, not {kind}"
            )
        by_kind[kind], lines[kind] = gateway, gateway.describe()
    if settings.email_backend == "log":
        by_kind["email"], lines["email"] = log_channel, LOG_LINE
    elif settings.email_backend == "smtp":
        smtp = _smtp(settings)
        by_kind["email"], lines["email"] = smtp, smtp.describe()
    else:
        raise ConfigError(f"ADUAN_EMAIL_BACKEND={settings.email_backend!r}: use log or smtp")
    _check_lease(settings, gateways)
    live = any(not isinstance(channel, LogChannel) for channel in by_kind.values())
    warnings = _link_warnings(settings) if live else []
    return Channels(by_kind, lines, gateways, warnings, max(_longest_sends(settings, gateways)))


def _link_warnings(settings: Settings) -> list[str]:
    """Messages that really leave carry links on ADUAN_PUBLIC_BASE_URL: a local address is a
    mistake worth saying at start-up (not an error: a test bench sends to local gateways)."""
    host = urlsplit(settings.public_base_url).hostname or ""
    if host == "localhost" or host == "::1" or host.startswith("127."):
        return [
            f"peringatan: ADUAN_PUBLIC_BASE_URL={settings.public_base_url} adalah alamat lokal; "
            "tautan pelacakan dan survei dalam pesan tidak akan terbuka di ponsel pengadu"
        ]
    return []


def _longest_sends(settings: Settings, gateways: dict[str, HttpGatewayChannel]) -> tuple[float, float]:
    """The longest a phone message and an e-mail may take to send, from the timeouts (seconds)."""
    phone = max((g.spec.connect_timeout + g.spec.read_timeout for g in gateways.values()), default=0.0)
    email = settings.smtp_timeout * 4 if settings.email_backend == "smtp" else 0.0  # connect, TLS/AUTH, DATA
    return phone, email


def _check_lease(settings: Settings, gateways: dict[str, HttpGatewayChannel]) -> None:
    """A send still in flight must not look lost: the lease outlasts the slowest possible sends of
    one task (a receipt goes to a phone channel and to e-mail, one after the other)."""
    longest = sum(_longest_sends(settings, gateways))
    if settings.notify_send_lease <= longest:
        raise ConfigError(
            f"ADUAN_NOTIFY_SEND_LEASE={settings.notify_send_lease:g} must exceed the longest send "
            f"({longest:g} s from the gateway and SMTP timeouts), or a slow send would be sent twice"
        )
