"""E-mail over SMTP (smtplib, synchronous: it runs inside a Celery worker)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path

from services.notify.channels.base import Outgoing, SendResult, Verdict, log, mask_recipient, short_reason


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

    def describe(self) -> str:
        return f"smtp ({self.config.host}:{self.config.port} {self.config.security})"

    def build(self, message: Outgoing) -> EmailMessage:
        """The MIME message for `message`: UTF-8, quoted-printable, Message-ID from the sender's domain."""
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
        msg = self.build(message)
        message_id = str(msg["Message-ID"])
        try:
            self._deliver(msg, message.recipient)
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

    def _deliver(self, msg: EmailMessage, recipient: str) -> None:
        c = self.config
        smtp = self._connect()
        phase = "session"
        try:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if c.username is not None:
                smtp.login(c.username, c.password or "")
            code, reply = smtp.mail(c.from_address)
            if code != 250:
                raise _by_code(code, "pengirim", reply)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise _by_code(code, "penerima", reply)
            # From here the message may reach the server: a timeout or a cut connection is ambiguous.
            phase = "data"
            code, reply = smtp.data(msg.as_bytes(policy=SMTP_POLICY))
            if code != 250:
                raise _by_code(code, "isi pesan", reply)
            phase = "done"
        except _Outcome:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise _Outcome(Verdict.PERMANENT, f"login SMTP ditolak ({exc.smtp_code})") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise _Outcome(Verdict.PERMANENT, short_reason(f"server SMTP tidak mendukung: {exc}")) from exc
        except ssl.SSLError as exc:
            raise _Outcome(Verdict.PERMANENT, f"TLS ke server SMTP gagal: {exc.reason}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, "pesan" if phase == "data" else "sesi", exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects and timeouts
            if phase == "data":
                raise _Outcome(
                    Verdict.AMBIGUOUS,
                    "koneksi SMTP terputus atau habis waktu setelah isi pesan dikirim; "
                    "pesan mungkin sudah terkirim",
                ) from exc
            raise _Outcome(
                Verdict.TRANSIENT, f"koneksi SMTP terputus sebelum pesan dikirim ({type(exc).__name__})"
            ) from exc
        finally:
            try:
                if phase == "done":
                    smtp.quit()
                else:
                    smtp.close()
            except (smtplib.SMTPException, OSError):
                smtp.close()  # the message is already accepted (or already failed): the QUIT does not matter
