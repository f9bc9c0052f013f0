"""The one transition function: validates an action against the SOP, applies it, records it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from shared import history, linking, notices, office_days, outbox, sla
from shared.calendar import Override
from shared.clock import WIB, calendar_for, step_due, step_standard
from shared.delivery import ATTEMPT_MOVES, DELIVERY_STATE_AFTER, AttemptOutcome, DeliveryState, check_move
from shared.models import Complaint, Deadline, DeliveryAttempt, Disposition, Unit
from shared.numbering import next_number
from shared.settings import Settings, get_settings
from shared.sop import (
    ELECTRONIC_METHODS,
    STEPS,
    ActionSpec,
    Deliver,
    Dispose,
    Inputs,
    Outcome,
    ReplyMethod,
    Role,
    Status,
    Step,
    Target,
    find_action,
)
from shared.tasks import HandoffPayload, NotifyEvent, NotifyPayload, TaskName
from shared.validation import FieldError, InputError, check_mobile, errors_of


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff account's name, role and (for a bidang) unit."""

    name: str
    role: Role
    unit: str | None = None


class WorkflowError(Exception):
    """An action the SOP does not allow now; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Conflict(WorkflowError):
    """The complaint moved on (stale version, other step, closed): reload and retry."""


class Forbidden(WorkflowError):
    """The actor's role or unit does not hold this step."""


@dataclass(frozen=True)
class Transition:
    complaint: Complaint
    action: ActionSpec
    target: Target
    version: int  # the complaint's version once the caller's transaction commits


def transition(
    session: Session,
    complaint: Complaint,
    *,
    action: str,
    version: int,
    inputs: Mapping[str, Any],
    actor: Actor,
    now: datetime,
) -> Transition:
    """Apply `action` to `complaint` as `actor`: guard, validate, stamp, record, register follow-ups.

    The caller's transaction commits once; the UPDATE carries `WHERE version = :version`, so of two
    concurrent actions on one complaint exactly one commits (the other gets StaleDataError).
    """
    if complaint.status != Status.OPEN or complaint.step is None or complaint.handoff_pending:
        raise Conflict("step_changed", "Pengaduan sudah tidak berada pada tahap ini.")
    if version != complaint.version:
        raise Conflict(
            "version_conflict",
            "Pengaduan telah diubah oleh petugas lain; muat ulang lalu coba lagi.",
        )
    step = Step(complaint.step)
    check_may_act(actor, complaint)
    spec = find_action(step, action)
    if spec is None:
        raise InputError(
            [
                FieldError(
                    "action",
                    "action_not_allowed",
                    f"Tindakan '{action}' tidak tersedia pada tahap ini.",
                )
            ]
        )
    try:
        data = spec.inputs.model_validate(dict(inputs))
    except ValidationError as exc:
        raise InputError(errors_of(exc)) from exc

    new_version = complaint.version + 1
    target = spec.target(data)
    if isinstance(target, Outcome):
        # The closing message with the link to rate the service (an answer sent through a
        # gateway carries that link itself).
        closing: NotifyPayload = {
            "complaint_id": complaint.id,
            "event": NotifyEvent.CLOSING.value,
            "method": None,
        }
        outbox.enqueue(session, TaskName.NOTIFY, closing, now=now)
    act = Act(session, complaint, actor, now, detail=data.model_dump(mode="json", exclude_none=True))
    # One flush at commit: a query inside the effect must not flush the complaint early (each
    # flush of a changed row bumps its version, and the caller was promised `new_version`).
    with session.no_autoflush:
        if spec.effect is not None:
            spec.effect(act, data)
        _move(session, complaint, target, now=now, version=new_version)
        history.record(
            session,
            complaint_id=complaint.id,
            at=now,
            actor=actor.name,
            role=actor.role.value,
            action=spec.name,
            from_step=step.value,
            to_step=target.value if isinstance(target, Step) else None,
            note=_note_of(data),
            detail={
                **act.detail,
                "label": spec.label,
                **({"outcome": target.value} if isinstance(target, Outcome) else {}),
            },
            version=new_version,
        )
    return Transition(complaint, spec, target, new_version)


def check_may_act(actor: Actor, complaint: Complaint) -> None:
    """Raise Forbidden unless the actor holds the complaint's current step (and unit)."""
    holder = STEPS[Step(complaint.step or "")].role
    if actor.role != holder:
        raise Forbidden("role_not_allowed", "Peran Anda tidak menangani tahap ini.")
    if holder == Role.BIDANG and actor.unit != complaint.unit_code:
        raise Forbidden("unit_not_allowed", "Pengaduan ini tidak didisposisikan ke bidang Anda.")


@dataclass
class Act:
    """An action being applied: what the SOP table's effect hooks record it with (its Output)."""

    session: Session
    complaint: Complaint
    actor: Actor
    now: datetime
    detail: dict[str, Any] = field(default_factory=dict)  # the history row's detail; hooks may add

    def record_attempt(self, *, method: ReplyMethod, outcome: AttemptOutcome, note: str | None) -> None:
        """An attempt at handing the answer over whose outcome the officer saw."""
        self.session.add(
            DeliveryAttempt(
                complaint_id=self.complaint.id,
                method=method.value,
                outcome=check_move(ATTEMPT_MOVES, None, outcome).value,
                note=note,
                actor=self.actor.name,
                at=self.now,
            )
        )

    def dispose(self, data: Dispose) -> None:
        _dispose(self.session, self.complaint, data, actor=self.actor, now=self.now)

    def deliver(self, data: Deliver) -> None:
        _deliver(self.session, self.complaint, data, actor=self.actor, now=self.now)

    def pause(self) -> None:
        _pause(self.session, self.complaint, now=self.now)

    def mark_duplicate(self, original_ticket: str) -> None:
        """Record the complaint as the duplicate of `original_ticket` (the link, on both sides)."""
        original = self.session.scalar(select(Complaint).where(Complaint.ticket == original_ticket))
        if original is None:
            message = f"Pengaduan {original_ticket} tidak ditemukan."
            raise InputError([FieldError("original", "not_found", message)])
        self.detail["original"] = original.ticket
        who = linking.LinkActor(self.actor.name, self.actor.role)
        try:
            linking.link(
                self.session,
                self.complaint,
                original,
                linking.Relation.DUPLICATE_OF,
                actor=who,
                now=self.now,
                upgrade=True,
            )
        except linking.LinkRefused as exc:
            raise InputError([FieldError("original", exc.code, exc.message)]) from exc

    def resume(self) -> None:
        _resume(self.session, self.complaint, now=self.now)


def _deliver(session: Session, complaint: Complaint, data: Deliver, *, actor: Actor, now: datetime) -> None:
    """Step 6: a person records the outcome, or the answer is handed to the notify service."""
    sending = complaint.delivery_state == DeliveryState.SENDING
    if sending and not _abandon_lost_send(session, complaint, now=now):
        raise Conflict(
            "delivery_in_progress", "Jawaban sedang dikirim melalui gateway; tunggu hasilnya lebih dulu."
        )
    if data.method in ELECTRONIC_METHODS and data.outcome is None:
        address = complaint.email if data.method == ReplyMethod.EMAIL else complaint.phone
        if not address:
            what = "alamat e-mail" if data.method == ReplyMethod.EMAIL else "nomor telepon"
            raise InputError(
                [FieldError("method", "no_contact", f"Pengadu tidak mencantumkan {what} untuk metode ini.")]
            )
        if data.method != ReplyMethod.EMAIL:
            check_mobile(address, field="method")  # DOMAIN.md: only a mobile receives SMS/WhatsApp
        session.add(
            DeliveryAttempt(
                complaint_id=complaint.id,
                method=data.method.value,
                outcome=AttemptOutcome.SENDING.value,
                note=data.note,
                actor=actor.name,
                at=now,
                recipient=address,
            )
        )
        _set_delivery_state(complaint, AttemptOutcome.SENDING, note=None)
        payload: NotifyPayload = {
            "complaint_id": complaint.id,
            "event": NotifyEvent.ANSWER.value,
            "method": data.method.value,
        }
        outbox.enqueue(session, TaskName.NOTIFY, payload, now=now)
        return
    if data.outcome is None:
        raise InputError(
            [FieldError("outcome", "required", "Wajib diisi untuk penyampaian langsung, telepon atau surat.")]
        )
    # Recorded by the officer: in person, by phone, by letter, or a message sent by hand (the
    # office's own WhatsApp phone, say), whose result the officer saw.
    if data.method == ReplyMethod.EMAIL:
        recipient = complaint.email
    elif data.method in (ReplyMethod.PHONE, ReplyMethod.SMS, ReplyMethod.WHATSAPP):
        recipient = data.phone_called or complaint.phone
    else:
        recipient = None
    session.add(
        DeliveryAttempt(
            complaint_id=complaint.id,
            method=data.method.value,
            outcome=check_move(ATTEMPT_MOVES, None, data.outcome).value,
            note=data.note,
            actor=actor.name,
            at=now,
            result_at=now,
            recipient=recipient,
            to_whom=data.to_whom
            or (complaint.complainant_name if data.outcome == AttemptOutcome.DELIVERED else None),
        )
    )
    _set_delivery_state(complaint, data.outcome, note=data.note or "Pengadu tidak dapat dihubungi.")


def _set_delivery_state(complaint: Complaint, latest: AttemptOutcome, *, note: str | None) -> None:
    """The complaint's delivery state follows its latest attempt; the note says why it is stuck."""
    state = DELIVERY_STATE_AFTER[latest]
    complaint.delivery_state = state.value if state else None
    complaint.delivery_note = note if state in (DeliveryState.UNREACHABLE, DeliveryState.AMBIGUOUS) else None


# A hand-over to the notify service that has produced no message after this long was lost (its
# outbox message given up on): the front office may deliver again instead of waiting for ever.
LOST_SEND_AFTER = timedelta(minutes=10)


def _abandon_lost_send(session: Session, complaint: Complaint, *, now: datetime) -> bool:
    """True when the electronic delivery under way never became a message; its attempt is closed
    as unreachable, so a late task finds nothing to send."""
    attempt = session.scalar(
        select(DeliveryAttempt).where(
            DeliveryAttempt.complaint_id == complaint.id,
            DeliveryAttempt.outcome == AttemptOutcome.SENDING.value,
        )
    )
    if attempt is not None and (attempt.notification_id is not None or now - attempt.at < LOST_SEND_AFTER):
        return False
    if attempt is not None:
        attempt.outcome = check_move(ATTEMPT_MOVES, attempt.outcome, AttemptOutcome.UNREACHABLE).value
        attempt.result_at = now
        attempt.note = "Tidak pernah dikirim oleh layanan notifikasi."
    return True


_GATEWAY_VERDICT_LABELS = {
    AttemptOutcome.DELIVERED: "Jawaban terkirim melalui gateway",
    AttemptOutcome.UNREACHABLE: "Jawaban gagal terkirim melalui gateway",
    AttemptOutcome.AMBIGUOUS: "Status pengiriman jawaban tidak pasti",
}


def settle_delivery(
    session: Session,
    *,
    complaint_id: int,
    notification_id: int,
    outcome: AttemptOutcome | str,
    gateway: str,
    provider_id: str | None,
    note: str | None,
    now: datetime,
) -> bool:
    """The gateway's result for the answer sent by `notification_id` decides step 6.

    `outcome`: delivered (the complaint closes `answered`), unreachable (refused for good or given
    up after the retries) or ambiguous (may have arrived); both stay in the front office's
    delivery queue with the reason. False when the attempt was already settled (a redelivery).
    """
    outcome = AttemptOutcome(outcome)
    attempt = session.scalar(
        select(DeliveryAttempt).where(
            DeliveryAttempt.notification_id == notification_id,
            DeliveryAttempt.outcome == AttemptOutcome.SENDING.value,
        )
    )
    if attempt is None:
        return False
    attempt.outcome = check_move(ATTEMPT_MOVES, attempt.outcome, outcome).value
    attempt.gateway = gateway
    attempt.provider_id = provider_id
    attempt.result_at = now
    if note:
        attempt.note = note
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.status != Status.OPEN or complaint.step != Step.DELIVERY:
        return True
    version = complaint.version + 1
    delivered = outcome == AttemptOutcome.DELIVERED
    with session.no_autoflush:
        _set_delivery_state(complaint, outcome, note=note)
        _move(session, complaint, Outcome.ANSWERED if delivered else None, now=now, version=version)
        history.record(
            session,
            complaint_id=complaint.id,
            at=now,
            action=f"delivery_{outcome.value}",
            from_step=Step.DELIVERY.value,
            note=note,
            detail={
                "label": _GATEWAY_VERDICT_LABELS[outcome],
                "method": attempt.method,
                "gateway": gateway,
                "provider_id": provider_id,
                **({"outcome": Outcome.ANSWERED.value} if delivered else {}),
            },
            version=version,
        )
    return True


def _pause(session: Session, complaint: Complaint, *, now: datetime) -> None:
    """Stop the step clock, keeping the open time that was left."""
    if complaint.paused_at is not None:
        raise Conflict("already_paused", "Pengaduan sudah menunggu kelengkapan dari pengadu.")
    calendar = office_days.calendar(session)
    due = complaint.step_due_at
    left = calendar.open_time(now, due) if due is not None else timedelta(0)
    complaint.paused_at = now
    complaint.paused_remaining_s = int(left.total_seconds())
    complaint.step_due_at = None


def _resume(session: Session, complaint: Complaint, *, now: datetime) -> None:
    """Restart the clock with the budget left: a new stay, whose timers count what was used."""
    if complaint.paused_at is None:
        raise Conflict("not_paused", "Pengaduan tidak sedang menunggu kelengkapan.")
    settings = get_settings()
    days = office_days.overrides(session)
    calendar = calendar_for(settings, days)
    step = Step(complaint.step or "")
    standard = step_standard(settings, step)
    left = timedelta(seconds=complaint.paused_remaining_s or 0)
    used = max(calendar.budget(standard) - left, timedelta(0)) if standard else timedelta(0)
    complaint.paused_at = None
    complaint.paused_remaining_s = None
    complaint.step_entered_at = now
    complaint.step_used_s = int(used.total_seconds())
    complaint.step_due_at = calendar.add(now, left) if standard else None
    sla.schedule(
        session,
        complaint_id=complaint.id,
        step=step,
        entered_at=now,
        settings=settings,
        overrides=days,
        used=used,
        fired=sla.fired_levels(session, complaint),
    )


def _dispose(session: Session, complaint: Complaint, data: Dispose, *, actor: Actor, now: datetime) -> None:
    units = {data.unit, *data.cc_units}
    known = set(session.scalars(select(Unit.code).where(Unit.code.in_(units), Unit.active)))
    errors = [FieldError("unit", "unit_unknown", "Bidang tidak dikenal.")] if data.unit not in known else []
    errors += [
        FieldError(f"cc_units.{i}", "unit_unknown", "Bidang tidak dikenal.")
        for i, code in enumerate(data.cc_units)
        if code not in known
    ]
    if errors:
        raise InputError(errors)
    year = now.astimezone(WIB).year
    seq = next_number(session, "agenda", year)
    session.add(
        Disposition(
            complaint_id=complaint.id,
            year=year,
            agenda_seq=seq,
            agenda_number=f"{year}/{seq:05d}",
            unit_code=data.unit,
            cc_units=list(dict.fromkeys(c for c in data.cc_units if c != data.unit)),
            instructions=list(data.instructions),
            urgency=data.urgency.value,
            note=data.note,
            signed_by=actor.name,
            created_at=now,
        )
    )
    complaint.unit_code = data.unit


def _move(session: Session, complaint: Complaint, target: Target, *, now: datetime, version: int) -> None:
    complaint.updated_at = now
    if target is None:
        return
    complaint.step_entered_at = None
    complaint.stay_started_at = None
    complaint.step_due_at = None
    complaint.escalation_level = 0
    complaint.paused_at = None
    complaint.paused_remaining_s = None
    complaint.step_used_s = 0
    if isinstance(target, Step):
        complaint.step = target.value
        complaint.handoff_pending = True
        payload: HandoffPayload = {
            "complaint_id": complaint.id,
            "step": target.value,
            "version": version,
        }
        outbox.enqueue(session, TaskName.HANDOFF, payload, now=now)
    else:
        complaint.status = Status.CLOSED.value
        complaint.step = None
        complaint.outcome = target.value
        complaint.closed_at = now


@dataclass(frozen=True)
class Arrival:
    """A stay at a step as it starts: its deadline and its SLA timers (rows without complaint_id)."""

    due: datetime | None
    timers: list[dict[str, Any]]


def plan_arrival(
    step: Step, *, at: datetime, settings: Settings, overrides: Mapping[date, Override]
) -> Arrival:
    """The deadline and timers of a stay at `step` starting `at`: for a hand-off and a new complaint."""
    timers = sla.timers(complaint_id=0, step=step, entered_at=at, settings=settings, overrides=overrides)
    for t in timers:
        del t["complaint_id"]
    return Arrival(step_due(settings, step, at, overrides), timers)


@dataclass(frozen=True)
class Announcement:
    """A complaint entering `step`'s queue at `version` (in `unit`), due at `due`."""

    complaint_id: int
    step: Step
    version: int
    unit: str | None
    due: datetime | None


def announce_arrival(
    session: Session,
    *,
    complaint_id: int,
    step: Step,
    version: int,
    unit: str | None,
    due: datetime | None,
    now: datetime,
) -> None:
    """Tell the holders of `step` of the new item in their queue (an e-mail at the next opening)."""
    announce_arrivals(session, [Announcement(complaint_id, step, version, unit, due)], now=now)


def announce_arrivals(session: Session, arrivals: Sequence[Announcement], *, now: datetime) -> None:
    """`announce_arrival` for several arrivals (a batch of receipts): their notices in one INSERT."""
    if not arrivals:
        return
    send_at = office_days.calendar(session).next_open(now)
    notices.queue_staff_notices(
        session,
        [
            notices.StaffNotice(
                complaint_id=a.complaint_id,
                event=f"queued:{a.step.value}:{a.version}",
                role=STEPS[a.step].role,
                unit=a.unit,
                context={
                    "kind": "queued",
                    "step": a.step.value,
                    "version": a.version,
                    "due_at": a.due.isoformat() if a.due else None,
                },
                send_at=send_at,
            )
            for a in arrivals
        ],
        now=now,
    )


def arrive(session: Session, *, complaint_id: int, step: Step, version: int, now: datetime) -> bool:
    """The hand-off lands: the complaint enters `step`'s queue and its clock starts.

    A compare-and-set on (step, version, pending): a redelivered or re-sent hand-off changes
    nothing and returns False. Arrival does not bump the version (no one could have acted on it).
    A new complaint arrives at verification without a hand-off: the intake writes its stay from
    the same `plan_arrival`, and the notify worker announces it with the same `announce_arrival`.
    """
    stay = plan_arrival(step, at=now, settings=get_settings(), overrides=office_days.overrides(session))
    result = session.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint_id,
            Complaint.step == step.value,
            Complaint.version == version,
            Complaint.handoff_pending.is_(True),
        )
        .values(
            handoff_pending=False,
            step_entered_at=now,
            stay_started_at=now,
            step_due_at=stay.due,
            escalation_level=0,
        )
        .returning(Complaint.unit_code)
        .execution_options(synchronize_session=False)
    )
    landed = result.first()
    if landed is None:
        return False
    history.record(
        session, complaint_id=complaint_id, at=now, action="queued", to_step=step.value, version=version
    )
    if stay.timers:
        session.execute(insert(Deadline).values([{**t, "complaint_id": complaint_id} for t in stay.timers]))
    announce_arrival(
        session,
        complaint_id=complaint_id,
        step=step,
        version=version,
        unit=landed.unit_code,
        due=stay.due,
        now=now,
    )
    return True


def recompute_deadlines(session: Session, *, now: datetime) -> int:
    """Recompute the step deadline of every complaint waiting in a queue (after a calendar change)."""
    settings = get_settings()
    days = office_days.overrides(session)
    changed = 0
    rows = session.execute(
        select(
            Complaint.id,
            Complaint.step,
            Complaint.step_entered_at,
            Complaint.step_due_at,
            Complaint.step_used_s,
        ).where(
            Complaint.status == Status.OPEN.value,
            Complaint.handoff_pending.is_(False),
            Complaint.step_entered_at.is_not(None),
            Complaint.paused_at.is_(None),
        )
    ).all()
    for complaint_id, step, entered_at, due_at, used_s in rows:
        if step is None or entered_at is None:  # excluded by the query; keeps the types honest
            continue
        due = step_due(settings, Step(step), entered_at, days, used=timedelta(seconds=used_s))
        if due != due_at:
            session.execute(
                update(Complaint)
                .where(Complaint.id == complaint_id, Complaint.step == step)
                .values(step_due_at=due)
                .execution_options(synchronize_session=False)
            )
            changed += 1
    changed += notices.reschedule(session, calendar=calendar_for(settings, days), now=now)
    return changed + sla.reschedule(session, settings=settings, overrides=days)


def _note_of(data: Inputs) -> str | None:
    for name in ("note", "reason"):
        value = getattr(data, name, None)
        if value:
            return str(value)
    return None
