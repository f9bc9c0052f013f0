"""How many complaints came in: per month (the last 12), per category, channel, bidang and outcome;
and what is open now, per step, with how many are overdue and escalated."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.orm import Session

from shared.calendar import WIB
from shared.complaint_in import CHANNEL_LABELS
from shared.models import Category, Complaint, Unit
from shared.sop import OUTCOME_LABELS, STEPS, Outcome, Status, Step
from shared.when import MONTHS

TREND_MONTHS = 12

# Short names of the SOP's steps for tables and charts (the SOP's titles are sentences).
STEP_NAMES = {
    Step.VERIFICATION: "Verifikasi (Front Office)",
    Step.REVIEW: "Telaah (Kasubag Umum)",
    Step.DISPOSITION: "Disposisi (Sekretaris)",
    Step.DRAFTING: "Penyusunan jawaban (Bidang)",
    Step.ANSWER_REVIEW: "Pemeriksaan jawaban (Kasubag Umum)",
    Step.DELIVERY: "Penyampaian jawaban (Front Office)",
}
OPEN_LABEL = "Dalam proses"
NO_UNIT_LABEL = "Belum didisposisikan"
NO_CATEGORY_LABEL = "Tanpa kategori"


class Count(BaseModel):
    key: str | None  # the code (category, channel, unit, outcome); null: none
    label: str
    count: int


class MonthCount(BaseModel):
    month: str  # YYYY-MM (WIB)
    label: str  # "November 2026"
    count: int


class VolumeReport(BaseModel):
    period_from: datetime
    period_to: datetime
    received: int  # complaints received in the period
    still_open: int  # of which not yet closed
    by_month: list[MonthCount]  # received per month, the 12 months ending with the period's last
    by_category: list[Count]
    by_channel: list[Count]
    by_unit: list[Count]  # the bidang it was disposed to; null: not disposed (yet)
    by_outcome: list[Count]  # each outcome, then "open" (not closed yet)


class OpenStep(BaseModel):
    step: str
    label: str
    open: int  # complaints at this step now
    overdue: int  # past the step's deadline (paused ones are not)
    escalated: int  # escalation level 1 or more
    paused: int  # waiting for the complainant's documents


class OpenNow(BaseModel):
    at: datetime
    total: int
    overdue: int
    escalated: int
    steps: list[OpenStep]


def month_label(first: date) -> str:
    return f"{MONTHS[first.month - 1]} {first.year}"


def month_start(first: date) -> datetime:
    """00:00 WIB on the first of `first`'s month."""
    return datetime.combine(first.replace(day=1), time(0), WIB)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def trend_months(until: datetime) -> list[date]:
    """The first days of the TREND_MONTHS months ending with the one `until` (exclusive) falls in."""
    last = (until.astimezone(WIB) - timedelta(microseconds=1)).date().replace(day=1)
    return [add_months(last, i - TREND_MONTHS + 1) for i in range(TREND_MONTHS)]


def by_month(session: Session, months: list[date]) -> list[MonthCount]:
    """Complaints received in each month, in one scan of the received_at index."""
    bounds = [month_start(m) for m in [*months, add_months(months[-1], 1)]]
    columns: list[Any] = [
        func.sum(case((and_(Complaint.received_at >= a, Complaint.received_at < b), 1), else_=0)).cast(
            Integer
        )
        for a, b in pairwise(bounds)
    ]
    row = session.execute(
        select(*columns).where(Complaint.received_at >= bounds[0], Complaint.received_at < bounds[-1])
    ).one()
    return [
        MonthCount(month=f"{m:%Y-%m}", label=month_label(m), count=int(n or 0))
        for m, n in zip(months, row, strict=True)
    ]


def volume_report(session: Session, since: datetime, until: datetime) -> VolumeReport:
    """Counts of the complaints received within [since, until), and the 12-month trend."""
    rows = session.execute(
        select(
            Complaint.category_code,
            Complaint.channel,
            Complaint.unit_code,
            Complaint.status,
            Complaint.outcome,
            func.count(),
        )
        .where(Complaint.received_at >= since, Complaint.received_at < until)
        .group_by(
            Complaint.category_code,
            Complaint.channel,
            Complaint.unit_code,
            Complaint.status,
            Complaint.outcome,
        )
    ).all()
    category: Counter[str | None] = Counter()
    channel: Counter[str | None] = Counter()
    unit: Counter[str | None] = Counter()
    outcome: Counter[str] = Counter()
    for category_code, channel_code, unit_code, status, outcome_code, n in rows:
        category[category_code] += n
        channel[channel_code] += n
        unit[unit_code] += n
        outcome["open" if status != Status.CLOSED or not outcome_code else outcome_code] += n
    categories = {code: name for code, name in session.execute(select(Category.code, Category.name))}
    units = {code: name for code, name in session.execute(select(Unit.code, Unit.name))}
    return VolumeReport(
        period_from=since,
        period_to=until,
        received=sum(outcome.values()),
        still_open=outcome["open"],
        by_month=by_month(session, trend_months(until)),
        by_category=_counts(category, categories, NO_CATEGORY_LABEL),
        by_channel=_counts(channel, CHANNEL_LABELS, "-"),
        by_unit=_counts(unit, units, NO_UNIT_LABEL),
        by_outcome=[
            *(Count(key=o.value, label=OUTCOME_LABELS[o], count=outcome[o.value]) for o in Outcome),
            Count(key="open", label=OPEN_LABEL, count=outcome["open"]),
        ],
    )


def _counts(counts: Counter[str | None], labels: dict[str, str], none_label: str) -> list[Count]:
    """Most first, then by label; a code without a label keeps its code."""
    items = [
        Count(key=key, label=none_label if key is None else labels.get(key, key), count=n)
        for key, n in counts.items()
    ]
    return sorted(items, key=lambda c: (-c.count, c.key is None, c.label))


def open_now(session: Session, at: datetime) -> OpenNow:
    """The open complaints per step now: how many, overdue (clock running, past the deadline),
    escalated (level 1 or more) and paused."""
    running = Complaint.paused_at.is_(None)
    rows = session.execute(
        select(
            Complaint.step,
            func.count(),
            func.sum(case((running & (Complaint.step_due_at < at), 1), else_=0)),
            func.sum(case((Complaint.escalation_level > 0, 1), else_=0)),
            func.sum(case((running, 0), else_=1)),
        )
        .where(Complaint.status == Status.OPEN.value)
        .group_by(Complaint.step)
    ).all()
    found = {step: (n, late, up, p) for step, n, late, up, p in rows}
    steps = []
    for s in STEPS:
        n, late, up, p = found.get(s.value, (0, 0, 0, 0))
        steps.append(
            OpenStep(
                step=s.value,
                label=STEP_NAMES[s],
                open=int(n),
                overdue=int(late or 0),
                escalated=int(up or 0),
                paused=int(p or 0),
            )
        )
    return OpenNow(
        at=at,
        total=sum(s.open for s in steps),
        overdue=sum(s.overdue for s in steps),
        escalated=sum(s.escalated for s in steps),
        steps=steps,
    )
