"""The console's pieces without a server: readable times, cookies, and forms from the SOP table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.routing import paging, service
from services.routing.auth import StaffUser, profile, update_profile
from services.routing.console import forms
from services.routing.console.prints import instruction_ticks, qr_svg
from services.routing.console.session import safe_next, secure_cookies
from services.routing.console.views import time_left
from shared import when
from shared.clock import AlwaysOpen
from shared.models import User
from shared.settings import Settings
from shared.sop import ACTION_TITLES, ACTIONS, INPUT_LABELS, Dispose, ForwardVerified, RequestInfo, Role
from shared.validation import InputError
from tests.unit.conftest import T0, add_officer, complaint_row


def test_times_read_as_people_say_them() -> None:
    moment = datetime(2026, 11, 30, 7, 5, tzinfo=UTC)
    assert when.long_time(moment) == "Senin, 30 November 2026 pukul 14.05 WIB"
    assert when.time_left(timedelta(minutes=12, seconds=59)) == "sisa 12 menit"
    assert when.time_left(-timedelta(hours=1, minutes=5)) == "lewat 1 jam 5 menit"
    assert when.time_left(timedelta(hours=2)) == "sisa 2 jam"
    assert when.time_left(timedelta(seconds=20)) == "sisa kurang dari 1 menit"


def test_the_step_clock_counts_office_time_and_turns_overdue() -> None:
    at = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert time_left(AlwaysOpen(), at + timedelta(minutes=30), at) == ("sisa 30 menit", False)
    assert time_left(AlwaysOpen(), at - timedelta(minutes=65), at) == ("lewat 1 jam 5 menit", True)
    assert time_left(AlwaysOpen(), None, at) == ("-", False)


@pytest.mark.parametrize(
    ("staff", "public", "secure"),
    [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8000", False),
        ("https://petugas.dinas.go.id", "http://127.0.0.1:8000", True),
        ("http://127.0.0.1:8001", "https://aduan.dinas.go.id", True),
    ],
)
def test_cookies_are_secure_when_the_office_serves_https(staff: str, public: str, secure: bool) -> None:
    settings = Settings(staff_base_url=staff, public_base_url=public)
    assert secure_cookies(settings) is secure


@pytest.mark.parametrize(
    "raw", [None, "", "//evil.example/x", "https://evil.example/", "/\\evil", "pengaduan"]
)
def test_sign_in_never_sends_the_officer_to_another_site(raw: str | None) -> None:
    assert safe_next(raw) == "/"


def test_every_action_and_input_of_the_sop_table_has_an_indonesian_form() -> None:
    for spec in ACTIONS.values():
        assert spec.name in ACTION_TITLES
        for f in forms.form_fields(spec.inputs, {}):
            assert f.name in INPUT_LABELS, f"{spec.name}.{f.name} has no label"


def test_fields_follow_the_inputs_types() -> None:
    kinds = {f.name: (f.kind, f.required) for f in forms.form_fields(ForwardVerified, {})}
    assert kinds == {
        "identity_verified": ("confirm", True),
        "id_document": ("text", True),
        "note": ("textarea", False),
    }
    units = [forms.Choice("hi_jamsos", "Hubungan Industrial")]
    dispose = {f.name: f for f in forms.form_fields(Dispose, {"unit": units, "cc_units": units})}
    assert dispose["unit"].kind == "select" and dispose["unit"].choices == tuple(units)
    assert dispose["cc_units"].kind == "checkboxes" and not dispose["cc_units"].required
    assert dispose["instructions"].free_entry and dispose["instructions"].required
    assert [c.label for c in dispose["urgency"].choices] == ["Biasa", "Segera", "Sangat segera"]


def test_a_posted_form_becomes_the_actions_inputs() -> None:
    fields = forms.form_fields(Dispose, {})
    values = {
        "unit": "hi_jamsos",
        "urgency": "segera",
        "note": "  ",
        "instructions__lainnya": "Cek lapangan\n\n",
    }
    lists = {"instructions": ["Untuk diketahui"], "cc_units": []}
    assert forms.parse(fields, values, lists) == {
        "unit": "hi_jamsos",
        "urgency": "segera",
        "instructions": ["Untuk diketahui", "Cek lapangan"],
    }
    assert forms.parse(forms.form_fields(RequestInfo, {}), {"reason": ""}, {}) == {}


def test_the_disposition_instructions_are_the_admins_list(session: Session) -> None:
    assert service.disposition_instructions(session) == [
        "Tanggapan dan saran",
        "Proses lebih lanjut",
        "Koordinasi / konfirmasikan",
        "Untuk diketahui",
        "Siapkan jawaban",
    ]
    kept = service.set_disposition_instructions(session, ["  Cek lapangan ", "", "Untuk diketahui"])
    assert kept == service.disposition_instructions(session) == ["Cek lapangan", "Untuk diketahui"]
    too_many = [f"Instruksi {i}" for i in range(51)]
    for bad, code in (
        ([], "required"),
        (["A", "a"], "duplicate"),
        (["x" * 201], "too_long"),
        (too_many, "too_many"),
    ):
        with pytest.raises(InputError) as refused:
            service.set_disposition_instructions(session, bad)
        assert [e.code for e in refused.value.errors] == [code]
    assert service.disposition_instructions(session) == ["Cek lapangan", "Untuk diketahui"]


def test_the_sheet_ticks_the_instructions_given_and_adds_the_free_ones() -> None:
    ticks = instruction_ticks(["Untuk diketahui", "Siapkan jawaban"], ["Siapkan jawaban", "Cek lapangan"])
    assert [(t.label, t.ticked) for t in ticks] == [
        ("Untuk diketahui", False),
        ("Siapkan jawaban", True),
        ("Cek lapangan", True),
    ]
    svg = qr_svg("http://127.0.0.1:8001/pengaduan/ADU-2026-000001")
    assert svg.startswith("<svg") and "<title>Kode QR pengaduan</title>" in svg and "http" not in svg


def test_an_officer_keeps_a_profile_for_the_prints(session: Session) -> None:
    add_officer(session, "sekdis-profil", "sekretaris", "sekdis@example.go.id", notify=False)
    user_id = session.scalars(select(User.id).where(User.username == "sekdis-profil")).one()
    session.commit()  # the savepoint; update_profile opens its own transaction
    mine = update_profile(
        session,
        user_id,
        {"full_name": "Dra. Sri Wahyuni", "job_title": "Sekretaris Dinas", "nip": "19700101 199003 2 005"},
    )
    assert (mine.full_name, mine.job_title) == ("Dra. Sri Wahyuni", "Sekretaris Dinas")
    assert mine.nip == "197001011990032005"
    with pytest.raises(InputError) as refused:
        update_profile(session, user_id, {"nip": "1234", "email": "bukan-email", "full_name": "x" * 201})
    assert {e.field: e.code for e in refused.value.errors} == {
        "nip": "nip_invalid",
        "email": "email_invalid",
        "full_name": "too_long",
    }
    with pytest.raises(InputError) as refused:
        update_profile(session, user_id, {"email": "", "notify_by_email": True})
    assert [e.code for e in refused.value.errors] == ["email_required"]
    assert profile(session, user_id).nip == "197001011990032005"


def test_the_queue_stamp_moves_when_a_complaint_comes_leaves_or_escalates(session: Session) -> None:
    fo = StaffUser(1, "fo", Role.FRONT_OFFICE, None)
    empty = service.queue_stamp(session, fo)
    first = complaint_row(ticket="ADU-2026-900001")
    session.add(first)
    session.flush()
    one = service.queue_stamp(session, fo)
    assert one != empty and one[0] == 1
    first.escalation_level = 1
    session.flush()
    escalated = service.queue_stamp(session, fo)
    assert escalated != one
    first.step = "review"  # left the front office's queue
    session.flush()
    assert service.queue_stamp(session, fo)[0] == 0
    assert service.queue_stamp(session, StaffUser(2, "kadis", Role.KEPALA_DINAS, None)) == ()


def test_lists_count_up_to_the_limit_and_say_more_than(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list over many complaints counts them only up to COUNT_LIMIT + 1: the API says 10,000 and
    total_exact false, the console "Lebih dari 10.000"."""
    for n in range(5):
        session.add(
            complaint_row(ticket=f"ADU-2026-90000{n}", status="closed", step=None, outcome="answered")
        )
    session.flush()
    kadis = StaffUser(2, "kadis", Role.KEPALA_DINAS, None)
    monkeypatch.setattr(service, "COUNT_LIMIT", 3)
    found = service.search(session, kadis, at=T0, status="closed", step=None, unit=None, limit=2, offset=0)
    assert (len(found.items), found.total) == (2, 4)  # four counted: "more than three"
    assert [i["ticket"] for i in found.items] == ["ADU-2026-900004", "ADU-2026-900003"]  # newest first
    monkeypatch.setattr(service, "COUNT_LIMIT", 5)
    assert (
        service.search(session, kadis, at=T0, status="closed", step=None, unit=None, limit=2, offset=4).total
        == 5
    )


class _Fetch(Protocol):
    def __call__(self, *, cursor: paging.Cursor | None) -> paging.Found[Any]: ...


def _walk(fetch: _Fetch, kind: str) -> tuple[list[str], list[str]]:
    """Every page forward by next_key from the first, then back by prev_key from the last; each
    key through a signed cursor as the API and the console pass it on."""
    forward: list[str] = []
    found = fetch(cursor=None)
    while True:
        forward += [i["ticket"] for i in found.items]
        if found.next_key is None or len(forward) > 100:  # a key that does not move on ends here
            break
        found = fetch(cursor=paging.decode(kind, paging.encode(kind, found.next_key)))
    backward = [i["ticket"] for i in found.items]
    while found.prev_key is not None and len(backward) <= 100:
        found = fetch(cursor=paging.decode(kind, paging.encode(kind, found.prev_key, backward=True)))
        backward = [i["ticket"] for i in found.items] + backward
    return forward, backward


def test_cursor_pages_walk_every_row_once_in_order(session: Session) -> None:
    """Keyset pages of the queue (waiting first, equal and missing deadlines) and of every complaint
    give the rows the one long list gives, each once, walked forward and back."""
    deadlines = [T0, T0, None, T0 + timedelta(minutes=5), None, T0, T0 + timedelta(minutes=1)]
    for n in range(14):
        session.add(
            complaint_row(
                ticket=f"ADU-2026-8{n:05d}",
                waiting_on_site=n % 3 == 0,
                step_due_at=deadlines[n % len(deadlines)],
            )
        )
    session.flush()
    fo = StaffUser(1, "fo", Role.FRONT_OFFICE, None)
    whole = [i["ticket"] for i in service.worklist_page(session, fo, at=T0, limit=100).items]
    assert len(whole) == 14 and whole[0] in {f"ADU-2026-8{n:05d}" for n in range(0, 14, 3)}
    for size in (1, 2, 3, 5):
        forward, back = _walk(partial(service.worklist_page, session, fo, at=T0, limit=size), "worklist")
        assert (forward, back) == (whole, whole), size
    kadis = StaffUser(2, "kadis", Role.KEPALA_DINAS, None)
    newest_first = [f"ADU-2026-8{n:05d}" for n in reversed(range(14))]
    for size in (1, 4):
        every = partial(
            service.search, session, kadis, at=T0, status="open", step=None, unit=None, limit=size
        )
        forward, back = _walk(every, "complaints")
        assert forward == newest_first and back == newest_first, size


def test_a_cursor_not_issued_here_is_refused() -> None:
    good = paging.encode("complaints", (42,))
    assert paging.decode("complaints", good) == paging.Cursor((42,))
    body, mac = good.split(".")
    forged = paging.encode("complaints", (43,)).split(".")[0] + "." + mac
    for bad in (forged, good + "x", "bukan-kursor", "", body, paging.encode("worklist", (True, None, 1))):
        with pytest.raises(InputError) as refused:
            paging.decode("complaints", bad)
        assert [(e.field, e.code) for e in refused.value.errors] == [("query.cursor", "cursor_invalid")]
