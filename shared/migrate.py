"""Schema migrations (Alembic), run by `aduan migrate` and by `aduan up` before start."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from shared.settings import Settings


def alembic_config(settings: Settings) -> Config:
    """An Alembic config pointing at shared/migrations and the configured database."""
    cfg = Config()
    cfg.set_main_option("script_location", "shared:migrations")
    cfg.set_main_option("sqlalchemy.url", settings.sync_database_url().replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema to `revision`."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)
