"""Bad channel configuration fails at start-up with a message naming the setting; receipts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.notify.channels import ConfigError, Receipt, load_channels
from shared.settings import ConfigError as SettingsConfigError
from shared.settings import Settings
from tests.integration.stack import run_cli

MakeSettings = Callable[..., Settings]
FONNTE = {"preset": "fonnte", "token": "tok-fonnte"}
SECRET = "s3cret-receipts-0123456789"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"gateways": "{not json"}, "ADUAN_GATEWAYS is not valid JSON"),
        ({"gateways": "[1, 2]"}, "ADUAN_GATEWAYS must be a JSON object"),
        ({"gateways": {"wa": "fonnte"}}, "ADUAN_GATEWAYS['wa'] must be a JSON object"),
        ({"gateways": {"wa": {"preset": "fontne", "token": "x"}}}, "unknown preset 'fontne' (known: fonnte,"),
        (
            {"gateways": {"wa": {"preset": "fonnte"}}},
            "ADUAN_GATEWAYS['wa'] (preset fonnte): token is missing",
        ),
        ({"gateways": {"wa": {"preset": "wablas", "token": "t"}}}, "(preset wablas): host is missing"),
        ({"gateways": {"wa": {"preset": "fonnte", "token": "changeme"}}}, "token is a placeholder"),
        ({"gateways": {"wa": {"preset": "fonnte", "tokne": "x"}}}, "unknown key 'tokne'"),
        (
            {"gateways": {"wa": {**FONNTE, "phone_format": "0812"}}},
            "phone_format: Input should be '08', '62'",
        ),
        ({"gateways": {"wa": {**FONNTE, "body": "xml"}}}, "body: Input should be 'form' or 'json'"),
        ({"gateways": {"wa": {**FONNTE, "read_timeout": 0}}}, "read_timeout: Input should be greater than 0"),
        (
            {"gateways": {"wa": {**FONNTE, "url": "ftp://x/send"}}},
            "ADUAN_GATEWAYS['wa'].url must be an http(s) URL",
        ),
        ({"gateways": {"x": {"url": "https://gw.example.id/send"}}}, "recipient_field: Field required"),
        (
            {"gateways": {"wa": {**FONNTE, "receipt": {"statuses": {"ok": "done"}}}}},
            "receipt.statuses.ok: Input should be 'delivered', 'failed' or 'sent'",
        ),
        ({"gateways": {"wa": {**FONNTE, "receipt_secret": "short"}}}, "receipt_secret must be at least 16"),
        (
            {"gateways": {"wa": FONNTE}, "whatsapp_gateway": "wa2"},
            "ADUAN_WHATSAPP_GATEWAY='wa2': no such gateway",
        ),
        ({"gateways": {"wa": FONNTE}, "sms_gateway": "wa"}, "gateway 'wa' carries only whatsapp, not sms"),
        ({"email_backend": "smtp"}, "ADUAN_EMAIL_BACKEND=smtp needs ADUAN_SMTP_HOST and ADUAN_SMTP_FROM"),
        ({"email_backend": "sendgrid"}, "ADUAN_EMAIL_BACKEND='sendgrid': use log or smtp"),
        (
            {
                "email_backend": "smtp",
                "smtp_host": "mail.example.id",
                "smtp_from": "a@example.id",
                "smtp_security": "tls",
            },
            "ADUAN_SMTP_SECURITY='tls': use starttls, ssl or none",
        ),
        (
            {
                "email_backend": "smtp",
                "smtp_host": "mail.example.id",
                "smtp_from": "a@example.id",
                "smtp_username": "u",
            },
            "ADUAN_SMTP_USERNAME and ADUAN_SMTP_PASSWORD go together",
        ),
        (
            {"email_backend": "smtp", "smtp_host": "mail.example.id", "smtp_from": "bukan-alamat"},
            "ADUAN_SMTP_FROM='bukan-alamat' is not an e-mail address",
        ),
        (
            {
                "email_backend": "smtp",
                "smtp_host": "m",
                "smtp_from": "a@example.id",
                "smtp_ca_file": "/nope.pem",
            },
            "ADUAN_SMTP_CA_FILE=/nope.pem: no such file",
        ),
    ],
)
def test_bad_configuration(make_settings: MakeSettings, fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_channels(make_settings(**fields))
    assert expected in str(caught.value)
    assert "tok-fonnte" not in str(caught.value)
    assert isinstance(caught.value, SettingsConfigError)  # every `aduan` command stops on it (exit 78)


def test_live_channels_with_a_local_public_address_are_warned_of_at_start_up(
    make_settings: MakeSettings,
) -> None:
    gateways = {"wa": {"preset": "fonnte", "token": "t" * 20}}
    local = load_channels(make_settings(gateways=gateways, whatsapp_gateway="wa")).describe()
    assert any(line.startswith("peringatan: ADUAN_PUBLIC_BASE_URL=http://127.0.0.1:8000") for line in local)
    public = make_settings(
        gateways=gateways, whatsapp_gateway="wa", public_base_url="https://pengaduan.wonosobokab.go.id"
    )
    assert not any("peringatan" in line for line in load_channels(public).describe())
    assert not any("peringatan" in line for line in load_channels(make_settings()).describe())  # log only


def test_a_preset_field_can_be_overridden(make_settings: MakeSettings) -> None:
    gateway = {**FONNTE, "success": {"id_path": "data.id"}, "headers": {"X-Office": "wonosobo"}}
    channel = load_channels(make_settings(gateways={"wa": gateway}, whatsapp_gateway="wa")).for_kind(
        "whatsapp"
    )
    spec = channel.spec  # type: ignore[attr-defined]
    assert spec.success.id_path == "data.id" and spec.success.path == "status"  # merged, not replaced
    assert spec.headers == {"Authorization": "{token}", "X-Office": "wonosobo"}


def test_receipts(make_settings: MakeSettings) -> None:
    gateways = {
        "wa": {**FONNTE, "receipt_secret": SECRET},
        "wb": {"preset": "wablas", "host": "solo.wablas.com", "token": "t"},  # no secret: off
        "sms": {"preset": "zenziva", "userkey": "u", "passkey": "p", "receipt_secret": SECRET},  # no rule
        "batch": {
            "url": "https://gw.example.id/send",
            "recipient_field": "to",
            "text_field": "text",
            "receipt_secret": SECRET,
            "receipt": {
                "items_path": "reports",
                "id_field": "msg.id",
                "status_field": "state",
                "statuses": {"DELIVRD": "delivered", "UNDELIV": "failed"},
            },
        },
    }
    channels = load_channels(make_settings(gateways=gateways))
    assert channels.receipt_secret("wa") == SECRET
    assert channels.receipt_secret("wb") is None and channels.receipt_secret("sms") is None
    assert channels.receipt_secret("nope") is None
    assert channels.parse_receipt("wa", {"device": "628", "id": "80367170", "status": "delivered"}) == [
        Receipt("80367170", "delivered", None)
    ]
    assert channels.parse_receipt("wa", {"id": 5, "status": "Invalid", "state": "nomor +6281234567890"}) == [
        Receipt("5", "failed", "nomor +62812*****890")
    ]
    assert channels.parse_receipt("wa", {"id": "5", "status": "processing"}) == []  # not a state we track
    batch = {"reports": [{"msg": {"id": "a"}, "state": "DELIVRD"}, {"msg": {"id": "b"}, "state": "UNDELIV"}]}
    assert channels.parse_receipt("batch", batch) == [Receipt("a", "delivered"), Receipt("b", "failed")]
    with pytest.raises(ValueError, match="needs 'id' and 'status'"):
        channels.parse_receipt("wa", {"status": "delivered"})
    with pytest.raises(ValueError, match="no list at 'reports'"):
        channels.parse_receipt("batch", {"reports": "x"})
    for name in ("nope", "wb", "sms"):
        with pytest.raises(ConfigError):
            channels.parse_receipt(name, {"id": "1", "status": "sent"})


def _aduan(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    clean.update({"ADUAN_DATA_DIR": str(tmp_path / "data"), **env})
    return run_cli(clean, *args)


def test_aduan_check_reports_channels_and_refuses_bad_config(tmp_path: Path) -> None:
    good = _aduan(
        tmp_path,
        "check",
        ADUAN_GATEWAYS='{"wa": {"preset": "fonnte", "token": "tok-fonnte"}}',
        ADUAN_WHATSAPP_GATEWAY="wa",
    )
    assert good.returncode == 0, good.stderr
    assert "channel whatsapp: wa (fonnte, api.fonnte.com)" in good.stdout
    assert "channel sms: log (tidak terkirim, hanya dicatat)" in good.stdout
    assert "tok-fonnte" not in good.stdout

    bad = _aduan(
        tmp_path, "check", ADUAN_GATEWAYS='{"wa": {"preset": "fonnte"}}', ADUAN_WHATSAPP_GATEWAY="wa"
    )
    assert bad.returncode == 78
    assert "ADUAN_GATEWAYS['wa'] (preset fonnte): token is missing" in bad.stderr


@pytest.mark.parametrize("command", [["worker", "notify"], ["serve", "intake"], ["up", "--log-to-console"]])
def test_worker_intake_and_up_stop_before_starting(tmp_path: Path, command: list[str]) -> None:
    result = _aduan(tmp_path, *command, ADUAN_EMAIL_BACKEND="smtp")
    assert result.returncode == 78
    assert "ADUAN_EMAIL_BACKEND=smtp needs ADUAN_SMTP_HOST and ADUAN_SMTP_FROM" in result.stderr
    assert not list((tmp_path / "data").glob("run/*.pid"))  # `up` started no child


def test_a_lease_shorter_than_the_slowest_send_is_refused(make_settings: MakeSettings) -> None:
    gateways = {"wa": {"preset": "fonnte", "token": "t" * 20, "read_timeout": 30}}
    settings = make_settings(gateways=gateways, whatsapp_gateway="wa", notify_send_lease=20)
    with pytest.raises(ConfigError, match="ADUAN_NOTIFY_SEND_LEASE=20 must exceed the longest send"):
        load_channels(settings)
    load_channels(make_settings(gateways=gateways, whatsapp_gateway="wa", notify_send_lease=60))


@pytest.mark.parametrize("command", [["check"], ["worker", "notify"], ["up", "--log-to-console"]])
def test_a_broken_template_stops_start_up_naming_file_and_line(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "templat"
    folder.mkdir()
    (folder / "receipt.txt.j2").write_text("{{ office }}\nNomor tiket: {{ ticket }\n")
    result = _aduan(tmp_path, *command, ADUAN_TEMPLATES_DIR=str(folder))
    assert result.returncode == 78, result.stderr
    assert f"templat {folder / 'receipt.txt.j2'}, baris 2: " in result.stderr
    assert not list((tmp_path / "data").glob("run/*.pid"))  # `up` started no child


def test_aduan_check_lists_the_templates_it_checked(tmp_path: Path) -> None:
    folder = tmp_path / "templat"
    folder.mkdir()
    (folder / "receipt.txt.j2").write_text("Nomor {{ ticket }} sudah kami catat.\n")
    good = _aduan(tmp_path, "check", ADUAN_TEMPLATES_DIR=str(folder))
    assert good.returncode == 0, good.stderr
    assert f"berkas diperiksa, 1 dari {folder}" in good.stdout
