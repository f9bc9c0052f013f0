"""The intake API application (kiosks, front desk, web): `aduan serve intake`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from services.intake.kiosk import install_kiosk
from services.intake.views import router
from shared.api import create_api_app, health_router, install_error_handlers
from shared.db import async_engine
from shared.settings import get_settings


async def _database_ok() -> bool:
    try:
        async with async_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_settings()  # refuse to start on a bad configuration
    yield
    await async_engine().dispose()


def create_app() -> FastAPI:
    app = create_api_app("Aduan - API Pengaduan (intake)", lifespan=_lifespan)
    install_error_handlers(app)
    app.include_router(router)
    install_kiosk(app)
    app.include_router(health_router(_database_ok))
    return app
