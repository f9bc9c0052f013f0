"""The error every service raises for a refused request: kept apart from shared.api (FastAPI) so that
the command line (`aduan users add`, `aduan prepare`) reports it without importing the web stack."""

from __future__ import annotations

from shared.validation import FieldError


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
