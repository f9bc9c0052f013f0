"""The kiosk page: a self-service kiosk files complaints in the browser, on the intake port at /kios;
and the same form for the public web at /lapor when ADUAN_PUBLIC_WEB_FORM is on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.intake.kiosk.views import PATH, STATIC, KioskRefused, logo_router, refused, router, web_router


async def _refused(_request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, KioskRefused)  # noqa: S101 - registered for this type
    return await refused(exc)


def install_kiosk(app: FastAPI) -> None:
    """Add the kiosk's pages and static files to the intake app."""
    app.include_router(router)
    app.include_router(web_router)
    app.include_router(logo_router)
    app.mount(f"{PATH}/static", StaticFiles(directory=STATIC), name="kiosk-static")
    app.add_exception_handler(KioskRefused, _refused)
