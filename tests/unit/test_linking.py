"""shared/linking and the close_duplicate action against a real (SQLite) database, rolled back each."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notify import service as notify_service
from shared import linking
from shared.linking import LinkActor, LinkRefused, Relation
from shared.models import Complaint, ComplaintLink, History
from shared.sop import Outcome, Role, Status
from shared.tasks import NotifyEvent
from shared.validation import InputError
from shared.workflow import Actor, transition
from tests.unit.conftest import T0, complaint_row

FO = LinkActor("fo", Role.FRONT_OFFICE)


def _complaints(session: Session, n: int) -> list[Complaint]:
    made = [complaint_row(ticket=f"ADU-2026-9000{i:02d}") for i in range(n)]
    session.add_all(made)
    session.flush()
    return made


def _refused(session: Session, a: Complaint, b: Complaint, relation: Relation) -> str:
    with pytest.raises(LinkRefused) as caught:
        linking.link(session, a, b, relation, actor=FO, now=T0)
    return caught.value.code


def test_a_chain_of_duplicates_leads_to_its_root_and_never_back_on_itself(session: Session) -> None:
    a, b, c, d = _complaints(session, 4)
    linking.link(session, b, a, Relation.DUPLICATE_OF, actor=FO, now=T0)  # b repeats a
    linking.link(session, c, b, Relation.DUPLICATE_OF, actor=FO, now=T0)  # c repeats b
    session.flush()
    root = linking.root_original(session, c.id)
    assert root is not None and root.id == a.id
    assert linking.root_original(session, a.id) is None
    assert _refused(session, a, c, Relation.DUPLICATE_OF) == "duplicate_cycle"
    assert _refused(session, c, d, Relation.DUPLICATE_OF) == "already_duplicate"
    assert _refused(session, a, b, Relation.RELATED) == "already_linked"  # either side, once
    assert _refused(session, d, d, Relation.RELATED) == "self_link"
    seen = [(x.relation, o.ticket) for x, o in linking.links_of(session, b.id)]
    assert seen == [(Relation.DUPLICATE_OF, a.ticket), (Relation.HAS_DUPLICATE, c.ticket)]


def test_the_database_keeps_one_row_per_pair_in_order_and_one_original_per_duplicate(
    session: Session,
) -> None:
    a, b, c = _complaints(session, 3)
    rows = [
        {"low_id": b.id, "high_id": a.id, "kind": "related"},  # not in order
        {"low_id": a.id, "high_id": b.id, "kind": "duplicate", "duplicate_id": None},  # which one?
        {"low_id": a.id, "high_id": b.id, "kind": "related", "duplicate_id": c.id},
        {"low_id": a.id, "high_id": b.id, "kind": "same"},
    ]
    for row in rows:
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(ComplaintLink(**row, created_by="x", created_at=T0))
            session.flush()
    session.add(
        ComplaintLink(
            low_id=a.id, high_id=b.id, kind="duplicate", duplicate_id=b.id, created_by="x", created_at=T0
        )
    )
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            ComplaintLink(
                low_id=b.id, high_id=c.id, kind="duplicate", duplicate_id=b.id, created_by="x", created_at=T0
            )
        )
        session.flush()


def test_closing_as_a_duplicate_upgrades_a_related_link_and_keeps_the_promised_version(
    session: Session,
) -> None:
    original, dup = _complaints(session, 2)
    linking.link(session, dup, original, Relation.RELATED, actor=FO, now=T0)
    session.flush()
    done = transition(
        session,
        dup,
        action="close_duplicate",
        version=dup.version,
        inputs={"original": original.ticket.lower()},
        actor=Actor("fo", Role.FRONT_OFFICE),
        now=T0,
    )
    session.flush()
    assert (dup.status, dup.outcome, dup.version) == (Status.CLOSED, Outcome.DUPLICATE, done.version)
    (row,) = session.scalars(select(ComplaintLink)).all()
    assert (row.kind, row.duplicate_id) == ("duplicate", dup.id)
    labels = session.scalars(select(History.detail).where(History.complaint_id == original.id)).all()
    assert [d["label"] for d in labels if d] == [
        f"Ditautkan: Terkait dengan {dup.ticket}",
        f"Ditautkan: Memiliki duplikat {dup.ticket}",
    ]
    # The link of a complaint closed as a duplicate stays.
    with pytest.raises(LinkRefused) as caught:
        linking.unlink(session, original, dup, actor=FO, now=T0)
    assert caught.value.code == "closed_as_duplicate"


def test_the_closing_message_of_a_duplicate_names_its_original(session: Session) -> None:
    original, dup = _complaints(session, 2)
    transition(
        session,
        dup,
        action="close_duplicate",
        version=dup.version,
        inputs={"original": original.ticket},
        actor=Actor("fo", Role.FRONT_OFFICE),
        now=T0,
    )
    session.flush()
    # The batch path the worker takes (prepare_many), as for any closing message.
    [message] = notify_service.prepare(
        session, complaint_id=dup.id, event=NotifyEvent.CLOSING, method=None, now=T0
    )
    assert f"sama dengan pengaduan {original.ticket}" in message.body


def test_closing_as_a_duplicate_of_an_unknown_or_the_same_ticket_is_a_field_error(session: Session) -> None:
    (c,) = _complaints(session, 1)
    for original, code in (("ADU-2026-000000", "not_found"), (c.ticket, "self_link")):
        with pytest.raises(InputError) as caught:
            transition(
                session,
                c,
                action="close_duplicate",
                version=c.version,
                inputs={"original": original},
                actor=Actor("fo", Role.FRONT_OFFICE),
                now=T0,
            )
        assert [(e.field, e.code) for e in caught.value.errors] == [("original", code)]
