"""The audit log: every admin change and every view of a complainant's identity, appended only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from shared.clock import now
from shared.models import AuditEntry
from shared.sop import Role
from shared.workflow import Actor

# Who may read the log: the controller's people (UU 27/2022).
READERS = frozenset({Role.ADMIN, Role.KEPALA_DINAS})

IDENTITY_VIEW = "identity.view"
# The tanda terima carries the tracking code, which opens the complaint's tracking page.
RECEIPT_PRINT = "receipt.print"
# What each action is called on the audit page.
ACTION_LABELS = {
    IDENTITY_VIEW: "Melihat identitas pengadu",
    RECEIPT_PRINT: "Mencetak tanda terima (memuat kode pelacakan)",
    "user.create": "Menambah akun",
    "user.update": "Mengubah akun",
    "user.disable": "Menonaktifkan akun",
    "user.enable": "Mengaktifkan kembali akun",
    "user.reset_password": "Mengatur ulang kata sandi",
    "kiosk.create": "Menambah kios",
    "kiosk.revoke": "Mencabut kios",
    "calendar.set": "Mengatur hari kalender",
    "calendar.clear": "Menghapus pengaturan hari",
    "category.create": "Menambah kategori",
    "category.update": "Mengubah kategori",
    "instructions.update": "Mengubah instruksi disposisi",
    "office.update": "Mengubah identitas kantor",
    "office.logo": "Mengganti logo kantor",
    "office.logo_remove": "Menghapus logo kantor",
}


def record(
    session: Session,
    *,
    by: Actor,
    action: str,
    address: str | None,
    ticket: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    session.add(
        AuditEntry(
            at=now(),
            actor=by.name,
            actor_role=by.role.value,
            action=action,
            ticket=ticket,
            target=target,
            detail=detail,
            address=(address or None) and address[:64],
        )
    )


def record_read(session: Session, *, by: Actor, action: str, ticket: str, address: str | None) -> None:
    """Something confidential of a complaint was shown to `by`: one entry, committed on its own."""
    if session.in_transaction():
        session.rollback()  # the view's reads are done; the entry gets its own short transaction
    with session.begin():
        record(session, by=by, action=action, address=address, ticket=ticket)


def record_identity_view(session: Session, *, by: Actor, ticket: str, address: str | None) -> None:
    """A complainant's identity was shown to `by`."""
    record_read(session, by=by, action=IDENTITY_VIEW, ticket=ticket, address=address)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    ticket: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def entries(
    session: Session, narrow: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """The entries that match, newest first, and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if narrow.actor:
        where.append(AuditEntry.actor == narrow.actor)
    if narrow.ticket:
        where.append(AuditEntry.ticket == narrow.ticket)
    if narrow.since is not None:
        where.append(AuditEntry.at >= narrow.since)
    if narrow.until is not None:
        where.append(AuditEntry.at < narrow.until)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    found = session.scalars(
        select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    session.expunge_all()
    session.rollback()
    return list(found), total
