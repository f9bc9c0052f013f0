"""Delivery as proof through real channels: a local HTTP server playing a WhatsApp gateway and an
aiosmtpd SMTP server, with the whole system running (`aduan up`) on both backends."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.integration.conftest import BACKENDS, _make
from tests.integration.stack import Stack, complaint_body, eventually, running
from tests.integration.test_flow import ANSWER, PATH
from tests.support.gateway_server import GatewayServer, Reply, ok, server_error, slow
from tests.support.smtp_server import Handler, free_port

pytestmark = pytest.mark.integration

READ_TIMEOUT = 1.5  # the gateway adapter's read timeout
LEASE = 7.0  # ADUAN_NOTIFY_SEND_LEASE: above one gateway send plus one SMTP send (checked at start-up)
MAX_ATTEMPTS = 3
RECEIPT_SECRET = "rahasia-laporan-gateway-uji"
NIK = "3307015203900001"


@dataclass
class World:
    stack: Stack
    gateway: GatewayServer
    smtp: Handler


@pytest.fixture(scope="module", params=BACKENDS)
def w(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    gateway = GatewayServer()
    gateway.start()
    smtp = Handler()
    smtp_port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    gateways = {
        "wa": {
            "preset": "fonnte",
            "url": f"{gateway.url}/send",
            "token": "token-uji",
            "read_timeout": READ_TIMEOUT,
            "connect_timeout": 1.0,
            "receipt_secret": RECEIPT_SECRET,
        },
        # SMS through the same local server, the generic adapter at its own path, numbers as 08…
        "sms": {
            "url": f"{gateway.url}/sms",
            "recipient_field": "to",
            "text_field": "message",
            "phone_format": "08",
            "kinds": ["sms"],
            "success": {"path": "status", "equals": True, "id_path": "id.0", "reason_path": "reason"},
            "read_timeout": READ_TIMEOUT,
            "connect_timeout": 1.0,
        },
    }
    stack = _make(
        request.param,
        tmp_path_factory,
        redis_db=14,
        extra={
            "ADUAN_CALENDAR": "always_open",  # staff notices go out at once
            "ADUAN_GATEWAYS": json.dumps(gateways),
            "ADUAN_WHATSAPP_GATEWAY": "wa",
            "ADUAN_SMS_GATEWAY": "sms",
            "ADUAN_EMAIL_BACKEND": "smtp",
            "ADUAN_SMTP_HOST": "127.0.0.1",
            "ADUAN_SMTP_PORT": str(smtp_port),
            "ADUAN_SMTP_SECURITY": "none",
            "ADUAN_SMTP_FROM": "pengaduan@disnakertrans.example.go.id",
            "ADUAN_SMTP_TIMEOUT": "0.9",  # x4 must stay under the lease (checked at start-up)
            "ADUAN_NOTIFY_RETRY_BASE": "0.4",
            "ADUAN_NOTIFY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "ADUAN_NOTIFY_SEND_LEASE": str(LEASE),
        },
    )
    try:
        with running(stack) as s:
            yield World(s, gateway, smtp)
    finally:
        controller.stop()
        gateway.stop()


def quiet(s: Stack) -> None:
    """Wait until no message is pending or being sent, nor any notify task still to run (so
    scripted replies meet the right one: a receipt whose task has not run yet has no row)."""
    eventually(
        lambda: s.sql(
            "SELECT (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')) + "
            "(SELECT count(*) FROM outbox WHERE task LIKE 'notify.%' "
            "AND processed_at IS NULL AND dead_at IS NULL)"
        )[0][0],
        lambda n: n == 0,
    )


def at_delivery(w: World, wait_at: str | None = None, **overrides: Any) -> tuple[str, int]:
    """A complaint walked to the front office's delivery queue; its receipt already sent.

    `wait_at`: a user whose new-item e-mail must have arrived before they act (a notice for a
    complaint that has already moved on is cancelled, not sent).
    """
    r = w.stack.file(complaint_body(**overrides))
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    return ticket, walk_to_delivery(w, ticket, wait_at)


def walk_to_delivery(w: World, ticket: str, wait_at: str | None = None) -> int:
    """Walk a filed complaint through PATH to the delivery queue; its version there."""
    s = w.stack
    version = 1
    for user, action, inputs, receiver in PATH:
        if user == wait_at:
            eventually(lambda: _mails_to(w, wait_at, ticket), bool)
        r = s.act(user, ticket, action, version, **inputs)
        assert r.status_code == 202, r.text
        version = r.json()["version"]
        s.wait_in_queue(receiver, ticket)
    quiet(s)
    return version


def _mails_to(w: World, local_part: str, ticket: str) -> list[Any]:
    return [m for m in w.smtp.messages if ticket in m.message["Subject"] and local_part in m.rcpt_tos[0]]


def answer_rows(s: Stack, ticket: str) -> list[Any]:
    return s.sql(
        "SELECT n.status, n.attempts, n.provider_id, n.error FROM notifications n "
        "JOIN complaints c ON c.id = n.complaint_id WHERE c.ticket = :t AND n.event LIKE 'answer:%' "
        "ORDER BY n.id",
        t=ticket,
    )


def sent_to_gateway_since(w: World, mark: int) -> list[dict[str, str]]:
    return [r.form for r in w.gateway.requests[mark:]]


def test_5xx_then_success_is_one_message_in_two_attempts_and_closes_the_complaint(w: World) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    mark = len(w.gateway.requests)
    w.gateway.script(server_error(503), ok({"status": True, "id": ["9001"]}))
    r = s.act("fo", ticket, "deliver", version, method="whatsapp")
    assert r.status_code == 202 and r.json()["status"] == "open", r.text
    record = eventually(lambda: s.record("fo", ticket), lambda rec: rec["status"] == "closed")
    assert record["outcome"] == "answered"
    [attempt] = record["delivery_attempts"]
    assert (attempt["outcome"], attempt["gateway"], attempt["provider_id"]) == ("delivered", "wa", "9001")
    assert answer_rows(s, ticket) == [("sent", 2, "9001", None)]
    forms = sent_to_gateway_since(w, mark)
    assert len(forms) == 2 and forms[0] == forms[1]  # the same message, tried twice
    assert forms[0]["target"] == "6281234567890" and ticket in forms[0]["message"]
    assert NIK not in forms[0]["message"] and "Sabuk Alu" not in forms[0]["message"]
    assert ANSWER not in forms[0]["message"]  # a gateway gets the notice and the link, not the answer

    # The gateway later reports the message delivered (its receipt callback).
    bad = httpx.post(
        f"{s.intake_url}/api/v1/notify/receipts/wa", params={"secret": "salah"}, data={"id": "9001"}
    )
    assert bad.status_code == 401
    r = httpx.post(
        f"{s.intake_url}/api/v1/notify/receipts/wa",
        headers={"X-Receipt-Secret": RECEIPT_SECRET},
        data={"id": "9001", "status": "delivered", "state": "delivered"},
    )
    assert r.status_code == 200 and r.json() == {"received": 1, "updated": 1}, r.text
    assert answer_rows(s, ticket)[0][0] == "delivered"
    # the API's own log lines reach its log file (not only uvicorn's)
    eventually(
        lambda: s.log_path("intake-api").read_text(errors="replace"),
        lambda text: "receipts from wa: 1 reported, 1 message(s) updated" in text,
        timeout=5,
    )


def test_an_answer_the_gateway_later_reports_undelivered_is_on_record_and_in_the_dead_letters(
    w: World,
) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    w.gateway.script(ok({"status": True, "id": ["9002"]}))
    assert s.act("fo", ticket, "deliver", version, method="whatsapp").status_code == 202
    eventually(lambda: s.record("fo", ticket), lambda rec: rec["status"] == "closed")
    failed_before = s.staff("fo", "GET", "/worklist").json()["failed_notifications"]
    r = httpx.post(
        f"{s.intake_url}/api/v1/notify/receipts/wa",
        headers={"X-Receipt-Secret": RECEIPT_SECRET},
        data={"id": "9002", "status": "invalid", "state": "nomor tidak terdaftar di WhatsApp"},
    )
    assert r.status_code == 200 and r.json() == {"received": 1, "updated": 1}, r.text
    [(status, _, _, error)] = answer_rows(s, ticket)
    assert status == "failed" and "nomor tidak terdaftar" in error
    bounced = s.record("fo", ticket)["history"][-1]
    assert (bounced["action"], bounced["actor"]) == ("delivery_bounced", "sistem")
    assert "tidak sampai" in bounced["note"]
    assert s.staff("fo", "GET", "/worklist").json()["failed_notifications"] == failed_before + 1
    dead = s.staff("fo", "GET", "/notifications", params={"status": "failed"}).json()["items"]
    assert any(n["ticket"] == ticket for n in dead)


def test_invalid_number_is_not_retried_and_stays_in_the_delivery_queue(w: World) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    mark = len(w.gateway.requests)
    w.gateway.script(Reply(200, {"status": False, "reason": "invalid target"}))
    assert s.act("fo", ticket, "deliver", version, method="whatsapp").status_code == 202
    item = eventually(
        lambda: next((i for i in s.worklist("fo") if i["ticket"] == ticket), {}),
        lambda i: i.get("delivery_state") == "unreachable",
    )
    assert "invalid target" in item["delivery_note"] and item["delivery_attempts"] == 1
    time.sleep(2)  # a retry, if there were one, would have gone by now
    assert len(sent_to_gateway_since(w, mark)) == 1
    assert answer_rows(s, ticket)[0][:2] == ("failed", 1)
    # the front office phones instead
    r = s.act("fo", ticket, "deliver", item["version"], method="phone", outcome="delivered", to_whom="Siti")
    assert r.status_code == 202 and r.json()["outcome"] == "answered", r.text
    # closed by a person: one closing message, with the link to rate the service
    closing = eventually(
        lambda: [f for f in sent_to_gateway_since(w, mark)[1:] if ticket in f["message"]],
        lambda f: len(f) == 1,
    )
    assert "/feedback?code=" in closing[0]["message"] and "selesai" in closing[0]["message"]
    attempt = s.record("fo", ticket)["delivery_attempts"][-1]
    assert (attempt["method"], attempt["to_whom"], attempt["recipient"]) == (
        "phone",
        "Siti",
        "+6281234567890",
    )


def test_timeout_after_sending_is_ambiguous_and_not_sent_again(w: World) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    mark = len(w.gateway.requests)
    w.gateway.script(slow(READ_TIMEOUT + 2))
    assert s.act("fo", ticket, "deliver", version, method="whatsapp").status_code == 202
    eventually(lambda: answer_rows(s, ticket), lambda rows: bool(rows) and rows[0][0] == "ambiguous")
    time.sleep(LEASE + 1)  # past any lease or retry: still sent once
    assert len(sent_to_gateway_since(w, mark)) == 1
    record = s.record("fo", ticket)
    assert (record["status"], record["delivery_attempts"][-1]["outcome"]) == ("open", "ambiguous")
    listed = s.staff("fo", "GET", "/notifications", params={"status": "ambiguous", "ticket": ticket}).json()
    assert listed["total"] == 1 and listed["items"][0]["recipient"].endswith("890")
    assert "81234567" not in listed["items"][0]["recipient"]  # masked


def test_transient_failures_end_in_the_dead_letter_list(w: World) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    mark = len(w.gateway.requests)
    w.gateway.script(*[server_error(502) for _ in range(MAX_ATTEMPTS)])
    assert s.act("fo", ticket, "deliver", version, method="whatsapp").status_code == 202
    eventually(lambda: answer_rows(s, ticket), lambda rows: bool(rows) and rows[0][0] == "failed")
    assert len(sent_to_gateway_since(w, mark)) == MAX_ATTEMPTS
    dead = s.staff("fo", "GET", "/notifications", params={"status": "failed"}).json()
    mine = [i for i in dead["items"] if i["ticket"] == ticket]
    assert len(mine) == 1 and mine[0]["attempts"] == MAX_ATTEMPTS and "menyerah" in mine[0]["error"]
    worklist = s.staff("fo", "GET", "/worklist").json()
    assert worklist["failed_notifications"] >= 1
    item = next(i for i in worklist["items"] if i["ticket"] == ticket)
    assert item["delivery_state"] == "unreachable"


def test_notify_worker_killed_mid_send_sends_at_most_once_more(w: World) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    mark = len(w.gateway.requests)
    w.gateway.script(slow(30), ok({"status": True, "id": ["9100"]}))
    worker = s.worker_pid("notify")
    assert s.act("fo", ticket, "deliver", version, method="whatsapp").status_code == 202
    eventually(lambda: len(w.gateway.requests), lambda n: n > mark, timeout=20)
    os.kill(worker, signal.SIGKILL)  # mid-send: the gateway has the request, no verdict recorded
    record = eventually(lambda: s.record("fo", ticket), lambda rec: rec["status"] == "closed", timeout=60)
    assert record["delivery_attempts"][-1]["provider_id"] == "9100"
    time.sleep(LEASE + 1)
    assert len(sent_to_gateway_since(w, mark)) == 2  # sent once more, never lost, not a third time
    assert answer_rows(s, ticket) == [("sent", 2, "9100", None)]
    assert s.worker_pid("notify") != worker


def test_email_answer_and_staff_notices_over_smtp(w: World) -> None:
    s = w.stack
    r = s.staff(
        "kasubag", "PATCH", "/me", json={"email": "kasubag@dinas.example.go.id", "notify_by_email": True}
    )
    assert r.status_code == 200 and r.json()["notify_by_email"] is True, r.text
    bad = s.staff("kasubag", "PATCH", "/me", json={"email": "bukan-email"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"
    try:
        before = len(w.smtp.messages)
        ticket, version = at_delivery(w, preferred_reply="email", wait_at="kasubag")
        # kasubag was told of the new item in review
        notices = [m.message for m in w.smtp.messages[before:] if "kasubag@" in m.rcpt_tos[0]]
        assert notices and all(ticket in n["Subject"] and "Pengaduan baru" in n["Subject"] for n in notices)
        staff_text = notices[0].get_content()
        assert f"/pengaduan/{ticket}" in staff_text and NIK not in staff_text  # the console's page
        assert "THR" not in staff_text  # confidential by default: the content stays in the console

        receipt = next(m.message for m in w.smtp.messages[before:] if m.rcpt_tos == ["siti@example.co.id"])
        assert receipt["Subject"] == f"Tanda terima pengaduan {ticket}"

        assert s.act("fo", ticket, "deliver", version, method="email").status_code == 202
        eventually(lambda: s.record("fo", ticket), lambda rec: rec["status"] == "closed")
        answer = [m.message for m in w.smtp.messages[before:] if m.message["Subject"].startswith("Jawaban")]
        assert len(answer) == 1
        mail = answer[0]
        assert mail["To"] == "siti@example.co.id" and "pengaduan@disnakertrans" in mail["From"]
        assert mail["Message-ID"] and mail["Date"]
        assert mail.get_content_type() == "multipart/alternative"
        plain = mail.get_body(("plain",))
        html = mail.get_body(("html",))
        assert plain is not None and html is not None
        for part in (plain.get_content(), html.get_content()):
            assert (
                ANSWER in part and "/feedback?code=" in part and NIK not in part and "Sabuk Alu" not in part
            )
        assert "Jawaban atas pengaduan" in plain.get_content()
    finally:
        s.staff("kasubag", "PATCH", "/me", json={"notify_by_email": False})


def test_bad_delivery_and_receipt_input_is_refused_with_field_errors_and_writes_nothing(w: World) -> None:
    s = w.stack
    # no e-mail address, and a landline (Wonosobo's area code 0286): it can be called, not texted
    landline = {k: v for k, v in complaint_body()["complainant"].items() if k != "email"}
    ticket, version = at_delivery(
        w, complainant={**landline, "phone": "(0286) 321234"}, preferred_reply="phone"
    )
    for inputs, field, code in [
        ({"method": "in_person"}, "outcome", "required"),
        ({"method": "email"}, "method", "no_contact"),  # no e-mail address was given
        ({"method": "fax", "outcome": "delivered"}, "method", "invalid_choice"),
        ({"method": "sms"}, "method", "phone_not_mobile"),
        ({"method": "whatsapp"}, "method", "phone_not_mobile"),
        (
            {"method": "phone", "outcome": "unreachable", "phone_called": "12"},
            "phone_called",
            "phone_invalid",
        ),
    ]:
        r = s.act("fo", ticket, "deliver", version, **inputs)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] and body["message"], body
        assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]
        assert all(e["message"] for e in body["errors"])
    r = s.act("fo", ticket, "deliver", version, method="sms")
    assert r.json()["errors"][0]["message"] == "Balasan SMS/WhatsApp memerlukan nomor ponsel."
    record = s.record("fo", ticket)
    assert (record["version"], record["delivery_attempts"]) == (version, [])
    r = httpx.post(
        f"{s.intake_url}/api/v1/notify/receipts/wa",
        headers={"X-Receipt-Secret": RECEIPT_SECRET, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body", r.text
    unknown = httpx.post(f"{s.intake_url}/api/v1/notify/receipts/tidak-ada", data={"id": "1"})
    assert unknown.status_code == 404


def test_the_message_list_takes_a_known_status_only(w: World) -> None:
    r = w.stack.staff("fo", "GET", "/notifications", params={"status": "lost"})
    assert r.status_code == 422, r.text
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("query.status", "invalid_choice")]


def test_a_complaint_without_contact_still_tells_the_front_office(w: World) -> None:
    # A walk-in who leaves no phone and no e-mail gets no receipt, but the front office must still
    # hear of the new item in its queue (it used to ride on the receipt, queued only with a contact).
    s = w.stack
    r = s.staff("fo2", "PATCH", "/me", json={"email": "fo2@dinas.example.go.id", "notify_by_email": True})
    assert r.status_code == 200, r.text
    try:
        walk_in = {"name": "Pak Darmo", "address": "Dusun Sabuk Alu, Wonosobo"}
        r = s.file(complaint_body(complainant=walk_in, preferred_reply="in_person", channel="walk_in"))
        assert r.status_code == 201, r.text
        ticket = r.json()["ticket"]
        [mail] = eventually(lambda: _mails_to(w, "fo2@", ticket), bool, timeout=15)
        assert mail.message["Subject"] == f"[Aduan] Pengaduan baru di antrean Anda: {ticket}"
        # The mail is out before its row is settled (send, then record): a busy machine shows the gap.
        eventually(
            lambda: s.sql(
                "SELECT n.audience, n.channel, n.status FROM notifications n "
                "JOIN complaints c ON c.id = n.complaint_id WHERE c.ticket = :t",
                t=ticket,
            ),
            lambda rows: rows == [("staff", "email", "sent")],  # nothing for a citizen without a contact
            timeout=15,
        )
    finally:
        s.staff("fo2", "PATCH", "/me", json={"notify_by_email": False})


def test_unreachable_phone_attempts_stay_in_the_delivery_queue_with_the_count_of_tries(w: World) -> None:
    s = w.stack
    ticket, version = at_delivery(w)
    tries = [
        ("tidak diangkat", "0812-3456-7890"),
        ("nomor sibuk", "+62 812 3456 7890"),
        ("tidak aktif", None),
    ]
    for n, (note, called) in enumerate(tries, 1):
        inputs: dict[str, Any] = {"method": "phone", "outcome": "unreachable", "note": note}
        if called:
            inputs["phone_called"] = called
        r = s.act("fo", ticket, "deliver", version, **inputs)
        assert r.status_code == 202 and r.json()["status"] == "open", r.text
        version = r.json()["version"]
        item = next(i for i in s.worklist("fo") if i["ticket"] == ticket)  # still in the queue
        assert (item["step"], item["delivery_state"], item["delivery_note"]) == (
            "delivery",
            "unreachable",
            note,
        )
        assert item["delivery_attempts"] == n  # the count of tries
        assert item["contact"]["phone"] == "+6281234567890" and item["answer"] == ANSWER  # to phone again
    attempts = s.record("fo", ticket)["delivery_attempts"]
    assert [(a["method"], a["outcome"], a["recipient"]) for a in attempts] == [
        ("phone", "unreachable", "+6281234567890")
    ] * 3
    # a fourth try reaches the complainant: the complaint leaves the queue, answered
    r = s.act("fo", ticket, "deliver", version, method="phone", outcome="delivered", to_whom="Siti")
    assert r.status_code == 202 and r.json()["outcome"] == "answered", r.text
    assert all(i["ticket"] != ticket for i in s.worklist("fo"))


def test_the_logs_of_a_full_run_hold_no_nik_number_code_body_or_answer(w: World) -> None:
    # A complaint with a known identity goes from intake to a delivery by e-mail (refused with a
    # reply that repeats the address and the number), by SMS (refused the same way) and by
    # WhatsApp (accepted); then every log file of the data folder is read.
    s = w.stack
    nik, phone, email = "3307016508950002", "081298765432", "rahmawati.log@example.co.id"
    address = "Jl. Kenanga 17, Kertek, Wonosobo"
    person = {"name": "Rahmawati Lestari", "nik": nik, "phone": phone, "email": email, "address": address}
    r = s.file(complaint_body(complainant=person, preferred_reply="sms"))
    assert r.status_code == 201, r.text
    ticket, code = r.json()["ticket"], r.json()["tracking_code"]
    version = walk_to_delivery(w, ticket)
    mark = len(w.gateway.requests)
    w.smtp.rcpt_replies["rahmawati.log"] = f"550 5.1.1 <{email}> (+6281298765432) tidak dikenal"
    try:
        for method, script in (
            ("email", None),
            ("sms", Reply(200, {"status": False, "reason": f"invalid target 6281298765432 / {phone}"})),
            ("whatsapp", ok({"status": True, "id": ["9300"]})),
        ):
            if script is not None:
                w.gateway.script(script)
            r = s.act("fo", ticket, "deliver", version, method=method)
            assert r.status_code == 202, r.text
            record = eventually(
                lambda: s.record("fo", ticket),
                lambda rec: rec["delivery_attempts"][-1]["outcome"] not in ("sending",),
            )
            version = record["version"]
    finally:
        del w.smtp.rcpt_replies["rahmawati.log"]
    assert (record["status"], [a["outcome"] for a in record["delivery_attempts"]]) == (
        "closed",
        ["unreachable", "unreachable", "delivered"],
    )
    # what went out: the receipt by SMS and e-mail, then the refused SMS and the WhatsApp notice
    receipt_sms = next(f for f in sent_to_gateway_since(w, 0) if ticket in f["message"] and f.get("to"))
    assert code in receipt_sms["message"] and receipt_sms["to"] == phone
    assert len(sent_to_gateway_since(w, mark)) == 2
    quiet(s)

    logs = sorted(p for p in (s.data_dir / "logs").iterdir() if p.is_file())
    assert {s.log_path(c).name for c in ("intake-api", "staff-api", "notify-worker")} <= {
        p.name for p in logs
    }
    text = {p.name: p.read_text(errors="replace") for p in logs}
    forbidden = [nik, phone, "6281298765432", "+6281298765432", "8129876543", code, ANSWER, ANSWER[:40]]
    forbidden += [email, address, "Kenanga", "Rahmawati Lestari", f"code={code}"]
    forbidden += [NIK, "081234567890", "6281234567890", "Sabuk Alu"]  # the other tests' complaints
    for name, content in text.items():
        assert [f for f in forbidden if f.lower() in content.lower()] == [], name
    # the lines that are there: one per send, recipients masked, reasons with numbers masked
    worker = text[s.log_path("notify-worker").name]
    smtp_lines = [
        line for line in worker.splitlines() if "notify[email]" in line and "r***@example.co.id" in line
    ]
    assert any(re.search(r"via smtp: accepted$", line) for line in smtp_lines), smtp_lines  # the receipt
    assert any("via smtp: permanent (" in line and "550" in line for line in smtp_lines), smtp_lines
    phone_lines = [
        line for line in worker.splitlines() if re.search(r"notify\[(sms|whatsapp)\] #\d+ to \+62812", line)
    ]
    assert any("via sms: permanent (" in line and "invalid target" in line for line in phone_lines), (
        phone_lines
    )
    assert any("via wa: accepted" in line for line in phone_lines), phone_lines

    # At rest: no column of any table holds the NIK, a phone number or an e-mail address of a
    # complainant in plain text (complaints, messages, delivery attempts, history, outbox...).
    plain = [nik, "6281298765432", "081298765432", email, address, NIK, "6281234567890", "081234567890"]
    plain += ["siti@example.co.id"]
    assert every_column_holding(s, plain) == []


def every_column_holding(s: Stack, values: list[str]) -> list[tuple[str, str]]:
    """(table, column) of every cell of the database that contains one of `values`."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(s.db_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    found = set()
    for table in tables:
        for row in s.sql(f"SELECT * FROM {table}"):  # noqa: S608 - names from the database itself
            for column, value in row._mapping.items():
                if isinstance(value, memoryview | bytes | bytearray):
                    cell = bytes(value).decode("latin-1")
                else:
                    cell = json.dumps(value, default=str) if not isinstance(value, str) else value
                if any(v.lower() in cell.lower() for v in values):
                    found.add((table, column))
    return sorted(found)
