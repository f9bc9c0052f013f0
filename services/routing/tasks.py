"""Routing tasks: land each hand-off in the next role's queue, exactly once."""

from __future__ import annotations

import logging
from datetime import date

from celery import Task

from shared import office_days, outbox, stays
from shared.clock import now
from shared.db import unit_of_work
from shared.sop import Step
from shared.tasks import TaskName, celery_app, task_options
from shared.workflow import arrive
from shared.workflow import recompute_deadlines as recompute_deadlines_in

log = logging.getLogger(__name__)
app = celery_app()


@app.task(**task_options(TaskName.HANDOFF))
def handoff(self: Task, outbox_id: int, complaint_id: int, step: str, version: int) -> bool:
    """Place the complaint in `step`'s queue if it is still pending there at `version`."""
    with unit_of_work() as session:
        at = now()
        landed = arrive(session, complaint_id=complaint_id, step=Step(step), version=version, now=at)
        outbox.mark_processed(session, outbox_id, now=at)
    if not landed:
        log.info(
            "handoff %s: complaint %s already moved on (step %s, v%s)",
            outbox_id,
            complaint_id,
            step,
            version,
        )
    return landed


@app.task(**task_options(TaskName.RECOMPUTE))
def recompute_deadlines(self: Task, outbox_id: int, reason: str, day: str | None = None) -> int:
    """After a calendar change: every queued complaint's deadline, recomputed in office time (and
    the completed stays over the changed `day`, when given)."""
    office_days.invalidate()
    with unit_of_work() as session:
        at = now()
        if not outbox.mark_processed(session, outbox_id, now=at):
            return 0
        changed = recompute_deadlines_in(session, now=at)
        measured = stays.recompute(session, date.fromisoformat(day)) if day else 0
    log.info("recompute (%s): %d deadline(s) moved, %d stay(s) measured again", reason, changed, measured)
    return changed
