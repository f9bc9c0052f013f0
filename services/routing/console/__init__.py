"""The staff console: the office's pages for every role, on the staff port at `/`."""

from __future__ import annotations

import re

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.routing.console import (
    account,
    admin,
    calendar_page,
    categories,
    desk,
    kiosks,
    lists,
    office_page,
    prints,
)
from services.routing.console import session as cookies
from services.routing.console.dashboard import router as dashboard_router
from services.routing.console.pages import STATIC, page, read_office
from services.routing.console.views import router

# A staff e-mail's link to a complaint in the API, opened in a browser (no bearer token).
_API_RECORD = re.compile(r"^/api/v1/complaints/(?P<ticket>[A-Za-z0-9-]{1,30})$")


async def _sign_in_first(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, cookies.SignInRequired)  # noqa: S101 - registered for this type
    return RedirectResponse(cookies.sign_in_url(exc.next_path), status_code=303)


async def _csrf_rejected(request: Request, _exc: Exception) -> HTMLResponse:
    return page(request, "forbidden.html.j2", status_code=403)


# Read before anything else of the request, so that every page (an error page too) has it.
OFFICE = [Depends(read_office)]


def install_console(app: FastAPI) -> None:
    """Add the console's pages, its static files and its handlers to the staff app."""
    app.include_router(router, dependencies=OFFICE)
    app.include_router(prints.router, dependencies=OFFICE)
    app.include_router(desk.router, dependencies=OFFICE)
    app.include_router(account.router, dependencies=OFFICE)
    app.include_router(lists.router, dependencies=OFFICE)
    app.include_router(dashboard_router, dependencies=OFFICE)
    app.include_router(admin.router, dependencies=OFFICE)
    app.include_router(kiosks.router, dependencies=OFFICE)
    app.include_router(calendar_page.router, dependencies=OFFICE)
    app.include_router(categories.router, dependencies=OFFICE)
    app.include_router(office_page.router, dependencies=OFFICE)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(cookies.SignInRequired, _sign_in_first)
    app.add_exception_handler(cookies.CsrfRejected, _csrf_rejected)
    app.add_exception_handler(cookies.PasswordChangeRequired, admin.password_first)
    app.add_middleware(BrowserOpensConsole)


class BrowserOpensConsole:
    """A browser (no bearer token, wants HTML) following an e-mail's API link gets the page.

    Plain ASGI, not `@app.middleware("http")`: that wraps every request of both the console and
    the API in a task and a body stream of its own (0.45-0.5 ms of CPU each on a loaded 2-core
    machine, against 0.01-0.05 ms for this) to look at a path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _API_RECORD.match(scope["path"]) if scope["type"] == "http" else None
        if found and scope["method"] == "GET":
            headers = Headers(scope=scope)
            if "authorization" not in headers and "text/html" in headers.get("accept", ""):
                redirect = RedirectResponse(f"/pengaduan/{found['ticket']}", status_code=303)
                await redirect(scope, receive, send)
                return
        await self.app(scope, receive, send)
