"""The periodic sweeper (`aduan sweeper`): re-sends outbox messages the broker or a worker lost,
fires due SLA timers, and hands due notifications (retries, staff notices) to the notify worker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from shared import heartbeat, notices, office_days, outbox, ratelimit, sla
from shared.clock import now
from shared.db import unit_of_work
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)
A = TypeVar("A")
R = TypeVar("R")


def relay_once(settings: Settings) -> int:
    """Publish the outbox messages now due, a batch per transaction, each after its commit."""
    sent = 0
    while True:
        with unit_of_work() as session:
            messages = outbox.reconcile(session, now=now(), settings=settings)
        if messages:
            outbox.publish(messages)
        sent += len(messages)
        if len(messages) < settings.outbox_batch:
            return sent


def fire_timers(settings: Settings) -> int:
    """Fire every due SLA timer, a batch per transaction; the count fired.

    A batch that fails is fired again one timer per transaction, and a timer that fails on its own
    is set aside (result `error`, logged): one bad row must not hold back every deadline after it.
    """
    fired = 0
    while True:  # a full batch means more may be due: keep going
        try:
            with unit_of_work() as session:
                done = sla.fire_due(
                    session, now=now(), settings=settings, overrides=office_days.overrides(session)
                )
        except Exception:
            log.exception("sweeper: a batch of timers failed; firing them one at a time")
            done = _fire_singly(settings)
        fired += done.fired
        if done.claimed < settings.outbox_batch:
            return fired


def _fire_singly(settings: Settings) -> sla.Pass:
    with unit_of_work() as session:
        ids = sla.due_ids(session, now=now(), settings=settings)
    claimed = fired = 0
    for timer_id in ids:
        try:
            with unit_of_work() as session:
                done = sla.fire_due(
                    session,
                    now=now(),
                    settings=settings,
                    overrides=office_days.overrides(session),
                    only=timer_id,
                )
        except Exception:
            log.exception("sweeper: timer %s failed to fire; set aside (result error)", timer_id)
            with unit_of_work() as session:
                sla.set_aside(session, timer_id, now=now())
            claimed += 1
            continue
        claimed += done.claimed
        fired += done.fired
    return sla.Pass(claimed, fired)


def sweep_once(settings: Settings) -> int:
    """One pass: relay due outbox messages, prune, hand out due notices, fire due timers.

    Each part runs on its own: a failure in one is logged and does not stop the others.
    Returns the count of outbox messages sent.
    """
    sent = _part("relay", relay_once, settings) or 0
    due_notices = _part("notices", _due_notices, settings) or []
    fired = _part("timers", fire_timers, settings) or 0
    if fired:
        log.info("sweeper: %d reminder(s)/escalation(s) fired", fired)
    if sent:
        log.info("sweeper: sent %d outbox message(s)", sent)
    if due_notices:
        log.info("sweeper: handing out %d due notification(s)", len(due_notices))
        _part("hand-out", notices.hand_out, due_notices)
    return sent


def _due_notices(settings: Settings) -> list[int]:
    with unit_of_work() as session:
        at = now()
        outbox.prune(session, now=at, settings=settings)
        ratelimit.prune(session, at=at)  # closed rate-limit windows (the database's counters)
        return notices.dispatch_due(session, now=at, settings=settings)


def _part(name: str, part: Callable[[A], R], arg: A) -> R | None:
    try:
        return part(arg)
    except Exception:  # retried on the next pass; the other parts still run
        log.exception("sweeper: %s failed", name)
        return None


def run(settings: Settings | None = None, stop: threading.Event | None = None) -> None:
    """Sweep every ADUAN_SWEEP_INTERVAL seconds until SIGTERM or SIGINT (or, in a thread of
    another process, until `stop` is set).

    On PostgreSQL, relay due outbox messages every ADUAN_RELAY_INTERVAL seconds in between: the
    intake API writes its receipts due at once and leaves publishing them to this process.
    """
    settings = settings or get_settings()
    if stop is None:
        stop = threading.Event()
        stopped = stop

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stopped.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    tick = settings.sweep_interval
    if not settings.embedded:
        tick = min(settings.relay_interval, tick)
    log.info("sweeper: every %ss, relay every %ss", settings.sweep_interval, tick)
    next_sweep = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + settings.sweep_interval
                sweep_once(settings)
            else:
                relay_once(settings)
        except Exception:  # a failed pass is retried on the next tick
            log.exception("sweeper: pass failed")
        heartbeat.beat(settings, "sweeper")
        stop.wait(tick)
