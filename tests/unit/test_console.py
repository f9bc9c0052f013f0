"""The console's pieces without a server: readable times, cookies, and forms from the SOP table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.console import forms
from services.routing.console.session import safe_next, secure_cookies
from services.routing.console.views import time_left
from shared import when
from shared.clock import AlwaysOpen
from shared.settings import Settings
from shared.sop import ACTION_TITLES, ACTIONS, INPUT_LABELS, Dispose, ForwardVerified, RequestInfo


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
