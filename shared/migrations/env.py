"""Alembic environment: runs migrations on the configured engine (SQLite in batch mode)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from shared.migrate import include_object
from shared.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
