"""What both HTTP APIs share: the error format, error handlers, health and readiness checks."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from kombu.connection import Connection
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request as StarletteRequest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import ApiError as ApiError  # re-exported: the services raise it from here
from shared.settings import get_settings
from shared.tasks import celery_config
from shared.validation import FieldError, InputError, bad_characters, field_errors

log = logging.getLogger(__name__)

VALIDATION_MESSAGE = "Data yang dikirim belum benar; periksa isian yang ditandai."
UNREADABLE_BODY = "Isi permintaan tidak dapat dibaca (harus UTF-8, JSON atau formulir yang utuh)."

_STATUS_CODES = {
    400: ("bad_request", "Permintaan tidak valid."),
    401: ("unauthorized", "Autentikasi diperlukan."),
    403: ("forbidden", "Anda tidak berwenang melakukan ini."),
    404: ("not_found", "Data tidak ditemukan."),
    405: ("method_not_allowed", "Metode tidak diizinkan."),
    409: ("conflict", "Data telah berubah; muat ulang lalu coba lagi."),
}


class FieldErrorBody(BaseModel):
    """One field at fault: a dotted path (`complainant.phone`, `query.offset`), a code, a message."""

    field: str
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error's body: a stable code for programs and an Indonesian message for people."""

    code: str
    message: str
    errors: list[FieldErrorBody] | None = None  # the fields at fault, when the error is about some


_RESPONSE_DESCRIPTIONS = {
    401: "Not signed in: no, an expired or an invalid token (staff) or kiosk key (intake)",
    403: "The caller's role may not do this; or (staff) `password_change_required`: an admin reset the "
    "account's password, and only `GET /api/v1/me` and `POST /api/v1/me/password` are served until it "
    "is changed",
    404: "No such record (or not one the caller may read)",
    409: "The record changed meanwhile, or the request was already handled",
    422: "Invalid input: `errors` names each field at fault",
    429: "Too many requests: try again after `Retry-After` seconds",
    503: "A service the request needs (database, broker) is unreachable",
}


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def error_responses(*statuses: int, html: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route answers, each with the error body's schema;
    with `html`, either that JSON or the page a browser gets (a form post, `format=html`)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        responses[status] = {"description": _RESPONSE_DESCRIPTIONS[status]}
        if html:  # the schema by reference: `model` would land under the route's own media type
            responses[status]["content"] = {"application/json": {"schema": _ERROR_REF}, **HTML_CONTENT}
        else:
            responses[status]["model"] = ErrorBody
    return responses


# An HTML page in OpenAPI `content`.
HTML_CONTENT: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}


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
    if exc.status_code == 400:  # a body that cannot be read (not UTF-8, a broken form): bad input
        return validation_response([FieldError("body", "unreadable_body", UNREADABLE_BODY)])
    code, message = _STATUS_CODES.get(exc.status_code, ("error", str(exc.detail)))
    return JSONResponse(
        status_code=exc.status_code,
        content=error_body(code, message),
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    """The API's error format for every error, and the refusal of unusable characters in any input."""
    app.add_middleware(RefuseControlCharacters)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(InputError, _on_input_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


# --- Text no handler should see ----------------------------------------------------------------------

_JSON_TYPES = ("application/json",)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _text_error(field: str, text: str) -> FieldError | None:
    found = bad_characters(text)
    return FieldError(field, *found) if found else None


def _json_errors(value: Any, path: list[str]) -> Iterator[FieldError]:
    """Field errors of every string (key or value) in a parsed JSON document holding bad characters."""
    if isinstance(value, str):
        error = _text_error(".".join(path) or "body", value)
        if error:
            yield error
    elif isinstance(value, dict):
        for key, item in value.items():
            key_error = _text_error(".".join([*path, _shown(key)]), key)
            if key_error:
                yield key_error
                continue
            yield from _json_errors(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_errors(item, [*path, str(index)])


def _path_patterns(app: Any) -> list[re.Pattern[str]]:
    """Every documented path as a pattern naming its parameters (`/track/{ticket}` -> `ticket`)."""
    documented = app.openapi().get("paths", {}) if isinstance(app, FastAPI) else {}
    return [
        re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        for template in documented
    ]


def _path_fields(patterns: list[re.Pattern[str]], path: str) -> list[tuple[str, str]]:
    """The path's parameters by name (`path.ticket`), or the whole path when no documented one fits."""
    for pattern in patterns:
        found = pattern.match(path)
        if found:
            return [(f"path.{name}", value) for name, value in found.groupdict().items()]
    return [("path", path)]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RefuseControlCharacters:
    """Refuse, with a 422 naming each field, text holding NUL, other control characters or lone
    surrogates: in the path, the query, a JSON body and a form (the login's username included).

    One place for every route of both APIs and the console, before any of it reaches a query:
    PostgreSQL refuses NUL in text, and the request would otherwise end in a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._patterns: list[re.Pattern[str]] | None = None  # the API's paths, read once when needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = self._path_errors(scope)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        errors += [e for e in (_text_error(f"query.{_shown(k)}", f"{k}{v}") for k, v in query) if e]
        kind = _content_type(scope)
        if scope["method"] in {"POST", "PUT", "PATCH"} and kind in _JSON_TYPES + _FORM_TYPES:
            body = await _read_body(receive)
            receive = _replay(body, receive)
            errors += await _body_errors(scope, kind, body)
        if errors:
            errors = _first_per_field(errors)
            page = _is_page(scope)
            response = _refusal_page(errors) if page else validation_response(errors)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _path_errors(self, scope: Scope) -> list[FieldError]:
        path: str = scope["path"]
        if not bad_characters(path):
            return []
        if self._patterns is None:
            self._patterns = _path_patterns(scope.get("app"))
        return [e for e in (_text_error(f, v) for f, v in _path_fields(self._patterns, path)) if e]


def _is_page(scope: Scope) -> bool:
    """A browser asking for a page (the console, the kiosk, a survey form), not an API client."""
    if str(scope["path"]).startswith("/api/"):
        return False
    accept = dict(scope.get("headers", ())).get(b"accept", b"")
    return b"text/html" in accept


def _refusal_page(errors: list[FieldError]) -> HTMLResponse:
    """The refusal as a page in Bahasa Indonesia: which fields, and to go back and correct them."""
    items = "".join(f"<li>{html.escape(e.field)}: {html.escape(e.message)}</li>" for e in errors)
    body = (
        '<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Isian tidak dapat diterima</title>'
        "</head><body><main><h1>Isian tidak dapat diterima</h1><p>Ada karakter yang tidak diizinkan:</p>"
        f"<ul>{items}</ul><p>Kembali ke halaman sebelumnya, periksa isian tersebut, lalu kirim lagi.</p>"
        "</main></body></html>"
    )
    return HTMLResponse(body, status_code=422)


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return ""


# What a JSON body must hold for any of its strings to decode to an unusable character: a raw C0
# control (but tab, LF, CR) or DEL, a C1 control in UTF-8 (C2 80-9F), a surrogate in UTF-8 (ED A0-BF,
# which json.loads lets through), or an escape (`\u0000`). A body with none of these (nearly every
# one) is not parsed here: a filing's body is then parsed once, by the route.
_MAY_HOLD_BAD_TEXT = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xed[\xa0-\xbf]|\\u")


async def _body_errors(scope: Scope, kind: str, body: bytes) -> list[FieldError]:
    if kind in _JSON_TYPES:
        if not _MAY_HOLD_BAD_TEXT.search(body):
            return []
        try:
            document = json.loads(body)
        except ValueError:
            return []  # not JSON: the route's own parsing says so
        return list(_json_errors(document, []))
    form_scope = {k: v for k, v in scope.items() if k != "app"}  # a bad form raises, not a 400 reply
    try:
        form = await StarletteRequest(form_scope, _replay(body, _read_nothing)).form()
    except Exception:
        return []  # a malformed form: the route's own parsing says so
    try:
        texts = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        return [e for e in (_text_error(_shown(k), f"{k}{v}") for k, v in texts) if e]
    finally:
        await form.close()


async def _read_nothing() -> Message:
    return {"type": "http.disconnect"}


def _shown(name: str) -> str:
    """A parameter's name fit to name a field: unusable characters escaped."""
    return name.encode("unicode_escape", errors="backslashreplace").decode("ascii")


def _first_per_field(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[str, FieldError] = {}
    for error in errors:
        seen.setdefault(error.field, error)
    return list(seen.values())


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
    except Exception as exc:  # a probe every few seconds: one line each, no traceback
        log.warning("readyz: broker unreachable (%s: %s)", type(exc).__name__, exc)
        return False


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str  # ready / not_ready (503)
    database: str  # ok / unreachable
    broker: str


class ApiIndex(BaseModel):
    """What `/api/v1` answers: where the API's description is."""

    name: str
    version: str
    docs: str  # Swagger UI, served by the app itself (no CDN): it works on a closed network
    redoc: str
    openapi: str


def create_api_app(title: str, **kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc pages load Swagger UI and ReDoc from the app itself
    (fastapi-offline's copies), not from a CDN a closed office network cannot reach."""
    app = FastAPIOffline(title=title, version="1", **kwargs)
    app.include_router(index_router(app))
    return app


def index_router(app: FastAPI) -> APIRouter:
    """`GET /api/v1`, the address the banner prints: the API's name and where its description is."""
    router = APIRouter(tags=["health"], responses=error_responses(422))

    @router.get("/api/v1", response_model=ApiIndex)
    async def api_index() -> ApiIndex:
        return ApiIndex(
            name=app.title, version=app.version, docs="/docs", redoc="/redoc", openapi=app.openapi_url or ""
        )

    return router


def health_router(database_check: Callable[[], Awaitable[bool]]) -> APIRouter:
    """`/healthz` (the process is up) and `/readyz` (database and broker reachable)."""
    router = APIRouter(tags=["health"], responses=error_responses(422))

    @router.get("/healthz", response_model=Health)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
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
