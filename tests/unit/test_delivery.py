"""The second state machine as data: its states, the moves between them, and the database's CHECKs."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.delivery import (
    ATTEMPT_MOVES,
    ATTEMPT_OF_MESSAGE,
    DELIVERY_STATE_AFTER,
    NOTIFICATION_MOVES,
    AttemptOutcome,
    DeliveryState,
    IllegalMove,
    NotificationStatus,
    check_move,
    known,
    sources,
)
from shared.identity import recipient_columns
from shared.models import Complaint, DeliveryAttempt, Notification
from shared.sop import CLOSED_LABEL, OUTCOME_LABELS, Outcome, outcome_label, public_status
from tests.unit.conftest import T0


def test_every_state_has_its_row_of_moves_and_the_final_ones_go_nowhere() -> None:
    assert set(NOTIFICATION_MOVES) == {None, *NotificationStatus}
    assert set(ATTEMPT_MOVES) == {None, *AttemptOutcome}
    finals = {s for s, to in NOTIFICATION_MOVES.items() if not to}
    assert finals == {NotificationStatus.DELIVERED, NotificationStatus.FAILED, NotificationStatus.CANCELLED}
    assert {s for s, to in ATTEMPT_MOVES.items() if not to} == set(AttemptOutcome) - {AttemptOutcome.SENDING}


def test_the_tables_say_where_a_move_may_start() -> None:
    assert sources(NOTIFICATION_MOVES, NotificationStatus.SENT) == (NotificationStatus.SENDING,)
    # a gateway's receipt confirms only what it took
    assert sources(NOTIFICATION_MOVES, NotificationStatus.DELIVERED) == (
        NotificationStatus.SENT,
        NotificationStatus.AMBIGUOUS,
    )
    assert check_move(NOTIFICATION_MOVES, "pending", NotificationStatus.SENDING) == NotificationStatus.SENDING
    for old, new in [
        ("failed", NotificationStatus.PENDING),
        ("cancelled", NotificationStatus.SENDING),
        ("bogus", NotificationStatus.SENDING),
        (None, NotificationStatus.SENT),
    ]:
        with pytest.raises(IllegalMove):
            check_move(NOTIFICATION_MOVES, old, new)
    with pytest.raises(IllegalMove):
        check_move(ATTEMPT_MOVES, "delivered", AttemptOutcome.UNREACHABLE)


def test_the_complaints_delivery_state_follows_its_latest_attempt() -> None:
    assert set(DELIVERY_STATE_AFTER) == set(AttemptOutcome)
    assert {s for s in DELIVERY_STATE_AFTER.values() if s} == set(DeliveryState)
    # the message carrying the answer, once final, settles its attempt
    assert set(ATTEMPT_OF_MESSAGE) == {
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
        NotificationStatus.AMBIGUOUS,
    }


def test_an_unknown_value_read_back_is_none_or_a_plain_label_never_an_error() -> None:
    assert known(AttemptOutcome, "unreachable") == AttemptOutcome.UNREACHABLE
    assert known(AttemptOutcome, "bounced") is None and known(AttemptOutcome, None) is None
    assert outcome_label("answered") == OUTCOME_LABELS[Outcome.ANSWERED]
    assert outcome_label("unreachable") == CLOSED_LABEL
    assert public_status(None, "withdrawn") == ("closed", CLOSED_LABEL)


@pytest.mark.parametrize(
    ("model", "column"),
    [(Notification, "status"), (DeliveryAttempt, "outcome"), (Complaint, "delivery_state")],
)
def test_the_database_refuses_a_value_off_the_list(
    session: Session,
    complaint: Complaint,
    model: type[Notification | DeliveryAttempt | Complaint],
    column: str,
) -> None:
    rows = {
        Notification: {
            "complaint_id": complaint.id,
            "event": "receipt",
            "channel": "sms",
            **recipient_columns("+6281234567890"),
            "gateway": "log",
            "created_at": T0,
        },
        DeliveryAttempt: {"complaint_id": complaint.id, "method": "phone", "actor": "fo", "at": T0},
    }
    with pytest.raises(IntegrityError), session.begin_nested():
        if model is Complaint:
            complaint.delivery_state = "lost"
            session.flush()
        else:
            session.execute(insert(model).values({**rows[model], column: "lost"}))
