"""The SOP end to end over HTTP, with real workers, on PostgreSQL+Redis and on SQLite+filesystem."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from tests.integration.stack import FORWARD, Stack, complaint_body, eventually, wib_year

pytestmark = pytest.mark.integration

DISPOSE = {
    "unit": "hi_jamsos",
    "cc_units": ["penempatan"],
    "instructions": ["tindak lanjuti", "siapkan jawaban"],
    "urgency": "segera",
    "note": "Mohon segera",
}
ANSWER = "Perusahaan wajib membayar THR paling lambat 7 hari sebelum hari raya."

# (user who acts, action, inputs, user whose queue receives it)
PATH: list[tuple[str, str, dict[str, Any], str]] = [
    ("fo", "forward", FORWARD, "kasubag"),
    ("kasubag", "forward", {"note": "Isi lengkap"}, "sekdis"),
    ("sekdis", "dispose", DISPOSE, "hi"),
    ("hi", "submit_answer", {"answer": ANSWER}, "kasubag"),
    ("kasubag", "approve", {}, "fo"),
]


def new_ticket(stack: Stack, **overrides: Any) -> dict[str, Any]:
    r = stack.file(complaint_body(**overrides))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def advance(stack: Stack, ticket: str, steps: int) -> int:
    """Walk the first `steps` hand-offs of the main path; returns the version reached."""
    version = 1
    for user, action, inputs, receiver in PATH[:steps]:
        r = stack.act(user, ticket, action, version, **inputs)
        assert r.status_code == 202, r.text
        version = r.json()["version"]
        item = stack.wait_in_queue(receiver, ticket)
        assert item["version"] == version
    return version


def test_health_and_readiness(stack: Stack) -> None:
    for url in (stack.intake_url, stack.staff_url):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "database": "ok", "broker": "ok"}


def test_a_complaint_through_all_six_steps(stack: Stack) -> None:
    filed = new_ticket(stack)
    ticket = filed["ticket"]
    assert filed["status"] == "received" and filed["step"] == "verification"
    assert ticket.startswith(f"ADU-{wib_year()}-") and len(filed["tracking_code"]) == 8
    item = stack.wait_in_queue("fo", ticket)
    assert item["step"] == "verification" and item["step_due_at"] == filed["step_due_at"]

    version = advance(stack, ticket, len(PATH))
    r = stack.act(
        "fo",
        ticket,
        "deliver",
        version,
        method="email",
        note="dikirim ke e-mail pengadu",
    )
    assert r.status_code == 202, r.text
    # Handed to the notify service: the gateway's verdict (here the log channel's) closes it.
    assert r.json() | {"version": 0} == {
        "ticket": ticket,
        "action": "deliver",
        "status": "open",
        "step": "delivery",
        "outcome": None,
        "version": 0,
        "handoff_pending": False,
    }

    record = eventually(lambda: stack.record("kadis", ticket), lambda rec: rec["status"] == "closed")
    assert (record["status"], record["step"], record["outcome"]) == ("closed", None, "answered")
    assert record["complainant"]["nik"] == "3307********0001"
    assert record["disposition"]["unit"] == "hi_jamsos"
    assert record["disposition"]["agenda_number"].startswith(f"{wib_year()}/")
    # The NIK the officer typed into the document field is masked in what every role reads.
    assert "3307015203900001" not in json.dumps(record) and "KTP 3307********0001" in json.dumps(record)
    assert record["answer"] == ANSWER
    [attempt] = record["delivery_attempts"]
    assert (attempt["outcome"], attempt["method"], attempt["gateway"]) == ("delivered", "email", "log")
    assert attempt["provider_id"] and attempt["recipient"] == "siti@example.co.id"
    actions = [(h["action"], h["to_step"]) for h in record["history"] if h["action"] != "queued"]
    assert actions == [
        ("received", "verification"),
        ("forward", "review"),
        ("forward", "disposition"),
        ("dispose", "drafting"),
        ("submit_answer", "answer_review"),
        ("approve", "delivery"),
        ("deliver", None),
        ("delivery_delivered", None),
    ]
    assert sum(h["action"] == "queued" for h in record["history"]) == 5

    archive = stack.staff("kasubag", "GET", f"/complaints/{ticket}/archive").json()
    assert archive["archived"] is True and archive["outcome"] == "answered"
    assert "3307015203900001" not in json.dumps(archive)
    # A confidential complainant stays hidden from the bidang, down to whom the answer reached.
    seen_by_bidang = json.dumps(stack.record("hi", ticket)) + json.dumps(
        stack.staff("hi", "GET", f"/complaints/{ticket}/archive").json()
    )
    for identity in ("Siti Aminah", "siti@example.co.id", "81234567890", "Sabuk Alu"):
        assert identity not in seen_by_bidang
    assert len(archive["handoffs"]) == len(record["history"])
    html = stack.staff("kasubag", "GET", f"/complaints/{ticket}/archive", params={"format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert ticket in html.text and "Arsip Pengaduan" in html.text and "3307015203900001" not in html.text

    track = httpx.get(
        f"{stack.intake_url}/api/v1/track/{ticket}", params={"code": filed["tracking_code"]}
    ).json()
    assert track["status"] == "closed" and track["answer"] == ANSWER
    assert track["history"][0]["status"] == "received"
    assert "complainant" not in track and "Siti" not in str(track)
    assert "Isi lengkap" not in str(track)  # internal notes stay inside

    # Receipt on intake (WhatsApp + e-mail) and the answer by e-mail, each once; the bodies (with
    # the tracking code) are rendered at send time and not kept.
    def sent() -> list[Any]:
        return stack.sql(
            "SELECT n.event, n.channel, n.status, n.body, n.attempts FROM notifications n "
            "JOIN complaints c ON c.id = n.complaint_id WHERE c.ticket = :t ORDER BY n.id",
            t=ticket,
        )

    rows = eventually(sent, lambda rows: len(rows) == 3)
    assert sorted((r[0].split(":")[0], r[1], r[2], r[3], r[4]) for r in rows) == [
        ("answer", "email", "sent", None, 1),
        ("receipt", "email", "sent", None, 1),
        ("receipt", "whatsapp", "sent", None, 1),
    ]


def test_path_b_answered_at_the_front_office(stack: Stack) -> None:
    ticket = new_ticket(stack, waiting_on_site=True, preferred_reply="in_person")["ticket"]
    stack.wait_in_queue("fo", ticket)
    r = stack.act(
        "fo",
        ticket,
        "resolve",
        1,
        identity_verified=True,
        answer="Sudah dijelaskan langsung di loket.",
        delivery_method="in_person",
    )
    assert r.status_code == 202, r.text
    record = stack.record("fo", ticket)
    assert (record["status"], record["outcome"]) == ("closed", "answered_at_front_office")
    assert record["delivery_attempts"][0]["method"] == "in_person"
    assert all(item["ticket"] != ticket for item in stack.worklist("fo"))
    assert stack.staff("fo", "GET", f"/complaints/{ticket}/archive").json()["archived"] is True


@pytest.mark.parametrize(
    ("action", "inputs", "outcome"),
    [
        ("reject", {"reason": "Bukan pengaduan ketenagakerjaan"}, "rejected"),
        (
            "refer",
            {"authority": "Disnakertrans Provinsi Jawa Tengah", "note": "pengawasan"},
            "referred",
        ),
    ],
)
def test_reject_and_refer(stack: Stack, action: str, inputs: dict[str, Any], outcome: str) -> None:
    filed = new_ticket(stack)
    r = stack.act("fo", filed["ticket"], action, 1, **inputs)
    assert r.status_code == 202, r.text
    assert stack.record("kasubag", filed["ticket"])["outcome"] == outcome
    track = httpx.get(
        f"{stack.intake_url}/api/v1/track/{filed['ticket']}",
        params={"code": filed["tracking_code"]},
    ).json()
    assert track["status"] == "closed" and track["outcome"] == outcome
    if action == "refer":
        assert track["referred_to"] == "Disnakertrans Provinsi Jawa Tengah"


@pytest.mark.parametrize(
    ("walked", "user", "back_to"),
    [(1, "kasubag", "fo"), (2, "sekdis", "kasubag"), (3, "hi", "sekdis"), (4, "kasubag", "hi")],
    ids=["review", "disposition", "drafting", "answer_review"],
)
def test_each_return_lands_in_the_previous_queue(stack: Stack, walked: int, user: str, back_to: str) -> None:
    ticket = new_ticket(stack)["ticket"]
    version = advance(stack, ticket, walked)
    r = stack.act(user, ticket, "return", version, reason="Perlu dilengkapi")
    assert r.status_code == 202, r.text
    item = stack.wait_in_queue(back_to, ticket)
    assert item["version"] == version + 1
    assert stack.record("kadis", ticket)["history"][-2]["note"] == "Perlu dilengkapi"


def test_unreachable_delivery_stays_in_the_front_office_queue(stack: Stack) -> None:
    ticket = new_ticket(stack)["ticket"]
    version = advance(stack, ticket, len(PATH))
    r = stack.act(
        "fo",
        ticket,
        "deliver",
        version,
        method="phone",
        outcome="unreachable",
        note="nomor tidak aktif",
    )
    assert r.status_code == 202 and r.json()["step"] == "delivery"
    item = stack.wait_in_queue("fo", ticket)
    # the delivery queue shows the tries, the reason, the contact and the answer to read out
    assert item["step"] == "delivery" and item["delivery_state"] == "unreachable"
    assert (item["delivery_attempts"], item["delivery_note"]) == (1, "nomor tidak aktif")
    assert item["contact"]["phone"] == "+6281234567890" and item["answer"] == ANSWER
    r = stack.act("fo", ticket, "deliver", item["version"], method="phone", outcome="delivered")
    assert r.json()["outcome"] == "answered"
    assert [a["outcome"] for a in stack.record("fo", ticket)["delivery_attempts"]] == [
        "unreachable",
        "delivered",
    ]


def test_two_officers_clicking_at_once_exactly_one_wins(stack: Stack) -> None:
    ticket = new_ticket(stack)["ticket"]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        codes.append(stack.act(user, ticket, "forward", 1, **FORWARD).status_code)

    threads = [threading.Thread(target=click, args=(u,)) for u in ("fo", "fo2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202, 409]
    stack.wait_in_queue("kasubag", ticket)
    history = stack.record("kadis", ticket)["history"]
    assert [h["action"] for h in history].count("forward") == 1
    assert [h["action"] for h in history].count("queued") == 1


def test_intake_retry_with_the_same_idempotency_key_creates_one_complaint(stack: Stack) -> None:
    body = complaint_body(subject="Upah di bawah UMK")
    before = stack.count("complaints")
    first = stack.file(body, key="retry-1")
    again = stack.file(body, key="retry-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    # Concurrent retries of a new key: still one complaint.
    results: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        results.append(stack.file(body, key="retry-2"))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["ticket"] for r in results}) == 1
    assert stack.count("complaints") == before + 2
    other = stack.file(complaint_body(subject="Lain"), key="retry-1")
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert stack.count("complaints") == before + 2


def test_tickets_are_unique_and_sequential_under_concurrency(stack: Stack) -> None:
    tickets: list[str] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        barrier.wait()
        tickets.append(stack.file().json()["ticket"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(int(t.rsplit("-", 1)[1]) for t in tickets)
    assert numbers == list(range(numbers[0], numbers[0] + 8))


def test_a_bidang_cannot_see_or_act_on_another_units_complaint(stack: Stack) -> None:
    ticket = new_ticket(stack)["ticket"]
    version = advance(stack, ticket, 3)  # disposed to hi_jamsos, copied to penempatan
    other = stack.staff("penempatan", "GET", "/worklist").json()["items"]
    assert all(i["ticket"] != ticket for i in other)
    # penempatan is copied (tembusan): it may read, not act
    assert stack.staff("penempatan", "GET", f"/complaints/{ticket}").status_code == 200
    assert stack.act("penempatan", ticket, "submit_answer", version, answer="x").status_code == 403
    # a complaint disposed to hi_jamsos only is invisible to penempatan
    ticket2 = new_ticket(stack)["ticket"]
    v = 1
    for user, action, inputs, receiver in PATH[:3]:
        if action == "dispose":
            inputs = {**inputs, "cc_units": []}
        r = stack.act(user, ticket2, action, v, **inputs)
        v = r.json()["version"]
        stack.wait_in_queue(receiver, ticket2)
    assert stack.staff("penempatan", "GET", f"/complaints/{ticket2}").status_code == 404
    r = stack.act("penempatan", ticket2, "submit_answer", v, answer="x")
    assert r.status_code == 404
    hi_view = stack.record("hi", ticket2)
    assert hi_view["complainant"]["hidden"] is True and hi_view["complainant"]["nik"] is None
    # the front office cannot act at drafting, the kepala dinas reads but never acts
    assert stack.act("fo", ticket2, "submit_answer", v, answer="x").status_code == 403
    assert stack.act("kadis", ticket2, "submit_answer", v, answer="x").status_code == 403
    assert stack.record("kadis", ticket2)["complainant"]["nik"] == "3307********0001"
    # the overview list: everything for the kepala dinas, only its own unit for a bidang
    overview = stack.staff("kadis", "GET", "/complaints", params={"status": "open", "limit": 500})
    assert ticket2 in {i["ticket"] for i in overview.json()["items"]}
    mine = stack.staff("penempatan", "GET", "/complaints", params={"limit": 500}).json()["items"]
    assert ticket2 not in {i["ticket"] for i in mine}
    theirs = stack.staff("hi", "GET", "/complaints", params={"step": "drafting"}).json()["items"]
    assert ticket2 in {i["ticket"] for i in theirs}


def test_track_gives_the_same_404_for_a_wrong_code_or_an_unknown_ticket(stack: Stack) -> None:
    filed = new_ticket(stack)
    wrong = httpx.get(f"{stack.intake_url}/api/v1/track/{filed['ticket']}", params={"code": "AAAAAAAA"})
    unknown = httpx.get(
        f"{stack.intake_url}/api/v1/track/ADU-1999-000001", params={"code": filed["tracking_code"]}
    )
    too_long = httpx.get(f"{stack.intake_url}/api/v1/track/{filed['ticket']}", params={"code": "A" * 200})
    missing = httpx.get(f"{stack.intake_url}/api/v1/track/{filed['ticket']}")
    assert wrong.status_code == unknown.status_code == too_long.status_code == missing.status_code == 404
    assert wrong.json() == unknown.json() == too_long.json() == missing.json()
    ok = httpx.get(
        f"{stack.intake_url}/api/v1/track/{filed['ticket']}",
        params={"code": filed["tracking_code"].lower()},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "received"
    assert ok.json()["answer"] is None


def test_categories_are_seeded_and_editable(stack: Stack) -> None:
    codes = [c["code"] for c in httpx.get(f"{stack.intake_url}/api/v1/categories").json()]
    assert {"thr", "phk", "bpjs", "lainnya"} <= set(codes)
    admin_token = stack.login("admin", _admin_password(stack))
    headers = {"Authorization": f"Bearer {admin_token}"}
    code = f"magang_{stack.name}"
    r = httpx.post(
        f"{stack.staff_url}/api/v1/categories",
        headers=headers,
        json={"code": code, "name": "Program pemagangan", "unit": "pelatihan"},
    )
    assert r.status_code == 201, r.text
    assert stack.staff("fo", "POST", "/categories", json={"code": "x", "name": "x"}).status_code == 403
    r = httpx.patch(f"{stack.staff_url}/api/v1/categories/{code}", headers=headers, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False


def _admin_password(stack: Stack) -> str:
    lines = stack.banner.splitlines()
    for line in lines:
        if line.strip().startswith("admin / "):
            return line.strip().removeprefix("admin / ")
    raise AssertionError(f"no admin password in the banner:\n{stack.banner}")


def test_the_office_calendar_by_api(stack: Stack) -> None:
    month = stack.staff("fo", "GET", "/calendar", params={"month": "2026-12"}).json()
    days = {d["day"]: d for d in month["days"]}
    assert month["calendar"] == "office"
    assert days["2026-12-25"]["open"] is False and days["2026-12-25"]["reason"] == "Hari Raya Natal"
    assert days["2026-12-04"]["hours"] == ["07:30-11:30", "13:00-16:30"]  # Friday
    admin = {"Authorization": f"Bearer {stack.login('admin', _admin_password(stack))}"}
    day = f"2031-01-0{2 if stack.name == 'postgres' else 3}"
    assert stack.staff("fo", "PUT", f"/calendar/overrides/{day}", json={"reason": "x"}).status_code == 403

    def recomputes() -> tuple[int, int]:
        [(done, waiting)] = stack.sql(
            "SELECT count(processed_at), count(*) - count(processed_at) FROM outbox"
            " WHERE task = 'routing.recompute_deadlines'"
        )
        return int(done), int(waiting)

    before = recomputes()
    r = httpx.put(
        f"{stack.staff_url}/api/v1/calendar/overrides/{day}",
        headers=admin,
        json={"open": False, "reason": "Rapat kerja"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["open"], r.json()["hours"], r.json()["reason"]) == (False, [], "Rapat kerja")
    sunday = f"2031-01-{12 if stack.name == 'postgres' else 19}"  # opened for a service day
    opened = httpx.put(
        f"{stack.staff_url}/api/v1/calendar/overrides/{sunday}",
        headers=admin,
        json={"open": True, "reason": "Layanan akhir pekan"},
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["open"] is True and opened.json()["hours"] == ["07:30-12:00", "13:00-16:00"]
    assert (
        httpx.delete(f"{stack.staff_url}/api/v1/calendar/overrides/{sunday}", headers=admin).status_code
        == 204
    )
    shown = stack.staff("fo", "GET", "/calendar", params={"month": day[:7]}).json()["days"]
    assert {d["day"]: d for d in shown}[day]["reason"] == "Rapat kerja"
    # the change queued a recomputation of pending deadlines, which a routing worker ran, and a
    # second one for when every process's cached calendar has expired
    eventually(recomputes, lambda n: n == (before[0] + 3, before[1] + 3))
    assert (
        httpx.delete(f"{stack.staff_url}/api/v1/calendar/overrides/{day}", headers=admin).status_code == 204
    )
    assert (
        httpx.delete(f"{stack.staff_url}/api/v1/calendar/overrides/{day}", headers=admin).status_code == 404
    )
    bad = stack.staff("fo", "GET", "/calendar", params={"month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.month"
