"""Notify tasks: messages to complainants and staff, each sent once, retried from the database."""

from __future__ import annotations

import time

from celery import Task
from sqlalchemy.exc import OperationalError

from services.notify import service
from services.notify.channels import Outgoing, SendResult, Verdict
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
    """Send each message and record its verdict at once, in its own short transaction: a slow
    second send must not leave the first one's verdict unrecorded past its lease."""
    accepted = 0
    for message in messages:
        results = service.send([message])
        _record(results)
        accepted += sum(r.verdict == Verdict.ACCEPTED for _m, r in results)
    return accepted


def _record(results: list[tuple[Outgoing, SendResult]], tries: int = 4) -> None:
    """Record verdicts, retrying a database hiccup here: a task retried by Celery would find its
    outbox row processed and leave the verdict unrecorded (the message would go again)."""
    for attempt in range(tries):
        try:
            with unit_of_work() as session:
                service.record(session, results, now=now())
            return
        except OperationalError:
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * 2**attempt)
