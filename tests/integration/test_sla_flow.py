"""The SLA clock end to end: the sweeper reminds the holder and escalates up the chain, once each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from shared.clock import WIB
from tests.integration.conftest import BACKENDS, _make
from tests.integration.stack import Stack, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def fast_clock(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An instance whose verification standard is 2 s of a 24/7 calendar, swept every 0.5 s."""
    stack = _make(
        request.param,
        tmp_path_factory,
        redis_db=13,
        extra={
            "ADUAN_CALENDAR": "always_open",
            "ADUAN_SLA_VERIFICATION": "PT2S",
            "ADUAN_SWEEP_INTERVAL": "0.5",
        },
    )
    with running(stack) as s:
        yield s


def test_reminder_then_escalation_then_kepala_dinas(fast_clock: Stack) -> None:
    s = fast_clock
    filed = s.file().json()
    ticket = filed["ticket"]

    def escalations(user: str) -> list[dict[str, object]]:
        items = s.staff(user, "GET", "/escalations").json()["items"]
        return [i for i in items if i["ticket"] == ticket]

    from tests.integration.stack import eventually

    mine = eventually(lambda: escalations("fo"), lambda items: len(items) == 1)
    assert mine[0]["level"] == 0 and mine[0]["holder_role"] == "front_office"
    boss = eventually(lambda: escalations("kasubag"), lambda items: len(items) == 1)
    assert boss[0]["level"] == 1 and boss[0]["step"] == "verification"
    top = eventually(lambda: escalations("kadis"), lambda items: len(items) == 1)
    assert top[0]["level"] == 2
    item = next(i for i in s.worklist("fo") if i["ticket"] == ticket)
    assert item["overdue"] is True and item["escalation_level"] == 2
    assert item["version"] == 1  # escalation did not make the officer's version stale
    history = [h["action"] for h in s.record("kadis", ticket)["history"]]
    assert history.count("reminder") == 1 and history.count("escalated") == 2

    # Acting on it ends the stay: the escalations leave every view, the level resets.
    r = s.act("fo", ticket, "forward", 1, identity_verified=True, id_document="KTP")
    assert r.status_code == 202, r.text
    s.wait_in_queue("kasubag", ticket)
    assert escalations("kasubag") == [] and escalations("kadis") == []
    assert s.record("kasubag", ticket)["history"][-1]["action"] in {"queued", "reminder"}


def test_sla_report_by_api(fast_clock: Stack) -> None:
    s = fast_clock
    today = datetime.now(WIB).date()
    params = {"from": str(today - timedelta(days=30)), "to": str(today + timedelta(days=30))}
    report = s.staff("kadis", "GET", "/reports/sla", params=params)
    assert report.status_code == 200, report.text
    body = report.json()
    assert [f["step"] for f in body["steps"]] == [
        "verification",
        "review",
        "disposition",
        "drafting",
        "answer_review",
        "delivery",
    ]
    assert body["steps"][0]["count"] >= 1 and body["legal"]["received"] >= 1
    csv = s.staff("kadis", "GET", "/reports/sla", params={**params, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and "verification" in csv.text
    assert s.staff("fo", "GET", "/reports/sla", params=params).status_code == 403
    bad = s.staff("kadis", "GET", "/reports/sla", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "range_reversed"
    legal = s.record("kadis", s.file().json()["ticket"])["legal"]
    assert legal["first_reply_overdue"] is False and legal["decided_at"] is None


def test_waiting_for_documents_pauses_the_clock(fast_clock: Stack) -> None:
    import time

    s = fast_clock
    ticket = s.file().json()["ticket"]
    r = s.act("fo", ticket, "request_info", 1, reason="Fotokopi KTP dan slip gaji belum ada")
    assert r.status_code == 202, r.text
    assert all(i["ticket"] != ticket for i in s.worklist("fo"))
    waiting = s.staff("fo", "GET", "/worklist", params={"list": "waiting"}).json()["items"]
    item = next(i for i in waiting if i["ticket"] == ticket)
    assert item["paused_at"] is not None and item["paused_too_long"] is False
    time.sleep(3)  # longer than the 2 s standard: a paused clock does not escalate
    assert all(i["ticket"] != ticket for i in s.staff("kasubag", "GET", "/escalations").json()["items"])
    again = s.act("fo", ticket, "request_info", 2, reason="lagi")
    assert again.status_code == 409 and again.json()["code"] == "already_paused"
    r = s.act("fo", ticket, "info_received", 2, note="Dokumen diserahkan")
    assert r.status_code == 202, r.text
    back = next(i for i in s.worklist("fo") if i["ticket"] == ticket)
    history = s.record("kadis", ticket)["history"]
    assert back["paused_at"] is None and back["version"] == 3, history
    actions = [h["action"] for h in s.record("kadis", ticket)["history"]]
    assert actions[:3] == ["received", "request_info", "info_received"]
