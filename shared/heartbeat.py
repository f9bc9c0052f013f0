"""Liveness by heartbeat file: a long-running process touches its file while its loop turns, and
`aduan health NAME` tells a fresh file from a stale one (docker-compose health checks).

The Celery workers beat from the worker's own timer, so a worker whose main loop hangs goes
stale; the sweeper beats once per turn of its loop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `aduan up`'s supervisor imports this module; it must stay light
    from shared.settings import Settings

NAMES = ("routing-worker", "notify-worker", "sweeper")
WORKER_INTERVAL = 10.0  # seconds between a worker's beats


def path_of(settings: Settings, name: str) -> Path:
    return settings.data_dir / "run" / f"{name}.alive"


def beat(settings: Settings, name: str) -> None:
    """Record that `name` is alive now."""
    path = path_of(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def age(settings: Settings, name: str) -> float | None:
    """Seconds since `name` last beat, or None when it never did."""
    try:
        return max(time.time() - path_of(settings, name).stat().st_mtime, 0.0)
    except FileNotFoundError:
        return None


def install_worker_beat(app: Any, settings: Settings, *names: str) -> None:
    """Make the Celery workers of `app` beat for each of `names` every WORKER_INTERVAL seconds
    (a worker consuming both queues beats for both)."""
    from celery import bootsteps

    def beat_all() -> None:
        for name in names:
            beat(settings, name)

    class Heartbeat(bootsteps.StartStopStep):  # type: ignore[misc]
        requires = ("celery.worker.components:Timer",)

        def __init__(self, parent: Any, **kwargs: Any) -> None:
            super().__init__(parent, **kwargs)
            self.tref: Any = None

        def start(self, worker: Any) -> None:
            beat_all()
            self.tref = worker.timer.call_repeatedly(WORKER_INTERVAL, beat_all, priority=10)

        def stop(self, worker: Any) -> None:
            if self.tref is not None:
                self.tref.cancel()

    app.steps["worker"].add(Heartbeat)
