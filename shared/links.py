"""The citizen's link to the tracking page, built on ADUAN_PUBLIC_BASE_URL (messages carry it)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from shared.settings import Settings


def track_page_url(settings: Settings, ticket: str, tracking_code: str) -> str:
    """The tracking page of a complaint, with its code: the link opens it without typing anything."""
    base = settings.public_base_url.rstrip("/")
    query = urlencode({"code": tracking_code, "format": "html"})
    return f"{base}/api/v1/track/{quote(ticket, safe='')}?{query}"
