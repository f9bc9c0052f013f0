"""The periodic sweeper (`aduan sweeper`): re-sends outbox messages the broker or a worker lost,
fires due SLA timers, and hands due notifications (retries, staff notices) to the notify worker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from shared import notices, office_days, outbox, sla
from shared.clock import now
from shared.db import unit_of_work
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)


def sweep_once(settings: Settings) -> int:
    """One pass: claim due outbox messages in one transaction, publish them after commit."""
    with unit_of_work() as session:
        at = now()
        messages = outbox.reconcile(session, now=at, settings=settings)
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
    if messages:
        log.info("sweeper: re-sending %d outbox message(s)", len(messages))
        outbox.publish(messages)
    if due_notices:
        log.info("sweeper: handing out %d due notification(s)", len(due_notices))
        notices.hand_out(due_notices)
    return len(messages)


def run(settings: Settings | None = None) -> None:
    """Sweep every ADUAN_SWEEP_INTERVAL seconds until SIGTERM or SIGINT."""
    settings = settings or get_settings()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("sweeper: every %ss", settings.sweep_interval)
    while not stop.is_set():
        try:
            sweep_once(settings)
        except Exception:  # a failed pass is retried on the next tick
            log.exception("sweeper: pass failed")
        stop.wait(settings.sweep_interval)
