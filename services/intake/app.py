"""The intake API application (kiosks, front desk, web): `aduan serve intake`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from services.intake.kiosk import install_kiosk
from services.intake.views import router
from shared.api import create_api_app, health_router, install_error_handlers
from shared.clock import now
from shared.db import async_engine
from shared.settings import get_settings
from shared.sop import Step
from shared.validation import check_email, check_phone
from shared.workflow import plan_arrival


async def _database_ok() -> bool:
    try:
        async with async_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


# The cyclic collector's young generation is collected after this many new container objects
# (Python's default is 700). A filing allocates a few thousand, nearly all freed by reference
# counting, so the default ran a collection every ~14 filings (bench/intake.py: ~0.15 ms of CPU
# per filing); cyclic garbage is still collected, just in larger batches.
GC_YOUNG_THRESHOLD = 7000


def _settle_heap() -> None:
    """Keep what startup built (modules, app, settings) out of every later collection's pass, and
    collect the young generation less often: less CPU per request for the same garbage."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


WARM_UP_CONNECT_TIMEOUT = 2.0  # seconds


async def _warm_up() -> None:
    """Do at start what the first filings would otherwise pay for: the holiday tables (the holidays
    package imports every country's module), the phone and e-mail validators' data, and the
    database driver (imported at its first connection): about 0.4 s of CPU per process on this
    2-core machine, which the first burst of kiosk posts no longer waits behind (the first 64
    filings in process: 10-13 ms of CPU each before, 7.9 after). Nothing is written."""
    plan_arrival(Step.VERIFICATION, at=now(), settings=get_settings(), overrides={})
    check_phone("081234567890")
    check_email("warga@example.com")
    # A database down or slow at start is /readyz's to report, not a reason to exit or to wait.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_database_ok(), WARM_UP_CONNECT_TIMEOUT)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_settings()  # refuse to start on a bad configuration
    await _warm_up()
    _settle_heap()  # after the warm-up: what it loaded is kept out of later collections too
    yield
    await async_engine().dispose()


def create_app() -> FastAPI:
    app = create_api_app("Aduan - API Pengaduan (intake)", lifespan=_lifespan)
    install_error_handlers(app)
    app.include_router(router)
    install_kiosk(app)
    app.include_router(health_router(_database_ok))
    return app
