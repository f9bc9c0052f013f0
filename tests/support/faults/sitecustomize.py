"""Test-only faults for the crash tests; nothing that ships knows of them.

A test puts this folder on PYTHONPATH (see `tests.support.faults.env`), so every Python process of the
stack under test imports this module at start-up. Each fault is off unless its variable is set, and it
patches its module only when that module is first imported:

- ADUAN_FAULT_HANDOFF_PAUSE: seconds a routing hand-off sleeps after its effect, before COMMIT (a
  window to kill the worker mid-hand-off).
- ADUAN_FAULT_SWEEP_PAUSE: seconds the sweeper sleeps after firing a batch of timers, before COMMIT
  (a window to kill it mid-batch).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

Patch = Callable[[ModuleType], None]


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a patch on a module right after its first import."""

    def __init__(self, patches: dict[str, Patch]) -> None:
        self.patches = patches

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = self.patches.pop(fullname, None)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _pause_after(fn: Callable[..., Any], seconds: float, when: Callable[[Any], bool]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if when(result):
            time.sleep(seconds)
        return result

    return paused


def _install() -> None:
    patches: dict[str, Patch] = {}
    if handoff := float(os.environ.get("ADUAN_FAULT_HANDOFF_PAUSE") or 0):
        # The hand-off task's transaction is open from arrive() until the task returns.
        def pause_handoff(module: ModuleType) -> None:
            vars(module)["arrive"] = _pause_after(vars(module)["arrive"], handoff, lambda _landed: True)

        patches["services.routing.tasks"] = pause_handoff
    if sweep := float(os.environ.get("ADUAN_FAULT_SWEEP_PAUSE") or 0):
        # The sweeper fires a batch inside its transaction; pause when the batch fired something.
        def pause_sweep(module: ModuleType) -> None:
            vars(module)["fire_due"] = _pause_after(
                vars(module)["fire_due"], sweep, lambda done: bool(done.fired)
            )

        patches["shared.sla"] = pause_sweep
    if patches:
        sys.meta_path.insert(0, _AfterImport(patches))


_install()
