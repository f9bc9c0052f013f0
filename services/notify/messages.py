"""Message texts (Bahasa Indonesia), rendered from Jinja2 templates the office can edit.

For each event there is `<event>.subject.j2`, `<event>.txt.j2` and, for e-mail, an optional
`<event>.html.j2`. A file of the same name in ADUAN_TEMPLATES_DIR overrides the shipped one, so
the office changes a wording without touching code. Contexts never carry NIK or the address.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    meta,
    select_autoescape,
)

from shared.settings import ConfigError, Settings, get_settings

# The names a template may use: what services/notify/service.py puts in each message's context
# (an HTML part also gets the rendered `subject`). A name outside these stops start-up.
CITIZEN_NAMES = frozenset(
    {"office", "ticket", "tracking_code", "track_url", "feedback_url", "answer", "full", "merged_into"}
)
STAFF_NAMES = frozenset({"office", "ticket", "kind", "step_title", "holder", "subject", "due", "console_url"})


def names_for(template: str) -> frozenset[str]:
    """The context names `template` ("receipt.txt.j2", "_email.html.j2", …) may use."""
    event = template.split(".", 1)[0]
    names = STAFF_NAMES if event == "staff" else CITIZEN_NAMES
    return names | {"subject"} if template.endswith(".html.j2") else names


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


class _Environment(Environment):
    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A plain dict, not Jinja's ChainMap over the environment's globals (which nothing changes
        # after start-up): every render copies its template's globals, and a ChainMap copies slowly
        # (about 40 % of an e-mail's render).
        return {**self.globals, **(d or {})}


@lru_cache
def _env(templates_dir: Path | None) -> Environment:
    loaders: list[BaseLoader] = [PackageLoader("services.notify", "templates")]
    if templates_dir is not None:
        loaders.insert(0, FileSystemLoader(str(templates_dir)))
    return _Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        # HTML parts are escaped; subjects and plain-text bodies (SMS, WhatsApp, e-mail) are not.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def env() -> Environment:
    return _env(get_settings().templates_dir)


def render(template: str, context: dict[str, Any], *, html: bool) -> Rendered:
    """Subject, plain text and (when asked and shipped) HTML of `template` ("receipt", "staff", …)."""
    e = env()
    missing = names_for(f"{template}.txt.j2") - context.keys()
    if missing:  # a programming error: the context must give every name a template may use
        raise KeyError(f"context of {template!r} lacks {sorted(missing)}")
    subject = " ".join(e.get_template(f"{template}.subject.j2").render(**context).split())
    text = e.get_template(f"{template}.txt.j2").render(**context).strip() + "\n"
    html_part = None
    if html:
        try:
            html_part = e.get_template(f"{template}.html.j2").render(subject=subject, **context)
        except TemplateNotFound:
            html_part = None
    return Rendered(subject, text, html_part)


def check_templates(settings: Settings) -> str:
    """Compile every template, shipped and overridden; ConfigError names a broken one's file and line."""
    # At start-up, not at send time, where a broken template fails each message for good: syntax,
    # missing parents, and names the message's context does not have. Returns a banner line.
    folder = settings.templates_dir
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"ADUAN_TEMPLATES_DIR={folder}: folder tidak ada")
    e = _env(folder)
    loader = e.loader
    assert loader is not None  # noqa: S101 - _env always sets one
    names = sorted(n for n in e.list_templates() if n.endswith(".j2"))
    own = {n for n in names if folder is not None and (folder / n).is_file()}
    for name in names:
        where = str(folder / name) if name in own and folder is not None else f"{name} (bawaan)"
        try:
            e.get_template(name)  # parsed and compiled: a syntax error is raised here
            source = loader.get_source(e, name)[0]
            parsed = e.parse(source)
            missing = [r for r in meta.find_referenced_templates(parsed) if r and r not in names]
            unknown = meta.find_undeclared_variables(parsed) - names_for(name) - e.globals.keys()
        except TemplateSyntaxError as exc:
            raise ConfigError(f"templat {where}, baris {exc.lineno}: {exc.message}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"templat {where}: bukan teks UTF-8") from None
        if missing:
            raise ConfigError(f"templat {where}: memakai templat yang tidak ada: {', '.join(missing)}")
        if unknown:
            raise ConfigError(
                f"templat {where}: nama tidak dikenal: {', '.join(sorted(unknown))} "
                f"(yang tersedia: {', '.join(sorted(names_for(name)))})"
            )
    extra = f", {len(own)} dari {folder}" if folder is not None else ""
    return f"{len(names)} berkas diperiksa{extra}"
