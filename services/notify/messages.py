"""Message texts (Bahasa Indonesia), rendered from Jinja2 templates the office can edit.

For each event there is `<event>.subject.j2`, `<event>.txt.j2` and, for e-mail, an optional
`<event>.html.j2`. A file of the same name in ADUAN_TEMPLATES_DIR overrides the shipped one, so
the office changes a wording without touching code. Contexts never carry NIK or the address.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


@lru_cache
def _env(templates_dir: Path | None) -> Environment:
    loaders: list[BaseLoader] = [PackageLoader("services.notify", "templates")]
    if templates_dir is not None:
        loaders.insert(0, FileSystemLoader(str(templates_dir)))
    return Environment(
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
    # At start-up, not at send time, where a broken template fails each message for good. Names
    # in the context are checked only when a message is rendered. Returns a banner line.
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
            missing = [r for r in meta.find_referenced_templates(e.parse(source)) if r and r not in names]
        except TemplateSyntaxError as exc:
            raise ConfigError(f"templat {where}, baris {exc.lineno}: {exc.message}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"templat {where}: bukan teks UTF-8") from None
        if missing:
            raise ConfigError(f"templat {where}: memakai templat yang tidak ada: {', '.join(missing)}")
    extra = f", {len(own)} dari {folder}" if folder is not None else ""
    return f"{len(names)} berkas diperiksa{extra}"
