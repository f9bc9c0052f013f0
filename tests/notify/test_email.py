"""E-mail over SMTP against a real aiosmtpd server: headers, parts, UTF-8, TLS+AUTH, verdicts."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import service
from services.notify.channels import Outgoing, Verdict, load_channels
from services.notify.channels.smtp import SmtpChannel
from shared import notices
from shared.models import DeliveryAttempt, Notification
from shared.security import cipher
from shared.settings import Settings
from shared.tasks import NotifyEvent
from shared.validation import mask_nik
from tests.support.smtp_server import PASSWORD, USERNAME, SmtpServer
from tests.unit.conftest import T0, add_officer, complaint_row

MakeSettings = Callable[..., Settings]
SUBJECT = "Jawaban pengaduan ADU-2026-000001 — sudah siap"
BODY = (
    "Yth. Ibu Siti Aminah,\nTHR Rp 1.500.000 wajib dibayar paling lambat H-7 “Lebaran”.\n"
    "Salam, Disnakertrans\n"
)
HTML = "<p>Yth. Ibu Siti Aminah,</p><p>THR Rp&nbsp;1.500.000 wajib dibayar — paling lambat H-7.</p>"


def _smtp_settings(make: MakeSettings, server: SmtpServer, **extra: Any) -> Settings:
    fields: dict[str, Any] = {
        "email_backend": "smtp",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_from": "pengaduan@disnakertrans.wonosobokab.go.id",
        "smtp_from_name": "Disnakertrans Wonosobo",
        "smtp_timeout": 5.0,
    }
    fields.update(extra)
    return make(**fields)


def _send(settings: Settings, message: Outgoing) -> Any:
    return load_channels(settings).for_kind("email").send(message)


def test_headers_both_parts_and_indonesian_text(make_settings: MakeSettings, smtp_server: SmtpServer) -> None:
    result = _send(
        _smtp_settings(make_settings, smtp_server),
        Outgoing(7, "email", "siti.aminah@example.co.id", SUBJECT, BODY, html=HTML),
    )
    assert result.verdict == Verdict.ACCEPTED and result.gateway == "smtp" and result.error is None
    [received] = smtp_server.messages
    assert received.mail_from == "pengaduan@disnakertrans.wonosobokab.go.id"
    assert received.rcpt_tos == ["siti.aminah@example.co.id"]
    msg = received.message
    assert msg["Subject"] == SUBJECT
    assert msg["From"] == "Disnakertrans Wonosobo <pengaduan@disnakertrans.wonosobokab.go.id>"
    assert msg["To"] == "siti.aminah@example.co.id"
    assert msg["Date"] is not None
    assert msg["Message-ID"] == result.provider_id
    assert str(result.provider_id).endswith("@disnakertrans.wonosobokab.go.id>")
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = list(msg.iter_parts())
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    assert plain.get_content_type() == "text/plain" and plain.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == BODY
    assert html.get_content_type() == "text/html" and html.get_content().strip() == HTML
    received.data.decode("ascii")  # quoted-printable: 7-bit on the wire, no 8BITMIME needed


def test_plain_text_only_without_html(make_settings: MakeSettings, smtp_server: SmtpServer) -> None:
    result = _send(
        _smtp_settings(make_settings, smtp_server), Outgoing(8, "email", "a@example.id", "Hal", BODY)
    )
    assert result.verdict == Verdict.ACCEPTED
    msg = smtp_server.messages[0].message
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == BODY


# A complaint whose identity and content are known, so that a leak has something to show.
NIK = "3307015203900001"
ADDRESS = "Jl. Sabuk Alu 1, Kalikajar, Wonosobo"
NAME = "Siti Aminah Rahmawati"
PHONE = "+6281234567890"
SECRET_SUBJECT = "Mandor menahan ijazah karyawan"
SECRET_TEXT = "Saya diancam dipecat oleh mandor Hartono bila melapor ke dinas."
ANSWER = "Perusahaan wajib mengembalikan ijazah paling lambat 7 hari kerja."


def _leaks(text: str, *, answer_allowed: bool = False) -> list[str]:
    forbidden = [NIK, mask_nik(NIK), NIK[:12], ADDRESS, "Sabuk Alu", NAME, PHONE, PHONE[1:]]
    forbidden += ["081234567890", SECRET_SUBJECT, SECRET_TEXT, "Hartono"]
    if not answer_allowed:
        forbidden.append(ANSWER)
    return [f for f in forbidden if f in text]


def _decoded(msg: EmailMessage) -> list[str]:
    """Every header value and every part's content, decoded (quoted-printable may hide a string
    in the raw bytes behind a soft line break)."""
    out = [f"{name}: {value}" for name, value in msg.items()]
    for part in msg.walk():
        out += [f"{name}: {value}" for name, value in part.items()]
        if not part.is_multipart():
            out.append(str(part.get_content()))
    return out


def test_messages_built_from_a_known_complaint_carry_no_identity_or_content(
    make_settings: MakeSettings, smtp_server: SmtpServer, session: Session
) -> None:
    # Through the real path: prepare() builds each message's context from the complaint row,
    # claim() the staff notice's; then each e-mail goes over SMTP and is read back decoded.
    complaint = complaint_row(
        nik_enc=cipher().encrypt(NIK, field="nik"),
        nik_masked=mask_nik(NIK),
        address=ADDRESS,
        complainant_name=NAME,
        phone=PHONE,
        email="siti@example.co.id",
        preferred_reply="email",
        subject=SECRET_SUBJECT,
        description=SECRET_TEXT,
        confidential=True,
        answer=ANSWER,
        version=1,
    )
    session.add(complaint)
    add_officer(session, "fo-mail", "front_office", "fo@dinas.example.go.id")
    session.flush()
    receipts = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.RECEIPT, method=None, now=T0
    )
    assert {m.channel for m in receipts} == {"sms", "email"}
    [staff_row] = session.scalars(select(Notification).where(Notification.audience == notices.STAFF)).all()
    staff = service.claim(session, staff_row.id, now=staff_row.next_attempt_at or T0)
    assert staff is not None
    session.add(
        DeliveryAttempt(
            complaint_id=complaint.id,
            method="email",
            outcome="sending",
            actor="fo",
            at=T0,
            recipient="siti@example.co.id",
        )
    )
    session.flush()
    answers = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.ANSWER, method="email", now=T0
    )
    closings = service.prepare(
        session, complaint_id=complaint.id, event=NotifyEvent.CLOSING, method=None, now=T0
    )
    built = [*receipts, staff, *answers, *closings]
    assert len(built) == 5
    sms = next(m for m in receipts if m.channel == "sms")
    assert _leaks(sms.body) == [] and complaint.ticket in sms.body  # what a gateway would get

    channel = load_channels(_smtp_settings(make_settings, smtp_server)).for_kind("email")
    for message in built:
        if message.channel == "email":
            assert channel.send(message).verdict == Verdict.ACCEPTED
    assert len(smtp_server.messages) == 4
    for received in smtp_server.messages:
        is_answer = received.message["Subject"].startswith("Jawaban")
        texts = _decoded(received.message)
        assert any(complaint.ticket in t for t in texts)  # the check reads the real content
        assert _leaks("\n".join(texts), answer_allowed=is_answer) == [], received.message["Subject"]
        assert _leaks(received.data.decode(), answer_allowed=True) == []
    answer_mail = next(r.message for r in smtp_server.messages if r.message["Subject"].startswith("Jawaban"))
    assert ANSWER in "\n".join(_decoded(answer_mail))  # the answer itself goes only to the complainant


def test_starttls_and_auth(make_settings: MakeSettings, smtp_tls_server: SmtpServer) -> None:
    settings = _smtp_settings(
        make_settings,
        smtp_tls_server,
        smtp_security="starttls",
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        smtp_ca_file=smtp_tls_server.cert_file,
    )
    assert load_channels(settings).describe()[2] == f"email: smtp (127.0.0.1:{smtp_tls_server.port} starttls)"
    result = _send(settings, Outgoing(10, "email", "budi@example.id", SUBJECT, BODY))
    assert result.verdict == Verdict.ACCEPTED, result.error
    assert len(smtp_tls_server.messages) == 1


def test_implicit_tls(make_settings: MakeSettings, smtps_server: SmtpServer) -> None:
    settings = _smtp_settings(
        make_settings, smtps_server, smtp_security="ssl", smtp_ca_file=smtps_server.cert_file
    )
    result = _send(settings, Outgoing(18, "email", "budi@example.id", SUBJECT, BODY))
    assert result.verdict == Verdict.ACCEPTED, result.error
    assert smtps_server.messages[0].message["Subject"] == SUBJECT


def test_wrong_password_is_permanent(make_settings: MakeSettings, smtp_tls_server: SmtpServer) -> None:
    settings = _smtp_settings(
        make_settings,
        smtp_tls_server,
        smtp_security="starttls",
        smtp_username=USERNAME,
        smtp_password="salah",
        smtp_ca_file=smtp_tls_server.cert_file,
    )
    result = _send(settings, Outgoing(11, "email", "budi@example.id", SUBJECT, BODY))
    assert result.verdict == Verdict.PERMANENT and "login SMTP ditolak" in (result.error or ""), result.error
    assert smtp_tls_server.messages == []


def test_untrusted_certificate_is_refused(make_settings: MakeSettings, smtp_tls_server: SmtpServer) -> None:
    settings = _smtp_settings(
        make_settings,
        smtp_tls_server,
        smtp_security="starttls",
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
    )
    result = _send(settings, Outgoing(12, "email", "budi@example.id", SUBJECT, BODY))
    assert result.verdict == Verdict.PERMANENT and "TLS" in (result.error or "")
    assert smtp_tls_server.messages == []


def test_recipient_refused_5xx_is_permanent(make_settings: MakeSettings, smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_replies["tidak-ada"] = "550 5.1.1 <tidak-ada@example.id> tidak dikenal"
    result = _send(
        _smtp_settings(make_settings, smtp_server), Outgoing(13, "email", "tidak-ada@example.id", "x", "y")
    )
    assert result.verdict == Verdict.PERMANENT
    assert "550" in (result.error or "") and "tidak-ada@example.id" not in (result.error or "")
    assert smtp_server.messages == []


def test_a_batch_shares_one_session_and_a_refused_recipient_fails_alone(
    make_settings: MakeSettings, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.rcpt_replies["tidak-ada"] = "550 5.1.1 <tidak-ada@example.id> tidak dikenal"
    channels = load_channels(_smtp_settings(make_settings, smtp_server))
    email = channels.for_kind("email")
    assert isinstance(email, SmtpChannel)
    with channels.batch():
        first = email.send(Outgoing(21, "email", "a@example.id", "x", "satu"))
        session = email._local.conn
        refused = email.send(Outgoing(22, "email", "tidak-ada@example.id", "x", "dua"))
        third = email.send(Outgoing(23, "email", "c@example.id", "x", "tiga"))
        assert session is not None and email._local.conn is session  # one session, reset after the refusal
        session.close()  # gone before the next message (as when a server drops an idle connection)
        fourth = email.send(Outgoing(24, "email", "d@example.id", "x", "empat"))
    verdicts = [r.verdict for r in (first, refused, third, fourth)]
    assert verdicts == [Verdict.ACCEPTED, Verdict.PERMANENT, Verdict.ACCEPTED, Verdict.ACCEPTED]
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        ["a@example.id"],
        ["c@example.id"],
        ["d@example.id"],
    ]
    assert email._local.conn is None  # QUIT when the batch ends


def test_recipient_deferred_4xx_is_transient(make_settings: MakeSettings, smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_replies["penuh"] = "452 4.2.2 Mailbox full, coba lagi"
    result = _send(
        _smtp_settings(make_settings, smtp_server), Outgoing(14, "email", "penuh@example.id", "x", "y")
    )
    assert result.verdict == Verdict.TRANSIENT and "452" in (result.error or "")


def test_data_refused_5xx_is_permanent(make_settings: MakeSettings, smtp_server: SmtpServer) -> None:
    smtp_server.handler.data_reply = "554 5.6.0 Pesan ditolak"
    result = _send(
        _smtp_settings(make_settings, smtp_server), Outgoing(15, "email", "a@example.id", "x", "y")
    )
    assert result.verdict == Verdict.PERMANENT and "554" in (result.error or "")


def test_connection_refused_is_transient(make_settings: MakeSettings, closed_port: int) -> None:
    settings = make_settings(
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=closed_port,
        smtp_security="none",
        smtp_from="pengaduan@example.go.id",
        smtp_timeout=2.0,
    )
    result = _send(settings, Outgoing(16, "email", "a@example.id", "x", "y"))
    assert result.verdict == Verdict.TRANSIENT


def test_timeout_after_data_is_ambiguous(make_settings: MakeSettings, smtp_server: SmtpServer) -> None:
    smtp_server.handler.data_delay = 1.5
    settings = _smtp_settings(make_settings, smtp_server, smtp_timeout=0.5)
    result = _send(settings, Outgoing(17, "email", "a@example.id", "x", "y"))
    assert result.verdict == Verdict.AMBIGUOUS and "mungkin sudah terkirim" in (result.error or "")
