"""Receipts in batches: two notify workers at once, every outbox message delivered twice (singly and
in a batch, as a reconciler's re-send would), send each message once; refused addresses and a
message the worker cannot handle fail alone. Real SMTP and HTTP gateway servers, on PostgreSQL and
on SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, insert, text

from shared import outbox
from shared.identity import identity_columns
from shared.models import Complaint, Outbox, table_of
from shared.security import cipher
from shared.settings import Settings, get_settings
from shared.tasks import NotifyEvent, TaskName, make_celery
from tests.integration.stack import REDIS_DB_SHIFT, REDIS_URL, ROOT, _base_env, eventually
from tests.support.database import migrated
from tests.support.gateway_server import GatewayServer
from tests.support.smtp_server import Handler, free_port

pytestmark = pytest.mark.integration

RECEIPTS = 30
REFUSED = {4, 17}  # receipts whose e-mail address the SMTP server refuses for good (550)


@dataclass
class World:
    env: dict[str, str]
    settings: Settings
    engine: Engine
    gateway: GatewayServer
    smtp: Handler


@pytest.fixture(params=["postgres", "sqlite"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    gateway = GatewayServer()
    gateway.start()
    smtp = Handler(rcpt_replies={"tidak-ada": "550 5.1.1 No such user"})
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    own = get_settings()  # this process seals the contacts: the workers get its keys
    assert own.secret_key is not None and own.data_key is not None
    sms = {
        "url": f"{gateway.url}/sms",
        "recipient_field": "to",
        "text_field": "message",
        "kinds": ["sms"],
        "success": {"path": "status", "equals": True, "id_path": "id.0"},
        "read_timeout": 5,
        "connect_timeout": 2,
    }
    env = _base_env(
        {
            "ADUAN_DATA_DIR": str(tmp_path),
            "ADUAN_BROKER_URL": f"{REDIS_URL}/{(15 + REDIS_DB_SHIFT) % 16}",
            "ADUAN_SECRET_KEY": own.secret_key.get_secret_value(),
            "ADUAN_DATA_KEY": own.data_key.get_secret_value(),
            "ADUAN_GATEWAYS": json.dumps({"sms": sms}),
            "ADUAN_SMS_GATEWAY": "sms",
            "ADUAN_EMAIL_BACKEND": "smtp",
            "ADUAN_SMTP_HOST": "127.0.0.1",
            "ADUAN_SMTP_PORT": str(controller.port),
            "ADUAN_SMTP_SECURITY": "none",
            "ADUAN_SMTP_FROM": "pengaduan@disnakertrans.example.go.id",
            "ADUAN_SMTP_TIMEOUT": "5",
        }
    )
    env.pop("ADUAN_DEMO_LOG_CHANNELS", None)
    import redis

    broker = redis.Redis.from_url(env["ADUAN_BROKER_URL"])
    broker.flushdb()
    with migrated(env, backend=request.param, name=f"aduan_nb_{os.getpid()}_{request.param}") as settings:
        engine = create_engine(settings.sync_database_url())
        try:
            yield World(env, settings, engine, gateway, smtp)
        finally:
            broker.flushdb()
            broker.close()
            engine.dispose()
            controller.stop()
            gateway.stop()


def _seed(engine: Engine) -> list[outbox.Message]:
    """RECEIPTS complaints as the intake writes them (contacts sealed), each with its receipt's
    outbox row; the outbox messages."""
    at = datetime.now(UTC)
    complaints, rows = table_of(Complaint), table_of(Outbox)
    messages = []
    with engine.begin() as conn:
        for i in range(RECEIPTS):
            email = "tidak-ada@contoh.example.id" if i in REFUSED else f"pengadu{i}@contoh.example.id"
            complaint_id = conn.execute(
                insert(complaints)
                .values(
                    ticket=f"ADU-2026-{i + 1:06d}",
                    tracking_code_enc=cipher().encrypt(f"KODE{i:04d}", field="tracking_code"),
                    status="open",
                    step="verification",
                    version=1,
                    handoff_pending=False,
                    channel="kiosk",
                    subject="THR belum dibayarkan",
                    description="Perusahaan belum membayar THR.",
                    category_code=None,
                    waiting_on_site=False,
                    preferred_reply="email",
                    confidential=False,
                    complainant_name="Siti Aminah",
                    escalation_level=0,
                    received_at=at,
                    step_entered_at=at,
                    stay_started_at=at,
                    step_due_at=at + timedelta(minutes=30),
                    updated_at=at,
                    **identity_columns(nik=None, phone=f"+62812000{i:05d}", email=email, address=None),
                )
                .returning(complaints.c.id)
            ).scalar_one()
            payload = {"complaint_id": complaint_id, "event": NotifyEvent.RECEIPT.value, "method": None}
            outbox_id = conn.execute(
                insert(rows).values(outbox.values(TaskName.NOTIFY, payload, now=at)).returning(rows.c.id)
            ).scalar_one()
            messages.append(outbox.Message(outbox_id, TaskName.NOTIFY.value, "notify", payload))
        # a message its consumer cannot handle (an event it does not know): it must fail alone
        bad = {"complaint_id": complaint_id, "event": "tidak-dikenal", "method": None}
        outbox_id = conn.execute(
            insert(rows).values(outbox.values(TaskName.NOTIFY, bad, now=at)).returning(rows.c.id)
        ).scalar_one()
        messages.insert(RECEIPTS // 2, outbox.Message(outbox_id, TaskName.NOTIFY.value, "notify", bad))
    return messages


def _worker(w: World, name: str) -> subprocess.Popen[bytes]:
    with (Path(w.env["ADUAN_DATA_DIR"]) / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "launcher.cli", "worker", "notify"],
            env={**w.env, "ADUAN_LOG_LEVEL": "WARNING"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def test_two_workers_send_each_receipt_once_and_a_refused_address_fails_alone(w: World) -> None:
    messages = _seed(w.engine)
    app = make_celery(w.settings)
    for m in messages:  # each alone (the API's publish after commit on SQLite) ...
        app.send_task(m.task, kwargs={"outbox_id": m.outbox_id, **m.payload}, queue=m.queue)
    items = [{"outbox_id": m.outbox_id, **m.payload} for m in messages]
    for start in (0, 10):  # ... and again in batches (the relay's), overlapping
        batch = items[start : start + 20]
        app.send_task(TaskName.NOTIFY_BATCH.value, kwargs={"items": batch}, queue="notify")
    workers = [_worker(w, "worker-a"), _worker(w, "worker-b")]
    try:
        with w.engine.connect() as conn:
            state = eventually(
                lambda: conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM notifications WHERE status IN ('sent', 'failed')),"
                        " (SELECT count(*) FROM outbox WHERE processed_at IS NULL),"
                        " (SELECT max(CAST(payload AS TEXT)) FROM outbox WHERE processed_at IS NULL)"
                    )
                ).one(),
                lambda row: row[0] == 2 * RECEIPTS and row[1] == 1,
                timeout=120,
            )
            assert tuple(state[:2]) == (2 * RECEIPTS, 1)  # the bad one is left to the reconciler
            assert "tidak-dikenal" in str(state[2])
            time.sleep(1.0)  # any double send would have reached the servers by now
            rows = conn.execute(
                text(
                    "SELECT channel, status, attempts, count(*) FROM notifications"
                    " GROUP BY channel, status, attempts ORDER BY channel, status"
                )
            ).all()
    finally:
        for p in workers:
            os.killpg(p.pid, signal.SIGTERM)
        for p in workers:
            p.wait(timeout=30)
    # one SMS per receipt, one e-mail per accepted address, none twice; the refused fail alone
    phones = Counter(r.form["to"] for r in w.gateway.requests)
    assert len(phones) == RECEIPTS and set(phones.values()) == {1}
    mails = Counter(rcpt for m in w.smtp.messages for rcpt in m.rcpt_tos)
    assert len(mails) == RECEIPTS - len(REFUSED) and set(mails.values()) == {1}
    assert "tidak-ada@contoh.example.id" not in mails
    assert [tuple(r) for r in rows] == [
        ("email", "failed", 1, len(REFUSED)),
        ("email", "sent", 1, RECEIPTS - len(REFUSED)),
        ("sms", "sent", 1, RECEIPTS),
    ]
