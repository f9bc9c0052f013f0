"""Every Celery task of ours is declared as the SOP issue asks: late ack, requeued when its worker
dies, bounded retries, a stable name on its own queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from celery import Celery, Task

from services.notify import worker as notify_worker
from services.routing import worker as routing_worker
from shared.settings import Settings, get_settings
from shared.tasks import TASK_QUEUES, TaskName, celery_config, make_celery


def _ours(app: Celery) -> dict[str, Task]:
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def _registered() -> dict[str, Task]:
    """The tasks the worker processes (`aduan worker routing|notify`) run, from their entry points."""
    found: dict[str, Task] = {}
    for module in (routing_worker, notify_worker):
        found |= _ours(module.app)
    return found


def test_every_task_name_is_registered_and_nothing_else() -> None:
    assert set(_registered()) == {name.value for name in TaskName}


@pytest.mark.parametrize("name", [n.value for n in TaskName])
def test_each_task_acks_late_is_requeued_when_its_worker_dies_and_retries_a_bounded_number_of_times(
    name: str,
) -> None:
    task = _registered()[name]
    conf = task.app.conf
    assert task.acks_late is True
    lost = task.reject_on_worker_lost
    assert (lost if lost is not None else conf.task_reject_on_worker_lost) is True
    assert isinstance(task.max_retries, int) and 0 < task.max_retries <= 10
    assert task.retry_backoff_max is not None and task.retry_backoff_max <= 60
    assert conf.task_routes[name] == {"queue": TASK_QUEUES[TaskName(name)].value}


@pytest.mark.parametrize("broker", ["filesystem://", "redis://127.0.0.1:6379/0"])
def test_the_app_config_on_either_broker_acks_late_and_rejects_on_worker_lost(broker: str) -> None:
    settings = Settings(
        data_dir=get_settings().data_dir,
        broker_url=broker,
        secret_key=get_settings().secret_key,
        data_key=get_settings().data_key,
    )
    conf: dict[str, Any] = celery_config(settings)
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1  # one unacknowledged message per worker process
    app = make_celery(settings)
    assert app.conf.task_acks_late is True and app.conf.task_reject_on_worker_lost is True
    if broker.startswith("redis"):
        # Redis redelivers what was never acknowledged after this long; a task must finish first.
        assert conf["broker_transport_options"]["visibility_timeout"] >= 600


def test_the_filesystem_broker_never_shows_a_reader_a_message_file_before_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from kombu.connection import Connection

    settings = Settings(
        data_dir=tmp_path,
        broker_url="filesystem://",
        secret_key=get_settings().secret_key,
        data_key=get_settings().data_key,
    )
    conf: dict[str, Any] = celery_config(settings)
    folder = settings.broker_folder / "queue"
    connection = Connection(conf["broker_url"], transport_options=conf["broker_transport_options"])  # type: ignore[no-untyped-call]
    with connection as conn:
        channel = conn.default_channel
        seen: list[bytes] = []
        real_open = builtins.open

        class Spied:
            """A message file being written: at its write, what a reader listing the queue finds."""

            def __init__(self, f: Any) -> None:
                self.f = f

            def write(self, data: bytes) -> int:
                seen.extend(p.read_bytes() for p in folder.glob("*.routing.msg"))
                return int(self.f.write(data))

            def __getattr__(self, name: str) -> Any:
                return getattr(self.f, name)

            def __enter__(self) -> Spied:
                return self

            def __exit__(self, *exc: object) -> None:
                self.f.close()

        def spying_open(path: Any, *args: Any, **kwargs: Any) -> Any:
            f = real_open(path, *args, **kwargs)
            return Spied(f) if str(path).startswith(str(folder)) else f

        queue = conn.SimpleQueue("routing")
        with monkeypatch.context() as patched:
            patched.setattr(builtins, "open", spying_open)
            queue.put({"outbox_id": 1})
        assert seen == []  # no message file in the queue until its whole body is there
        assert queue.get(timeout=1).payload == {"outbox_id": 1}
        assert not list(folder.iterdir())
        queue.close()
        channel.close()
