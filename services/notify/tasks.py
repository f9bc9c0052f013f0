"""Notify tasks: messages to complainants and staff, each sent once, retried from the database.

A burst of receipts goes in batches: one task carries up to NOTIFY_BATCH_SIZE outbox messages (the
relay groups them; a task sent alone takes other unprocessed ones along). Their rows are written
and claimed in one transaction (on SQLite a few per transaction), sent on shared channel sessions
(each channel's messages in order, the channels side by side), and their verdicts recorded a few at
a time (at least every RECORD_AFTER seconds).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, cast

from celery import Task
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.notify import service
from services.notify.channels import Outgoing, SendResult, Verdict, get_channels
from shared import outbox
from shared.clock import now
from shared.db import unit_of_work
from shared.settings import get_settings
from shared.tasks import NOTIFY_BATCH_SIZE, NotifyEvent, NotifyItem, TaskName, celery_app, task_options

app = celery_app()
log = logging.getLogger(__name__)

# Verdicts wait at most this long (or this many) before they are recorded: a worker killed
# mid-batch leaves only these unrecorded (sent once more after the lease, as a single send was).
RECORD_AFTER = 0.1
RECORD_EVERY = 50


@app.task(**task_options(TaskName.NOTIFY))
def send(self: Task, outbox_id: int, complaint_id: int, event: str, method: str | None) -> int:
    """Tell the complainant about `event`: rows written and claimed in one transaction, sent, then
    the verdicts recorded. A redelivery finds the rows written and sends nothing. Other receipts
    not yet processed are taken along (on SQLite the intake publishes one per filing)."""
    item: NotifyItem = {
        "outbox_id": outbox_id,
        "complaint_id": complaint_id,
        "event": event,
        "method": method,
    }
    return _send_and_record(*_prepare([item]))


@app.task(**task_options(TaskName.NOTIFY_BATCH))
def send_batch(self: Task, items: list[NotifyItem]) -> int:
    """`send` for several outbox messages at once (the relay's batch)."""
    return _send_and_record(*_prepare(items))


@app.task(**task_options(TaskName.NOTIFY_ONE))
def send_one(self: Task, notification_id: int) -> int:
    """Send one row the sweeper found due: a retry, a staff notice, a crash recovery."""
    claimed = time.monotonic()
    with unit_of_work() as session:
        message = service.claim(session, notification_id, now=now())
    return _send_and_record([message] if message else [], claimed)


# On SQLite (one writer at a time, shared with the intake) a batch is written and claimed this many
# messages per transaction: rendering 50 messages held the write lock for hundreds of ms (seconds on
# a loaded machine) and every filing waited behind it. PostgreSQL takes the whole batch at once.
SQLITE_PREPARE_CHUNK = 5


def _prepare(items: Sequence[NotifyItem]) -> tuple[list[Outgoing], float]:
    """Write and claim the messages of `items` (and of other unprocessed receipts, up to a full
    batch), a chunk per transaction; the messages to send and when the first were claimed
    (monotonic)."""
    claimed = time.monotonic()
    size = SQLITE_PREPARE_CHUNK if get_settings().embedded else NOTIFY_BATCH_SIZE
    given = list(items)
    seen = [i["outbox_id"] for i in given]
    messages: list[Outgoing] = []
    while True:
        chunk, given = given[:size], given[size:]
        room = 0 if given else min(size - len(chunk), NOTIFY_BATCH_SIZE - len(seen))
        try:
            prepared, took = _prepare_chunk(chunk, room=room, skip=seen, alone=len(seen) == 1)
        except OperationalError:
            if not messages:
                raise  # nothing claimed yet: the task is retried
            return messages, claimed  # send what this task claimed; the rest stays for later
        messages += prepared
        seen += [i["outbox_id"] for i in took]
        if not given and (room <= 0 or len(took) < room or len(seen) >= NOTIFY_BATCH_SIZE):
            return messages, claimed


def _prepare_chunk(
    chunk: list[NotifyItem], *, room: int, skip: list[int], alone: bool
) -> tuple[list[Outgoing], list[NotifyItem]]:
    """Write and claim `chunk` and up to `room` other unprocessed receipts in one transaction; the
    messages to send and the receipts taken along.

    A chunk that fails (a bug, a row the code cannot handle) is prepared again one item per
    transaction, so one bad message does not hold back the others; the failing one stays
    unprocessed for the reconciler (and is given up on after its attempts). A database hiccup
    fails the task, which Celery retries. `alone`: `chunk` is the task's only message so far.
    """
    taken = list(chunk)
    try:
        with unit_of_work() as session:
            taken += _more(session, limit=room, skip=skip)
            return _prepared(session, taken), taken[len(chunk) :]
    except OperationalError:
        raise
    except Exception:
        if alone and len(taken) == 1:  # the task's own message and no other: the task fails
            raise
        log.exception("notify: a batch of %d message(s) failed; preparing them one at a time", len(taken))
    messages: list[Outgoing] = []
    for item in taken:
        try:
            with unit_of_work() as session:
                messages += _prepared(session, [item])
        except Exception:
            log.exception(
                "notify: outbox %s could not be prepared; left to the reconciler", item["outbox_id"]
            )
    return messages, taken[len(chunk) :]


def _more(session: Session, *, limit: int, skip: list[int]) -> list[NotifyItem]:
    """Unprocessed `notify.send` messages to take along, up to `limit`."""
    more = outbox.claim_unprocessed(session, TaskName.NOTIFY, limit=limit, skip=skip)
    return [cast(NotifyItem, {"outbox_id": m.outbox_id, **m.payload}) for m in more]


def _prepared(session: Session, items: list[NotifyItem]) -> list[Outgoing]:
    at = now()
    fresh = outbox.mark_processed_many(session, [i["outbox_id"] for i in items], now=at)
    events = [  # each outbox message once, even when sent twice
        service.Event(i["complaint_id"], NotifyEvent(i["event"]), i["method"])
        for i in items
        if i["outbox_id"] in fresh
    ]
    return service.prepare_many(session, events, now=at)


def _send_and_record(messages: list[Outgoing], claimed: float) -> int:
    """Send each message and record the verdicts a few at a time, each chunk in one short
    transaction. The messages of each channel go in a thread of their own (SMS beside e-mail: one
    waits for its gateway while the other works), each in order on its channel's one connection;
    this thread records. A message whose turn comes too late to finish before its lease runs out
    is given back (pending, due now) instead: it must not look lost while it is being sent."""
    channels = get_channels()
    latest_start = claimed + get_settings().notify_send_lease - channels.longest_send
    lanes = channels.lanes(messages)
    done: queue.SimpleQueue[tuple[str, list[Any]]] = queue.SimpleQueue()
    stop = threading.Event()  # the recording failed: send nothing more (the rest goes after the lease)

    def lane(batch: list[Outgoing]) -> None:
        try:
            with channels.batch_of(batch[0].channel):
                for i, message in enumerate(batch):
                    if stop.is_set():
                        return
                    if i and time.monotonic() > latest_start:
                        done.put(("late", batch[i:]))
                        return
                    done.put(("sent", service.send([message])))
        finally:
            done.put(("end", []))

    threads = [threading.Thread(target=lane, args=(b,), name="notify-lane", daemon=True) for b in lanes]
    for t in threads:
        t.start()
    accepted = 0
    results: list[tuple[Outgoing, SendResult]] = []
    late: list[Outgoing] = []
    oldest = 0.0  # when the oldest unrecorded verdict came
    running = len(threads)
    try:
        while running:
            wait = max(0.0, oldest + RECORD_AFTER - time.monotonic()) if results else None
            try:
                kind, payload = done.get(timeout=wait)
            except queue.Empty:
                accepted += _record(results)
                results = []
                continue
            if kind == "end":
                running -= 1
            elif kind == "late":
                late += payload
            else:
                if not results:
                    oldest = time.monotonic()
                results += payload
                if len(results) >= RECORD_EVERY:
                    accepted += _record(results)
                    results = []
        accepted += _record(results)
    finally:
        stop.set()
        for t in threads:
            t.join()
    if late:
        _release(late)
    return accepted


def _release(messages: list[Outgoing]) -> None:
    with unit_of_work() as session:
        given = service.release(session, [m.notification_id for m in messages], now=now())
    log.warning("notify: %d message(s) given back for a later send (their lease would run out)", given)


def _record(results: list[tuple[Outgoing, SendResult]], tries: int = 4) -> int:
    """Record verdicts in one transaction; the count accepted. A database hiccup is retried here
    (a task retried by Celery would find its outbox rows processed and leave the verdicts
    unrecorded: the messages would go again). Any other failure records them one at a time, so
    one bad row does not leave the others' verdicts unrecorded."""
    if not results:
        return 0
    for attempt in range(tries):
        try:
            with unit_of_work() as session:
                service.record(session, results, now=now())
            break
        except OperationalError:
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * 2**attempt)
        except Exception:
            if len(results) == 1:
                raise
            log.exception(
                "notify: recording %d verdict(s) failed; recording them one at a time", len(results)
            )
            for one in results:
                try:
                    _record([one], tries)
                except Exception:
                    log.exception("notify #%s: its verdict could not be recorded", one[0].notification_id)
            break
    return sum(r.verdict == Verdict.ACCEPTED for _m, r in results)
