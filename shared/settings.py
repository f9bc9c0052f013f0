"""One settings class for every process; every knob is an `ADUAN_*` environment variable."""

from __future__ import annotations

import base64
import json
import os
import secrets
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.calendar import DEFAULT_HOURS, DEFAULT_RAMADAN_HOURS, parse_weekly
from shared.sop import Role, Step

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "changethis", ""}


DEFAULT_ESCALATION_CHAIN = {
    "front_office": "kasubag_umum",
    "kasubag_umum": "sekretaris",
    "bidang": "sekretaris",
    "sekretaris": "kepala_dinas",
}


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run; the message says what to set."""


class RamadanPeriod(BaseModel):
    """Dates (inclusive) with their own office hours, e.g. {"first": "2027-02-08", "last": ...}."""

    first: date
    last: date
    hours: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_RAMADAN_HOURS))


class Settings(BaseSettings):
    """Configuration of every Aduan process, read from `ADUAN_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ADUAN_", extra="ignore")

    # Where the embedded default keeps its SQLite database, broker folder, keys and logs.
    data_dir: Path = Path("var")
    # Unset: the embedded SQLite database in data_dir. Production: a postgresql:// URL.
    database_url: str | None = None
    # Unset: `aduan up` spawns redis-server when on PATH, else kombu's filesystem:// transport.
    broker_url: str | None = None
    # Signs staff tokens. Required outside the embedded default.
    secret_key: SecretStr | None = None
    # 32-byte key (urlsafe base64) that encrypts NIK and tracking codes at rest.
    data_key: SecretStr | None = None

    host: str = "127.0.0.1"
    intake_port: int = 8000
    staff_port: int = 8001
    api_workers: int = 1
    worker_concurrency: int = 1
    db_pool_size: int = 10
    db_max_overflow: int = 10

    token_ttl: timedelta = timedelta(hours=8)
    ticket_prefix: str = "ADU"
    public_base_url: str = "http://127.0.0.1:8000"
    office_name: str = "Dinas Tenaga Kerja, Perindustrian dan Transmigrasi Kabupaten Wonosobo"
    office_address: str = "Kabupaten Wonosobo, Jawa Tengah"  # under the name on printed letterheads
    office_city: str = "Wonosobo"  # where prints are signed: "Wonosobo, 3 Desember 2026"
    kiosk_key_cache_seconds: float = 30.0
    # The kiosk page (/kios): it goes back to an empty form after this many seconds without a touch
    # (and after the receipt is printed); an enrolment link (`aduan kiosks add NAME --enrol`) opens
    # once, within this long.
    kiosk_idle_reset: int = Field(default=90, ge=15, le=3600)
    kiosk_enrol_ttl: timedelta = timedelta(hours=24)
    # The same form for the public web at /lapor (with a honeypot field, and ADUAN_LIMIT_WEB_FORM_ADDRESS
    # posts per client address); filed under the kiosk `formulir-web`, which `aduan kiosks revoke` closes.
    public_web_form: bool = False
    # How long the office keeps a closed complaint's personal data (stated on the kiosk's consent
    # statement, UU 27/2022).
    data_retention_years: int = Field(default=5, ge=1, le=30)

    # Step deadlines count office time: weekly hours with breaks, Indonesian holidays (the
    # `holidays` package), cuti bersama when it closes the office, Ramadan hours, admin overrides.
    # `always_open` is a 24/7 calendar (tests, or an office that never closes).
    calendar: Literal["office", "always_open"] = "office"
    office_hours: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_HOURS))
    ramadan: list[RamadanPeriod] = Field(default_factory=list)
    cuti_bersama_closes: bool = True
    # Reminder to the holder at this share of the step's budget; at breach the next level of the
    # chain is told, at twice the budget the kepala dinas.
    reminder_share: float = Field(default=0.75, gt=0, lt=1)
    # Who hears of a breach, per holding role; a setting naming some roles keeps the defaults of
    # the others (ADUAN_ESCALATION_CHAIN='{"bidang": "kepala_dinas"}' changes only the bidang's).
    escalation_chain: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ESCALATION_CHAIN))
    # Legal clocks beside the step clock, in calendar days from receipt: the first reply to the
    # complainant (UU 25/2009) and the decision (Perpres 76/2013).
    legal_first_reply: timedelta = timedelta(days=14)
    legal_decision: timedelta = timedelta(days=60)
    # A complaint waiting this long for the complainant's documents is flagged (treated as
    # withdrawn in Ombudsman practice).
    pause_limit: timedelta = timedelta(days=30)
    # A standard of whole days counts each as this much open time (P1D = one working day).
    working_day: timedelta = timedelta(hours=7, minutes=30)
    # Per-step time standards (ISO 8601 durations, office time); unset keeps the SOP's standard.
    sla_verification: timedelta | None = None
    sla_review: timedelta | None = None
    sla_disposition: timedelta | None = None
    sla_drafting: timedelta | None = None
    sla_answer_review: timedelta | None = None
    sla_delivery: timedelta | None = None

    # The sweeper: how often it runs, and how the outbox reconciler re-sends lost messages.
    sweep_interval: float = 2.0
    # On PostgreSQL the sweeper also relays, this often, the outbox rows written due at once (the
    # intake API's receipts), so the API process spends no CPU on the broker.
    relay_interval: float = Field(default=0.2, gt=0)
    # `aduan up` runs the workers and the sweeper at this nice level (0: same as the APIs), so a
    # burst of filings gets the CPU first and the background drains its backlog afterwards.
    background_nice: int = Field(default=10, ge=0, le=19)
    outbox_grace: float = 10.0
    outbox_max_attempts: int = 8
    outbox_batch: int = 200
    # Processed outbox rows are transport, not record (history is): pruned after this long.
    outbox_retention: timedelta = timedelta(days=7)
    broker_visibility_timeout: int = 3600

    # The notify service. A message a gateway could not take for now (5xx, connection refused,
    # timeout before sending) is tried again after notify_retry_base x 2^(n-1) seconds (at most
    # notify_retry_max_delay), of which a random 50-100 %, up to notify_max_attempts sends; then it is
    # dead-lettered (status failed). The retry time is a row the sweeper watches, not a countdown.
    notify_max_attempts: int = Field(default=6, ge=1)
    notify_retry_base: float = Field(default=30.0, gt=0)
    notify_retry_max_delay: float = Field(default=3600.0, gt=0)
    # A message a worker claimed and never reported on after this long (the worker died mid-send)
    # is sent once more; a second such loss leaves it ambiguous, for a person to decide.
    notify_send_lease: float = Field(default=120.0, gt=0)
    # Office-editable message templates: a file here overrides the shipped one of the same name.
    templates_dir: Path | None = None
    # Where staff notices link to (the staff console / API).
    staff_base_url: str = "http://127.0.0.1:8001"
    broker_polling_interval: float = 0.05

    # Message channels (services/notify/channels). Unset, every kind goes to the log channel: the
    # notification row is the record and nothing leaves the machine.
    # E-mail: `log` or `smtp`. Security: `starttls` (port 587), `ssl` (465) or `none` (25, a relay
    # on the same host). Checked by load_channels at start-up, with a message naming the setting.
    email_backend: str = "log"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None  # the sender address, e.g. pengaduan@disnakertrans.wonosobokab.go.id
    smtp_from_name: str | None = None  # unset: office_name
    smtp_timeout: float = 15.0
    smtp_ca_file: Path | None = None  # an extra CA certificate to trust (the office's own mail server)
    # SMS and WhatsApp gateways: a JSON object of named gateways, each a preset (fonnte, wablas,
    # zenziva, zenziva-wa) with its keys, or all fields of the generic HTTP adapter, e.g.
    # {"wa": {"preset": "fonnte", "token": "..."}}. Kept as text so that bad JSON is a start-up
    # ConfigError with the setting's name, not a traceback.
    gateways: SecretStr = SecretStr("{}")
    # Which gateway each kind uses (a name from ADUAN_GATEWAYS); unset or `log`: the log channel.
    sms_gateway: str | None = None
    whatsapp_gateway: str | None = None
    # An answer delivered by a method whose channel only logs would close the complaint `answered`
    # with nobody told: `deliver` refuses it (422 channel_not_configured) unless this demo switch is on.
    demo_log_channels: bool = False

    # Rate limits, each "N/period" as the `limits` library reads it ("10/15 minutes", "600/hour"),
    # or "off". A window opens at its first count and closes after the period; over the limit the
    # API answers 429 with Retry-After. The counters are in Redis when Redis is the broker, else in
    # the database, so every API process shares them. Defaults a busy office never reaches.
    # Wrong tracking codes (tracking and survey, JSON and pages) per client address and per ticket:
    limit_lookup_address: str = "100/10 minutes"
    limit_lookup_ticket: str = "20/hour"
    # Failed sign-ins (API and console): of one username from one address (a short lockout), of one
    # username from any address not yet known for it, and from one address for any username. An
    # address the account signed in from before is only held by its own failures there, so an
    # attacker elsewhere cannot lock an officer out; `aduan users unlock` lifts a lockout.
    limit_sign_in_pair: str = "10/15 minutes"
    limit_sign_in_user: str = "50/15 minutes"
    limit_sign_in_address: str = "100/hour"
    # Complaints filed per kiosk (a kiosk filing every 30 s all day is 120 an hour).
    limit_filing_kiosk: str = "600/hour"
    # Submissions of a public web form per client address.
    limit_web_form_address: str = "20/hour"

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _absolute_data_dir(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        return self

    @model_validator(mode="after")
    def _hours_are_valid(self) -> Settings:
        try:
            parse_weekly(self.office_hours)  # raises ValueError with the offending day
        except ValueError as exc:
            raise ValueError(f"ADUAN_OFFICE_HOURS: {exc}") from None
        for period in self.ramadan:
            if period.last < period.first:
                raise ValueError(f"ADUAN_RAMADAN {period.first}..{period.last}: last before first")
            try:
                parse_weekly(period.hours)
            except ValueError as exc:
                raise ValueError(f"ADUAN_RAMADAN {period.first}..{period.last}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _sla_is_valid(self) -> Settings:
        roles = {role.value for role in Role if role != Role.ADMIN}  # admin holds no step
        self.escalation_chain = {**DEFAULT_ESCALATION_CHAIN, **self.escalation_chain}
        for holder, target in self.escalation_chain.items():
            if holder not in roles or target not in roles:
                raise ValueError(
                    f"ADUAN_ESCALATION_CHAIN {holder!r} -> {target!r}: roles are {', '.join(sorted(roles))}"
                )
            if holder == target:
                raise ValueError(f"ADUAN_ESCALATION_CHAIN {holder!r} escalates to itself")
        for step in Step:
            value: timedelta | None = getattr(self, f"sla_{step.value}")
            if value is not None and value <= timedelta(0):
                raise ValueError(f"ADUAN_SLA_{step.value.upper()} must be a positive duration (e.g. PT30M)")
        for name in ("legal_first_reply", "legal_decision", "pause_limit", "working_day"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"ADUAN_{name.upper()} must be a positive duration")
        return self

    @model_validator(mode="after")
    def _limits_are_valid(self) -> Settings:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name.startswith("limit_") and value.strip().lower() != "off":
                try:
                    usable = limits.parse(value).amount > 0
                except ValueError:
                    usable = False
                if not usable:
                    raise ValueError(
                        f"ADUAN_{name.upper()} {value!r}: write N/period (10/15 minutes, 600/hour) or off"
                    )
        return self

    @property
    def embedded(self) -> bool:
        """True when running on the embedded SQLite default."""
        return self.database_url is None or self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "aduan.db"

    def log_only_kinds(self) -> frozenset[str]:
        """The message kinds (sms, whatsapp, email) that go to the log channel: nothing is sent."""
        choices = {"sms": self.sms_gateway, "whatsapp": self.whatsapp_gateway}
        logged = {kind for kind, choice in choices.items() if choice is None or choice.strip() in ("", "log")}
        if self.email_backend == "log":
            logged.add("email")
        return frozenset(logged)

    def sync_database_url(self) -> str:
        """URL for the synchronous engine (workers, staff API, CLI, migrations)."""
        url = self.database_url or f"sqlite:///{self.sqlite_path}"
        return _with_driver(url, sync=True)

    def async_database_url(self) -> str:
        """URL for the asynchronous engine (intake API)."""
        url = self.database_url or f"sqlite:///{self.sqlite_path}"
        return _with_driver(url, sync=False)

    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    def secret_key_value(self) -> str:
        return _require(self.secret_key, "ADUAN_SECRET_KEY")

    def data_key_bytes(self) -> bytes:
        raw = _require(self.data_key, "ADUAN_DATA_KEY")
        try:
            key = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4))
        except ValueError as exc:
            raise ConfigError("ADUAN_DATA_KEY must be 32 bytes in urlsafe base64") from exc
        if len(key) != 32:
            raise ConfigError("ADUAN_DATA_KEY must be 32 bytes in urlsafe base64")
        return key


def _require(value: SecretStr | None, name: str) -> str:
    if value is None or value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
        raise ConfigError(
            f"{name} is not set. Outside the embedded default every secret must come from the "
            f"environment (generate one with: python -c 'import secrets; "
            f"print(secrets.token_urlsafe(32))')."
        )
    return value.get_secret_value()


def _with_driver(url: str, *, sync: bool) -> str:
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0]
    if base in {"postgresql", "postgres"}:
        return f"postgresql+{'psycopg' if sync else 'asyncpg'}{sep}{rest}"
    if base == "sqlite":
        return f"sqlite{'' if sync else '+aiosqlite'}{sep}{rest}"
    raise ConfigError(f"unsupported database URL scheme {scheme!r}: use postgresql:// or sqlite://")


def _embedded_secrets(data_dir: Path) -> dict[str, str]:
    """Create (once) and read the embedded default's keys, kept in the data folder with mode 600."""
    path = data_dir / "secrets.json"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        values = {
            "secret_key": secrets.token_urlsafe(32),
            "data_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(values, fh)
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def _explain(exc: ValidationError) -> str:
    """One line per wrong setting, named as the environment spells it; values are not echoed."""
    lines = []
    for error in exc.errors():
        where = "_".join(str(part) for part in error["loc"] if isinstance(part, str))
        name = f"ADUAN_{where.upper()}: " if where else ""
        lines.append(name + error["msg"].removeprefix("Value error, "))
    return "; ".join(lines)


def running_broker(data_dir: Path) -> str | None:
    """The broker of the `aduan up` running on this data folder, or None when none runs there."""
    run_dir = data_dir / "run"
    try:
        pid = int((run_dir / "up.pid").read_text())
        os.kill(pid, 0)  # a supervisor killed without cleaning up leaves a stale file behind
        return (run_dir / "broker_url").read_text().strip() or None
    except (OSError, ValueError):
        return None


def load_settings() -> Settings:
    """Read the environment; on the embedded default, fill missing keys from the data folder."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    if settings.embedded and settings.broker_url is None:
        # `aduan up` is running on this data folder: CLI commands publish to its broker.
        settings.broker_url = running_broker(settings.data_dir)
    if settings.embedded and (settings.secret_key is None or settings.data_key is None):
        kept = _embedded_secrets(settings.data_dir)
        if settings.secret_key is None:
            settings.secret_key = SecretStr(kept["secret_key"])
        if settings.data_key is None:
            settings.data_key = SecretStr(kept["data_key"])
    settings.secret_key_value()
    settings.data_key_bytes()
    return settings


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, validated once."""
    return load_settings()
