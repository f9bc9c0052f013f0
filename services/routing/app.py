"""The staff API application (consoles of every role): `aduan serve staff`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from services.routing.console import install_console
from services.routing.views import router
from shared.api import create_api_app, health_router, install_error_handlers
from shared.db import engine
from shared.settings import get_settings


def _database_ok_sync() -> bool:
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _database_ok() -> bool:
    return await run_in_threadpool(_database_ok_sync)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_settings()  # refuse to start on a bad configuration
    yield
    engine().dispose()


def create_app() -> FastAPI:
    app = create_api_app("Aduan - API Petugas (staff)", lifespan=_lifespan)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(health_router(_database_ok))
    install_console(app)
    return app
