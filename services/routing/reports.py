"""Reports: how long each step took in office time (per step, per bidang), the legal clocks, and the
citizens' satisfaction (SKM)."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Interval, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from services.routing.volume import OpenNow, add_months, month_start, open_now
from shared import office_days, stays, survey
from shared.clock import Calendar, calendar_for, now, step_standard, to_wib
from shared.delivery import AttemptOutcome
from shared.models import (
    Complaint,
    DeliveryAttempt,
    Feedback,
    History,
    StayMinutes,
    StayRecord,
    UTCDateTime,
)
from shared.settings import Settings, get_settings
from shared.sla import file_complete_at
from shared.sop import STEPS, Outcome, Status, Step


class StepFigures(BaseModel):
    step: str
    unit: str | None = None
    count: int
    within_standard: float | None  # share of stays that kept the standard
    # Office minutes, each stay's rounded up to a whole minute (the histogram the reports read):
    # the median of an even count can end in .5.
    median_minutes: float | None
    p90_minutes: float | None
    standard_minutes: float | None


class LegalFigures(BaseModel):
    received: int
    first_reply_due_days: int
    first_reply_within: float | None  # share of the complaints whose clock has run out or stopped
    decision_due_days: int
    decision_within: float | None
    # The same judgement as counts: kept the clock, missed it, and not judged yet (still running,
    # or for the decision, not started while the file is incomplete).
    first_reply_on_time: int
    first_reply_late: int
    first_reply_pending: int
    decision_on_time: int
    decision_late: int
    decision_pending: int


class SlaReport(BaseModel):
    period_from: datetime
    period_to: datetime
    steps: list[StepFigures]
    drafting_by_unit: list[StepFigures]
    legal: LegalFigures
    open_now: OpenNow  # what is open at the time of the report, whatever the period


def standard_minutes(settings: Settings, calendar: Calendar, step: Step) -> float | None:
    """A step's time standard in office minutes; None for a step without one."""
    value = step_standard(settings, step)
    return calendar.budget(value) / timedelta(minutes=1) if value else None


Histogram = Counter[int]  # whole office minutes (rounded up) -> how many stays took them


def _nth(values: list[tuple[int, int]], k: int) -> int:
    """The k-th smallest (from 0) of a histogram's (minutes, stays), in minutes order."""
    seen = 0
    for minutes, n in values:
        seen += n
        if k < seen:
            return minutes
    raise IndexError(k)


def _figures(step: str, unit: str | None, histogram: Histogram, standard: float | None) -> StepFigures:
    values = sorted((m, n) for m, n in histogram.items() if n > 0)
    count = sum(n for _, n in values)
    if not count:
        return StepFigures(
            step=step,
            unit=unit,
            count=0,
            within_standard=None,
            median_minutes=None,
            p90_minutes=None,
            standard_minutes=standard,
        )
    # the median as statistics.median has it (the mean of the two middle values when even)
    median = (_nth(values, (count - 1) // 2) + _nth(values, count // 2)) / 2
    within = sum(n for m, n in values if m <= standard) / count if standard else None
    return StepFigures(
        step=step,
        unit=unit,
        count=count,
        within_standard=within,
        median_minutes=median,
        p90_minutes=_nth(values, math.ceil(0.9 * count) - 1),  # nearest rank
        standard_minutes=standard,
    )


def sla_report(session: Session, since: datetime, until: datetime) -> SlaReport:
    settings = get_settings()
    calendar = calendar_for(settings, office_days.overrides(session))
    standards = {s.value: standard_minutes(settings, calendar, s) for s in STEPS}
    per_step: dict[str, Histogram] = defaultdict(Counter)
    per_unit: dict[str, Histogram] = defaultdict(Counter)
    for (step, unit), histogram in _histograms(session, since, until).items():
        per_step[step].update(histogram)
        if unit and step == Step.DRAFTING:
            per_unit[unit].update(histogram)
    return SlaReport(
        period_from=since,
        period_to=until,
        steps=[_figures(s, None, per_step[s], standard) for s, standard in standards.items()],
        drafting_by_unit=[
            _figures(Step.DRAFTING.value, u, per_unit[u], standards[Step.DRAFTING.value])
            for u in sorted(per_unit)
        ],
        legal=_legal(session, since, until),
        open_now=open_now(session, now()),
    )


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def whole_months(since: datetime, until: datetime) -> list[date]:
    """The first days of the WIB months that lie wholly within [since, until), in order."""
    first = to_wib(since).date().replace(day=1)
    if month_start(first) < since:
        first = add_months(first, 1)
    months = []
    while month_start(add_months(first, 1)) <= until:
        months.append(first)
        first = add_months(first, 1)
    return months


def _histograms(session: Session, since: datetime, until: datetime) -> dict[tuple[str, str], Histogram]:
    """(step, bidang or "") -> the office minutes of the stays that ended in [since, until): the
    whole months from `stay_minutes` (a few thousand rows a month, whatever the stays), the days
    before and after them from `stays`, rounded up to the whole minute the same way
    (shared.stays.bucket)."""
    found: dict[tuple[str, str], Histogram] = defaultdict(Counter)
    months = whole_months(since, until)
    edges = [(since, until)]
    if months:
        edges = [(since, month_start(months[0])), (month_start(add_months(months[-1], 1)), until)]
        for step, unit, minutes, n in session.execute(
            select(StayMinutes.step, StayMinutes.unit, StayMinutes.minutes, func.sum(StayMinutes.stays))
            .where(StayMinutes.month.in_([f"{m:%Y-%m}" for m in months]))
            .group_by(StayMinutes.step, StayMinutes.unit, StayMinutes.minutes)
        ):
            found[(step, unit)][minutes] += int(n)
    for a, b in edges:
        if a >= b:
            continue
        for row in session.execute(
            select(StayRecord.left_at, StayRecord.step, StayRecord.unit, StayRecord.office_minutes).where(
                StayRecord.left_at >= a, StayRecord.left_at < b
            )
        ):
            _, step, unit, whole = stays.bucket(*row)
            found[(step, unit)][whole] += 1
    return found


def _legal(session: Session, since: datetime, until: datetime) -> LegalFigures:
    settings = get_settings()
    if _on_postgresql(session):
        reply, decision, received = _legal_counts(session, since, until, settings)
    else:
        reply, decision, received = _legal_counts_in_python(session, since, until, settings)

    def share(on_time: int, late: int) -> float | None:
        return on_time / (on_time + late) if on_time + late else None

    return LegalFigures(
        received=received,
        first_reply_due_days=settings.legal_first_reply.days,
        first_reply_within=share(*reply[:2]),
        decision_due_days=settings.legal_decision.days,
        decision_within=share(*decision[:2]),
        first_reply_on_time=reply[0],
        first_reply_late=reply[1],
        first_reply_pending=reply[2],
        decision_on_time=decision[0],
        decision_late=decision[1],
        decision_pending=decision[2],
    )


Judged = tuple[int, int, int]  # (on time, late, pending)


def _legal_counts(
    session: Session, since: datetime, until: datetime, settings: Settings
) -> tuple[Judged, Judged, int]:
    """The legal clocks of the complaints received in [since, until), counted in one query.

    The first reply: from receipt to the first answer delivered (or the closing); the decision:
    from the complete file (`shared.sla.file_complete_at`) to the closing. A clock is judged once
    it has stopped or run out.
    """
    in_period = (Complaint.received_at >= since, Complaint.received_at < until)
    received_ids = select(Complaint.id).where(*in_period)
    replied = (
        select(DeliveryAttempt.complaint_id, func.min(DeliveryAttempt.at).label("at"))
        .where(
            DeliveryAttempt.outcome == AttemptOutcome.DELIVERED.value,
            DeliveryAttempt.complaint_id.in_(received_ids),
        )
        .group_by(DeliveryAttempt.complaint_id)
        .subquery()
    )
    documents = (
        select(History.complaint_id, func.max(History.at).label("at"))
        .where(History.action == "info_received", History.complaint_id.in_(received_ids))
        .group_by(History.complaint_id)
        .subquery()
    )
    first_done = func.coalesce(replied.c.at, Complaint.closed_at)
    complete = type_coerce(
        case(
            (and_(Complaint.paused_at.is_not(None), Complaint.closed_at.is_(None)), None),
            else_=func.greatest(Complaint.received_at, documents.c.at),
        ),
        UTCDateTime(),
    )
    at = literal(now(), UTCDateTime())

    def judged(begun: Any, done: Any, limit: timedelta) -> list[Any]:
        due = begun + literal(limit, Interval())
        kept = and_(done.is_not(None), done <= due)
        over = and_(begun.is_not(None), ~kept, or_(done.is_not(None), due <= at))
        return [func.count().filter(and_(begun.is_not(None), kept)), func.count().filter(over)]

    row = session.execute(
        select(
            func.count(),
            *judged(Complaint.received_at, first_done, settings.legal_first_reply),
            *judged(complete, Complaint.closed_at, settings.legal_decision),
        )
        .select_from(Complaint)
        .outerjoin(replied, replied.c.complaint_id == Complaint.id)
        .outerjoin(documents, documents.c.complaint_id == Complaint.id)
        .where(*in_period)
    ).one()
    total, reply_on_time, reply_late, decision_on_time, decision_late = row
    return (
        (reply_on_time, reply_late, total - reply_on_time - reply_late),
        (decision_on_time, decision_late, total - decision_on_time - decision_late),
        total,
    )


def _legal_counts_in_python(
    session: Session, since: datetime, until: datetime, settings: Settings
) -> tuple[Judged, Judged, int]:
    """The same counts judged in Python (SQLite, the embedded office's scale)."""
    in_period = (Complaint.received_at >= since, Complaint.received_at < until)
    received = session.execute(
        select(Complaint.id, Complaint.received_at, Complaint.closed_at, Complaint.paused_at).where(
            *in_period
        )
    ).all()
    # The period's complaints as a subquery, not a list of ids: a year can hold more complaints than
    # a statement can carry parameters.
    received_ids = select(Complaint.id).where(*in_period)
    documents_in: dict[int, list[datetime]] = defaultdict(list)
    for complaint_id, came_in in session.execute(
        select(History.complaint_id, History.at).where(
            History.action == "info_received", History.complaint_id.in_(received_ids)
        )
    ):
        documents_in[complaint_id].append(came_in)
    replies = dict(
        session.execute(
            select(DeliveryAttempt.complaint_id, DeliveryAttempt.at)
            .where(
                DeliveryAttempt.outcome == AttemptOutcome.DELIVERED.value,
                DeliveryAttempt.complaint_id.in_(received_ids),
            )
            .order_by(DeliveryAttempt.at.desc())
        ).all()
    )
    at = now()

    def judge(
        limit: timedelta, start: dict[int, datetime | None], done: dict[int, datetime | None]
    ) -> Judged:
        """(on time, late, pending): a clock is judged once it has stopped or run out."""
        on_time = late = 0
        for cid, begun in start.items():
            finished = done.get(cid)
            if begun is None or (finished is None and begun + limit > at):
                continue
            if finished is not None and finished <= begun + limit:
                on_time += 1
            else:
                late += 1
        return on_time, late, len(start) - on_time - late

    first = {r[0]: replies.get(r[0]) or r[2] for r in received}
    decided = {r[0]: r[2] for r in received}
    # the decision clock runs from the complete file: receipt, or the documents coming in
    complete = {
        r[0]: file_complete_at(r[1], paused_at=r[3], closed_at=r[2], documents_in=documents_in.get(r[0], []))
        for r in received
    }
    reply = judge(settings.legal_first_reply, {r[0]: r[1] for r in received}, first)
    decision = judge(settings.legal_decision, complete, decided)
    return reply, decision, len(received)


def as_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["tahap", "bidang", "jumlah", "sesuai_standar", "median_menit", "p90_menit", "standar_menit"]
    )
    for f in [*report.steps, *report.drafting_by_unit]:
        writer.writerow(
            [
                f.step,
                f.unit or "",
                f.count,
                "" if f.within_standard is None else f"{f.within_standard:.3f}",
                "" if f.median_minutes is None else f"{f.median_minutes:.1f}",
                "" if f.p90_minutes is None else f"{f.p90_minutes:.1f}",
                "" if f.standard_minutes is None else f"{f.standard_minutes:.0f}",
            ]
        )
    legal = report.legal
    writer.writerow([])
    writer.writerow(["jam_hukum", "batas_hari", "diterima", "tepat_waktu"])
    for name, days, share in (
        ("balasan_pertama", legal.first_reply_due_days, legal.first_reply_within),
        ("keputusan", legal.decision_due_days, legal.decision_within),
    ):
        writer.writerow([name, days, legal.received, "" if share is None else f"{share:.3f}"])
    return out.getvalue()


# --- Satisfaction (SKM, PermenPANRB 14/2017) -------------------------------------------------------


class ScoreCount(BaseModel):
    score: int
    label: str
    count: int
    share: float | None  # of the answers given (count / rated)


class SatisfactionFigures(BaseModel):
    """One group of closed complaints: how many rated the service, and the SKM result."""

    outcome: str | None = None  # set in `by_outcome`
    unit: str | None = None  # set in `by_unit`; null there: closed before any disposition
    closed: int
    rated: int
    response_rate: float | None  # rated / closed
    scores: list[ScoreCount]
    average: float | None  # NRR, 1-4
    index: float | None  # NRR x 25, 25-100
    grade: str | None  # A-D (mutu pelayanan)
    grade_label: str | None  # Sangat Baik, Baik, Kurang Baik, Tidak Baik (kinerja unit pelayanan)


class SatisfactionComment(BaseModel):
    """A comment as the report shows it: never who wrote it."""

    ticket: str
    score: int
    comment: str
    created_at: datetime
    outcome: str | None
    unit: str | None


class SatisfactionReport(BaseModel):
    period_from: datetime
    period_to: datetime
    overall: SatisfactionFigures
    by_outcome: list[SatisfactionFigures]
    by_unit: list[SatisfactionFigures]
    comments: list[SatisfactionComment]


def satisfaction_figures(
    scores: Sequence[int | None], *, outcome: str | None = None, unit: str | None = None
) -> SatisfactionFigures:
    """Figures of a group, one entry per closed complaint: its score, or None when not rated."""
    given = [s for s in scores if s is not None]
    result = survey.skm_index(sum(given), len(given))
    return SatisfactionFigures(
        outcome=outcome,
        unit=unit,
        closed=len(scores),
        rated=len(given),
        response_rate=len(given) / len(scores) if scores else None,
        scores=[
            ScoreCount(
                score=s,
                label=label,
                count=given.count(s),
                share=given.count(s) / len(given) if given else None,
            )
            for s, label in survey.SCORE_LABELS.items()
        ],
        average=float(result.average) if result else None,
        index=float(result.index) if result else None,
        grade=result.grade if result else None,
        grade_label=result.grade_label if result else None,
    )


def satisfaction_report(
    session: Session, since: datetime, until: datetime, *, comments: int = 20
) -> SatisfactionReport:
    """SKM over the complaints closed within [since, until), per outcome and per bidang."""
    closed = (
        Complaint.status == Status.CLOSED.value,
        Complaint.closed_at >= since,
        Complaint.closed_at < until,
    )
    # Counted in the database: a year's closed complaints are a few groups, not rows to carry.
    groups = session.execute(
        select(Complaint.outcome, Complaint.unit_code, Feedback.score, func.count())
        .outerjoin(Feedback, Feedback.complaint_id == Complaint.id)
        .where(*closed)
        .group_by(Complaint.outcome, Complaint.unit_code, Feedback.score)
    ).all()
    overall: list[int | None] = []
    per_outcome: dict[str, list[int | None]] = {o.value: [] for o in Outcome}
    per_unit: dict[str | None, list[int | None]] = defaultdict(list)
    for outcome, unit, score, count in groups:
        scores = [score] * count
        overall += scores
        per_outcome.setdefault(outcome or "", []).extend(scores)  # a closed complaint has one
        per_unit[unit].extend(scores)
    latest = session.execute(
        select(
            Complaint.ticket,
            Complaint.outcome,
            Complaint.unit_code,
            Feedback.score,
            Feedback.comment,
            Feedback.created_at,
        )
        .join(Feedback, Feedback.complaint_id == Complaint.id)
        .where(*closed, Feedback.comment.is_not(None))
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .limit(comments)
    ).all()
    return SatisfactionReport(
        period_from=since,
        period_to=until,
        overall=satisfaction_figures(overall),
        by_outcome=[satisfaction_figures(s, outcome=o) for o, s in per_outcome.items()],
        # units in code order, then the complaints closed before any disposition
        by_unit=[
            satisfaction_figures(s, unit=u)
            for u, s in sorted(per_unit.items(), key=lambda item: (item[0] is None, item[0] or ""))
        ],
        comments=[
            SatisfactionComment(
                ticket=r.ticket,
                score=r.score,
                comment=r.comment,
                created_at=r.created_at,
                outcome=r.outcome,
                unit=r.unit_code,
            )
            for r in latest
        ],
    )


def safe_cell(text: str) -> str:
    """A spreadsheet must not run a citizen's comment as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def satisfaction_csv(report: SatisfactionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "kelompok",
            "nilai",
            "ditutup",
            "dinilai",
            "tingkat_respons",
            *(f"skor_{s}" for s in survey.SCORES),
            "nrr",
            "ikm",
            "mutu",
            "kinerja",
        ]
    )
    groups = [
        ("semua", "", report.overall),
        *(("hasil", f.outcome or "", f) for f in report.by_outcome),
        *(("bidang", f.unit or "-", f) for f in report.by_unit),
    ]
    for group, name, f in groups:
        writer.writerow(
            [
                group,
                name,
                f.closed,
                f.rated,
                _number(f.response_rate, 3),
                *(c.count for c in f.scores),
                _number(f.average, 3),
                _number(f.index, 2),
                f.grade or "",
                f.grade_label or "",
            ]
        )
    writer.writerow([])
    writer.writerow(["tiket", "skor", "waktu", "hasil", "bidang", "komentar"])
    for c in report.comments:
        writer.writerow(
            [
                c.ticket,
                c.score,
                to_wib(c.created_at).isoformat(timespec="seconds"),
                c.outcome or "",
                c.unit or "",
                safe_cell(c.comment),
            ]
        )
    return out.getvalue()
