"""A local HTTP server that plays an SMS/WhatsApp gateway: records requests, plays scripted replies."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status and a JSON (or raw text) body, after an optional delay."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"status": True, "id": ["1001"]})
    delay: float = 0.0  # seconds before answering (past the client's read timeout: ambiguous)
    drop: bool = False  # close the connection without any answer, after reading the request


def ok(body: Any = None) -> Reply:
    return Reply(200, body if body is not None else {"status": True, "id": ["1001"]})


def server_error(status: int = 503) -> Reply:
    return Reply(status, {"status": False, "reason": "service unavailable"})


def slow(seconds: float) -> Reply:
    return Reply(200, {"status": True, "id": ["late"]}, delay=seconds)


def dropped() -> Reply:
    return Reply(drop=True)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    raw: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    @property
    def form(self) -> dict[str, str]:
        """The urlencoded body as a flat dict (each field once)."""
        return {k: v[0] for k, v in parse_qs(self.raw.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (read timeout) makes the late answer fail: expected here


class GatewayServer:
    """Runs in a thread; `script(...)` queues replies, then each request takes the next (default: ok())."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _next(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else ok()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: without TCP_NODELAY (as real gateways' servers set
            # it) a kept-alive client's delayed ACK holds every reply's body back ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                gateway.requests.append(
                    Recorded(
                        self.command,
                        parts.path,
                        parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        raw,
                    )
                )
                reply = gateway._next()
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = reply.body if isinstance(reply.body, bytes | str) else json.dumps(reply.body)
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def gateway_server() -> Iterator[GatewayServer]:
    server = GatewayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def unused_port() -> int:
    """A local port nobody listens on (bound once, then released): connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on: connecting to it is refused."""
    return unused_port()


@pytest.fixture
def blackholed_port() -> Iterator[int]:
    """A local port whose connects hang, as behind a firewall that drops packets: a listener with a
    backlog of 0 that never accepts, its queue filled, so the kernel drops further SYNs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)  # let the handshakes that fit complete
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
