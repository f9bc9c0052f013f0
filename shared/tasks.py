"""Names, queues and payloads of every Celery task, and the Celery app all processes share.

Publishers send by name (`send_task`), so no service imports another's task code.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any, TypedDict

from celery import Celery

from shared.settings import Settings, get_settings


class Queue(StrEnum):
    ROUTING = "routing"
    NOTIFY = "notify"


class TaskName(StrEnum):
    HANDOFF = "routing.handoff"
    RECOMPUTE = "routing.recompute_deadlines"
    NOTIFY = "notify.send"
    NOTIFY_ONE = "notify.send_one"
    NOTIFY_BATCH = "notify.send_batch"


TASK_QUEUES: dict[TaskName, Queue] = {
    TaskName.HANDOFF: Queue.ROUTING,
    TaskName.RECOMPUTE: Queue.ROUTING,
    TaskName.NOTIFY: Queue.NOTIFY,
    TaskName.NOTIFY_ONE: Queue.NOTIFY,
    TaskName.NOTIFY_BATCH: Queue.NOTIFY,
}

# The receipts of a burst go to the notify worker this many to a task (the relay groups its
# `notify.send` messages; the worker takes up to as many unprocessed ones as one task may carry).
NOTIFY_BATCH_SIZE = 50


class HandoffPayload(TypedDict):
    """Place complaint `complaint_id` in the queue of `step`, if it is still there at `version`."""

    complaint_id: int
    step: str
    version: int


class NotifyEvent(StrEnum):
    """What a complainant is told: the receipt, the answer (or that it is ready), the closing."""

    RECEIPT = "receipt"
    ANSWER = "answer"
    CLOSING = "closing"


def is_answer(event: str) -> bool:
    """A notification row's event is the answer: keyed `answer:<delivery attempt id>` (a second
    delivery is a new message)."""
    return event.startswith(f"{NotifyEvent.ANSWER.value}:")


class NotifyPayload(TypedDict):
    """Tell the complainant of `complaint_id` about `event` (e.g. by `method` for the answer)."""

    complaint_id: int
    event: str
    method: str | None


class NotifyItem(TypedDict):
    """One `notify.send` outbox message inside a batch: its row id and its payload."""

    outbox_id: int
    complaint_id: int
    event: str
    method: str | None


class NotifyBatchPayload(TypedDict):
    """Several `notify.send` messages in one task (each outbox row still marked processed once)."""

    items: list[NotifyItem]


class NotifyOnePayload(TypedDict):
    """Send notification row `notification_id` now (a retry, a staff notice, a crash recovery)."""

    notification_id: int


# Every task is retried at most TASK_MAX_RETRIES times by Celery itself (only for database
# hiccups, never longer than a few seconds apart); the outbox reconciler re-publishes a message
# whose consumer never marked it processed, up to its own bound.
TASK_MAX_RETRIES = 5


def task_options(name: TaskName) -> dict[str, Any]:
    """The options every Aduan task is declared with: stable name, late ack, bounded retry."""
    from sqlalchemy.exc import OperationalError

    # No `queue` here: `task_routes` places each task (Celery 5.7 deprecates the task attribute,
    # and its warning is an error under the test suite's filterwarnings).
    return {
        "name": name.value,
        "bind": True,
        "acks_late": True,
        "autoretry_for": (OperationalError,),
        "max_retries": TASK_MAX_RETRIES,
        "retry_backoff": True,
        "retry_backoff_max": 5,
        "retry_jitter": True,
    }


def _atomic_filesystem_transport() -> None:
    """Make `filesystem://` kombu's filesystem transport with one fix: a message is written under a
    name its readers skip and then renamed into the queue (atomic on one file system).

    kombu writes the message file in place and its reader takes any file there without a lock: a
    read between the open and the write (a publisher descheduled on a busy machine) got an empty
    message, which stopped the worker ("Unrecoverable error") and lost the message until the
    outbox sent it again.
    """
    import os
    import time
    import uuid

    from kombu.exceptions import ChannelError
    from kombu.transport import TRANSPORT_ALIASES, filesystem
    from kombu.utils.encoding import str_to_bytes
    from kombu.utils.json import dumps

    class Channel(filesystem.Channel):
        def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
            final = os.path.join(self.data_folder_out, name)
            partial = os.path.join(self.data_folder_out, f".{name}.part")  # not `<...>.{queue}.msg`
            try:
                with open(partial, "wb") as f:
                    f.write(str_to_bytes(dumps(payload)))  # type: ignore[no-untyped-call]
                os.replace(partial, final)
            except OSError as exc:
                raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    class Transport(filesystem.Transport):
        pass

    Transport.Channel = Channel
    globals()["FilesystemTransport"] = Transport
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:FilesystemTransport"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration for these settings (broker transport options included)."""
    broker = settings.resolved_broker_url()
    options: dict[str, Any]
    if broker.startswith("filesystem"):
        _atomic_filesystem_transport()
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": settings.broker_polling_interval,
        }
    else:
        options = {"visibility_timeout": settings.broker_visibility_timeout}
    return {
        "broker_url": broker,
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": Queue.ROUTING.value,
        "task_routes": {name.value: {"queue": q.value} for name, q in TASK_QUEUES.items()},
        "worker_enable_remote_control": not broker.startswith("filesystem"),
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
    }


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from settings; workers register their tasks on it."""
    app = Celery("aduan", set_as_current=True)
    app.conf.update(celery_config(settings))
    return app


@lru_cache
def celery_app() -> Celery:
    """The process-wide Celery app."""
    return make_celery(get_settings())
