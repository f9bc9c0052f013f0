"""Notify tasks: messages to complainants and staff, each sent once, retried from the database."""

from __future__ import annotations

from celery import Task

from services.notify import service
from services.notify.channels import Outgoing, Verdict
from shared import outbox
from shared.clock import now
from shared.db import unit_of_work
from shared.tasks import NotifyEvent, TaskName, celery_app, task_options

app = celery_app()


@app.task(**task_options(TaskName.NOTIFY))
def send(self: Task, outbox_id: int, complaint_id: int, event: str, method: str | None) -> int:
    """Tell the complainant about `event`: rows written and claimed in one transaction, sent, then
    the verdicts recorded in a second. A redelivery finds the rows written and sends nothing."""
    with unit_of_work() as session:
        at = now()
        if not outbox.mark_processed(session, outbox_id, now=at):
            return 0
        messages = service.prepare(
            session, complaint_id=complaint_id, event=NotifyEvent(event), method=method, now=at
        )
    return _send_and_record(messages)


@app.task(**task_options(TaskName.NOTIFY_ONE))
def send_one(self: Task, notification_id: int) -> int:
    """Send one row the sweeper found due: a retry, a staff notice, a crash recovery."""
    with unit_of_work() as session:
        message = service.claim(session, notification_id, now=now())
    return _send_and_record([message] if message else [])


def _send_and_record(messages: list[Outgoing]) -> int:
    if not messages:
        return 0
    results = service.send(messages)
    with unit_of_work() as session:
        service.record(session, results, now=now())
    return sum(r.verdict == Verdict.ACCEPTED for _m, r in results)
