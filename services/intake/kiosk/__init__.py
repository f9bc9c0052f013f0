"""The kiosk page: a self-service kiosk files complaints in the browser, on the intake port at /kios."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.intake.kiosk.views import PATH, STATIC, KioskRefused, refused, router


async def _refused(_request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, KioskRefused)  # noqa: S101 - registered for this type
    return refused(exc)


def install_kiosk(app: FastAPI) -> None:
    """Add the kiosk's pages and static files to the intake app."""
    app.include_router(router)
    app.mount(f"{PATH}/static", StaticFiles(directory=STATIC), name="kiosk-static")
    app.add_exception_handler(KioskRefused, _refused)
