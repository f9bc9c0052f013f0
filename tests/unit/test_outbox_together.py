"""outbox.Together: concurrent callers' messages go out together, and each returns once its own went."""

from __future__ import annotations

import asyncio
import threading

import pytest

from shared import outbox


def _message(outbox_id: int) -> outbox.Message:
    return outbox.Message(outbox_id, "notify.send", "notify", {"complaint_id": outbox_id, "event": "receipt"})


def _recording_publish(monkeypatch: pytest.MonkeyPatch, gate: threading.Event) -> list[list[int]]:
    """`outbox.publish` that waits for `gate` (a send under way) and records each call's ids."""
    calls: list[list[int]] = []

    def publish(messages: list[outbox.Message]) -> int:
        gate.wait(5)
        calls.append([m.outbox_id for m in messages])
        return len(messages)

    monkeypatch.setattr(outbox, "publish", publish)
    return calls


def test_what_arrives_during_a_send_goes_out_in_the_next_together(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    calls = _recording_publish(monkeypatch, gate)

    async def burst() -> None:
        together = outbox.Together()
        first = asyncio.create_task(together.publish([_message(1)]))
        await asyncio.sleep(0.05)  # the first send is under way, held by the gate
        rest = [asyncio.create_task(together.publish([_message(i)])) for i in (2, 3, 4)]
        await asyncio.sleep(0.05)
        assert not any(t.done() for t in (first, *rest))  # nobody returns before its send
        gate.set()
        await asyncio.gather(first, *rest)

    asyncio.run(burst())
    assert calls == [[1], [2, 3, 4]]


def test_a_caller_alone_is_sent_at_once_and_a_fault_reaches_it(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    gate.set()
    calls = _recording_publish(monkeypatch, gate)

    async def alone() -> None:
        together = outbox.Together()
        await together.publish([_message(7)])
        monkeypatch.setattr(outbox, "publish", lambda messages: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            await together.publish([_message(8)])

    asyncio.run(alone())
    assert calls == [[7]]
