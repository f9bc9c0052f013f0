"""Notify tasks: receipts and answers to complainants, sent once."""

from __future__ import annotations

from celery import Task

from services.notify.service import notify
from shared import outbox
from shared.clock import now
from shared.db import unit_of_work
from shared.tasks import NotifyEvent, TaskName, celery_app, task_options

app = celery_app()


@app.task(**task_options(TaskName.NOTIFY))
def send(self: Task, outbox_id: int, complaint_id: int, event: str, method: str | None) -> int:
    """Tell the complainant about `event`; a redelivery sends nothing twice."""
    with unit_of_work() as session:
        at = now()
        if not outbox.mark_processed(session, outbox_id, now=at):
            return 0
        return notify(session, complaint_id=complaint_id, event=NotifyEvent(event), method=method, now=at)
