"""E-mail over SMTP (smtplib, synchronous: it runs inside a Celery worker)."""

from __future__ import annotations

import secrets
import smtplib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import charset as _charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.quoprimime import body_encode
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from services.notify.channels.base import Outgoing, SendResult, Verdict, log, mask_recipient, short_reason

# UTF-8 with quoted-printable bodies and headers: every line 7-bit, so no server needs 8BITMIME or
# SMTPUTF8.
_UTF8_QP = _charset.Charset("utf-8")
_UTF8_QP.header_encoding = _UTF8_QP.body_encoding = _charset.QP


def _plain_ascii(text: str) -> bool:
    """Printable ASCII on one line of a sane length: safe to write into a header as it is."""
    return len(text) <= 900 and all(" " <= ch <= "~" for ch in text)


def _text_part(subtype: str, text: str) -> list[str]:
    """A text part's header lines, the blank line and its quoted-printable body."""
    body = body_encode(text.encode("utf-8").decode("latin-1"), 76, "\r\n")
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        body,
    ]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # starttls / ssl / none
    username: str | None
    password: str | None
    from_address: str
    from_name: str | None
    timeout: float
    ca_file: Path | None = None


class _Stale(Exception):
    """Internal: a connection kept from the previous message was gone before this one's DATA
    (certainly not sent): the message is tried once more on a new connection."""


class _Outcome(Exception):
    """Internal: ends a send with this result."""

    def __init__(self, verdict: Verdict, error: str) -> None:
        super().__init__(error)
        self.verdict = verdict
        self.error = error


def _by_code(code: int, what: str, reply: bytes | str) -> _Outcome:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    verdict = Verdict.TRANSIENT if 400 <= code < 500 else Verdict.PERMANENT
    return _Outcome(verdict, short_reason(f"{what} ditolak server SMTP ({code} {text})"))


class SmtpChannel:
    """Sends e-mail (plain text, with an HTML alternative when given) through one SMTP server."""

    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._tls = ssl.create_default_context()
        if config.ca_file is not None:
            # An office's own mail server often has a certificate from its own CA: trust it too.
            self._tls.load_verify_locations(cafile=str(config.ca_file))
        self._local = threading.local()  # within batch(): this thread's open connection
        self._domain = config.from_address.rpartition("@")[2]
        self._from = formataddr((config.from_name or "", config.from_address), charset=_UTF8_QP)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Sends in this block share one SMTP session (connect, TLS, AUTH once; a refused message
        is reset with RSET), closed with QUIT when the block ends."""
        if getattr(self._local, "active", False):  # nested: the outer block's session serves
            yield
            return
        self._local.active, self._local.conn = True, None
        try:
            yield
        finally:
            conn: smtplib.SMTP | None = self._local.conn
            self._local.active, self._local.conn = False, None
            if conn is not None:
                try:
                    conn.quit()
                except (smtplib.SMTPException, OSError):
                    conn.close()

    def describe(self) -> str:
        return f"smtp ({self.config.host}:{self.config.port} {self.config.security})"

    def wire(self, message: Outgoing) -> tuple[bytes, str]:
        """The message as it goes on the wire (MIME, CRLF, 7-bit) and its Message-ID (from the
        sender's domain): UTF-8 text and HTML parts in quoted-printable, non-ASCII headers as
        encoded words. Written out directly: the email package's classes parse and re-fold every
        header, several times the CPU of the send itself."""
        c = self.config
        if not (_plain_ascii(message.recipient) and _plain_ascii(c.from_address)):
            msg = self._build_international(message)
            return msg.as_bytes(policy=SMTP_POLICY), str(msg["Message-ID"])
        message_id = make_msgid(idstring=f"aduan.{message.notification_id}", domain=self._domain)
        subject = message.subject or ""
        if not _plain_ascii(subject):  # encoded words, folded
            subject = Header(subject, _UTF8_QP, header_name="Subject").encode(linesep="\r\n")
        head = [
            "MIME-Version: 1.0",
            f"Subject: {subject}",
            f"From: {self._from}",
            f"To: {message.recipient}",
            f"Date: {formatdate(localtime=False)}",
            f"Message-ID: {message_id}",
        ]
        plain = _text_part("plain", message.body)
        if message.html is None:
            return "\r\n".join([*head, *plain]).encode("ascii"), message_id
        # "=_" never occurs in quoted-printable text ("=" is followed by hex digits or a line end)
        boundary = f"=_aduan_{secrets.token_hex(12)}"
        html = _text_part("html", message.html)
        lines = [*head, f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
        lines += [f"--{boundary}", *plain, f"--{boundary}", *html, f"--{boundary}--", ""]
        return "\r\n".join(lines).encode("ascii"), message_id

    def _build_international(self, message: Outgoing) -> EmailMessage:
        """An address outside ASCII: the header registry encodes it (rare; slower)."""
        c = self.config
        msg = EmailMessage()
        msg["Subject"] = message.subject or ""
        local, _, domain = c.from_address.rpartition("@")
        msg["From"] = Address(c.from_name or "", local, domain)
        msg["To"] = message.recipient
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=f"aduan.{message.notification_id}", domain=domain)
        # Quoted-printable keeps every line 7-bit, so no server needs 8BITMIME or SMTPUTF8.
        msg.set_content(message.body, charset="utf-8", cte="quoted-printable")
        if message.html is not None:
            msg.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
        return msg

    def send(self, message: Outgoing) -> SendResult:
        data, message_id = self.wire(message)
        try:
            try:
                self._deliver(data, message.recipient)
            except _Stale:
                self._deliver(data, message.recipient)  # a new connection: it is not reused
        except _Outcome as outcome:
            result = SendResult(outcome.verdict, self.name, error=outcome.error)
        else:
            result = SendResult(Verdict.ACCEPTED, self.name, provider_id=message_id)
        log.info(
            "notify[email] #%s to %s via smtp: %s%s",
            message.notification_id,
            mask_recipient(message.recipient),
            result.verdict,
            f" ({result.error})" if result.error else "",
        )
        return result

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            if c.security == "ssl":
                return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls)
            return smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        except ssl.SSLError as exc:
            raise _Outcome(Verdict.PERMANENT, f"TLS ke server SMTP gagal: {exc.reason}") from exc
        except smtplib.SMTPConnectError as exc:
            raise _Outcome(Verdict.TRANSIENT, f"server SMTP menolak koneksi ({exc.smtp_code})") from exc
        except TimeoutError as exc:
            raise _Outcome(Verdict.TRANSIENT, "server SMTP tidak menjawab saat menyambung") from exc
        except (OSError, smtplib.SMTPException) as exc:
            what = type(exc).__name__
            raise _Outcome(Verdict.TRANSIENT, f"server SMTP tidak dapat dihubungi ({what})") from exc

    def _deliver(self, data: bytes, recipient: str) -> None:
        c = self.config
        batching = getattr(self._local, "active", False)
        kept: smtplib.SMTP | None = self._local.conn if batching else None
        if batching:
            self._local.conn = None  # back only once this message has left it in a known state
        smtp = kept or self._connect()
        phase = "session"
        keep = False
        try:
            if kept is None:
                smtp.ehlo()
                if c.security == "starttls":
                    smtp.starttls(context=self._tls)
                    smtp.ehlo()
                if c.username is not None:
                    smtp.login(c.username, c.password or "")
            phase = "envelope"
            code, reply = smtp.mail(c.from_address)
            if kept is not None and code == 421:  # the server closed the kept session meanwhile
                raise _Stale
            if code != 250:
                raise _by_code(code, "pengirim", reply)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise _by_code(code, "penerima", reply)
            # From here the message may reach the server: a timeout or a cut connection is ambiguous.
            phase = "data"
            code, reply = smtp.data(data)
            if code != 250:
                raise _by_code(code, "isi pesan", reply)
            phase = "done"
            keep = batching
        except _Outcome:
            # refused by the server (sender, recipient, content): the session itself is sound
            keep = batching and self._reset(smtp)
            raise
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if kept is not None and phase == "envelope":
                raise _Stale from exc  # the kept connection was gone: certainly not sent
            raise self._lost(phase, exc) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise _Outcome(Verdict.PERMANENT, f"login SMTP ditolak ({exc.smtp_code})") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise _Outcome(Verdict.PERMANENT, short_reason(f"server SMTP tidak mendukung: {exc}")) from exc
        except ssl.SSLError as exc:
            raise _Outcome(Verdict.PERMANENT, f"TLS ke server SMTP gagal: {exc.reason}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, "pesan" if phase == "data" else "sesi", exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects and timeouts
            raise self._lost(phase, exc) from exc
        finally:
            if keep:
                self._local.conn = smtp  # the next message of the batch goes on this session
            else:
                try:
                    if phase == "done":
                        smtp.quit()
                    else:
                        smtp.close()
                except (smtplib.SMTPException, OSError):
                    smtp.close()  # the message is accepted (or failed) already: the QUIT does not matter

    @staticmethod
    def _lost(phase: str, exc: BaseException) -> _Outcome:
        """A disconnect or timeout: ambiguous once the content may have reached the server."""
        if phase == "data":
            return _Outcome(
                Verdict.AMBIGUOUS,
                "koneksi SMTP terputus atau habis waktu setelah isi pesan dikirim; "
                "pesan mungkin sudah terkirim",
            )
        return _Outcome(
            Verdict.TRANSIENT, f"koneksi SMTP terputus sebelum pesan dikirim ({type(exc).__name__})"
        )

    @staticmethod
    def _reset(smtp: smtplib.SMTP) -> bool:
        """RSET after a refused message, so the next one starts clean; False: drop the connection."""
        try:
            code, _reply = smtp.rset()
        except (smtplib.SMTPException, OSError):
            return False
        return code == 250
