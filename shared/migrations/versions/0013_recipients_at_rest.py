"""notifications and delivery_attempts: the recipient (phone number or e-mail) sealed, the unique
key on its blind index; the number called in a history row's detail masked

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, *columns: sa.ColumnClause[object]) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.BigInteger()), *columns)


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("recipient_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("recipient_index", sa.String(64), nullable=True))
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("recipient_enc", sa.LargeBinary(), nullable=True))
    _seal_existing_rows()
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_once", type_="unique")
        batch.drop_column("recipient")
        batch.alter_column("recipient_enc", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("recipient_index", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(
            "uq_notifications_once", ["complaint_id", "event", "channel", "recipient_index"]
        )
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_column("recipient")


def _seal_existing_rows() -> None:
    bind = op.get_bind()
    notifications = _table(
        "notifications",
        sa.column("recipient", sa.String()),
        sa.column("recipient_enc", sa.LargeBinary()),
        sa.column("recipient_index", sa.String()),
    )
    attempts = _table("delivery_attempts", sa.column("recipient", sa.String()), sa.column("recipient_enc"))
    history = _table("history", sa.column("detail", sa.JSON()))
    n_rows = bind.execute(sa.select(notifications.c.id, notifications.c.recipient)).all()
    a_rows = bind.execute(
        sa.select(attempts.c.id, attempts.c.recipient).where(attempts.c.recipient.is_not(None))
    ).all()
    h_rows = [
        r
        for r in bind.execute(sa.select(history.c.id, history.c.detail).where(history.c.detail.is_not(None)))
        if isinstance(r.detail, dict) and r.detail.get("phone_called")
    ]
    if not (n_rows or a_rows or h_rows):
        return
    from shared.identity import masked_phones, recipient_columns, seal

    for row in n_rows:
        values = recipient_columns(row.recipient)
        bind.execute(sa.update(notifications).where(notifications.c.id == row.id).values(values))
    for row in a_rows:
        sealed = seal(row.recipient, field="recipient")
        bind.execute(sa.update(attempts).where(attempts.c.id == row.id).values(recipient_enc=sealed))
    for row in h_rows:
        masked = masked_phones(row.detail)
        bind.execute(sa.update(history).where(history.c.id == row.id).values(detail=masked))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("recipient", sa.String(254), nullable=True))
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("recipient", sa.String(254), nullable=True))
    bind = op.get_bind()
    for name in ("notifications", "delivery_attempts"):
        table = _table(
            name, sa.column("recipient", sa.String()), sa.column("recipient_enc", sa.LargeBinary())
        )
        rows = bind.execute(sa.select(table.c.id, table.c.recipient_enc)).all()
        if not rows:
            continue
        from shared.identity import unseal

        for row in rows:
            plain = unseal(row.recipient_enc, field="recipient")
            bind.execute(sa.update(table).where(table.c.id == row.id).values(recipient=plain))
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_once", type_="unique")
        batch.drop_column("recipient_index")
        batch.drop_column("recipient_enc")
        batch.alter_column("recipient", existing_type=sa.String(254), nullable=False)
        batch.create_unique_constraint(
            "uq_notifications_once", ["complaint_id", "event", "channel", "recipient"]
        )
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_column("recipient_enc")
