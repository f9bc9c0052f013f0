"""Celery entry point of the routing worker: `aduan worker routing`."""

from __future__ import annotations

from services.routing import tasks

app = tasks.app
