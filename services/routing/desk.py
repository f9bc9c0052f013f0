"""The front desk: a Front Office officer files a walk-in, a call, a letter or an e-mail (no kiosk),
and may verify it and forward or resolve it at once; the tanda terima it prints.

Filing is `shared.filing`'s, as the intake's; the action is the one `transition()`. Both happen in
one transaction, so the history has two rows (filed, then the action) and a refused action files
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.routing.auth import StaffUser
from services.routing.schemas import EarlierComplaint
from services.routing.service import complaints_of_person
from shared import audit, office_days, outbox
from shared.api import ApiError
from shared.complaint_in import DESK_CHANNELS, ComplaintIn
from shared.filing import body_hash, check_category, check_contact, prepare, relay_receipts, write_rows
from shared.identity import blind_index
from shared.models import Category, Complaint, Deadline, History, IdempotencyKey, User
from shared.security import cipher
from shared.sop import Role, Step, find_action
from shared.validation import FieldError, InputError, errors_of
from shared.workflow import transition

# What the officer may do at once, after filing: the verification step's path A or B (or nothing).
DESK_ACTIONS = ("forward", "resolve")
NOT_FRONT_OFFICE = ApiError(403, "role_not_allowed", "Hanya Front Office yang mencatat pengaduan baru.")
_NOT_DIGITS = re.compile(r"\D")


def check_officer(user: StaffUser) -> None:
    if user.role != Role.FRONT_OFFICE:
        raise NOT_FRONT_OFFICE


def check_desk_channel(body: ComplaintIn) -> None:
    """A desk filing is a walk-in, a call, a letter or an e-mail (a kiosk files its own)."""
    if body.channel not in DESK_CHANNELS:
        choices = ", ".join(c.value for c in DESK_CHANNELS)
        raise InputError([FieldError("channel", "invalid_choice", f"Pilihan yang diterima: {choices}.")])


def check_then(then: str | None, inputs: Mapping[str, Any]) -> None:
    """The action to take at once, checked against the SOP table's inputs before anything is filed."""
    if then is None:
        return
    spec = find_action(Step.VERIFICATION, then) if then in DESK_ACTIONS else None
    if spec is None:
        choices = ", ".join(DESK_ACTIONS)
        raise InputError([FieldError("then", "invalid_choice", f"Pilihan yang diterima: {choices}.")])
    try:
        spec.inputs.model_validate(dict(inputs))
    except ValidationError as exc:
        raise InputError(errors_of(exc)) from exc


@dataclass(frozen=True)
class DeskFiled:
    ticket: str
    tracking_code: str
    then: str | None  # the action taken at once
    replayed: bool = False  # the same form was posted before: nothing new was filed


def _active_categories(session: Session) -> set[str]:
    return set(session.scalars(select(Category.code).where(Category.active.is_(True))))


def _replay(session: Session, user: StaffUser, key: str, digest: str) -> DeskFiled | None:
    """What this officer's form with `key` filed before, or None; 422 when it filed something else
    (the form went back and was changed: a new complaint needs a new form)."""
    row = session.execute(
        select(Complaint.ticket, Complaint.tracking_code_enc, IdempotencyKey.body_hash)
        .join(IdempotencyKey, IdempotencyKey.complaint_id == Complaint.id)
        .where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    ).first()
    if row is None:
        return None
    if row.body_hash != digest:
        raise InputError(
            [
                FieldError(
                    "idempotency_key",
                    "idempotency_key_reused",
                    f"Formulir ini sudah tercatat sebagai {row.ticket} dengan isi yang berbeda. "
                    "Buka Pengaduan baru lagi untuk mencatat pengaduan lain.",
                )
            ]
        )
    code = cipher().decrypt(row.tracking_code_enc, field="tracking_code")
    return DeskFiled(row.ticket, code, then=None, replayed=True)


def file_at_desk(
    session: Session,
    user: StaffUser,
    body: ComplaintIn,
    *,
    then: str | None,
    inputs: Mapping[str, Any],
    key: str | None,
    at: datetime,
) -> DeskFiled:
    """File `body` as the officer, then take `then` (forward, resolve) with `inputs`: one transaction.

    With a key (one per render of the form), a second post of the same form files nothing and
    answers what the first filed.
    """
    check_officer(user)
    errors: list[FieldError] = []
    active = _active_categories(session)
    checks: list[Callable[[], None]] = [
        lambda: check_desk_channel(body),
        lambda: check_contact(body),
        lambda: check_category(body.category, active),
        lambda: check_then(then, inputs),
    ]
    for check in checks:  # every error at once, beside its field
        try:
            check()
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    digest = body_hash(body)
    if key is not None and (first := _replay(session, user, key, digest)) is not None:
        return first
    session.rollback()  # end the reads: the filing is its own transaction
    try:
        with session.begin():
            filing = prepare(
                body,
                kiosk_id=None,
                idempotency=(key, digest) if key is not None else None,
                now=at,
                overrides=office_days.overrides(session),
                relayed=relay_receipts(),
                officer=user.actor,
                officer_id=user.id,
            )
            filed = write_rows(session, filing)
            ticket = filed.response["ticket"]
            if then is not None:
                complaint = session.scalars(select(Complaint).where(Complaint.ticket == ticket)).one()
                transition(
                    session,
                    complaint,
                    action=then,
                    version=complaint.version,
                    inputs=inputs,
                    actor=user.actor,
                    now=at,
                )
    except IntegrityError:
        if key is None:
            raise
        first = _replay(session, user, key, digest)  # a second post of this form committed first
        session.rollback()
        if first is None:
            raise ApiError(409, "conflict", "Pengaduan dengan kunci ini sedang diproses.") from None
        return first
    if filed.messages:  # SQLite: the receipt goes after commit (PostgreSQL: the sweeper relays it)
        outbox.publish(filed.messages)
    return DeskFiled(ticket, filed.response["tracking_code"], then=then)


def earlier_by_identity(
    session: Session, user: StaffUser, *, nik: str | None, phone: str | None
) -> list[EarlierComplaint]:
    """Complaints by the person with this NIK or phone number (as typed), by blind index only."""
    check_officer(user)
    nik_digits = _NOT_DIGITS.sub("", nik or "")
    phone_digits = _NOT_DIGITS.sub("", phone or "")
    return complaints_of_person(
        session,
        nik_index=blind_index(nik_digits, field="nik") if len(nik_digits) == 16 else None,
        phone_index=blind_index(phone or "", field="phone") if len(phone_digits) >= 8 else None,
    )


@dataclass(frozen=True)
class Receipt:
    """What the tanda terima prints: the kiosk receipt's facts, and who filed it at the desk."""

    ticket: str
    tracking_code: str
    channel: str
    received_at: datetime
    step_due_at: datetime | None
    officer_name: str
    officer_nip: str | None


def receipt(session: Session, user: StaffUser, ticket: str, *, address: str | None) -> Receipt:
    """The tanda terima of a complaint, for the Front Office: the tracking code is on it, so each
    print (and reprint) is in the audit log, with who printed it and from where."""
    check_officer(user)
    c = session.scalar(select(Complaint).where(Complaint.ticket == ticket))
    if c is None:
        raise ApiError(404, "not_found", "Pengaduan tidak ditemukan.")
    # The officer who filed it at the desk (a kiosk's complaint: the officer printing it).
    filer = session.scalar(
        select(History.actor).where(History.complaint_id == c.id, History.action == "received").limit(1)
    )
    officer = session.execute(
        select(User.username, User.full_name, User.nip).where(User.username.in_([filer or "", user.username]))
    ).all()
    found = {o.username: o for o in officer}
    chosen = found.get(filer or "") or found[user.username]
    # The verification step's time standard as filed (the step may have moved on since).
    due = c.step_due_at if c.step == Step.VERIFICATION else _first_due(session, c)
    printed = Receipt(
        ticket=c.ticket,
        tracking_code=cipher().decrypt(c.tracking_code_enc, field="tracking_code"),
        channel=c.channel,
        received_at=c.received_at,
        step_due_at=due,
        officer_name=chosen.full_name or chosen.username,
        officer_nip=chosen.nip,
    )
    audit.record_read(session, by=user.actor, action=audit.RECEIPT_PRINT, ticket=c.ticket, address=address)
    return printed


def _first_due(session: Session, c: Complaint) -> datetime | None:
    """The verification deadline the complaint was filed with (its first stay's breach timer)."""
    return session.scalar(
        select(Deadline.due_at)
        .where(
            Deadline.complaint_id == c.id,
            Deadline.step == Step.VERIFICATION.value,
            Deadline.entered_at == c.received_at,
            Deadline.kind == "breach",
        )
        .limit(1)
    )


def api_errors(exc: InputError) -> InputError:
    """The desk's field errors named by their place in the API's body (`complaint.…`, `inputs.…`)."""
    own = set(ComplaintIn.model_fields)

    def where(field: str) -> str:
        if field == "then":
            return field
        if field == "idempotency_key":  # the API's header (the console's form carries it as a field)
            return "Idempotency-Key"
        return f"complaint.{field}" if field.split(".")[0] in own else f"inputs.{field}"

    return InputError([FieldError(where(e.field), e.code, e.message) for e in exc.errors])
