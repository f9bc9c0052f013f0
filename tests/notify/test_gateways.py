"""SMS/WhatsApp through the HTTP gateway adapter, against a real local server playing the gateway."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from services.notify.channels import Channels, LogChannel, Outgoing, Verdict, load_channels
from services.notify.channels.gateway import HttpGatewayChannel
from shared.settings import Settings
from tests.support.gateway_server import GatewayServer, Reply, dropped, ok, server_error, slow

MakeSettings = Callable[..., Settings]
PHONE = "+6281234567890"
BODY = "Pengaduan ADU-2026-000001 sudah dijawab. Cek: http://127.0.0.1:8000/t/ADU-2026-000001"


def _msg(kind: str = "whatsapp", recipient: str = PHONE) -> Outgoing:
    return Outgoing(41, kind, recipient, None, BODY)


def _channels(make: MakeSettings, kind: str, gateway: dict[str, Any]) -> Channels:
    return load_channels(make(gateways={"gw": gateway}, **{f"{kind}_gateway": "gw"}))


def _gateway(make: MakeSettings, kind: str, gateway: dict[str, Any]) -> HttpGatewayChannel:
    channel = _channels(make, kind, gateway).for_kind(kind)
    assert isinstance(channel, HttpGatewayChannel)
    return channel


# Each preset's request as it would go to the real vendor (built, not sent).


def test_fonnte_request_shape(make_settings: MakeSettings) -> None:
    request = _gateway(make_settings, "whatsapp", {"preset": "fonnte", "token": "tok-fonnte"}).request(_msg())
    assert request.method == "POST" and str(request.url) == "https://api.fonnte.com/send"
    assert request.headers["authorization"] == "tok-fonnte"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(request.read().decode()).items()}
    assert form == {"target": "6281234567890", "message": BODY, "countryCode": "62"}


def test_wablas_request_shape(make_settings: MakeSettings) -> None:
    gateway = {"preset": "wablas", "host": "solo.wablas.com", "token": "tok-wablas"}
    request = _gateway(make_settings, "whatsapp", gateway).request(_msg())
    assert request.method == "POST" and str(request.url) == "https://solo.wablas.com/api/send-message"
    assert request.headers["authorization"] == "tok-wablas"
    form = {k: v[0] for k, v in parse_qs(request.read().decode()).items()}
    assert form == {"phone": "6281234567890", "message": BODY}


@pytest.mark.parametrize(
    ("preset", "kind", "url"),
    [
        ("zenziva", "sms", "https://console.zenziva.net/reguler/api/sendsms/"),
        ("zenziva-wa", "whatsapp", "https://console.zenziva.net/wareguler/api/sendWA/"),
    ],
)
def test_zenziva_request_shape(make_settings: MakeSettings, preset: str, kind: str, url: str) -> None:
    gateway = {"preset": preset, "userkey": "uk-1", "passkey": "pk-2"}
    request = _gateway(make_settings, kind, gateway).request(_msg(kind))
    assert request.method == "POST" and str(request.url) == url
    assert "authorization" not in request.headers
    form = {k: v[0] for k, v in parse_qs(request.read().decode()).items()}
    assert form == {"userkey": "uk-1", "passkey": "pk-2", "to": "081234567890", "message": BODY}


# On the wire, against the local gateway.


def _fonnte(make: MakeSettings, server: GatewayServer, **extra: Any) -> HttpGatewayChannel:
    gateway = {"preset": "fonnte", "token": "tok-fonnte", "url": f"{server.url}/send", **extra}
    return _gateway(make, "whatsapp", gateway)


def test_fonnte_accepted_on_the_wire(make_settings: MakeSettings, gateway_server: GatewayServer) -> None:
    gateway_server.script(ok({"detail": "success! message in queue", "id": ["80367170"], "status": True}))
    result = _fonnte(make_settings, gateway_server).send(_msg())
    assert result.verdict == Verdict.ACCEPTED and result.provider_id == "80367170" and result.gateway == "gw"
    [req] = gateway_server.requests
    assert req.method == "POST" and req.path == "/send" and req.headers["authorization"] == "tok-fonnte"
    assert req.content_type == "application/x-www-form-urlencoded"
    assert req.form == {"target": "6281234567890", "message": BODY, "countryCode": "62"}


def test_wablas_accepted_with_nested_id(make_settings: MakeSettings, gateway_server: GatewayServer) -> None:
    gateway_server.script(
        ok(
            {
                "status": True,
                "message": "pending",
                "data": {"messages": [{"id": "wb-1", "status": "pending"}]},
            }
        )
    )
    gateway = {"preset": "wablas", "token": "tok", "url": f"{gateway_server.url}/api/send-message"}
    result = _gateway(make_settings, "whatsapp", gateway).send(_msg())
    assert result.verdict == Verdict.ACCEPTED and result.provider_id == "wb-1"
    assert gateway_server.requests[0].form == {"phone": "6281234567890", "message": BODY}


def test_zenziva_success_and_invalid_number(
    make_settings: MakeSettings, gateway_server: GatewayServer
) -> None:
    gateway = {"preset": "zenziva", "userkey": "uk", "passkey": "pk", "url": f"{gateway_server.url}/sendsms/"}
    channel = _gateway(make_settings, "sms", gateway)
    gateway_server.script(
        ok({"messageId": "zz-9", "to": "081234567890", "status": "1", "text": "Success"}),
        ok({"to": "081234567890", "status": "0", "text": "Nomor tujuan 081234567890 tidak valid"}),
    )
    assert channel.send(_msg("sms")).provider_id == "zz-9"
    refused = channel.send(_msg("sms"))
    assert refused.verdict == Verdict.PERMANENT
    assert "tidak valid" in (refused.error or "") and "081234567890" not in (refused.error or "")
    assert gateway_server.requests[0].form["to"] == "081234567890"


def test_zenziva_wa_on_the_wire(make_settings: MakeSettings, gateway_server: GatewayServer) -> None:
    url = f"{gateway_server.url}/wareguler/api/sendWA/"
    gateway = {"preset": "zenziva-wa", "userkey": "uk-wa", "passkey": "pk-wa", "url": url}
    channel = _gateway(make_settings, "whatsapp", gateway)
    gateway_server.script(
        ok({"messageId": "zw-7", "to": "081234567890", "status": "1", "text": "Success"}),
        ok({"to": "081234567890", "status": "0", "text": "Nomor 081234567890 tidak terdaftar di WhatsApp"}),
    )
    accepted = channel.send(_msg("whatsapp"))
    assert (accepted.verdict, accepted.provider_id, accepted.gateway) == (Verdict.ACCEPTED, "zw-7", "gw")
    refused = channel.send(_msg("whatsapp"))
    assert refused.verdict == Verdict.PERMANENT and "tidak terdaftar" in (refused.error or "")
    assert "081234567890" not in (refused.error or "")
    first = gateway_server.requests[0]
    assert (first.method, first.path) == ("POST", "/wareguler/api/sendWA/")
    assert first.content_type == "application/x-www-form-urlencoded" and "authorization" not in first.headers
    assert first.form == {"userkey": "uk-wa", "passkey": "pk-wa", "to": "081234567890", "message": BODY}


def test_invalid_number_reply_is_permanent(
    make_settings: MakeSettings, gateway_server: GatewayServer
) -> None:
    gateway_server.script(ok({"status": False, "reason": "invalid target 6281234567890"}))
    result = _fonnte(make_settings, gateway_server).send(_msg())
    assert result.verdict == Verdict.PERMANENT
    assert "invalid target" in (result.error or "") and "6281234567890" not in (result.error or "")
    assert BODY not in (result.error or "")


def test_5xx_is_transient_then_success(make_settings: MakeSettings, gateway_server: GatewayServer) -> None:
    gateway_server.script(server_error(503), ok())
    channel = _fonnte(make_settings, gateway_server)
    first = channel.send(_msg())
    assert first.verdict == Verdict.TRANSIENT and "503" in (first.error or "")
    assert channel.send(_msg()).verdict == Verdict.ACCEPTED
    assert len(gateway_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(429, Verdict.TRANSIENT), (408, Verdict.TRANSIENT), (500, Verdict.TRANSIENT), (401, Verdict.PERMANENT)],
)
def test_status_codes(
    make_settings: MakeSettings, gateway_server: GatewayServer, status: int, verdict: Verdict
) -> None:
    gateway_server.script(Reply(status, {"status": False, "reason": "token invalid"}))
    result = _fonnte(make_settings, gateway_server).send(_msg())
    assert result.verdict == verdict and str(status) in (result.error or "")


def test_read_timeout_after_sending_is_ambiguous(
    make_settings: MakeSettings, gateway_server: GatewayServer
) -> None:
    gateway_server.script(slow(1.5))
    result = _fonnte(make_settings, gateway_server, read_timeout=0.3).send(_msg())
    assert result.verdict == Verdict.AMBIGUOUS and "mungkin sudah terkirim" in (result.error or "")
    assert len(gateway_server.requests) == 1  # the gateway did get it


def test_connection_lost_after_sending_is_ambiguous(
    make_settings: MakeSettings, gateway_server: GatewayServer
) -> None:
    gateway_server.script(dropped())
    result = _fonnte(make_settings, gateway_server).send(_msg())
    assert result.verdict == Verdict.AMBIGUOUS and len(gateway_server.requests) == 1


def test_connection_refused_is_transient(make_settings: MakeSettings, closed_port: int) -> None:
    gateway = {"preset": "fonnte", "token": "tok", "url": f"http://127.0.0.1:{closed_port}/send"}
    result = _gateway(make_settings, "whatsapp", gateway).send(_msg())
    assert result.verdict == Verdict.TRANSIENT and "koneksi" in (result.error or "")


def test_connect_timeout_is_transient_not_ambiguous(
    make_settings: MakeSettings, blackholed_port: int
) -> None:
    # The request never left: safe to retry (an ambiguous verdict would stop the retries).
    url = f"http://127.0.0.1:{blackholed_port}/send"
    gateway = {"preset": "fonnte", "token": "tok", "url": url, "connect_timeout": 0.3, "read_timeout": 5}
    started = time.monotonic()
    result = _gateway(make_settings, "whatsapp", gateway).send(_msg())
    assert result.verdict == Verdict.TRANSIENT and "menyambung" in (result.error or ""), result
    assert time.monotonic() - started < 3  # the connect timeout, not the read timeout, ended it


def test_unreadable_2xx_is_permanent(make_settings: MakeSettings, gateway_server: GatewayServer) -> None:
    gateway_server.script(Reply(200, "<html>maintenance</html>"))
    assert _fonnte(make_settings, gateway_server).send(_msg()).verdict == Verdict.PERMANENT


def test_not_e164_is_permanent_without_a_request(
    make_settings: MakeSettings, gateway_server: GatewayServer
) -> None:
    result = _fonnte(make_settings, gateway_server).send(_msg(recipient="081234567890"))
    assert result.verdict == Verdict.PERMANENT and gateway_server.requests == []


def test_generic_json_gateway(make_settings: MakeSettings, gateway_server: GatewayServer) -> None:
    gateway = {
        "url": f"{gateway_server.url}/v1/messages",
        "body": "json",
        "recipient_field": "to",
        "text_field": "text",
        "phone_format": "+62",
        "headers": {"Authorization": "Bearer {token}"},
        "fields": {"sender": "DISNAKER", "flash": False},
        "token": "rahasia-123",
        "success": {"path": "result.ok", "equals": True, "id_path": "result.message_id"},
    }
    gateway_server.script(ok({"result": {"ok": "true", "message_id": 555}}))
    result = _gateway(make_settings, "sms", gateway).send(_msg("sms"))
    assert result.verdict == Verdict.ACCEPTED and result.provider_id == "555"
    [req] = gateway_server.requests
    assert req.headers["authorization"] == "Bearer rahasia-123" and req.content_type == "application/json"
    assert req.json == {"sender": "DISNAKER", "flash": False, "to": PHONE, "text": BODY}


def test_generic_get_gateway_sends_query_parameters(
    make_settings: MakeSettings, gateway_server: GatewayServer
) -> None:
    gateway = {
        "method": "GET",
        "url": f"{gateway_server.url}/api/sms",
        "recipient_field": "msisdn",
        "text_field": "msg",
        "phone_format": "08",
        "fields": {"key": "{apikey}"},
        "apikey": "k-77",
    }
    result = _gateway(make_settings, "sms", gateway).send(_msg("sms"))
    assert result.verdict == Verdict.ACCEPTED and result.provider_id is None  # no id rule: none kept
    [req] = gateway_server.requests
    assert req.method == "GET" and req.path == "/api/sms"
    assert req.query == {"key": ["k-77"], "msisdn": ["081234567890"], "msg": [BODY]}


def test_log_channel_default(make_settings: MakeSettings, caplog: pytest.LogCaptureFixture) -> None:
    channels = load_channels(make_settings())
    assert all(isinstance(channels.for_kind(k), LogChannel) for k in ("sms", "whatsapp", "email"))
    with caplog.at_level(logging.INFO, logger="services.notify.channels"):
        result = channels.for_kind("sms").send(_msg("sms"))
    assert result.verdict == Verdict.ACCEPTED and result.provider_id == "log-41" and result.gateway == "log"
    assert BODY not in caplog.text and PHONE not in caplog.text and "+62812*****890" in caplog.text


def test_gateway_log_line_holds_no_body_or_full_number(
    make_settings: MakeSettings, gateway_server: GatewayServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="services.notify.channels"):
        _fonnte(make_settings, gateway_server).send(_msg())
    assert "accepted" in caplog.text and BODY not in caplog.text and PHONE not in caplog.text
    assert "tok-fonnte" not in caplog.text


def test_describe_names_host_never_the_token(make_settings: MakeSettings) -> None:
    channels = _channels(make_settings, "whatsapp", {"preset": "fonnte", "token": "tok-rahasia"})
    lines = channels.describe()
    assert lines[:3] == [
        "sms: log (tidak terkirim, hanya dicatat)",
        "whatsapp: gw (fonnte, api.fonnte.com)",
        "email: log (tidak terkirim, hanya dicatat)",
    ]
    assert lines[3:] and lines[3].startswith("peringatan: ADUAN_PUBLIC_BASE_URL")  # a live channel
    assert channels.live("whatsapp") and not channels.live("sms") and not channels.live("email")
    assert "tok-rahasia" not in json.dumps(lines)
