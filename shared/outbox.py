"""Transactional outbox: messages written with the change that caused them, published after commit.

- `enqueue()` adds an outbox row in the caller's transaction; the session publishes it right after
  commit (the fast path) and forgets it on rollback.
- The consumer calls `mark_processed()` in the same transaction as its effect.
- `reconcile()` (the sweeper) re-publishes rows still unprocessed past their `next_attempt_at`, with
  exponential backoff, and gives up (`dead_at`) after `ADUAN_OUTBOX_MAX_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shared.models import Outbox, table_of
from shared.settings import Settings, get_settings
from shared.tasks import NOTIFY_BATCH_SIZE, TASK_QUEUES, TaskName, celery_app

log = logging.getLogger(__name__)

_PENDING = "aduan.outbox.pending"
_MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Message:
    outbox_id: int
    task: str
    queue: str
    payload: Mapping[str, Any]


def values(task: TaskName, payload: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The columns of an outbox row due for re-sending after the grace period."""
    return {
        "task": task.value,
        "queue": TASK_QUEUES[task].value,
        "payload": dict(payload),
        "created_at": now,
        "next_attempt_at": now + timedelta(seconds=get_settings().outbox_grace),
        "attempts": 0,
    }


def new_row(task: TaskName, payload: Mapping[str, Any], *, now: datetime) -> Outbox:
    """An outbox row due for re-sending after the grace period."""
    return Outbox(**values(task, payload, now=now))


def enqueue(session: Session, task: TaskName, payload: Mapping[str, Any], *, now: datetime) -> Outbox:
    """Write a message in the session's transaction; it is published once the session commits."""
    row = new_row(task, payload, now=now)
    session.add(row)
    session.info.setdefault(_PENDING, []).append(row)
    return row


def enqueue_at(
    session: Session, task: TaskName, payload: Mapping[str, Any], *, now: datetime, at: datetime
) -> Outbox:
    """Write a message the reconciler publishes at `at` (not at commit): a short, durable delay."""
    row = new_row(task, payload, now=now)
    row.next_attempt_at = at
    session.add(row)
    return row


class BrokerWatch:
    """Whether this process's last publish reached the broker: one log line when it goes away and
    one when it is back, with how many messages waited in the outbox meanwhile, instead of a
    traceback per message (thousands while Redis restarts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.waited = 0

    def failed(self, msg: Message, exc: BaseException) -> None:
        with self._lock:
            self.waited += 1
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        log.warning(
            "broker unreachable (%s: %s): messages wait in the outbox for the reconciler (first: %s)",
            type(exc).__name__,
            exc,
            msg.outbox_id,
        )

    def reached(self) -> None:
        if self.down_since is None:  # the usual case, without the lock
            return
        with self._lock:
            if self.down_since is None:
                return
            away, waited = time.monotonic() - self.down_since, self.waited
            self.down_since, self.waited = None, 0
        log.warning("broker back after %.0f s: %d message(s) waited in the outbox", away, waited)


broker_watch = BrokerWatch()


def publish(messages: Iterable[Message]) -> int:
    """Send messages to the broker; a failure is left to the reconciler (and said once, not per message).

    Several `notify.send` messages (a relayed burst of receipts) go as `notify.send_batch` tasks of
    up to NOTIFY_BATCH_SIZE: the notify worker claims, sends and settles them together. Each
    outbox row is still marked processed once, in the transaction that writes its messages.
    """
    app = celery_app()
    sent = 0
    for group in _grouped(list(messages)):
        first = group[0]
        if len(group) == 1:
            name, kwargs, task_id = first.task, {"outbox_id": first.outbox_id, **first.payload}, None
        else:
            name = TaskName.NOTIFY_BATCH.value
            kwargs = {"items": [{"outbox_id": m.outbox_id, **m.payload} for m in group]}
            task_id = f"outbox-{first.outbox_id}-n{len(group)}"
        try:
            app.send_task(
                name,
                kwargs=kwargs,
                queue=first.queue,
                task_id=task_id or f"outbox-{first.outbox_id}",
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
            )
        except Exception as exc:  # the reconciler re-sends; the committed change must not fail
            for msg in group:
                broker_watch.failed(msg, exc)
            continue
        broker_watch.reached()
        sent += len(group)
    return sent


class Together:
    """`publish` for an event loop's concurrent callers: what arrives while one send is under way
    goes out in the next, together (receipts as `notify.send_batch`), one thread hop for all.

    Each caller still returns only once its own messages were handed to the broker (or left to the
    reconciler), as with `publish`; alone, a caller's messages go out at once. The embedded
    intake's filings under a burst paid a Celery send and a thread hop each (about a seventh of the
    API process's CPU per filing).
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[list[Message], asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def publish(self, messages: list[Message]) -> None:
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[None] = loop.create_future()
        self._waiting.append((messages, sent))
        if self._sender is None or self._sender.done() or self._sender.get_loop() is not loop:
            self._sender = loop.create_task(self._send())
        await sent

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await loop.run_in_executor(None, publish, [m for messages, _ in batch for m in messages])
            except Exception as exc:  # a fault of ours, not the broker's: each caller sees it, as alone
                for _, sent in batch:
                    if not sent.done():
                        sent.set_exception(exc)
                continue
            for _, sent in batch:
                if not sent.done():  # a caller that went away (cancelled) has its future done
                    sent.set_result(None)


together = Together()


def _grouped(messages: list[Message]) -> list[list[Message]]:
    """Each message alone, but the `notify.send` ones in groups of up to NOTIFY_BATCH_SIZE."""
    notify = [m for m in messages if m.task == TaskName.NOTIFY.value]
    groups = [[m] for m in messages if m.task != TaskName.NOTIFY.value]
    groups += [notify[i : i + NOTIFY_BATCH_SIZE] for i in range(0, len(notify), NOTIFY_BATCH_SIZE)]
    return groups


def _as_message(row: Outbox) -> Message:
    return Message(row.id, row.task, row.queue, row.payload)


def _after_commit(session: Session) -> None:
    rows: list[Outbox] = session.info.pop(_PENDING, [])
    if rows:
        publish([_as_message(r) for r in rows])


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install_session_hooks(session_class: type[Session] = Session) -> None:
    """Publish enqueued messages after every commit of sessions of this class."""
    from sqlalchemy import event

    if not event.contains(session_class, "after_commit", _after_commit):
        event.listen(session_class, "after_commit", _after_commit)
        event.listen(session_class, "after_soft_rollback", lambda s, _t: _after_rollback(s))


def mark_processed(session: Session, outbox_id: int, *, now: datetime) -> bool:
    """Record that the consumer has done this message's work; False when it already was."""
    table = table_of(Outbox)  # Core: every task runs this; no ORM bookkeeping needed
    result = session.execute(
        update(table).where(table.c.id == outbox_id, table.c.processed_at.is_(None)).values(processed_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def mark_processed_many(session: Session, outbox_ids: list[int], *, now: datetime) -> set[int]:
    """`mark_processed` for several messages in one statement; the ids marked now (not before)."""
    if not outbox_ids:
        return set()
    table = table_of(Outbox)
    result = session.execute(
        update(table)
        .where(table.c.id.in_(outbox_ids), table.c.processed_at.is_(None))
        .values(processed_at=now)
        .returning(table.c.id)
    )
    return set(result.scalars())


def claim_unprocessed(session: Session, task: TaskName, *, limit: int, skip: list[int]) -> list[Message]:
    """Up to `limit` messages of `task` not yet processed (oldest first), locked for this
    transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer): a consumer takes
    them with the one it was sent, and their own deliveries then find them processed.

    Only messages sent at most once (the relay's first send counts as one): one the reconciler
    had to send again may be one that fails its consumer, and goes on its own."""
    if limit <= 0:
        return []
    table = table_of(Outbox)
    rows = session.execute(
        select(table.c.id, table.c.task, table.c.queue, table.c.payload)
        .where(
            table.c.processed_at.is_(None),
            table.c.dead_at.is_(None),
            table.c.task == task.value,
            table.c.attempts <= 1,
            table.c.id.not_in(skip),
        )
        .order_by(table.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return [Message(r.id, r.task, r.queue, r.payload) for r in rows]


def prune(session: Session, *, now: datetime, settings: Settings) -> int:
    """Delete processed messages older than ADUAN_OUTBOX_RETENTION (dead ones are kept for review)."""
    result = session.execute(delete(Outbox).where(Outbox.processed_at < now - settings.outbox_retention))
    return int(getattr(result, "rowcount", 0) or 0)


def reconcile(session: Session, *, now: datetime, settings: Settings) -> list[Message]:
    """Claim unprocessed messages past due; return those to publish once this transaction commits."""
    rows = session.scalars(
        select(Outbox)
        .where(Outbox.processed_at.is_(None), Outbox.dead_at.is_(None), Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at)
        .limit(settings.outbox_batch)
        .with_for_update(skip_locked=True)
    ).all()
    to_send: list[Message] = []
    for row in rows:
        row.attempts += 1
        if row.attempts > settings.outbox_max_attempts:
            row.dead_at = now
            log.error("outbox %s (%s): gave up after %s attempts", row.id, row.task, row.attempts - 1)
            continue
        backoff = timedelta(seconds=settings.outbox_grace * 2 ** min(row.attempts, 12))
        row.next_attempt_at = now + min(backoff, _MAX_BACKOFF)
        to_send.append(_as_message(row))
    return to_send
