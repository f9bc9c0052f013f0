"""What both HTTP APIs share: the error format, error handlers, health and readiness checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.connection import Connection
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.settings import get_settings
from shared.tasks import celery_config
from shared.validation import FieldError, InputError, field_errors

log = logging.getLogger(__name__)

VALIDATION_MESSAGE = "Data yang dikirim belum benar; periksa isian yang ditandai."

_STATUS_CODES = {
    400: ("bad_request", "Permintaan tidak valid."),
    401: ("unauthorized", "Autentikasi diperlukan."),
    403: ("forbidden", "Anda tidak berwenang melakukan ini."),
    404: ("not_found", "Data tidak ditemukan."),
    405: ("method_not_allowed", "Metode tidak diizinkan."),
    409: ("conflict", "Data telah berubah; muat ulang lalu coba lagi."),
}


class ApiError(Exception):
    """An error with an HTTP status, a stable code and an Indonesian message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.errors = errors  # the fields at fault, when the error is about some


def error_body(code: str, message: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = [e.as_dict() for e in errors]
    return body


def validation_response(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse(status_code=422, content=error_body("validation_failed", VALIDATION_MESSAGE, errors))


async def _on_request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type
    return validation_response(field_errors(list(exc.errors()), skip_prefix=("body",)))


async def _on_input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)  # noqa: S101 - registered for this type
    return validation_response(exc.errors)


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for this type
    return JSONResponse(
        status_code=exc.status, content=error_body(exc.code, exc.message, exc.errors), headers=exc.headers
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type
    code, message = _STATUS_CODES.get(exc.status_code, ("error", str(exc.detail)))
    return JSONResponse(
        status_code=exc.status_code,
        content=error_body(code, message),
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(InputError, _on_input_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


def broker_reachable() -> bool:
    """True when the configured broker accepts a connection."""
    conf = celery_config(get_settings())
    try:
        with Connection(  # type: ignore[no-untyped-call]
            conf["broker_url"],
            transport_options=conf["broker_transport_options"],
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        log.warning("readyz: broker unreachable", exc_info=True)
        return False


def health_router(database_check: Callable[[], Awaitable[bool]]) -> APIRouter:
    """`/healthz` (the process is up) and `/readyz` (database and broker reachable)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        database = await database_check()
        broker = await run_in_threadpool(broker_reachable)
        ready = database and broker
        return JSONResponse(
            status_code=200 if ready else 503,
            content={
                "status": "ready" if ready else "not_ready",
                "database": "ok" if database else "unreachable",
                "broker": "ok" if broker else "unreachable",
            },
        )

    return router
