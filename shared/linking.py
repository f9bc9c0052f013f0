"""Links between complaints, the one writer of `complaint_links`: related, or one complaint the
duplicate of another (its original). Each link and unlink writes a history row on both complaints.

Rules: no complaint links itself; a pair is linked once (unlink first to change how); a complaint
is the duplicate of one original at most; a chain of duplicates never comes back on itself. A
complaint closed with the outcome `duplicate` keeps the link to its original.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared import history
from shared.models import Complaint, ComplaintLink, LinkKind
from shared.sop import Outcome, Role


class Relation(StrEnum):
    """How a complaint stands to the other one of a link, read from the complaint's side."""

    RELATED = "related"
    DUPLICATE_OF = "duplicate_of"  # this complaint repeats the other (its original)
    HAS_DUPLICATE = "has_duplicate"  # the other repeats this one


RELATION_LABELS: dict[Relation, str] = {
    Relation.RELATED: "Terkait dengan",
    Relation.DUPLICATE_OF: "Duplikat dari",
    Relation.HAS_DUPLICATE: "Memiliki duplikat",
}

# Longer chains of duplicates than this are not followed (a guard; real chains are one or two).
MAX_CHAIN = 50


class LinkRefused(Exception):
    """A link or unlink the rules refuse: an HTTP status, a stable code and an Indonesian message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LinkActor:
    """Who links: the officer's user name and role (as the history row names them)."""

    name: str
    role: Role


@dataclass(frozen=True)
class Linked:
    """A link as one complaint sees it."""

    relation: Relation
    other_id: int
    created_by: str
    created_at: datetime


def relation_of(link: ComplaintLink, complaint_id: int) -> Relation:
    """How `complaint_id` stands to the other complaint of `link`."""
    if link.kind == LinkKind.RELATED:
        return Relation.RELATED
    return Relation.DUPLICATE_OF if link.duplicate_id == complaint_id else Relation.HAS_DUPLICATE


_OPPOSITE = {
    Relation.RELATED: Relation.RELATED,
    Relation.DUPLICATE_OF: Relation.HAS_DUPLICATE,
    Relation.HAS_DUPLICATE: Relation.DUPLICATE_OF,
}


def _pair(session: Session, a: int, b: int) -> ComplaintLink | None:
    low, high = sorted((a, b))
    return session.scalar(
        select(ComplaintLink).where(ComplaintLink.low_id == low, ComplaintLink.high_id == high)
    )


def original_id(session: Session, complaint_id: int) -> int | None:
    """The id of the complaint `complaint_id` is a duplicate of, if any (one step up the chain)."""
    link = session.scalar(select(ComplaintLink).where(ComplaintLink.duplicate_id == complaint_id))
    if link is None:
        return None
    return link.high_id if link.low_id == complaint_id else link.low_id


def root_original(session: Session, complaint_id: int) -> Complaint | None:
    """The complaint that carries on for a duplicate: its original's original, and so on."""
    current, seen = original_id(session, complaint_id), {complaint_id}
    root = None
    while current is not None and current not in seen and len(seen) < MAX_CHAIN:
        root = current
        seen.add(current)
        current = original_id(session, current)
    return session.get(Complaint, root) if root is not None else None


def link(
    session: Session,
    complaint: Complaint,
    other: Complaint,
    relation: Relation,
    *,
    actor: LinkActor,
    now: datetime,
    upgrade: bool = False,
) -> None:
    """Link `complaint` to `other` as `relation`, with a history row on each.

    `upgrade` (closing as a duplicate): a related link of the pair becomes the duplicate link, and
    the same duplicate link already there is kept."""
    if complaint.id == other.id:
        raise LinkRefused(422, "self_link", "Pengaduan tidak dapat ditautkan dengan dirinya sendiri.")
    existing = _pair(session, complaint.id, other.id)
    if existing is not None:
        if upgrade and relation_of(existing, complaint.id) == relation:
            return
        if not (upgrade and existing.kind == LinkKind.RELATED):
            message = f"Pengaduan ini sudah ditautkan dengan {other.ticket}; lepas tautannya lebih dulu."
            raise LinkRefused(409, "already_linked", message)
    if relation == Relation.RELATED:
        duplicate = None
    else:
        duplicate, original = (complaint, other) if relation == Relation.DUPLICATE_OF else (other, complaint)
        _check_duplicate(session, duplicate, original)
    kind = (LinkKind.RELATED if duplicate is None else LinkKind.DUPLICATE).value
    duplicate_id = duplicate.id if duplicate is not None else None
    if existing is not None:  # a related pair becomes the duplicate link: the pair's one row
        existing.kind, existing.duplicate_id = kind, duplicate_id
        existing.created_by, existing.created_at = actor.name, now
    else:
        low, high = sorted((complaint.id, other.id))
        session.add(
            ComplaintLink(
                low_id=low,
                high_id=high,
                kind=kind,
                duplicate_id=duplicate_id,
                created_by=actor.name,
                created_at=now,
            )
        )
    _record(session, "link", complaint, other, relation, actor=actor, now=now)
    _record(session, "link", other, complaint, _OPPOSITE[relation], actor=actor, now=now)


def _check_duplicate(session: Session, duplicate: Complaint, original: Complaint) -> None:
    if original_id(session, duplicate.id) is not None:
        message = f"Pengaduan {duplicate.ticket} sudah ditandai sebagai duplikat pengaduan lain."
        raise LinkRefused(409, "already_duplicate", message)
    current: int | None = original.id
    hops = 0
    while current is not None and hops < MAX_CHAIN:
        if current == duplicate.id:
            message = (
                f"Pengaduan {original.ticket} sendiri (langsung atau lewat pengaduan lain) duplikat "
                f"dari {duplicate.ticket}; tautan ini akan berputar."
            )
            raise LinkRefused(422, "duplicate_cycle", message)
        current, hops = original_id(session, current), hops + 1


def unlink(
    session: Session, complaint: Complaint, other: Complaint, *, actor: LinkActor, now: datetime
) -> None:
    """Remove the link between `complaint` and `other`, with a history row on each."""
    existing = _pair(session, complaint.id, other.id)
    if existing is None:
        raise LinkRefused(404, "link_not_found", f"Pengaduan ini tidak ditautkan dengan {other.ticket}.")
    duplicate = {complaint.id: complaint, other.id: other}.get(existing.duplicate_id or 0)
    if duplicate is not None and duplicate.outcome == Outcome.DUPLICATE:
        message = (
            f"Pengaduan {duplicate.ticket} ditutup sebagai duplikat; "
            "tautan ke pengaduan aslinya tetap dicatat."
        )
        raise LinkRefused(409, "closed_as_duplicate", message)
    relation = relation_of(existing, complaint.id)
    session.delete(existing)
    _record(session, "unlink", complaint, other, relation, actor=actor, now=now)
    _record(session, "unlink", other, complaint, _OPPOSITE[relation], actor=actor, now=now)


def _record(
    session: Session,
    action: str,
    complaint: Complaint,
    other: Complaint,
    relation: Relation,
    *,
    actor: LinkActor,
    now: datetime,
) -> None:
    said = f"{RELATION_LABELS[relation]} {other.ticket}"
    label = f"Ditautkan: {said}" if action == "link" else f"Tautan dilepas: {said[0].lower()}{said[1:]}"
    history.record(
        session,
        complaint_id=complaint.id,
        at=now,
        actor=actor.name,
        role=actor.role.value,
        action=action,
        detail={"label": label, "relation": relation.value, "ticket": other.ticket},
        version=complaint.version,  # a link changes neither complaint's own record
    )


def links_of(session: Session, complaint_id: int) -> list[tuple[Linked, Complaint]]:
    """Every link of a complaint with the complaint at its other end, oldest link first."""
    rows = session.scalars(
        select(ComplaintLink)
        .where(or_(ComplaintLink.low_id == complaint_id, ComplaintLink.high_id == complaint_id))
        .order_by(ComplaintLink.id)
    ).all()
    if not rows:
        return []
    other_ids = [r.high_id if r.low_id == complaint_id else r.low_id for r in rows]
    others = {c.id: c for c in session.scalars(select(Complaint).where(Complaint.id.in_(other_ids)))}
    return [
        (Linked(relation_of(r, complaint_id), other_id, r.created_by, r.created_at), others[other_id])
        for r, other_id in zip(rows, other_ids, strict=True)
    ]
