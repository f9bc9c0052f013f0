"""The satisfaction survey over HTTP, on PostgreSQL+Redis and on SQLite+filesystem: rate once, see it
on the record, the archive and the report; refusals write nothing; a race leaves one row."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared.clock import now, to_wib
from tests.integration.stack import Stack, complaint_body

pytestmark = pytest.mark.integration

ANSWER = "Sudah dijelaskan langsung di loket."


def _filed(stack: Stack, **overrides: Any) -> dict[str, Any]:
    r = stack.file(complaint_body(**overrides))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _closed(stack: Stack, *, how: str = "reject") -> dict[str, Any]:
    """A complaint closed at verification: rejected, or answered at the front office."""
    filed = _filed(stack)
    inputs: dict[str, Any] = (
        {"reason": "Bukan pengaduan ketenagakerjaan"}
        if how == "reject"
        else {"identity_verified": True, "answer": ANSWER, "delivery_method": "in_person"}
    )
    r = stack.act("fo", filed["ticket"], how, 1, **inputs)
    assert r.status_code == 202 and r.json()["status"] == "closed", r.text
    return filed


def _url(stack: Stack, ticket: str) -> str:
    return f"{stack.intake_url}/api/v1/track/{ticket}/feedback"


def _rate(stack: Stack, filed: dict[str, Any], body: Any, code: str | None = None) -> httpx.Response:
    params = {"code": filed["tracking_code"] if code is None else code}
    return httpx.post(_url(stack, filed["ticket"]), params=params, json=body, timeout=10)


def _track(stack: Stack, filed: dict[str, Any], code: str | None = None) -> httpx.Response:
    return httpx.get(
        f"{stack.intake_url}/api/v1/track/{filed['ticket']}",
        params={"code": filed["tracking_code"] if code is None else code},
        timeout=10,
    )


def _rows(stack: Stack, ticket: str) -> list[Any]:
    return stack.sql(
        "SELECT f.score, f.comment FROM feedback f JOIN complaints c ON c.id = f.complaint_id "
        "WHERE c.ticket = :t",
        t=ticket,
    )


def _report(stack: Stack, user: str = "kadis", **params: str) -> httpx.Response:
    today = to_wib(now()).date()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    return stack.staff(user, "GET", "/reports/satisfaction", params=period | params)


def test_rate_a_closed_complaint_once_and_see_it_everywhere(stack: Stack) -> None:
    before = _report(stack).json()
    filed = _closed(stack, how="resolve")
    ticket = filed["ticket"]
    track = _track(stack, filed).json()
    assert track["feedback"] is None
    assert track["feedback_url"].endswith(f"/api/v1/track/{ticket}/feedback?code={filed['tracking_code']}")

    r = _rate(stack, filed, {"score": 4, "comment": "  Petugas ramah dan jelas.  "})
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored | {"created_at": None} == {
        "ticket": ticket,
        "score": 4,
        "score_label": "Sangat baik",
        "comment": "Petugas ramah dan jelas.",
        "created_at": None,
    }

    track = _track(stack, filed).json()
    assert track["feedback"] == {"score": 4, "created_at": stored["created_at"]}
    assert track["feedback_url"] is None

    feedback = {
        "score": 4,
        "score_label": "Sangat baik",
        "comment": "Petugas ramah dan jelas.",
        "created_at": stored["created_at"],
    }
    assert stack.record("kasubag", ticket)["feedback"] == feedback
    archive = stack.staff("kasubag", "GET", f"/complaints/{ticket}/archive")
    assert archive.json()["feedback"] == feedback
    html = stack.staff("kasubag", "GET", f"/complaints/{ticket}/archive", params={"format": "html"}).text
    assert "Survei kepuasan" in html and "Sangat baik" in html and "Petugas ramah dan jelas." in html

    after = _report(stack).json()
    assert after["overall"]["closed"] == before["overall"]["closed"] + 1
    assert after["overall"]["rated"] == before["overall"]["rated"] + 1
    fo_before = next(f for f in before["by_outcome"] if f["outcome"] == "answered_at_front_office")
    fo_after = next(f for f in after["by_outcome"] if f["outcome"] == "answered_at_front_office")
    assert fo_after["scores"][3]["count"] == fo_before["scores"][3]["count"] + 1
    assert after["overall"]["index"] is not None and after["overall"]["grade"] in {"A", "B", "C", "D"}
    assert {"ticket": ticket, "score": 4, "comment": "Petugas ramah dan jelas."}.items() <= next(
        c for c in after["comments"] if c["ticket"] == ticket
    ).items()
    assert "Siti" not in str(after) and "3307" not in str(after)  # no identity in the report
    csv = _report(stack, format="csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("kelompok,nilai,ditutup,dinilai,") and ticket in csv.text

    again = _rate(stack, filed, {"score": 1})
    assert again.status_code == 409 and again.json()["code"] == "feedback_exists"
    assert _rows(stack, ticket) == [(4, "Petugas ramah dan jelas.")]


def test_refusals_write_nothing(stack: Stack) -> None:
    open_one = _filed(stack)
    r = _rate(stack, open_one, {"score": 3})
    assert r.status_code == 409 and r.json()["code"] == "not_closed"
    assert _track(stack, open_one).json()["feedback_url"] is None

    filed = _closed(stack)
    ticket = filed["ticket"]
    not_found = _track(stack, filed, code="SALAH123")
    assert not_found.status_code == 404
    wrong = _rate(stack, filed, {"score": 3}, code="SALAH123")
    assert (wrong.status_code, wrong.json()) == (404, not_found.json())
    unknown = httpx.post(_url(stack, "ADU-1999-000001"), params={"code": "X"}, json={"score": 3})
    assert (unknown.status_code, unknown.json()) == (404, not_found.json())

    cases: list[tuple[Any, str, str]] = [
        ({"score": 5}, "score", "less_than_equal"),
        ({"score": 0}, "score", "greater_than_equal"),
        ({"score": "4"}, "score", "int_type"),
        ({"comment": "tanpa skor"}, "score", "required"),
        ({"score": 3, "comment": "x" * 1001}, "comment", "too_long"),
        ({"score": 3, "nik": "3307015203900001"}, "nik", "unknown_field"),
    ]
    for body, field, code in cases:
        r = _rate(stack, filed, body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "validation_failed"
        assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [(field, code)], body
        assert r.json()["errors"][0]["message"]  # Indonesian, for people
    raw = httpx.post(_url(stack, ticket), params={"code": filed["tracking_code"]}, content=b"{score: 4")
    assert raw.status_code == 422 and raw.json()["errors"][0]["code"] == "invalid_json"
    assert _rows(stack, ticket) == []
    assert _track(stack, filed).json()["feedback"] is None


def _race(stack: Stack, filed: dict[str, Any], scores: tuple[int, ...]) -> list[int]:
    """Post one rating per score at the same moment; the status codes."""
    barrier = threading.Barrier(len(scores))
    codes: list[int] = []

    def post(score: int) -> None:
        barrier.wait()
        codes.append(_rate(stack, filed, {"score": score}).status_code)

    threads = [threading.Thread(target=post, args=(s,)) for s in scores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_concurrent_ratings_leave_one_row(stack: Stack) -> None:
    for _ in range(3):
        filed = _closed(stack)
        assert sorted(_race(stack, filed, (1, 2, 3, 4))) == [201, 409, 409, 409]
        assert len(_rows(stack, filed["ticket"])) == 1


def test_the_unique_key_decides_when_both_pass_the_check(stack: Stack) -> None:
    """Two posts that both found no rating: the database's unique key lets one through, and the
    other gets the same 409 as a late second rating."""
    if stack.name != "postgres":
        pytest.skip("SQLite takes the write lock at BEGIN (IMMEDIATE): the check itself decides there")
    filed = _closed(stack)
    complaint_id = stack.sql("SELECT id FROM complaints WHERE ticket = :t", t=filed["ticket"])[0][0]
    engine = create_engine(stack.db_url)
    try:
        with engine.connect() as blocker:
            # An uncommitted rating: both posts see no rating, then queue on the unique index.
            held = blocker.begin()
            blocker.execute(
                text("INSERT INTO feedback (complaint_id, score, created_at) VALUES (:c, 2, now())"),
                {"c": complaint_id},
            )
            codes: list[httpx.Response] = []
            threads = [
                threading.Thread(target=lambda s=s: codes.append(_rate(stack, filed, {"score": s})))
                for s in (3, 4)
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _lock_waits(stack) < 2:
                time.sleep(0.02)
            assert _lock_waits(stack) == 2
            held.rollback()
        for t in threads:
            t.join()
    finally:
        engine.dispose()
    assert sorted(r.status_code for r in codes) == [201, 409]
    assert next(r for r in codes if r.status_code == 409).json()["code"] == "feedback_exists"
    assert len(_rows(stack, filed["ticket"])) == 1


def _lock_waits(stack: Stack) -> int:
    return int(
        stack.sql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )[0][0]
    )


def test_the_page_and_its_form(stack: Stack) -> None:
    filed = _closed(stack)
    url = _url(stack, filed["ticket"])
    params = {"code": filed["tracking_code"]}
    page = httpx.get(url, params=params)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    for label in ("1. Tidak baik", "2. Kurang baik", "3. Baik", "4. Sangat baik"):
        assert label in page.text
    assert '<form method="post"' in page.text and 'name="comment"' in page.text

    # No score chosen: the form again, with the error, and nothing stored.
    bad = httpx.post(url, params=params, data={"comment": "<b>tebal</b>"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert (
        "Wajib diisi." in bad.text and "&lt;b&gt;tebal&lt;/b&gt;" in bad.text and "<b>tebal" not in bad.text
    )
    assert _rows(stack, filed["ticket"]) == []

    done = httpx.post(url, params=params, data={"score": "3", "comment": "<script>alert(1)</script>"})
    assert done.status_code == 201 and done.headers["content-type"].startswith("text/html")
    assert "Terima kasih" in done.text and "3 &mdash; Baik" in done.text
    assert "&lt;script&gt;" in done.text and "<script>" not in done.text  # autoescaped
    assert _rows(stack, filed["ticket"]) == [(3, "<script>alert(1)</script>")]
    assert _track(stack, filed).json()["feedback"]["score"] == 3

    again = httpx.get(url, params=params)
    assert again.status_code == 200 and "Terima kasih" in again.text and "<form" not in again.text
    twice = httpx.post(url, params=params, data={"score": "4"})  # a reload of the form post
    assert twice.status_code == 409 and "Terima kasih" in twice.text
    assert _rows(stack, filed["ticket"]) == [(3, "<script>alert(1)</script>")]

    open_one = _filed(stack)
    waiting = httpx.get(_url(stack, open_one["ticket"]), params={"code": open_one["tracking_code"]})
    assert waiting.status_code == 200 and "masih dalam proses" in waiting.text and "<form" not in waiting.text
    missing = httpx.get(url, params={"code": "SALAH123"})
    assert missing.status_code == 404 and "tidak cocok" in missing.text and "<form" not in missing.text


def test_report_roles_and_period(stack: Stack) -> None:
    assert _report(stack, "fo").status_code == 403
    assert _report(stack, "hi").status_code == 403
    reversed_ = stack.staff(
        "kasubag", "GET", "/reports/satisfaction", params={"from": "2026-12-02", "to": "2026-12-01"}
    )
    assert reversed_.status_code == 422 and reversed_.json()["errors"][0]["code"] == "range_reversed"
    empty = stack.staff(
        "sekdis", "GET", "/reports/satisfaction", params={"from": "2020-01-01", "to": "2020-01-31"}
    )
    assert empty.status_code == 200
    assert empty.json()["overall"] | {"scores": None} == {
        "outcome": None,
        "unit": None,
        "closed": 0,
        "rated": 0,
        "response_rate": None,
        "scores": None,
        "average": None,
        "index": None,
        "grade": None,
        "grade_label": None,
    }
