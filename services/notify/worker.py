"""Celery entry point of the notify worker: `aduan worker notify`."""

from __future__ import annotations

from services.notify import tasks

app = tasks.app
