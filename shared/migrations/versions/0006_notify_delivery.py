"""notify for real: retries held in the database, delivery as proof, staff notices

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("body", existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("audience", sa.String(10), server_default="citizen", nullable=False))
        batch.add_column(sa.Column("context", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("resent_after_crash", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch.create_index(
            "ix_notifications_due",
            ["next_attempt_at"],
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )
        batch.create_index("ix_notifications_provider", ["gateway", "provider_id"])
        batch.create_index("ix_notifications_status", ["status", "created_at"])
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("notification_id", BigId, nullable=True))
        batch.add_column(sa.Column("gateway", sa.String(50), nullable=True))
        batch.add_column(sa.Column("provider_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("recipient", sa.String(254), nullable=True))
        batch.add_column(sa.Column("to_whom", sa.String(200), nullable=True))
        batch.add_column(sa.Column("result_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_delivery_attempts_notification_id_notifications"),
            "notifications",
            ["notification_id"],
            ["id"],
        )
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("delivery_state", sa.String(20), nullable=True))
        batch.add_column(sa.Column("delivery_note", sa.Text(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(
            sa.Column("notify_by_email", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("used_s", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_column("used_s")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_by_email")
        batch.drop_column("email")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("delivery_note")
        batch.drop_column("delivery_state")
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_constraint(
            batch.f("fk_delivery_attempts_notification_id_notifications"), type_="foreignkey"
        )
        for column in ("result_at", "to_whom", "recipient", "provider_id", "gateway", "notification_id"):
            batch.drop_column(column)
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_status")
        batch.drop_index("ix_notifications_provider")
        batch.drop_index("ix_notifications_due")
        for column in (
            "resent_after_crash",
            "delivered_at",
            "last_attempt_at",
            "next_attempt_at",
            "attempts",
            "context",
            "audience",
        ):
            batch.drop_column(column)
        batch.alter_column("body", existing_type=sa.Text(), nullable=False)
