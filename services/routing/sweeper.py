"""The periodic sweeper (`aduan sweeper`): re-sends outbox messages the broker or a worker lost,
fires due SLA timers, and hands due notifications (retries, staff notices) to the notify worker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from shared import heartbeat, notices, office_days, outbox, sla
from shared.clock import now
from shared.db import unit_of_work
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)


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


def sweep_once(settings: Settings) -> int:
    """One pass: relay due outbox messages, prune, fire due timers; the count of messages sent."""
    sent = relay_once(settings)
    with unit_of_work() as session:
        at = now()
        outbox.prune(session, now=at, settings=settings)
        due_notices = notices.dispatch_due(session, now=at, settings=settings)
    fired = 0
    while True:  # a full batch means more may be due: keep going, one transaction per batch
        with unit_of_work() as session:
            done = sla.fire_due(
                session, now=now(), settings=settings, overrides=office_days.overrides(session)
            )
            if done.fired and settings.fault_sweep_pause:
                time.sleep(settings.fault_sweep_pause)  # test-only: a window to kill it mid-batch
        fired += done.fired
        if done.claimed < settings.outbox_batch:
            break
    if fired:
        log.info("sweeper: %d reminder(s)/escalation(s) fired", fired)
    if sent:
        log.info("sweeper: sent %d outbox message(s)", sent)
    if due_notices:
        log.info("sweeper: handing out %d due notification(s)", len(due_notices))
        notices.hand_out(due_notices)
    return sent


def run(settings: Settings | None = None) -> None:
    """Sweep every ADUAN_SWEEP_INTERVAL seconds until SIGTERM or SIGINT.

    On PostgreSQL, relay due outbox messages every ADUAN_RELAY_INTERVAL seconds in between: the
    intake API writes its receipts due at once and leaves publishing them to this process.
    """
    settings = settings or get_settings()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

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
