"""The citizen's tracking page: the receipt's link opens it, it shows the JSON view and nothing more,
and a wrong code or an unknown ticket gets one 404 page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from services.intake import views
from services.intake.app import create_app
from services.notify import service as notify
from shared.db import make_engine
from shared.links import track_page_url
from shared.migrate import upgrade
from shared.models import Complaint
from shared.settings import Settings, get_settings
from shared.tasks import NotifyEvent
from shared.workflow import Actor
from tests.unit.conftest import T0, complaint_row
from tests.unit.test_workflow import DISPOSE, FO, HI, KASUBAG, SEKDIS, act, land

CODE = "ABCD2345"  # complaint_row's tracking code
ANSWER = 'THR dibayar paling lambat H-7. <script>alert("x")</script>'
IDENTITY = ("Budi Santoso", "3307015203900001", "3307********0001", "81234567890", "Jl. Sabuk Alu", "budi@")
INTERNAL = ("THR belum dibayar", "Perusahaan belum membayar", "catatan internal", "Mohon segera")


@dataclass
class Site:
    """A migrated database the test commits to, and the intake app reading the same file."""

    engine: Engine
    app: FastAPI

    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET `url` from the intake app in process (each on its own event loop)."""

        async def fetch() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
                return await client.get(url, params=params)

        return asyncio.run(fetch())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = get_settings()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("trackdb"), secret_key=base.secret_key, data_key=base.data_key
    )
    upgrade(settings)
    engine = make_engine(settings)
    # NullPool: each request opens its own connection, on its own event loop.
    reader = create_async_engine(settings.async_database_url(), poolclass=NullPool)

    async def session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(reader) as s:
            yield s

    app = create_app()
    app.dependency_overrides[views.get_session] = session
    yield Site(engine, app)
    asyncio.run(reader.dispose())
    engine.dispose()


def _filed(site: Site, ticket: str) -> Complaint:
    """A committed complaint at verification with a full identity (NIK masked, phone, e-mail, address)."""
    with Session(site.engine, expire_on_commit=False) as s, s.begin():
        c = complaint_row(
            ticket=ticket,
            complainant_name="Budi Santoso",
            nik_masked="3307********0001",
            email="budi@example.co.id",
            address="Jl. Sabuk Alu 1, Wonosobo",
        )
        s.add(c)
    return c


def _answered(site: Site, ticket: str) -> None:
    """Walk a committed complaint through the six steps; the answer delivered by phone closes it."""
    with Session(site.engine) as s, s.begin():
        c = s.get_one(Complaint, _filed(site, ticket).id)
        path: list[tuple[Actor, str, dict[str, Any]]] = [
            (FO, "forward", {"identity_verified": True, "id_document": "KTP 3307015203900001"}),
            (KASUBAG, "forward", {"note": "catatan internal kasubag"}),
            (SEKDIS, "dispose", {**DISPOSE, "note": "Mohon segera"}),
            (HI, "submit_answer", {"answer": ANSWER}),
            (KASUBAG, "approve", {}),
        ]
        for who, action, inputs in path:
            act(s, c, who, action, **inputs)
            land(s, c)
        act(s, c, FO, "deliver", method="phone", outcome="delivered")


def _page(site: Site, ticket: str, code: str = CODE) -> str:
    r = site.get(f"/api/v1/track/{ticket}", params={"code": code, "format": "html"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def test_the_link_is_built_on_the_public_base_url_and_encoded() -> None:
    settings = get_settings().model_copy(update={"public_base_url": "https://aduan.wonosobokab.go.id/"})
    assert track_page_url(settings, "ADU-2026-000123", "K7QX2M9P") == (
        "https://aduan.wonosobokab.go.id/api/v1/track/ADU-2026-000123?code=K7QX2M9P&format=html"
    )
    odd = track_page_url(settings, "A B/1", "X&Y=Z")
    assert odd.endswith("/api/v1/track/A%20B%2F1?code=X%26Y%3DZ&format=html")


def test_the_receipts_link_carries_the_code_and_opens_the_page(site: Site) -> None:
    c = _filed(site, "ADU-2026-700001")
    with Session(site.engine) as s, s.begin():
        messages = notify.prepare(s, complaint_id=c.id, event=NotifyEvent.RECEIPT, method=None, now=T0)
    by_channel = {m.channel: m for m in messages}
    assert set(by_channel) == {"sms", "email"}
    [link] = re.findall(r"https?://\S+", by_channel["sms"].body)
    assert link == track_page_url(get_settings(), "ADU-2026-700001", CODE)
    assert link in by_channel["email"].body
    html = by_channel["email"].html
    assert html is not None and f'href="{link.replace("&", "&amp;")}"' in html

    parts = urlsplit(link)
    assert parse_qs(parts.query) == {"code": [CODE], "format": ["html"]}
    page = _page(site, "ADU-2026-700001", parse_qs(parts.query)["code"][0])
    assert "ADU-2026-700001" in page and "Pengaduan diterima dan sedang diverifikasi" in page
    opened = site.get(f"{parts.path}?{parts.query}")
    assert (opened.status_code, opened.text) == (200, page)
    for secret in IDENTITY + INTERNAL:
        assert secret not in page, secret


def test_the_page_shows_the_json_view_and_nothing_more(site: Site) -> None:
    _answered(site, "ADU-2026-700002")
    view = site.get("/api/v1/track/ADU-2026-700002", params={"code": CODE}).json()
    assert view["status"] == "closed" and view["answer"] == ANSWER and view["feedback_url"]
    page = _page(site, "ADU-2026-700002", CODE.lower())  # the code is read like the JSON view reads it
    r = site.get("/api/v1/track/ADU-2026-700002", params={"code": CODE, "format": "html"})
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert view["status_label"] in page
    assert "dari 6" not in page  # closed: no step
    assert "THR dibayar paling lambat H-7. &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<script" not in page  # autoescaped
    for event in view["history"]:
        assert event["label"] in page
    assert "25-11-2026 10:00 WIB" in page  # received at T0 (03:00 UTC)
    assert f'href="{view["feedback_url"].replace("&", "&amp;")}"' in page
    for secret in (*IDENTITY, *INTERNAL, "KTP", "hi_jamsos", "siapkan jawaban", "bidang-hi"):
        assert secret not in page, secret


def test_a_wrong_code_and_an_unknown_ticket_get_one_404(site: Site) -> None:
    _filed(site, "ADU-2026-700003")
    asks = [
        ("ADU-2026-700003", "SALAH123"),
        ("ADU-1999-000001", CODE),
        ("ADU-2026-700003", "A" * 200),
        ("ADU-2026-700003", ""),
    ]
    pages = [site.get(f"/api/v1/track/{t}", params={"code": c, "format": "html"}) for t, c in asks]
    assert {(p.status_code, p.text) for p in pages} == {(404, pages[0].text)}
    assert "tidak cocok" in pages[0].text and "ADU-" not in pages[0].text
    assert pages[0].headers["cache-control"] == "no-store"
    as_json = [site.get(f"/api/v1/track/{t}", params={"code": c}) for t, c in asks]
    assert {(r.status_code, r.text) for r in as_json} == {(404, as_json[0].text)}
    assert as_json[0].json()["code"] == "not_found"


@pytest.mark.parametrize("ticket", ["ADU-2026-700003", "ADU-1999-000001"])
def test_an_unknown_format_is_a_field_error(site: Site, ticket: str) -> None:
    r = site.get(f"/api/v1/track/{ticket}", params={"code": CODE, "format": "pdf"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("query.format", "invalid_choice")]


def test_an_answer_that_did_not_reach_the_complainant_keeps_the_page_open(site: Site) -> None:
    """The front office phoned and could not reach the complainant: an `unreachable` attempt on
    the record; the tracking page still reads (it took it for an outcome once, and gave a 500)."""
    with Session(site.engine) as s, s.begin():
        c = s.get_one(Complaint, _filed(site, "ADU-2026-700004").id)
        path: list[tuple[Actor, str, dict[str, Any]]] = [
            (FO, "forward", {"identity_verified": True, "id_document": "KTP"}),
            (KASUBAG, "forward", {}),
            (SEKDIS, "dispose", DISPOSE),
            (HI, "submit_answer", {"answer": ANSWER}),
            (KASUBAG, "approve", {}),
        ]
        for who, action, inputs in path:
            act(s, c, who, action, **inputs)
            land(s, c)
        act(s, c, FO, "deliver", method="phone", outcome="unreachable", note="tidak diangkat")
    r = site.get("/api/v1/track/ADU-2026-700004", params={"code": CODE})
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["status"], view["outcome"], view["answer"]) == ("answer_ready", None, None)
    assert [e["status"] for e in view["history"]][-1] == "answer_ready"
    page = _page(site, "ADU-2026-700004")
    assert view["status_label"] in page and "tidak diangkat" not in page
