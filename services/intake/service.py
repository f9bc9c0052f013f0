"""Intake use cases: file a complaint (one transaction), track it, rate it, list categories."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.intake.schemas import Category as CategoryOut
from services.intake.schemas import (
    ComplaintIn,
    FeedbackIn,
    FeedbackOut,
    MergedInto,
    PublicEvent,
    TrackFeedback,
    TrackView,
)
from shared import linking, office_days
from shared.api import ApiError
from shared.delivery import known
from shared.filing import (
    Filed,
    check_category,
    check_contact,
    prepare,
    relay_receipts,
    write_in_one_statement,
    write_rows,
)
from shared.models import (
    Category,
    Complaint,
    Feedback,
    History,
    IdempotencyKey,
    Kiosk,
)
from shared.numbering import insert_ignoring_conflicts
from shared.security import cipher, kiosk_key_hash, new_token, tracking_code_matches
from shared.settings import get_settings
from shared.sop import STEPS, Outcome, Status, Step, public_status
from shared.survey import SCORE_LABELS, feedback_url
from shared.validation import FieldError, InputError


class _TtlCache:
    """A tiny per-process cache: kiosk keys and categories change rarely and are read per request."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, value: Any, ttl: float) -> None:
        self._items[key] = (time.monotonic() + ttl, value)


_cache = _TtlCache()


def cached_kiosk_for_key(key: str) -> int | None:
    """The id of the active kiosk holding `key` when it was looked up lately, else None."""
    cached = _cache.get(f"kiosk:{kiosk_key_hash(key)}")
    return int(cached) if cached is not None else None


async def kiosk_for_key(session: AsyncSession, key: str) -> int | None:
    """The id of the active kiosk holding `key`, or None."""
    digest = kiosk_key_hash(key)
    cached = _cache.get(f"kiosk:{digest}")
    if cached is not None:
        return int(cached)
    kiosk_id = await session.scalar(select(Kiosk.id).where(Kiosk.key_hash == digest, Kiosk.active.is_(True)))
    if kiosk_id is not None:
        _cache.put(f"kiosk:{digest}", kiosk_id, get_settings().kiosk_key_cache_seconds)
    return kiosk_id


@dataclass(frozen=True)
class KioskBrowser:
    """The kiosk an enrolled browser belongs to (its cookie's secret matched)."""

    id: int
    name: str
    active: bool


async def kiosk_for_browser(session: AsyncSession, secret: str) -> KioskBrowser | None:
    """The kiosk whose enrolled browser holds `secret` (active or revoked), or None."""
    row = (
        await session.execute(
            select(Kiosk.id, Kiosk.name, Kiosk.active).where(Kiosk.browser_key_hash == kiosk_key_hash(secret))
        )
    ).first()
    return KioskBrowser(id=row.id, name=row.name, active=row.active) if row is not None else None


WEB_FORM_KIOSK = "formulir-web"


async def web_form_kiosk(session: AsyncSession) -> KioskBrowser | None:
    """The kiosk row the public web form files under, or None before its first use."""
    query = select(Kiosk.id, Kiosk.name, Kiosk.active).where(Kiosk.name == WEB_FORM_KIOSK)
    row = (await session.execute(query)).first()
    return KioskBrowser(id=row.id, name=row.name, active=row.active) if row is not None else None


async def add_web_form_kiosk(session: AsyncSession, *, now: datetime) -> None:
    """Make the web form's kiosk row (its key is never shown); a concurrent first use adds nothing."""
    values = {
        "name": WEB_FORM_KIOSK,
        "key_hash": kiosk_key_hash(new_token()),
        "active": True,
        "created_at": now,
    }
    await session.execute(insert_ignoring_conflicts(session.get_bind().dialect.name, Kiosk).values(values))


async def kiosk_for_enrol_token(session: AsyncSession, token: str, *, now: datetime) -> str | None:
    """The name of the active kiosk an unused, unexpired enrolment link belongs to, or None."""
    return await session.scalar(
        select(Kiosk.name).where(
            Kiosk.enrol_token_hash == kiosk_key_hash(token),
            Kiosk.active.is_(True),
            Kiosk.enrol_expires_at > now,
        )
    )


async def enrol_browser(session: AsyncSession, token: str, *, now: datetime) -> str | None:
    """Use an enrolment link once: the new secret of the kiosk's browser cookie, or None if invalid.

    One UPDATE guarded by the link's hash: of two tabs opening the same link, one enrols.
    """
    secret = new_token()
    name = await session.scalar(
        update(Kiosk)
        .where(
            Kiosk.enrol_token_hash == kiosk_key_hash(token),
            Kiosk.active.is_(True),
            Kiosk.enrol_expires_at > now,
        )
        .values(enrol_token_hash=None, enrol_expires_at=None, browser_key_hash=kiosk_key_hash(secret))
        .returning(Kiosk.name)
    )
    return secret if name is not None else None


_ACTIVE_CATEGORIES = (
    select(Category.code, Category.name, Category.unit_code)
    .where(Category.active.is_(True))
    .order_by(Category.position, Category.code)
)


def _keep_categories(result: Iterable[Any]) -> list[CategoryOut]:
    rows = [CategoryOut(code=code, name=name, unit=unit) for code, name, unit in result]
    _cache.put("categories", rows, 30.0)
    return rows


async def active_categories(session: AsyncSession) -> list[CategoryOut]:
    """Active categories in display order (plain values, so they can outlive the session)."""
    cached = _cache.get("categories")
    if cached is not None:
        return list(cached)
    return _keep_categories(await session.execute(_ACTIVE_CATEGORIES))


def active_categories_in(session: Session) -> list[CategoryOut]:
    """`active_categories` on a synchronous session (the SQLite writer thread's)."""
    cached = _cache.get("categories")
    if cached is not None:
        return list(cached)
    return _keep_categories(session.execute(_ACTIVE_CATEGORIES))


def replay(session: Session, *, kiosk_id: int, key: str, digest: str) -> dict[str, Any] | None:
    """The first response to an Idempotency-Key, or None if the key is new; 422 if the body differs."""
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.kiosk_id == kiosk_id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.body_hash != digest:
        raise InputError(
            [
                FieldError(
                    "Idempotency-Key",
                    "idempotency_key_reused",
                    "Idempotency-Key ini sudah dipakai untuk isi pengaduan lain.",
                )
            ]
        )
    sealed = session.scalar(select(Complaint.tracking_code_enc).where(Complaint.id == row.complaint_id))
    assert sealed is not None  # noqa: S101 - the foreign key guarantees it
    return {**row.response, "tracking_code": cipher().decrypt(sealed, field="tracking_code")}


async def file_complaint(
    session: AsyncSession,
    body: ComplaintIn,
    *,
    kiosk_id: int,
    idempotency: tuple[str, str] | None,
    now: datetime,
) -> Filed | None:
    """Write the complaint, its history row, its timers, its receipt (and idempotency key) at once.

    None when `idempotency` names a key this kiosk already used (the caller replays it).
    """
    check_contact(body)
    check_category(body.category, {c.code for c in await active_categories(session)})
    filing = prepare(
        body,
        kiosk_id=kiosk_id,
        idempotency=idempotency,
        now=now,
        overrides=await office_days.overrides_async(session),
        relayed=relay_receipts(),
    )
    return await write_in_one_statement(session, filing)


def file_row_by_row(
    session: Session,
    body: ComplaintIn,
    *,
    kiosk_id: int,
    idempotency: tuple[str, str] | None,
    now: datetime,
) -> Filed:
    """`file_complaint` on SQLite, in the caller's transaction (the writer thread's unit of work)."""
    check_contact(body)
    check_category(body.category, {c.code for c in active_categories_in(session)})
    filing = prepare(
        body,
        kiosk_id=kiosk_id,
        idempotency=idempotency,
        now=now,
        overrides=office_days.overrides(session),
        relayed=relay_receipts(),
    )
    return write_rows(session, filing)


def files_in_one_statement(session: AsyncSession) -> bool:
    """True on PostgreSQL: a filing is one statement that commits on its own, outside the session's
    transaction (which then only reads); on SQLite the rows are written in the session's."""
    return session.get_bind().dialect.name == "postgresql"


NOT_FOUND = ApiError(404, "not_found", "Nomor tiket atau kode pelacakan tidak cocok.")
NOT_CLOSED = ApiError(409, "not_closed", "Survei kepuasan dapat diisi setelah pengaduan selesai ditangani.")
FEEDBACK_EXISTS = ApiError(409, "feedback_exists", "Penilaian untuk pengaduan ini sudah diberikan.")


@dataclass(frozen=True)
class Found:
    """A complaint the caller proved to own: the ticket and the tracking code matched."""

    complaint: Complaint
    tracking_code: str  # as stored (the caller's may differ in case or spacing)


MAX_CODE_LENGTH = 32


async def find(session: AsyncSession, ticket: str, code: str) -> Found | None:
    """The complaint `ticket` when `code` is its tracking code (compared in constant time), else None."""
    if len(code) > MAX_CODE_LENGTH:  # cannot match; answered like any other wrong code
        return None
    complaint = await session.scalar(select(Complaint).where(Complaint.ticket == ticket))
    if complaint is None:
        return None
    stored = cipher().decrypt(complaint.tracking_code_enc, field="tracking_code")
    if not tracking_code_matches(code, stored):
        return None
    return Found(complaint, stored)


async def feedback_of(session: AsyncSession, complaint_id: int) -> Feedback | None:
    return await session.scalar(select(Feedback).where(Feedback.complaint_id == complaint_id))


async def track(session: AsyncSession, ticket: str, code: str) -> TrackView | None:
    """The citizen's view of a complaint, or None when the ticket or code does not match."""
    found = await find(session, ticket, code)
    if found is None:
        return None
    complaint = found.complaint
    rated = await feedback_of(session, complaint.id)
    closed = complaint.status == Status.CLOSED
    rows = await session.scalars(
        select(History).where(History.complaint_id == complaint.id).order_by(History.id)
    )
    events: list[PublicEvent] = []
    referred_to = None
    for h in rows:
        # A closing row's detail names the complaint's outcome; a delivery attempt's names its own
        # (delivered, unreachable), which is not one.
        outcome = known(Outcome, (h.detail or {}).get("outcome"))
        if h.action == "queued" or (h.to_step is None and outcome is None):
            continue  # arrivals and attempts that left the complaint where it was
        status, label = public_status(h.to_step, outcome)
        if h.action == "refer":
            referred_to = (h.detail or {}).get("authority")
        if events and events[-1].label == label:
            continue
        events.append(PublicEvent(at=h.at, status=status, label=label))
    status, label = public_status(complaint.step, complaint.outcome)
    answered = complaint.outcome in {"answered", "answered_at_front_office"}
    merged = await _merged_into(session, complaint) if complaint.outcome == Outcome.DUPLICATE else None
    return TrackView(
        ticket=complaint.ticket,
        status=status,
        status_label=label,
        step=complaint.step,
        outcome=complaint.outcome,
        received_at=complaint.received_at,
        updated_at=complaint.updated_at,
        step_due_at=complaint.step_due_at,
        closed_at=complaint.closed_at,
        history=events,
        answer=complaint.answer if answered else None,
        referred_to=referred_to,
        merged_into=merged,
        feedback=TrackFeedback(score=rated.score, created_at=rated.created_at) if rated else None,
        feedback_url=(
            feedback_url(get_settings(), complaint.ticket, found.tracking_code)
            if closed and rated is None
            else None
        ),
    )


async def _merged_into(session: AsyncSession, complaint: Complaint) -> MergedInto | None:
    """The original a duplicate was merged with (the end of the chain), in public terms."""
    original = await session.run_sync(lambda sync: linking.root_original(sync, complaint.id))
    if original is None:
        return None
    status, label = public_status(original.step, original.outcome)
    return MergedInto(
        ticket=original.ticket,
        status=status,
        status_label=label,
        step=original.step,
        step_number=STEPS[Step(original.step)].number if original.step else None,
        updated_at=original.updated_at,
    )


def feedback_out(ticket: str, row: Feedback) -> FeedbackOut:
    return FeedbackOut(
        ticket=ticket,
        score=row.score,
        score_label=SCORE_LABELS[row.score],
        comment=row.comment,
        created_at=row.created_at,
    )


async def rate(
    session: AsyncSession, ticket: str, code: str, body: FeedbackIn, *, now: datetime
) -> FeedbackOut:
    """Store the citizen's rating of a closed complaint, once; the unique key settles a race."""
    found = await find(session, ticket, code)
    if found is None:
        raise NOT_FOUND
    if found.complaint.status != Status.CLOSED:
        raise NOT_CLOSED
    if await feedback_of(session, found.complaint.id) is not None:
        raise FEEDBACK_EXISTS
    row = Feedback(
        complaint_id=found.complaint.id,
        score=body.score,
        comment=body.comment or None,  # a blank comment is no comment
        created_at=now,
    )
    session.add(row)
    await session.flush()  # a concurrent rating that committed first fails here (IntegrityError)
    return feedback_out(found.complaint.ticket, row)


async def has_feedback(session: AsyncSession, ticket: str) -> bool:
    """True when the complaint `ticket` has a rating (after a lost race on the unique key)."""
    found = await session.scalar(
        select(Feedback.id)
        .join(Complaint, Complaint.id == Feedback.complaint_id)
        .where(Complaint.ticket == ticket)
    )
    return found is not None
