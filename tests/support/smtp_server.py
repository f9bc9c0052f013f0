"""A real SMTP server for tests (aiosmtpd on a free port), with STARTTLS and AUTH when asked."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME = "aduan"
PASSWORD = "kata-sandi-smtp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost (cert path, key path), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aduan-test-smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    """Collects each accepted message; recipients and DATA can be scripted to fail or stall."""

    messages: list[Received] = field(default_factory=list)
    # local part of a recipient -> SMTP reply, e.g. {"tidak-ada": "550 5.1.1 No such user"}
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_delay: float = 0.0  # seconds DATA waits before answering (past the client's timeout: ambiguous)
    data_reply: str = "250 OK diterima"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address.partition("@")[0])
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply.startswith("250"):
            raw = envelope.original_content or b""
            self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return self.data_reply


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler
    cert_file: Path | None
    starttls: bool

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


@contextmanager
def _serving(cert: Path | None, *, starttls: bool, **options: Any) -> Iterator[SmtpServer]:
    """An aiosmtpd controller on a free port of 127.0.0.1 with a collecting handler, stopped after."""
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler, cert, starttls=starttls)
    finally:
        controller.stop()


def _tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no TLS, no AUTH) on 127.0.0.1."""
    with _serving(None, starttls=False) as server:
        yield server


@pytest.fixture
def smtp_tls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """An SMTP server that requires STARTTLS (self-signed certificate) and AUTH LOGIN/PLAIN."""
    cert, key = self_signed_cert(tmp_path)
    with _serving(
        cert,
        starttls=True,
        tls_context=_tls_context(cert, key),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=True,
    ) as server:
        yield server


@pytest.fixture
def smtps_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """An SMTP server behind implicit TLS (port-465 style, self-signed certificate), no AUTH."""
    cert, key = self_signed_cert(tmp_path)
    with _serving(cert, starttls=False, ssl_context=_tls_context(cert, key)) as server:
        yield server
