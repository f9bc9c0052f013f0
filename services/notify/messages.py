"""Message texts to citizens (Bahasa Indonesia), rendered from Jinja2 templates."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from shared.tasks import NotifyEvent

_env = Environment(
    loader=PackageLoader("services.notify", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain-text SMS/WhatsApp/e-mail bodies, never HTML
    trim_blocks=True,
    lstrip_blocks=True,
)

SUBJECTS = {
    NotifyEvent.RECEIPT: "Tanda terima pengaduan {ticket}",
    NotifyEvent.ANSWER: "Jawaban pengaduan {ticket}",
}


def render(event: NotifyEvent, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of the message for `event`. The context never carries NIK or address."""
    body = _env.get_template(f"{event.value}.txt.j2").render(**context).strip() + "\n"
    return SUBJECTS[event].format(**context), body
