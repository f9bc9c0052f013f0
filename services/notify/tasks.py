"""Notify tasks: receipts and answers to complainants, sent once."""

from __future__ import annotations

from celery import Task
from sqlalchemy.exc import OperationalError

from services.notify.service import notify
from shared import outbox
from shared.clock import now
from shared.db import unit_of_work
from shared.tasks import TASK_MAX_RETRIES, NotifyEvent, Queue, TaskName, celery_app

app = celery_app()


@app.task(
    name=TaskName.NOTIFY.value,
    queue=Queue.NOTIFY.value,
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    max_retries=TASK_MAX_RETRIES,
    retry_backoff=True,
    retry_backoff_max=5,
    retry_jitter=True,
)
def send(self: Task, outbox_id: int, complaint_id: int, event: str, method: str | None) -> int:
    """Tell the complainant about `event`; a redelivery sends nothing twice."""
    with unit_of_work() as session:
        at = now()
        if not outbox.mark_processed(session, outbox_id, now=at):
            return 0
        return notify(session, complaint_id=complaint_id, event=NotifyEvent(event), method=method, now=at)
