"""Schema migrations (Alembic), run by `aduan migrate` and by `aduan up` before start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config

from shared.models import POSTGRESQL_ONLY_INDEXES
from shared.settings import Settings


def alembic_config(settings: Settings) -> Config:
    """An Alembic config pointing at shared/migrations and the configured database."""
    cfg = Config()
    cfg.set_main_option("script_location", "shared:migrations")
    cfg.set_main_option("sqlalchemy.url", settings.sync_database_url().replace("%", "%%"))
    # A migration that computes (the stays' office minutes) reads the office calendar from these.
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema to `revision`."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def include_object(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's filter for comparing the models with a database of `dialect`: the PostgreSQL-only
    indexes count on PostgreSQL alone."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES and dialect != "postgresql")

    return include
