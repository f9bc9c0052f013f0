"""The console's sign-in cookie and its CSRF tokens.

The session cookie holds the same signed token the API hands out as a bearer token (so it expires
with ADUAN_TOKEN_TTL and names the same account); it is HttpOnly, SameSite=Lax, and Secure when the
office serves the console over https. Every form carries a CSRF token: an HMAC, under the instance's
secret key, of a random value kept in a second cookie (double submit, signed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from shared.settings import Settings, get_settings

SESSION_COOKIE = "aduan_sesi"
CSRF_COOKIE = "aduan_csrf"
CSRF_FIELD = "csrf"


class SignInRequired(Exception):
    """The page needs a signed-in officer; the console answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """An admin reset the officer's password: the console sends them to the password page first."""


class CsrfRejected(Exception):
    """A form came without a valid CSRF token: 403, nothing written."""


def secure_cookies(settings: Settings) -> bool:
    """Cookies are Secure when the office reaches either base URL over https."""
    urls = (settings.staff_base_url, settings.public_base_url)
    return any(url.lower().startswith("https://") for url in urls)


def _sign(nonce: str) -> str:
    key = get_settings().secret_key_value().encode()
    return hmac.new(key, f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_nonce(request: Request) -> str:
    """This browser's CSRF nonce (a new one when it has none yet; `remember_csrf` stores it)."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(CSRF_COOKIE)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
    request.state.csrf_nonce = nonce
    return str(nonce)


def csrf_token(request: Request) -> str:
    """The value every form of this browser posts back in its hidden `csrf` field."""
    return _sign(csrf_nonce(request))


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this response handed out a nonce the browser does not hold yet."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce and request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(get_settings()),
            path="/",
        )


def check_csrf(request: Request, posted: str | None) -> None:
    """Refuse a form whose token does not match this browser's CSRF cookie."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not posted or not hmac.compare_digest(_sign(nonce), posted):
        raise CsrfRejected


def start_session(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.token_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=secure_cookies(get_settings()), path="/"
    )


def safe_next(raw: str | None) -> str:
    """A local path to go back to after sign-in (never another site)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def sign_in_url(next_path: str) -> str:
    return "/masuk" if next_path == "/" else f"/masuk?lanjut={quote(next_path, safe='/')}"
