"""The citizen's tracking page: it shows the JSON view and nothing more, and a wrong code or an
unknown ticket gets one 404 page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from services.intake import views
from services.intake.app import create_app
from shared.db import make_engine
from shared.migrate import upgrade
from shared.models import Complaint
from shared.settings import Settings, get_settings
from shared.workflow import Actor
from tests.unit.conftest import complaint_row
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
