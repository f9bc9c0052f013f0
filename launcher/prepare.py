"""`aduan prepare`: what `aduan up` does before its children start, run in a child of its own.

The supervisor stays a thin parent (the standard library only) for as long as the system runs; the
settings, the channel and template checks, the migrations and the first admin, which import most
of the application, live in this short-lived process and hand the supervisor one JSON line.
"""

from __future__ import annotations

from typing import Any

from launcher.admin import ensure_admin
from services.notify.channels import load_channels
from services.notify.messages import check_templates
from shared.migrate import upgrade
from shared.settings import Settings, get_settings
from shared.sop import CHOICE_LABELS, ReplyMethod


def delivery_methods(settings: Settings) -> str:
    """The banner's line on how `deliver` can reach a complainant: which message methods really send."""
    kinds = (ReplyMethod.SMS, ReplyMethod.WHATSAPP, ReplyMethod.EMAIL)
    sending = [CHOICE_LABELS[k] for k in kinds if k.value not in settings.log_only_kinds()]
    logged = [CHOICE_LABELS[k] for k in kinds if k.value in settings.log_only_kinds()]
    line = "langsung, telepon, surat" + (f"; terkirim lewat {', '.join(sending)}" if sending else "")
    if logged:
        what = "diterima (demo: ADUAN_DEMO_LOG_CHANNELS)" if settings.demo_log_channels else "ditolak"
        line += f"; {', '.join(logged)} hanya dicatat, tidak terkirim: {what}"
    return line


def prepare() -> dict[str, Any]:
    """Check the configuration, migrate, make the first admin; what `up` needs (launcher.supervisor.Plan)."""
    settings = get_settings()
    # Bad channel settings or a broken message template stop `up` here (ConfigError: exit 78).
    channels = load_channels(settings)
    templates = check_templates(settings)
    upgrade(settings)
    admin_password = ensure_admin()
    banner = [f"saluran                {line}" for line in channels.describe()]
    banner.append(f"penyampaian jawaban    {delivery_methods(settings)}")
    banner.append(f"templat pesan          {templates}")
    return {
        "data_dir": str(settings.data_dir),
        "host": settings.host,
        "intake_port": settings.intake_port,
        "staff_port": settings.staff_port,
        "background_nice": settings.background_nice,
        "embedded": settings.embedded,
        "broker_url": settings.broker_url,
        "database": f"SQLite {settings.sqlite_path}" if settings.embedded else "PostgreSQL",
        "banner": banner,
        "admin_password": admin_password,
    }
