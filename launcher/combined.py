"""The embedded default's combined processes: both HTTP APIs in one process, and the sweeper as a
thread of the Celery worker that consumes both queues.

Composed here, in the launcher, so that no service imports another: each service still runs on its
own (`aduan serve intake`, `aduan worker routing`, `aduan sweeper`) in the production topology.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the signals to `serve_apis`, which stops every server at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve_apis(configs: list[uvicorn.Config]) -> None:
    """Serve each app on its own host and port in ONE event loop until SIGTERM or SIGINT."""
    servers = [_Server(config) for config in configs]

    def stop(sig: int) -> None:
        for server in servers:
            server.handle_exit(sig, None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        tasks = [asyncio.ensure_future(s.serve()) for s in servers]
        # One server that cannot start (a port in use) stops the others: the supervisor restarts
        # the process, and a half-started process must not look healthy.
        _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*pending)
        for task in tasks:
            task.result()  # a server's SystemExit (failed start-up) ends the process with its code

    with asyncio.Runner(loop_factory=configs[0].get_loop_factory()) as runner:
        runner.run(main())


class SweeperThread:
    """The sweeper (`services.routing.sweeper.run`) in a thread of this process, until stopped.

    It runs at the process's priority: a thread niced below the worker's own starved while holding
    SQLite's write lock during the worker's start, and every API request waited behind it.
    """

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        from services.routing import sweeper
        from shared.db import hand_gil_over_quickly

        hand_gil_over_quickly()  # the worker's thread and this one take SQLite's write lock in turns

        self.thread = threading.Thread(
            target=sweeper.run, kwargs={"stop": self.stop_event}, name="sweeper", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
            self.thread = None
