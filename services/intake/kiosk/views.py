"""The kiosk page (`/kios`): enrolment by a one-time link, the form, filing once, the receipt."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Cookie, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import flows, service
from services.intake.schemas import Channel, ComplaintCreated
from services.intake.views import SessionDep
from shared import complaint_form as forms
from shared import office, when
from shared.api import ApiError
from shared.clock import now
from shared.db import async_session_factory
from shared.links import track_page_url
from shared.ratelimit import Count, RateLimited, Rule, async_limiter, client_address
from shared.settings import get_settings
from shared.validation import FieldError, InputError

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = HERE / "static"
PATH = "/kios"
WEB_PATH = "/lapor"  # the public web form (ADUAN_PUBLIC_WEB_FORM), off by default
HONEYPOT = "website"
COOKIE = "aduan_kios"
# Chromium keeps a cookie at most 400 days; the kiosk is enrolled again after that.
COOKIE_MAX_AGE = 400 * 24 * 3600
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")

# No caching anywhere (citizens' data on a shared device), no Referer, no framing; the page loads
# only its own files (the CSP makes a stray external reference fail rather than leak).
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

router = APIRouter(prefix=PATH, include_in_schema=False)
web_router = APIRouter(prefix=WEB_PATH, include_in_schema=False)
logo_router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["long_time"] = when.long_time


BrowserCookie = Annotated[str | None, Cookie(alias=COOKIE)]


async def render(
    template: str,
    *,
    status_code: int = 200,
    web: bool = False,
    identity: office.Office,
    **context: Any,
) -> HTMLResponse:
    """A kiosk page, or the web form's (no idle reset there); never cached."""
    settings = get_settings()
    html = templates.get_template(template).render(
        office=identity.name,
        office_identity=identity,
        idle_reset=0 if web else settings.kiosk_idle_reset,
        home=WEB_PATH if web else PATH,
        static=f"{PATH}/static",
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


@logo_router.get(office.LOGO_PATH)
async def office_logo(session: SessionDep, v: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The office's logo for the receipt (the admin uploads it in the staff console)."""
    return office.logo_response(await office.logo_async(session), v)


# --- Enrolment ---------------------------------------------------------------------------------


@router.get("/daftar/{token}", response_class=HTMLResponse)
async def enrol_page(token: str, session: SessionDep) -> HTMLResponse:
    """What the enrolment link opens: which kiosk this browser would become, and a button."""
    name = await service.kiosk_for_enrol_token(session, token, now=now())
    identity = await office.identity_async(session)
    if name is None:
        return await render("enrol_invalid.html.j2", status_code=404, identity=identity)
    return await render("enrol.html.j2", identity=identity, kiosk=name, action=f"{PATH}/daftar/{token}")


@router.post("/daftar/{token}", response_class=HTMLResponse)
async def enrol(token: str, session: SessionDep) -> Response:
    """Use the link once: this browser gets the kiosk's long-lived HttpOnly cookie."""
    async with session.begin():
        secret = await service.enrol_browser(session, token, now=now())
    if secret is None:
        identity = await office.identity_async(session)
        return await render("enrol_invalid.html.j2", status_code=404, identity=identity)
    response = RedirectResponse(PATH, status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=COOKIE_MAX_AGE,
        path=PATH,
        httponly=True,
        # Strict: no other site can make this browser post a complaint (the form needs no CSRF token).
        samesite="strict",
        secure=get_settings().public_base_url.startswith("https://"),
    )
    return response


# --- The form ----------------------------------------------------------------------------------


class KioskRefused(Exception):
    """This browser is not an enrolled, active kiosk: the page says why and offers nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def current_kiosk(session: SessionDep, secret: BrowserCookie = None) -> int:
    """The enrolled kiosk of this browser; refused when none, or when it was revoked."""
    kiosk = await service.kiosk_for_browser(session, secret) if secret else None
    if session.in_transaction():
        await session.rollback()  # end the read; filing opens its own transaction
    if kiosk is None:
        raise KioskRefused("not_enrolled")
    if not kiosk.active:
        raise KioskRefused("revoked")
    return kiosk.id


KioskDep = Annotated[int, Depends(current_kiosk)]


async def refused(exc: KioskRefused) -> HTMLResponse:
    """The refusal page; the request's session has ended its read (SQLite: one writer), so a short one."""
    status_code = 404 if exc.reason == "web_off" else 403
    async with async_session_factory()() as session:
        identity = await office.identity_async(session)
    web = exc.reason.startswith("web")
    return await render(
        "refused.html.j2", identity=identity, status_code=status_code, web=web, reason=exc.reason
    )


async def web_form_kiosk(session: SessionDep) -> int:
    """The kiosk row the public web form files under; the form is off unless ADUAN_PUBLIC_WEB_FORM."""
    if not get_settings().public_web_form:
        raise KioskRefused("web_off")
    kiosk = await service.web_form_kiosk(session)
    if kiosk is None:
        await service.add_web_form_kiosk(session, now=now())
        await session.commit()
        kiosk = await service.web_form_kiosk(session)
        assert kiosk is not None  # noqa: S101 - added above, or by a concurrent first use
    await session.rollback()  # end the read; filing opens its own transaction
    if not kiosk.active:  # `aduan kiosks revoke formulir-web` closes the form
        raise KioskRefused("web_closed")
    return kiosk.id


WebDep = Annotated[int, Depends(web_form_kiosk)]


async def _form(
    session: AsyncSession,
    *,
    web: bool = False,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    idempotency_key: str | None = None,
) -> HTMLResponse:
    """The form, empty or as posted with each error beside its field; a new key per fresh render."""
    categories = [(c.code, c.name) for c in await service.active_categories(session)]
    known = set(forms.FORM_NAMES) | {forms.CONSENT}
    errors = errors or []
    identity = await office.identity_async(session)
    return await render(
        "form.html.j2",
        status_code=status_code,
        identity=identity,
        web=web,
        honeypot=HONEYPOT if web else None,
        fields=forms.fields(categories),
        consent=forms.consent_text(get_settings(), identity),
        consent_field=forms.CONSENT,
        values=values or {"preferred_reply": "in_person", "waiting_on_site": "false"},
        errors={e.field: e.message for e in errors if e.field in known},
        other_errors=[e.message for e in errors if e.field not in known],
        idempotency_key=idempotency_key or str(uuid.uuid4()),
    )


@router.get("", response_class=HTMLResponse)
async def form_page(session: SessionDep, _kiosk: KioskDep) -> HTMLResponse:
    """An empty form with its own Idempotency-Key."""
    return await _form(session)


@router.post("", response_class=HTMLResponse)
async def file(request: Request, session: SessionDep, kiosk_id: KioskDep) -> HTMLResponse:
    """File the posted form once (its key makes a double tap or a resend one complaint): the receipt."""
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await _file(session, posted, kiosk_id=kiosk_id, web=False)


@web_router.get("", response_class=HTMLResponse)
async def web_form_page(session: SessionDep, _kiosk: WebDep) -> HTMLResponse:
    """The public web form: the kiosk's form, without the idle reset, with a honeypot field."""
    return await _form(session, web=True)


@web_router.post("", response_class=HTMLResponse)
async def file_on_the_web(request: Request, session: SessionDep, kiosk_id: WebDep) -> HTMLResponse:
    """File from the web: each post counts against its address's limit; a filled honeypot files nothing."""
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await async_limiter().take(Count.of(Rule.WEB_FORM_ADDRESS, client_address(request)))
    except RateLimited as exc:
        return await _refused_post(session, posted, exc, web=True)
    if posted.get(HONEYPOT, "").strip():
        log.info("web form: a post with the honeypot field filled was refused")
        return await _form(session, web=True, status_code=422, values=posted, errors=[_HONEYPOT_FILLED])
    return await _file(session, posted, kiosk_id=kiosk_id, web=True)


async def _file(session: AsyncSession, posted: dict[str, str], *, kiosk_id: int, web: bool) -> HTMLResponse:
    key = posted.get("idempotency_key", "")
    key = key if _IDEMPOTENCY_KEY.match(key) else ""
    try:
        body = forms.parse(posted, channel=Channel.WEB if web else Channel.KIOSK)
        filed = await flows.file_once(session, body, kiosk_id=kiosk_id, idempotency_key=key or None)
    except InputError as exc:
        if any(e.code == "idempotency_key_reused" for e in exc.errors):
            # This form's earlier post was filed (its answer lost), and the text changed since:
            # sending again files the changed text as a new complaint, under a new key.
            return await _form(session, web=web, status_code=409, values=posted, errors=[_SENT_BEFORE])
        return await _form(
            session, web=web, status_code=422, values=posted, errors=exc.errors, idempotency_key=key
        )
    except ApiError as exc:  # a concurrent send of this form is still being filed, or too many filings
        return await _refused_post(session, posted, exc, web=web, idempotency_key=key)
    identity = await office.identity_async(session)
    return await receipt(ComplaintCreated.model_validate(filed), identity, web=web)


async def _refused_post(
    session: AsyncSession, posted: dict[str, str], exc: ApiError, *, web: bool, idempotency_key: str = ""
) -> HTMLResponse:
    """The form as posted, the reason at the top (a 429 with its Retry-After)."""
    errors = [FieldError("form", exc.code, exc.message)]
    page = await _form(
        session,
        web=web,
        status_code=exc.status,
        values=posted,
        errors=errors,
        idempotency_key=idempotency_key,
    )
    page.headers.update(exc.headers or {})
    return page


_HONEYPOT_FILLED = FieldError(
    "form",
    "honeypot_filled",
    'Pengaduan tidak dapat dikirim: kolom "Jangan isi kolom ini" terisi. Kosongkan kolom itu, '
    "lalu kirim lagi.",
)
_SENT_BEFORE = FieldError(
    "form",
    "sent_before",
    "Isian sebelumnya dari formulir ini sudah terkirim sebagai pengaduan. Bila isian ini pengaduan "
    "lain, tekan Kirim pengaduan sekali lagi; bila sama, tanyakan nomor tiketnya kepada petugas.",
)


async def receipt(filed: ComplaintCreated, identity: office.Office, *, web: bool = False) -> HTMLResponse:
    """The receipt: ticket, tracking code, the first step's time standard, the tracking link's QR."""
    link = track_page_url(get_settings(), filed.ticket, filed.tracking_code)
    qr = segno.make(link, error="m")
    svg = qr.svg_inline(scale=4, border=2, title="Kode QR tautan pelacakan pengaduan", svgclass="qr")
    return await render("receipt.html.j2", identity=identity, web=web, filed=filed, qr_svg=svg)
