"""The links in messages. The citizen's, on ADUAN_PUBLIC_BASE_URL: the tracking page and the survey
page of a complaint, each with its tracking code so a tap opens it. The staff's, on
ADUAN_STAFF_BASE_URL: the complaint's page in the console."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from shared.settings import Settings


def citizen_url(settings: Settings, ticket: str, tracking_code: str, page: str = "", **query: str) -> str:
    """`/api/v1/track/{ticket}{page}?code=…` (and `query`) on the public address."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}/api/v1/track/{quote(ticket, safe='')}{page}?{urlencode({'code': tracking_code, **query})}"


def track_page_url(settings: Settings, ticket: str, tracking_code: str) -> str:
    """The tracking page of a complaint, with its code: the link opens it without typing anything."""
    return citizen_url(settings, ticket, tracking_code, format="html")


def console_url(settings: Settings, ticket: str) -> str:
    """A complaint's page in the staff console (staff notices link to it; sign-in first if needed)."""
    return f"{settings.staff_base_url.rstrip('/')}/pengaduan/{quote(ticket, safe='')}"


def kiosk_enrol_url(settings: Settings, token: str) -> str:
    """The one-time link that enrols a kiosk's browser (opened on the kiosk itself)."""
    return f"{settings.public_base_url.rstrip('/')}/kios/daftar/{quote(token, safe='')}"
