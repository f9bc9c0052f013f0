"""Staff use cases: worklists, the complaint record, actions, the archive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.routing.auth import StaffUser
from services.routing.paging import Cursor, Found
from services.routing.schemas import (
    ActionAccepted,
    ArchiveView,
    ComplainantView,
    ComplaintView,
    DeliveryContact,
    DeliveryView,
    DispositionView,
    EarlierComplaint,
    EscalationItem,
    EscalationList,
    FeedbackView,
    HistoryView,
    LegalClocks,
    LinkView,
    NotificationItem,
    NotificationList,
    WorklistItem,
)
from shared import audit, linking, notices, office, sla
from shared.api import ApiError
from shared.delivery import AttemptOutcome, NotificationStatus
from shared.models import (
    Complaint,
    DeliveryAttempt,
    Disposition,
    DispositionInstruction,
    Escalation,
    Feedback,
    History,
    Notification,
)
from shared.security import mask_contact
from shared.settings import get_settings
from shared.sop import (
    CHOICE_LABELS,
    LINK_ROLES,
    NOTIFICATION_ROLES,
    READ_ALL_ROLES,
    STEP_NAMES,
    STEPS,
    Role,
    Status,
    Step,
    actions_at,
    outcome_label,
    steps_of,
)
from shared.survey import SCORE_LABELS
from shared.validation import FieldError, InputError
from shared.workflow import Actor, Conflict, Forbidden, WorkflowError, check_may_act, transition

INSTRUCTION_MAX = 200  # as long as an instruction the Dispose inputs take
INSTRUCTIONS_MAX = 50  # tick boxes on one lembar disposisi

T = TypeVar("T")

NOT_FOUND = ApiError(404, "not_found", "Pengaduan tidak ditemukan.")


@dataclass(frozen=True)
class QueueFilter:
    """The console's narrowing of a queue: a step, a unit, a category, text in the ticket or subject."""

    step: str | None = None
    unit: str | None = None
    category: str | None = None
    text: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.step:
            where.append(Complaint.step == self.step)
        if self.unit:
            where.append(Complaint.unit_code == self.unit)
        if self.category:
            where.append(Complaint.category_code == self.category)
        if self.text:
            pattern = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                or_(
                    Complaint.ticket == self.text.upper(),
                    Complaint.subject.ilike(pattern, escape="\\"),
                )
            )
        return where


def worklist(
    session: Session,
    user: StaffUser,
    *,
    at: datetime,
    limit: int,
    offset: int,
    waiting: bool = False,
    narrow: QueueFilter | None = None,
) -> tuple[list[WorklistItem], int]:
    """The caller's queue: its role's steps (its own unit for a bidang), oldest deadline first."""
    found = worklist_page(session, user, at=at, limit=limit, offset=offset, waiting=waiting, narrow=narrow)
    return [WorklistItem(**row) for row in found.items], found.total


def worklist_page(
    session: Session,
    user: StaffUser,
    *,
    at: datetime,
    limit: int,
    offset: int = 0,
    cursor: Cursor | None = None,
    waiting: bool = False,
    narrow: QueueFilter | None = None,
) -> Found[dict[str, Any]]:
    """The caller's queue as a page from `offset` or `cursor`, with the keys of the pages beside it:
    rows as WorklistItem's fields, in its order (see `_summaries`)."""
    where = _queue_where(user, waiting, narrow)
    if where is None:
        return Found([], 0)
    # a complainant waiting at the desk first, then the oldest deadline (none: last), then the id
    order = [
        Complaint.waiting_on_site.desc(),
        Complaint.step_due_at.is_(None),
        Complaint.step_due_at,
        Complaint.id,
    ]
    counted = select(func.count()).select_from(Complaint).where(*where)
    query = select(counted.scalar_subquery().label("total"), *_SUMMARY_COLUMNS).where(*where)
    if cursor is None:
        query = query.order_by(*order).offset(offset)
    elif cursor.backward:
        reverse = [Complaint.waiting_on_site, Complaint.step_due_at.is_(None).desc()]
        query = query.where(_before_in_queue(*cursor.key)).order_by(
            *reverse, Complaint.step_due_at.desc(), Complaint.id.desc()
        )
    else:
        query = query.where(_after_in_queue(*cursor.key)).order_by(*order)
    rows = _read(session, query.limit(limit + 1))
    total = _total(session, rows, counted, offset, cursor)
    items = _summaries(rows, at, worklist=True)
    if user.role == Role.FRONT_OFFICE:
        _add_delivery_details(session, items, [c.id for c in rows if c.step == Step.DELIVERY])
    keys = [(c.waiting_on_site, c.step_due_at, c.id) for c in rows]
    return _page(items, keys, total, limit, cursor, offset)


def _read(session: Session, query: Select[Any]) -> list[Row[Any]]:
    """A list's rows by the session's connection: plain columns need none of the ORM's loading."""
    return list(session.connection().execute(query).all())


# What a list shows of a complaint: its rows are read as these columns, not as whole entities
# (forty columns, sealed identity, an identity-map entry each), and their count rides along as a
# scalar subquery, so a page is one statement.
_SUMMARY_COLUMNS = (
    Complaint.id,
    Complaint.ticket,
    Complaint.status,
    Complaint.step,
    Complaint.outcome,
    Complaint.subject,
    Complaint.category_code,
    Complaint.received_at,
    Complaint.step_due_at,
    Complaint.escalation_level,
    Complaint.paused_at,
    Complaint.waiting_on_site,
    Complaint.version,
    Complaint.unit_code,
)


def _total(
    session: Session, rows: Sequence[Row[Any]], counted: Select[Any], offset: int, cursor: Cursor | None
) -> int:
    """The count each row carries; past the last row (no row to carry it) counted on its own."""
    if rows:
        return int(rows[0].total)
    if offset == 0 and cursor is None:
        return 0
    return int(session.scalar(counted) or 0)


def _after_in_queue(waiting: bool, due: datetime | None, id_: int) -> ColumnElement[bool]:
    """The rows after (waiting, due, id) in the queue's order (waiting first, no deadline last)."""
    if due is None:
        rest = and_(Complaint.step_due_at.is_(None), Complaint.id > id_)
    else:
        rest = or_(
            Complaint.step_due_at.is_(None),
            Complaint.step_due_at > due,
            and_(Complaint.step_due_at == due, Complaint.id > id_),
        )
    same = and_(Complaint.waiting_on_site.is_(waiting), rest)
    return or_(Complaint.waiting_on_site.is_(False), same) if waiting else same


def _before_in_queue(waiting: bool, due: datetime | None, id_: int) -> ColumnElement[bool]:
    """The rows before (waiting, due, id) in the queue's order."""
    if due is None:
        rest = or_(Complaint.step_due_at.is_not(None), Complaint.id < id_)
    else:
        rest = or_(Complaint.step_due_at < due, and_(Complaint.step_due_at == due, Complaint.id < id_))
    same = and_(Complaint.waiting_on_site.is_(waiting), rest)
    return same if waiting else or_(Complaint.waiting_on_site.is_(True), same)


def _queue_where(
    user: StaffUser, waiting: bool, narrow: QueueFilter | None
) -> list[ColumnElement[bool]] | None:
    """The conditions of the caller's queue (None: the role works no queue)."""
    steps = [s.value for s in steps_of(user.role)]
    if not steps:
        return None
    where: list[ColumnElement[bool]] = [
        Complaint.step.in_(steps),
        Complaint.handoff_pending.is_(False),
        *(narrow.conditions() if narrow else []),
    ]
    if user.role == Role.BIDANG:
        where.append(Complaint.unit_code == user.unit)
    # paused complaints (waiting for the complainant's documents) leave the active queue
    where.append(Complaint.paused_at.is_not(None) if waiting else Complaint.paused_at.is_(None))
    return where


def queue_stamp(
    session: Session, user: StaffUser, *, waiting: bool = False, narrow: QueueFilter | None = None
) -> tuple[Any, ...]:
    """What changes whenever a complaint comes into or leaves the caller's queue, or one in it
    moves (a transition bumps its version, an escalation its level): one aggregate, no rows."""
    where = _queue_where(user, waiting, narrow)
    if where is None:
        return ()
    row = session.execute(
        select(
            func.count(),
            func.max(Complaint.updated_at),
            func.sum(Complaint.version),
            func.sum(Complaint.escalation_level),
            func.max(Complaint.id),
        ).where(*where)
    ).one()
    return tuple(row)


def _add_delivery_details(session: Session, items: list[dict[str, Any]], ids: list[int]) -> None:
    """At delivery the front office sees the contact, the answer to read out, and the tries so far."""
    if not ids:
        return
    at_delivery = {c.id: c for c in session.scalars(select(Complaint).where(Complaint.id.in_(ids)))}
    counts = session.execute(
        select(DeliveryAttempt.complaint_id, func.count())
        .where(DeliveryAttempt.complaint_id.in_(at_delivery))
        .group_by(DeliveryAttempt.complaint_id)
    )
    tries = {complaint_id: n for complaint_id, n in counts}
    by_ticket = {c.ticket: c for c in at_delivery.values()}
    for item in items:
        c = by_ticket.get(item["ticket"])
        if c is None:
            continue
        item["delivery_state"] = c.delivery_state
        item["delivery_note"] = c.delivery_note
        item["delivery_attempts"] = tries.get(c.id, 0)
        item["contact"] = DeliveryContact(
            name=c.complainant_name, phone=c.phone, email=c.email, preferred_reply=c.preferred_reply
        ).model_dump()
        item["answer"] = c.answer


def failed_notifications(session: Session, user: StaffUser) -> int:
    """Dead letters the front office should follow up (0 for other roles)."""
    if user.role != Role.FRONT_OFFICE:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.status == NotificationStatus.FAILED.value,
                Notification.audience == notices.CITIZEN,
            )
        )
        or 0
    )


def notifications(
    session: Session,
    user: StaffUser,
    *,
    status: NotificationStatus | None,
    ticket: str | None,
    limit: int,
    offset: int,
) -> NotificationList:
    """Messages by status, newest first: `failed` is the dead-letter list."""
    if user.role not in NOTIFICATION_ROLES:
        raise ApiError(403, "role_not_allowed", "Peran Anda tidak dapat melihat daftar pesan.")
    where: list[ColumnElement[bool]] = []
    if status:
        where.append(Notification.status == status.value)
    if ticket:
        where.append(Complaint.ticket == ticket)
    base = select(Notification, Complaint.ticket).join(Complaint, Complaint.id == Notification.complaint_id)
    total = session.scalar(
        select(func.count())
        .select_from(Notification)
        .join(Complaint, Complaint.id == Notification.complaint_id)
        .where(*where)
    )
    rows = session.execute(
        base.where(*where).order_by(Notification.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [
        NotificationItem(
            id=n.id,
            ticket=t,
            event=n.event,
            audience=n.audience,
            channel=n.channel,
            recipient=mask_contact(n.recipient),
            gateway=n.gateway,
            status=n.status,
            attempts=n.attempts,
            error=n.error,
            provider_id=n.provider_id,
            created_at=n.created_at,
            last_attempt_at=n.last_attempt_at,
            next_attempt_at=n.next_attempt_at,
            sent_at=n.sent_at,
            delivered_at=n.delivered_at,
        )
        for n, t in rows
    ]
    return NotificationList(items=items, total=int(total or 0))


# Lists count their matches up to this, and one more to say "more than": an exact count of a
# million closed complaints is a scan, and nobody pages that far.
COUNT_LIMIT = 10_000


def search(
    session: Session,
    user: StaffUser,
    *,
    at: datetime,
    status: str | None,
    step: str | None,
    unit: str | None,
    limit: int,
    offset: int = 0,
    cursor: Cursor | None = None,
    narrow: QueueFilter | None = None,
    outcome: str | None = None,
    received: tuple[datetime, datetime] | None = None,
) -> Found[dict[str, Any]]:
    """Every complaint this user may read (a bidang: its own unit's), newest first; `narrow` adds
    the console's category and ticket/subject search, `received` a half-open period of receipt.
    A page starts at `offset` or, walking an index instead of counting rows, at `cursor`.

    The total is counted up to COUNT_LIMIT + 1 (more than COUNT_LIMIT: "more than 10,000"), so a
    list over a million complaints never counts them all. Rows as ComplaintSummary's fields, in
    its order (see `_summaries`)."""
    where: list[ColumnElement[bool]] = [*(narrow.conditions() if narrow else [])]
    if user.role == Role.BIDANG:
        where.append(Complaint.unit_code == user.unit)
    elif user.role not in READ_ALL_ROLES:
        return Found([], 0)
    if status:
        where.append(Complaint.status == status)
    if step:
        where.append(Complaint.step == step)
    if unit:
        where.append(Complaint.unit_code == unit)
    if outcome:
        where.append(Complaint.outcome == outcome)
    if received:
        where.extend((Complaint.received_at >= received[0], Complaint.received_at < received[1]))
    matching = select(Complaint.id).where(*where).limit(COUNT_LIMIT + 1).subquery()
    counted = select(func.count()).select_from(matching)
    query = select(counted.scalar_subquery().label("total"), *_SUMMARY_COLUMNS).where(*where)
    backward = cursor is not None and cursor.backward
    if cursor is None:
        query = query.order_by(Complaint.id.desc()).offset(offset)
    elif backward:
        query = query.where(Complaint.id > cursor.key[0]).order_by(Complaint.id)
    else:
        query = query.where(Complaint.id < cursor.key[0]).order_by(Complaint.id.desc())
    rows = _read(session, query.limit(limit + 1))
    total = _total(session, rows, counted, offset, cursor)
    items = _summaries(rows, at, worklist=False)
    return _page(items, [(c.id,) for c in rows], total, limit, cursor, offset)


def _page(
    items: list[T], keys: list[tuple[Any, ...]], total: int, limit: int, cursor: Cursor | None, offset: int
) -> Found[T]:
    """A page from up to limit + 1 rows read in the walk's direction: the one more says whether
    there is a page beyond; the pages beside it start from its first and last rows' keys."""
    more = len(items) > limit
    items, keys = items[:limit], keys[:limit]
    if cursor is not None and cursor.backward:
        items.reverse()
        keys.reverse()
        # a page walked back to always has the rows it was walked back from after it
        return Found(
            items, total, next_key=keys[-1] if keys else cursor.key, prev_key=keys[0] if more else None
        )
    came_from_before = offset > 0 or cursor is not None
    return Found(
        items,
        total,
        next_key=keys[-1] if more else None,
        prev_key=(keys[0] if keys else cursor.key if cursor else None) if came_from_before else None,
    )


def _summaries(rows: Sequence[Row[Any]], at: datetime, *, worklist: bool) -> list[dict[str, Any]]:
    """List rows as their schema's fields in its order (WorklistItem, else ComplaintSummary), built
    once here and serialised as they are: no model per row (tests hold them to the schema)."""
    pause_limit = get_settings().pause_limit
    out = []
    for c in rows:
        due, paused = c.step_due_at, c.paused_at
        row = {
            "ticket": c.ticket,
            "subject": c.subject,
            "category": c.category_code,
            "received_at": c.received_at,
            "step_due_at": due,
            "overdue": due is not None and due < at,
            "escalation_level": c.escalation_level,
            "paused_at": paused,
            "paused_too_long": paused is not None and at - paused > pause_limit,
            "waiting_on_site": c.waiting_on_site,
            "version": c.version,
            "unit": c.unit_code,
        }
        if worklist:  # the delivery details are the front office's, filled in at delivery
            row |= {"step": c.step, "delivery_state": None, "delivery_note": None, "delivery_attempts": 0}
            row |= {"contact": None, "answer": None}
        else:
            row |= {"status": c.status, "step": c.step, "outcome": c.outcome}
        out.append(row)
    return out


def _overdue(complaint: Complaint | Row[Any], at: datetime) -> bool:
    return complaint.step_due_at is not None and complaint.step_due_at < at


def load_visible(session: Session, user: StaffUser, ticket: str, *, for_update: bool = False) -> Complaint:
    """The complaint `ticket` if this user may see it; 404 otherwise (existence is not leaked)."""
    query = select(Complaint).where(Complaint.ticket == ticket)
    if for_update:
        query = query.with_for_update()
    complaint = session.scalar(query)
    if complaint is None or not _may_see(session, user, complaint):
        raise NOT_FOUND
    return complaint


def _may_see(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    if user.role in READ_ALL_ROLES:
        return True
    if user.role != Role.BIDANG or user.unit is None:
        return False
    if complaint.unit_code == user.unit:
        return True
    # A unit copied on a disposition (tembusan) may read, not act.
    ccs = session.scalars(select(Disposition.cc_units).where(Disposition.complaint_id == complaint.id)).all()
    return any(user.unit in (cc or []) for cc in ccs)


def _identity_hidden(user: StaffUser, complaint: Complaint) -> bool:
    """A confidential complainant's identity is kept from the bidang (the reported party's side)."""
    return complaint.confidential and user.role == Role.BIDANG


def _complainant(user: StaffUser, complaint: Complaint) -> ComplainantView:
    if _identity_hidden(user, complaint):
        return ComplainantView(
            name="(dirahasiakan)", nik=None, phone=None, email=None, address=None, hidden=True
        )
    return ComplainantView(
        name=complaint.complainant_name,
        nik=complaint.nik_masked,
        phone=complaint.phone,
        email=complaint.email,
        address=complaint.address,
    )


def _dispositions(session: Session, complaint_id: int) -> list[DispositionView]:
    rows = session.scalars(
        select(Disposition).where(Disposition.complaint_id == complaint_id).order_by(Disposition.id)
    ).all()
    return [
        DispositionView(
            agenda_number=d.agenda_number,
            unit=d.unit_code,
            cc_units=d.cc_units,
            instructions=d.instructions,
            urgency=d.urgency,
            note=d.note,
            signed_by=d.signed_by,
            at=d.created_at,
        )
        for d in rows
    ]


# What a delivery attempt or its history row says of the complainant: who was reached, where.
_IDENTITY_FIELDS = frozenset({"recipient", "to_whom", "phone_called"})


def _deliveries(session: Session, complaint_id: int, *, hide_identity: bool) -> list[DeliveryView]:
    rows = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.complaint_id == complaint_id)
        .order_by(DeliveryAttempt.id)
    )
    views = [DeliveryView.model_validate(d, from_attributes=True) for d in rows]
    if hide_identity:
        views = [v.model_copy(update={"recipient": None, "to_whom": None}) for v in views]
    return views


def _history(session: Session, complaint_id: int, *, hide_identity: bool) -> list[HistoryView]:
    rows = session.scalars(select(History).where(History.complaint_id == complaint_id).order_by(History.id))
    views = [HistoryView.model_validate(h, from_attributes=True) for h in rows]
    if hide_identity:
        for v in views:
            if v.detail:
                v.detail = {k: val for k, val in v.detail.items() if k not in _IDENTITY_FIELDS}
    return views


def _feedback(session: Session, complaint_id: int) -> FeedbackView | None:
    row = session.scalar(select(Feedback).where(Feedback.complaint_id == complaint_id))
    if row is None:
        return None
    return FeedbackView(
        score=row.score, score_label=SCORE_LABELS[row.score], comment=row.comment, created_at=row.created_at
    )


def _allowed_actions(user: StaffUser, complaint: Complaint) -> list[str]:
    if complaint.step is None or complaint.handoff_pending:
        return []
    try:
        check_may_act(user.actor, complaint)
    except Forbidden:
        return []
    return [a.name for a in actions_at(Step(complaint.step))]


def complaint_view(session: Session, user: StaffUser, ticket: str, *, at: datetime) -> ComplaintView:
    c = load_visible(session, user, ticket)
    hidden = _identity_hidden(user, c)
    dispositions = _dispositions(session, c.id)
    deliveries = _deliveries(session, c.id, hide_identity=hidden)
    history = _history(session, c.id, hide_identity=hidden)
    return ComplaintView(
        ticket=c.ticket,
        status=c.status,
        step=c.step,
        outcome=c.outcome,
        version=c.version,
        handoff_pending=c.handoff_pending,
        channel=c.channel,
        subject=c.subject,
        description=c.description,
        category=c.category_code,
        waiting_on_site=c.waiting_on_site,
        preferred_reply=c.preferred_reply,
        confidential=c.confidential,
        complainant=_complainant(user, c),
        unit=c.unit_code,
        received_at=c.received_at,
        step_entered_at=c.step_entered_at,
        step_due_at=c.step_due_at,
        overdue=_overdue(c, at),
        closed_at=c.closed_at,
        disposition=dispositions[-1] if dispositions else None,
        dispositions=dispositions,
        answer=c.answer,
        delivery_attempts=deliveries,
        history=history,
        allowed_actions=_allowed_actions(user, c),
        escalation_level=c.escalation_level,
        legal=_legal_clocks(c, deliveries, history, at),
        feedback=_feedback(session, c.id),
        earlier=None if hidden or user.role not in READ_ALL_ROLES else earlier_complaints(session, c),
        later=None
        if hidden or user.role not in READ_ALL_ROLES
        else earlier_complaints(session, c, later=True),
        links=link_views(session, c) if user.role in READ_ALL_ROLES else None,
    )


def _state(step: str | None, outcome: str | None) -> str:
    """Where a complaint is, or how it ended, as the office reads it."""
    return outcome_label(outcome) if outcome else STEP_NAMES[Step(step or Step.VERIFICATION)]


def earlier_complaints(
    session: Session, complaint: Complaint, *, later: bool = False
) -> list[EarlierComplaint]:
    """The same person's earlier complaints, newest first (`later`: those filed after it, oldest
    first): same NIK or phone, by blind index."""
    return complaints_of_person(
        session,
        nik_index=complaint.nik_index,
        phone_index=complaint.phone_index,
        before_id=None if later else complaint.id,
        after_id=complaint.id if later else None,
    )


def complaints_of_person(
    session: Session,
    *,
    nik_index: str | None,
    phone_index: str | None,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[EarlierComplaint]:
    """Complaints with this NIK's or phone's blind index, newest first (after `after_id`: oldest
    first), the front desk's lookup while typing too."""
    same = []
    if nik_index:
        same.append(Complaint.nik_index == nik_index)
    if phone_index:
        same.append(Complaint.phone_index == phone_index)
    if not same:
        return []
    query = (
        select(
            Complaint.ticket,
            Complaint.received_at,
            Complaint.step,
            Complaint.outcome,
            Complaint.nik_index,
            Complaint.phone_index,
        )
        .where(or_(*same))
        .order_by(Complaint.id if after_id is not None else Complaint.id.desc())
        .limit(50)
    )
    if before_id is not None:
        query = query.where(Complaint.id < before_id)
    if after_id is not None:
        query = query.where(Complaint.id > after_id)
    rows = session.execute(query).all()
    return [
        EarlierComplaint(
            ticket=r.ticket,
            received_at=r.received_at,
            step=r.step,
            outcome=r.outcome,
            state=_state(r.step, r.outcome),
            matched_by=[
                field
                for field, index, own in (
                    ("nik", r.nik_index, nik_index),
                    ("phone", r.phone_index, phone_index),
                )
                if own and index == own
            ],
        )
        for r in rows
    ]


def link_views(session: Session, complaint: Complaint) -> list[LinkView]:
    """A complaint's links, each as the complaint stands to the other one."""
    return [
        LinkView(
            ticket=other.ticket,
            relation=linked.relation,
            relation_label=linking.RELATION_LABELS[linked.relation],
            state=_state(other.step, other.outcome),
            step=other.step,
            outcome=other.outcome,
            created_by=linked.created_by,
            created_at=linked.created_at,
        )
        for linked, other in linking.links_of(session, complaint.id)
    ]


def _link_use_case(session: Session, user: StaffUser, ticket: str, other: str) -> tuple[Complaint, Complaint]:
    """The two complaints of a link or unlink, once the caller may link (in the open transaction)."""
    complaint = load_visible(session, user, ticket)
    if user.role not in LINK_ROLES:
        raise ApiError(403, "role_not_allowed", "Peran Anda tidak dapat menautkan pengaduan.")
    wanted = other.strip().upper()
    found = session.scalar(select(Complaint).where(Complaint.ticket == wanted)) if wanted else None
    if found is None:
        message = f"Pengaduan {wanted} tidak ditemukan." if wanted else "Isi nomor tiket pengaduan lain."
        code = "other_not_found" if wanted else "required"
        raise ApiError(422, code, message, errors=[FieldError("other", code, message)])
    return complaint, found


def _refused(exc: linking.LinkRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, errors=[FieldError("other", exc.code, exc.message)])


def add_link(
    session: Session, user: StaffUser, ticket: str, *, other: str, relation: linking.Relation, at: datetime
) -> list[LinkView]:
    """Link two complaints (related, or one the duplicate of the other); the complaint's links."""
    who = linking.LinkActor(user.username, user.role)
    try:
        with session.begin():
            complaint, found = _link_use_case(session, user, ticket, other)
            linking.link(session, complaint, found, relation, actor=who, now=at)
    except linking.LinkRefused as exc:
        raise _refused(exc) from exc
    except IntegrityError as exc:  # the same pair (or duplicate) linked by another officer meanwhile
        message = "Pengaduan ini baru saja ditautkan oleh petugas lain; muat ulang lalu periksa."
        raise ApiError(
            409, "already_linked", message, errors=[FieldError("other", "already_linked", message)]
        ) from exc
    return _links_after(session, user, ticket)


def remove_link(
    session: Session, user: StaffUser, ticket: str, *, other: str, at: datetime
) -> list[LinkView]:
    """Unlink two complaints; the complaint's links."""
    who = linking.LinkActor(user.username, user.role)
    try:
        with session.begin():
            complaint, found = _link_use_case(session, user, ticket, other)
            linking.unlink(session, complaint, found, actor=who, now=at)
    except linking.LinkRefused as exc:
        raise _refused(exc) from exc
    return _links_after(session, user, ticket)


def _links_after(session: Session, user: StaffUser, ticket: str) -> list[LinkView]:
    views = link_views(session, load_visible(session, user, ticket))
    session.rollback()  # end the read
    return views


def links(session: Session, user: StaffUser, ticket: str) -> list[LinkView]:
    """A complaint's links, for the roles that read every complaint."""
    complaint = load_visible(session, user, ticket)
    if user.role not in READ_ALL_ROLES:
        raise ApiError(403, "role_not_allowed", "Peran Anda tidak dapat melihat tautan pengaduan.")
    return link_views(session, complaint)


def _legal_clocks(
    c: Complaint, deliveries: list[DeliveryView], history: list[HistoryView], at: datetime
) -> LegalClocks:
    settings = get_settings()
    first_reply_due = c.received_at + settings.legal_first_reply
    replied = min((d.at for d in deliveries if d.outcome == AttemptOutcome.DELIVERED), default=c.closed_at)
    complete = sla.file_complete_at(
        c.received_at,
        paused_at=c.paused_at,
        closed_at=c.closed_at,
        documents_in=[h.at for h in history if h.action == "info_received"],
    )
    decision_due = complete + settings.legal_decision if complete is not None else None
    return LegalClocks(
        first_reply_due_at=first_reply_due,
        first_reply_at=replied,
        file_complete_at=complete,
        decision_due_at=decision_due,
        decided_at=c.closed_at,
        first_reply_overdue=(replied or at) > first_reply_due,
        decision_overdue=decision_due is not None and (c.closed_at or at) > decision_due,
    )


STALE_VERSION = [
    FieldError("version", "version_conflict", "Versi ini sudah usang; muat ulang pengaduan lalu coba lagi.")
]


def _check_channel(action: str, inputs: Mapping[str, Any]) -> None:
    """Refuse an answer the notify service would "send" by a channel that only logs: the complaint
    would close `answered` with nobody told (unless ADUAN_DEMO_LOG_CHANNELS says it is a demo)."""
    method = inputs.get("method")
    if action != "deliver" or inputs.get("outcome") is not None or not isinstance(method, str):
        return  # not a send: an outcome the front office records (in person, by phone, by hand)
    settings = get_settings()
    if method in settings.log_only_kinds() and not settings.demo_log_channels:
        label = CHOICE_LABELS.get(method, method)
        message = (
            f"{label} belum tersambung ke gateway, jadi jawaban tidak akan sampai. "
            "Sampaikan jawaban secara langsung atau lewat telepon."
        )
        raise InputError([FieldError("method", "channel_not_configured", message)])


def act(
    session: Session,
    user: StaffUser,
    ticket: str,
    *,
    action: str,
    version: int,
    inputs: Mapping[str, Any],
    at: datetime,
) -> ActionAccepted:
    """Take an action on a complaint in one transaction; 409 if another officer got there first."""
    _check_channel(action, inputs)
    try:
        with session.begin():
            complaint = load_visible(session, user, ticket)
            if user.role in (Role.KEPALA_DINAS, Role.ADMIN):
                raise Forbidden("read_only_role", "Peran Anda hanya dapat membaca pengaduan.")
            done = transition(
                session,
                complaint,
                action=action,
                version=version,
                inputs=inputs,
                actor=user.actor,
                now=at,
            )
    except Conflict as exc:
        stale = exc.code == "version_conflict"
        raise ApiError(409, exc.code, exc.message, errors=STALE_VERSION if stale else None) from exc
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message) from exc
    except StaleDataError as exc:
        raise ApiError(
            409,
            "version_conflict",
            "Pengaduan telah diubah oleh petugas lain; muat ulang lalu coba lagi.",
            errors=STALE_VERSION,
        ) from exc
    except IntegrityError as exc:  # a unique key another officer's commit took first (a link)
        message = "Pengaduan ini baru saja diubah oleh petugas lain; muat ulang lalu coba lagi."
        raise ApiError(409, "conflict", message) from exc
    except WorkflowError as exc:  # pragma: no cover - every subclass is handled above
        raise ApiError(422, exc.code, exc.message) from exc
    c = done.complaint
    return ActionAccepted(
        ticket=c.ticket,
        action=done.action.name,
        status=c.status,
        step=c.step,
        outcome=c.outcome,
        version=done.version,
        handoff_pending=c.handoff_pending,
    )


def archive(session: Session, user: StaffUser, ticket: str) -> ArchiveView:
    """The whole process of a complaint as one record."""
    c = load_visible(session, user, ticket)
    hidden = _identity_hidden(user, c)
    return ArchiveView(
        office=office.identity(session).name,
        ticket=c.ticket,
        status=c.status,
        outcome=c.outcome,
        outcome_label=outcome_label(c.outcome) if c.outcome else None,
        channel=c.channel,
        subject=c.subject,
        description=c.description,
        category=c.category_code,
        complainant=_complainant(user, c),
        received_at=c.received_at,
        closed_at=c.closed_at,
        archived=c.status == Status.CLOSED,
        dispositions=_dispositions(session, c.id),
        answer=c.answer,
        delivery_attempts=_deliveries(session, c.id, hide_identity=hidden),
        handoffs=_history(session, c.id, hide_identity=hidden),
        feedback=_feedback(session, c.id),
    )


def escalations(session: Session, user: StaffUser, *, limit: int, offset: int) -> EscalationList:
    """Reminders and escalations addressed to the caller's role (and unit) on stays still running."""
    where: list[ColumnElement[bool]] = [
        Escalation.target_role == user.role.value,
        Complaint.status == Status.OPEN.value,
        Complaint.step == Escalation.step,
        Escalation.entered_at >= Complaint.stay_started_at,  # this stay, before or after a pause
    ]
    if user.role == Role.BIDANG:
        where.append(Escalation.target_unit == user.unit)
    # the columns an item shows, not two whole entities a row
    query = select(
        Escalation.step,
        Escalation.level,
        Escalation.due_at,
        Escalation.fired_at,
        Escalation.notify_at,
        Complaint.ticket,
        Complaint.subject,
        Complaint.unit_code,
    ).join(Complaint, Complaint.id == Escalation.complaint_id)
    total = (
        session.scalar(
            select(func.count())
            .select_from(Escalation)
            .join(Complaint, Complaint.id == Escalation.complaint_id)
            .where(*where)
        )
        or 0
    )
    rows = session.execute(
        query.where(*where).order_by(Escalation.level.desc(), Escalation.fired_at).limit(limit).offset(offset)
    ).all()
    items = [
        EscalationItem(
            ticket=r.ticket,
            subject=r.subject,
            step=r.step,
            level=r.level,
            label=sla.LABELS[r.level],
            holder_role=STEPS[Step(r.step)].role.value,
            unit=r.unit_code,
            due_at=r.due_at,
            fired_at=r.fired_at,
            notify_at=r.notify_at,
        )
        for r in rows
    ]
    return EscalationList(items=items, total=int(total))


def disposition_instructions(session: Session) -> list[str]:
    """The instructions the Sekretaris ticks on the lembar disposisi, in the admin's order."""
    order = (DispositionInstruction.position, DispositionInstruction.id)
    rows = session.scalars(select(DispositionInstruction.label).order_by(*order)).all()
    session.rollback()  # end the read; the caller's use case opens its own transaction
    return list(rows)


def set_disposition_instructions(
    session: Session, texts: Sequence[str], *, by: Actor | None = None, address: str | None = None
) -> list[str]:
    """The admin's new list of tick boxes (dispositions already made keep what they said)."""
    kept = [t.strip() for t in texts if t.strip()]
    errors = [
        FieldError(f"instructions.{i}", "too_long", "Instruksi paling panjang 200 karakter.")
        for i, t in enumerate(kept)
        if len(t) > INSTRUCTION_MAX
    ]
    if not kept:
        errors.append(FieldError("instructions", "required", "Isi paling sedikit satu instruksi."))
    if len(kept) > INSTRUCTIONS_MAX:
        errors.append(FieldError("instructions", "too_many", f"Paling banyak {INSTRUCTIONS_MAX} instruksi."))
    if len({t.casefold() for t in kept}) != len(kept):
        errors.append(FieldError("instructions", "duplicate", "Ada instruksi yang tertulis dua kali."))
    if errors:
        raise InputError(errors)
    with session.begin():
        session.execute(delete(DispositionInstruction))
        session.add_all(DispositionInstruction(label=t, position=i) for i, t in enumerate(kept))
        if by is not None:  # an officer's change (the API, the console) goes in the audit log
            detail = {"instructions": kept}
            audit.record(session, by=by, action="instructions.update", address=address, detail=detail)
    return kept
