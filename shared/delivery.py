"""The life of a message and of the answer's delivery, as data beside the SOP's: the states a
`notifications` row, a `delivery_attempts` row and a complaint's `delivery_state` may hold, and
the moves allowed between them.

The database holds the same lists as CHECK constraints (migration 0011); code reading a value
that is not (yet) in a list gets None from `known()`, never an exception.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

S = TypeVar("S", bound=StrEnum)


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its next_attempt_at: a retry, or office hours for staff
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"  # the gateway accepted it
    DELIVERED = "delivered"  # the gateway's receipt confirmed it
    FAILED = "failed"  # refused for good, or dead-lettered after the retries
    AMBIGUOUS = "ambiguous"  # may have been sent: never re-sent blindly
    CANCELLED = "cancelled"  # a staff notice whose complaint moved on before it was due


class AttemptOutcome(StrEnum):
    """How one try at handing the answer over went (a person's try is settled at once)."""

    SENDING = "sending"  # handed to a gateway, its result not in yet
    DELIVERED = "delivered"
    UNREACHABLE = "unreachable"  # refused for good, given up after the retries, or not reached
    AMBIGUOUS = "ambiguous"  # may have arrived


class DeliveryState(StrEnum):
    """The answer on its way through a gateway, or why it did not arrive (None: neither)."""

    SENDING = "sending"
    UNREACHABLE = "unreachable"
    AMBIGUOUS = "ambiguous"


# The allowed moves; None is the row not yet written (what it may be written as).
NOTIFICATION_MOVES: dict[NotificationStatus | None, frozenset[NotificationStatus]] = {
    None: frozenset({NotificationStatus.PENDING, NotificationStatus.SENDING}),
    NotificationStatus.PENDING: frozenset({NotificationStatus.SENDING, NotificationStatus.CANCELLED}),
    NotificationStatus.SENDING: frozenset(
        {
            NotificationStatus.SENDING,  # its worker died: claimed once more
            NotificationStatus.SENT,
            NotificationStatus.PENDING,  # a transient failure: retried after a backoff
            NotificationStatus.FAILED,
            NotificationStatus.AMBIGUOUS,
        }
    ),
    NotificationStatus.SENT: frozenset({NotificationStatus.DELIVERED, NotificationStatus.FAILED}),
    NotificationStatus.AMBIGUOUS: frozenset({NotificationStatus.DELIVERED, NotificationStatus.FAILED}),
    NotificationStatus.DELIVERED: frozenset(),
    NotificationStatus.FAILED: frozenset(),
    NotificationStatus.CANCELLED: frozenset(),
}

ATTEMPT_MOVES: dict[AttemptOutcome | None, frozenset[AttemptOutcome]] = {
    None: frozenset({AttemptOutcome.SENDING, AttemptOutcome.DELIVERED, AttemptOutcome.UNREACHABLE}),
    AttemptOutcome.SENDING: frozenset(
        {AttemptOutcome.DELIVERED, AttemptOutcome.UNREACHABLE, AttemptOutcome.AMBIGUOUS}
    ),
    AttemptOutcome.DELIVERED: frozenset(),
    AttemptOutcome.UNREACHABLE: frozenset(),
    AttemptOutcome.AMBIGUOUS: frozenset(),
}

# The complaint's delivery state follows its latest attempt (delivered: nothing pending).
DELIVERY_STATE_AFTER: dict[AttemptOutcome, DeliveryState | None] = {
    AttemptOutcome.SENDING: DeliveryState.SENDING,
    AttemptOutcome.DELIVERED: None,
    AttemptOutcome.UNREACHABLE: DeliveryState.UNREACHABLE,
    AttemptOutcome.AMBIGUOUS: DeliveryState.AMBIGUOUS,
}

# What the message carrying the answer means for its delivery attempt, once final.
ATTEMPT_OF_MESSAGE: dict[NotificationStatus, AttemptOutcome] = {
    NotificationStatus.SENT: AttemptOutcome.DELIVERED,
    NotificationStatus.FAILED: AttemptOutcome.UNREACHABLE,
    NotificationStatus.AMBIGUOUS: AttemptOutcome.AMBIGUOUS,
}


def sources(moves: dict[S | None, frozenset[S]], target: S) -> tuple[S, ...]:
    """The states a row may move to `target` from, in declaration order (for `WHERE state IN`)."""
    return tuple(s for s, to in moves.items() if s is not None and target in to)


class IllegalMove(ValueError):
    """A move the table does not allow: a bug, never a citizen's or officer's doing."""


def check_move(moves: dict[S | None, frozenset[S]], old: S | str | None, new: S) -> S:
    """`new`, when the table allows moving there from `old`; IllegalMove otherwise."""
    current = None if old is None else known(type(new), old)
    if (old is not None and current is None) or new not in moves[current]:
        raise IllegalMove(f"{old} -> {new}")
    return new


def known(kind: type[S], value: str | None) -> S | None:
    """`value` as a member of `kind`, or None when it is none of them (or None)."""
    try:
        return None if value is None else kind(value)
    except ValueError:
        return None
