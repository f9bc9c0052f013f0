"""The APIs' edges: each input that once ended in a 500 (NUL bytes reaching PostgreSQL, numbers past
bigint, dates outside the calendar, a signed token naming no account) now gets a 4xx with field errors."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.stack import PASSWORD, Stack, complaint_body

pytestmark = pytest.mark.integration

TABLES = ("complaints", "history", "outbox", "idempotency_keys")


def _counts(stack: Stack) -> dict[str, int]:
    return {t: stack.count(t) for t in TABLES}


def _field_codes(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_failed" and body["message"]
    assert all(e["message"] for e in body["errors"])
    return {e["field"]: e["code"] for e in body["errors"]}


def _post_json(url: str, document: Any, headers: dict[str, str]) -> httpx.Response:
    """POST a JSON text as written (json.dumps keeps NUL as \\u0000 and a lone surrogate as \\ud800)."""
    return httpx.post(
        url,
        content=json.dumps(document).encode(),
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (complaint_body(subject="THR\x00belum dibayar"), "subject", "control_character"),
        (
            complaint_body(complainant={**complaint_body()["complainant"], "name": "Siti\x07"}),
            "complainant.name",
            "control_character",
        ),
        (complaint_body(description="Perusahaan \x1b[31m"), "description", "control_character"),
        (complaint_body(description="Rusak \ud800"), "description", "invalid_character"),
    ],
    ids=["nul-subject", "bell-name", "escape-description", "lone-surrogate"],
)
def test_control_characters_in_a_complaint_are_refused(
    stack: Stack, body: dict[str, Any], field: str, code: str
) -> None:
    before = _counts(stack)
    r = _post_json(f"{stack.intake_url}/api/v1/complaints", body, {"X-Kiosk-Key": stack.kiosk_key})
    assert _field_codes(r) == {field: code}
    assert _counts(stack) == before


def test_line_breaks_and_tabs_stay_welcome(stack: Stack) -> None:
    r = stack.file(complaint_body(description="Baris satu.\r\nBaris dua,\tdengan tab."))
    assert r.status_code == 201, r.text


def test_control_characters_in_paths_and_queries_are_refused(stack: Stack) -> None:
    ticket = stack.file().json()["ticket"]
    r = httpx.get(f"{stack.intake_url}/api/v1/track/{ticket}%00", params={"code": "x"})
    assert _field_codes(r) == {"path.ticket": "control_character"}
    r = httpx.get(f"{stack.intake_url}/api/v1/track/{ticket}", params={"code": "ab\x00cd"})
    assert _field_codes(r) == {"query.code": "control_character"}
    r = httpx.get(f"{stack.intake_url}/api/v1/track/{ticket}/feedback", params={"code": "\x00"})
    assert _field_codes(r) == {"query.code": "control_character"}
    r = stack.staff("fo", "GET", f"/complaints/{ticket}%00")
    assert _field_codes(r) == {"path.ticket": "control_character"}
    r = stack.staff("fo", "GET", "/complaints", params={"step": "review\x00"})
    assert _field_codes(r) == {"query.step": "control_character"}


def test_a_nul_in_an_actions_reason_changes_nothing(stack: Stack) -> None:
    ticket = stack.file().json()["ticket"]
    before = stack.record("fo", ticket)
    r = _post_json(
        f"{stack.staff_url}/api/v1/complaints/{ticket}/actions",
        {"action": "reject", "version": before["version"], "reason": "Bukan\x00wewenang"},
        {"Authorization": f"Bearer {stack.tokens['fo']}"},
    )
    assert _field_codes(r) == {"reason": "control_character"}
    after = stack.record("fo", ticket)
    assert (after["version"], after["step"], len(after["history"])) == (
        before["version"],
        before["step"],
        len(before["history"]),
    )


def test_a_nul_in_the_sign_in_username_is_refused(stack: Stack) -> None:
    r = httpx.post(f"{stack.staff_url}/api/v1/auth/token", data={"username": "fo\x00", "password": PASSWORD})
    assert _field_codes(r) == {"username": "control_character"}
    files = {"username": (None, "fo\x00"), "password": (None, PASSWORD)}
    r = httpx.post(f"{stack.staff_url}/api/v1/auth/token", files=files)  # multipart
    assert _field_codes(r) == {"username": "control_character"}


def test_a_nul_in_a_feedback_form_is_refused(stack: Stack) -> None:
    created = stack.file().json()
    r = httpx.post(
        f"{stack.intake_url}/api/v1/track/{created['ticket']}/feedback",
        params={"code": created["tracking_code"]},
        data={"score": "4", "comment": "Bagus\x00"},
    )
    assert _field_codes(r) == {"comment": "control_character"}


@pytest.mark.parametrize("path", ["/worklist", "/complaints", "/notifications", "/escalations"])
def test_offsets_past_any_page_are_refused(stack: Stack, path: str) -> None:
    r = stack.staff("kadis", "GET", path, params={"offset": str(2**64)})
    assert _field_codes(r) == {"query.offset": "less_than_equal"}
    r = stack.staff("kadis", "GET", path, params={"offset": "1000000000"})
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1999-12", "2100-01"])
def test_months_outside_the_calendar_are_refused(stack: Stack, month: str) -> None:
    r = stack.staff("kadis", "GET", "/calendar", params={"month": month})
    assert _field_codes(r) == {"query.month": "date_out_of_range"}


def test_calendar_edges_answer(stack: Stack) -> None:
    for month in ("2000-01", "2099-12"):
        r = stack.staff("kadis", "GET", "/calendar", params={"month": month})
        assert r.status_code == 200, r.text


def test_report_periods_outside_the_calendar_are_refused(stack: Stack) -> None:
    for report in ("sla", "satisfaction", "volume"):
        r = stack.staff(
            "kadis", "GET", f"/reports/{report}", params={"from": "0001-01-01", "to": "9999-12-31"}
        )
        assert _field_codes(r) == {"query.from": "date_out_of_range", "query.to": "date_out_of_range"}


def test_calendar_overrides_outside_the_calendar_are_refused(stack: Stack) -> None:
    admin = _admin_token(stack)
    headers = {"Authorization": f"Bearer {admin}"}
    r = httpx.put(
        f"{stack.staff_url}/api/v1/calendar/overrides/0001-01-01",
        json={"open": False, "reason": "Uji"},
        headers=headers,
    )
    assert _field_codes(r) == {"path.day": "date_out_of_range"}
    r = httpx.delete(f"{stack.staff_url}/api/v1/calendar/overrides/9999-12-31", headers=headers)
    assert _field_codes(r) == {"path.day": "date_out_of_range"}


def test_numbers_past_the_columns_are_refused(stack: Stack) -> None:
    ticket = stack.file().json()["ticket"]
    r = stack.act("fo", ticket, "reject", 2**70, reason="Bukan wewenang kami.")
    assert _field_codes(r) == {"version": "less_than_equal"}
    admin = {"Authorization": f"Bearer {_admin_token(stack)}"}
    r = httpx.post(
        f"{stack.staff_url}/api/v1/categories",
        json={"code": "besar", "name": "Besar", "position": 2**40},
        headers=admin,
    )
    assert _field_codes(r) == {"position": "less_than_equal"}


def _secret_key(stack: Stack) -> str:
    if "ADUAN_SECRET_KEY" in stack.env:
        return stack.env["ADUAN_SECRET_KEY"]
    key: str = json.loads((stack.data_dir / "secrets.json").read_text())["secret_key"]
    return key


@pytest.mark.parametrize("subject", ["abc", "1e3", "-1", "99999999999999999999999", " 1"])
def test_a_signed_token_naming_no_account_is_401(stack: Stack, subject: str) -> None:
    at = int(time.time())
    claims = {"sub": subject, "usr": "fo", "role": "front_office", "iat": at, "exp": at + 600}
    token = jwt.encode(claims, _secret_key(stack), algorithm="HS256")
    r = httpx.get(f"{stack.staff_url}/api/v1/worklist", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.json()["code"] in {"token_invalid", "account_inactive"}


def _admin_token(stack: Stack) -> str:
    """The token of the admin account `up` made (its password is in the banner)."""
    if "admin" not in stack.tokens:
        lines = [line.strip() for line in stack.banner.splitlines()]
        [password] = [line.removeprefix("admin / ") for line in lines if line.startswith("admin / ")]
        stack.tokens["admin"] = stack.login("admin", password)
    return stack.tokens["admin"]


def test_a_body_that_cannot_be_read_is_bad_input(stack: Stack) -> None:
    before = _counts(stack)
    r = httpx.post(
        f"{stack.intake_url}/api/v1/complaints",
        content=b'{"subject": "\xff\xfe"}',
        headers={"X-Kiosk-Key": stack.kiosk_key, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert {e["field"]: e["code"] for e in r.json()["errors"]} == {"body": "unreadable_body"}
    assert _counts(stack) == before


def test_a_browser_gets_the_refusal_as_a_page(stack: Stack) -> None:
    r = httpx.post(
        f"{stack.staff_url}/masuk",
        data={"username": "fo\x00", "password": PASSWORD},
        headers={"Accept": "text/html,application/xhtml+xml"},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Isian tidak dapat diterima" in r.text and "username" in r.text and 'lang="id"' in r.text


def _walk(stack: Stack, user: str, path: str, limit: int, **params: str) -> tuple[list[str], list[str]]:
    """Every page of a list by next_cursor, then back from the last by prev_cursor (at most 200 pages)."""
    pages = []
    cursor: str | None = None
    for _ in range(200):
        r = stack.staff(
            user, "GET", path, params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break
    forward = [i["ticket"] for page in pages for i in page["items"]]
    backward = [i["ticket"] for i in pages[-1]["items"]]
    cursor = pages[-1]["prev_cursor"]
    while cursor is not None and len(backward) <= len(forward):
        r = stack.staff(user, "GET", path, params={"limit": limit, **params, "cursor": cursor})
        assert r.status_code == 200, r.text
        backward = [i["ticket"] for i in r.json()["items"]] + backward
        cursor = r.json()["prev_cursor"]
    assert pages[0]["prev_cursor"] is None
    return forward, backward


def test_cursor_pages_give_every_complaint_once_in_order(stack: Stack) -> None:
    """The lists paged by cursor: each row once, in the list's order, forward and back; the queue
    with a complainant waiting on site first."""
    for n in range(4):
        assert (
            stack.file(complaint_body(subject=f"Upah lembur ke-{n}", waiting_on_site=n == 2)).status_code
            == 201
        )
    newest_first = [row[0] for row in stack.sql("SELECT ticket FROM complaints ORDER BY id DESC")]
    assert _walk(stack, "kadis", "/complaints", 3) == (newest_first, newest_first)
    closed = [
        row[0] for row in stack.sql("SELECT ticket FROM complaints WHERE status = 'closed' ORDER BY id DESC")
    ]
    assert _walk(stack, "kadis", "/complaints", 2, status="closed") == (closed, closed)
    queue = [i["ticket"] for i in stack.worklist("fo")]
    assert len(queue) >= 4 and _walk(stack, "fo", "/worklist", 2) == (queue, queue)
    # an offset page hands on a cursor too
    second = stack.staff("kadis", "GET", "/complaints", params={"limit": 2, "offset": 1}).json()
    after = stack.staff(
        "kadis", "GET", "/complaints", params={"limit": 2, "cursor": second["next_cursor"]}
    ).json()
    assert [i["ticket"] for i in second["items"] + after["items"]] == newest_first[1:5]


def test_a_cursor_not_issued_here_is_refused(stack: Stack) -> None:
    queue_cursor = stack.staff("fo", "GET", "/worklist", params={"limit": 1}).json()["next_cursor"]
    good = stack.staff("kadis", "GET", "/complaints", params={"limit": 1}).json()["next_cursor"]
    for bad in ("bukan-kursor", good[:-2] + "xx", queue_cursor, "a" * 501):
        r = stack.staff("kadis", "GET", "/complaints", params={"cursor": bad})
        assert _field_codes(r) == {"query.cursor": "cursor_invalid" if len(bad) <= 500 else "too_long"}, bad
    r = stack.staff("kadis", "GET", "/complaints", params={"cursor": good, "offset": "5"})
    assert _field_codes(r) == {"query.offset": "offset_with_cursor"}


def test_the_console_pages_by_cursor_and_finds_by_subject(stack: Stack) -> None:
    """/semua starts after a cursor and links back by one (a plain link, no script); its search finds
    a complaint by a word of its subject, through the trigram index on PostgreSQL."""
    ticket = stack.file(complaint_body(subject="Jamsostek tidak disetor perusahaan")).json()["ticket"]
    for n in range(2):  # a second page of two, whichever tests filed before this one
        assert stack.file(complaint_body(subject=f"Upah lembur ke-{n}")).status_code == 201
    with httpx.Client(base_url=stack.staff_url, timeout=10) as console:
        form = console.get("/masuk").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert (
            console.post("/masuk", data={"username": "kadis", "password": PASSWORD, "csrf": csrf}).status_code
            == 303
        )
        found = console.get("/semua", params={"cari": "disetor"})
        assert found.status_code == 200 and f">{ticket}</a>" in found.text
        assert (
            console.get("/semua", params={"cari": "tidak-ada-yang-begini"}).text.count("/pengaduan/ADU-") == 0
        )
        newest = stack.staff("kadis", "GET", "/complaints", params={"limit": 2}).json()
        later = console.get("/semua", params={"kursor": newest["next_cursor"]})
        assert later.status_code == 200
        assert f">{newest['items'][0]['ticket']}</a>" not in later.text
        assert 'rel="prev"' in later.text and 'rel="next"' not in later.text
        back = later.text.split('rel="prev"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
        assert f">{newest['items'][0]['ticket']}</a>" in console.get(back.replace("&amp;", "&")).text
        refused = console.get("/semua", params={"kursor": "bukan-kursor"})
        assert refused.status_code == 422 and "Penanda halaman tidak valid" in refused.text
        refused = console.get("/arsip", params={"kursor": newest["next_cursor"] + "x"})
        assert refused.status_code == 422 and "Penanda halaman tidak valid" in refused.text
        assert "Periksa saringan yang ditandai" not in refused.text  # no filter is at fault
        bad_date = console.get("/arsip", params={"dari": "2026-13-40"})
        assert bad_date.status_code == 422 and "Periksa saringan yang ditandai" in bad_date.text
