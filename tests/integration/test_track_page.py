"""The citizen's tracking page on the real stack (PostgreSQL+Redis and SQLite+filesystem): it follows
the complaint to its delivered answer, shows no identity, and answers any mismatch with one 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.stack import FORWARD, Stack, complaint_body, eventually

pytestmark = pytest.mark.integration

ANSWER = "Perusahaan wajib membayar THR paling lambat 7 hari sebelum hari raya. <b>Segera</b> lapor."
DISPOSE = {
    "unit": "hi_jamsos",
    "instructions": ["siapkan jawaban"],
    "urgency": "segera",
    "note": "Mohon segera",
}
PATH: list[tuple[str, str, dict[str, Any], str]] = [
    ("fo", "forward", FORWARD, "kasubag"),
    ("kasubag", "forward", {"note": "Catatan internal kasubag"}, "sekdis"),
    ("sekdis", "dispose", DISPOSE, "hi"),
    ("hi", "submit_answer", {"answer": ANSWER}, "kasubag"),
    ("kasubag", "approve", {}, "fo"),
]
# What the complainant gave and what staff wrote inside: none of it is on the page.
PRIVATE = (
    "Siti Aminah",
    "3307015203900001",
    "3307********0001",
    "81234567890",
    "siti@example.co.id",
    "Sabuk Alu",
    "THR belum dibayar",
    "Perusahaan tempat saya bekerja",
    "Catatan internal",
    "Mohon segera",
    "KTP",
)


def _get(stack: Stack, ticket: str, **params: str) -> httpx.Response:
    return httpx.get(f"{stack.intake_url}/api/v1/track/{ticket}", params=params, timeout=10)


def _page(stack: Stack, filed: dict[str, Any]) -> str:
    r = _get(stack, filed["ticket"], code=filed["tracking_code"], format="html")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    for private in PRIVATE:
        assert private not in r.text, private
    return r.text


def _view(stack: Stack, filed: dict[str, Any]) -> dict[str, Any]:
    r = _get(stack, filed["ticket"], code=filed["tracking_code"])
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view


def test_the_page_follows_the_complaint_to_its_delivered_answer(stack: Stack) -> None:
    r = stack.file(complaint_body())
    assert r.status_code == 201, r.text
    filed = r.json()
    ticket = filed["ticket"]

    page = _page(stack, filed)
    assert ticket in page and "Pengaduan diterima dan sedang diverifikasi" in page
    assert "Tahap</td><td>1 dari 6" in page

    version = 1
    for user, action, inputs, receiver in PATH:
        acted = stack.act(user, ticket, action, version, **inputs)
        assert acted.status_code == 202, acted.text
        version = acted.json()["version"]
        stack.wait_in_queue(receiver, ticket)
    waiting = _page(stack, filed)
    assert _view(stack, filed)["status_label"] in waiting and "Tahap</td><td>6 dari 6" in waiting
    assert "Segera" not in waiting  # approved, not yet delivered: no answer yet

    acted = stack.act("fo", ticket, "deliver", version, method="email")
    assert acted.status_code == 202, acted.text
    view = eventually(lambda: _view(stack, filed), lambda v: v["status"] == "closed")
    assert view["answer"] == ANSWER
    page = _page(stack, filed)
    assert "Selesai - jawaban telah disampaikan" in page
    assert "&lt;b&gt;Segera&lt;/b&gt; lapor." in page and "<b>Segera" not in page  # autoescaped
    for event in view["history"]:
        assert event["label"] in page
    assert view["feedback_url"] and "menilai layanan kami" in page


def test_a_wrong_code_and_an_unknown_ticket_get_the_same_404(stack: Stack) -> None:
    r = stack.file(complaint_body())
    assert r.status_code == 201, r.text
    filed = r.json()
    asks = [(filed["ticket"], "SALAH123"), ("ADU-1999-000001", filed["tracking_code"]), (filed["ticket"], "")]
    pages = [_get(stack, ticket, code=code, format="html") for ticket, code in asks]
    assert {(p.status_code, p.text) for p in pages} == {(404, pages[0].text)}
    assert pages[0].headers["content-type"].startswith("text/html") and "tidak cocok" in pages[0].text
    assert filed["ticket"] not in pages[0].text
    as_json = [_get(stack, ticket, code=code) for ticket, code in asks]
    assert {(j.status_code, j.text) for j in as_json} == {(404, as_json[0].text)}
    assert as_json[0].json()["code"] == "not_found"

    for ticket, code in asks[:2]:
        pdf = _get(stack, ticket, code=code, format="pdf")
        assert pdf.status_code == 422
        assert pdf.json()["code"] == "validation_failed"
        assert [(e["field"], e["code"]) for e in pdf.json()["errors"]] == [("query.format", "invalid_choice")]
