"""The SOP table: the six steps as the signed SOP states them, every edge and every outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from launcher.cli import build_parser
from shared.sop import (
    ACTIONS,
    LINK_ROLES,
    NOTIFICATION_ROLES,
    READ_ALL_ROLES,
    ROLE_LABELS,
    STEPS,
    Deliver,
    Outcome,
    Role,
    Step,
    actions_at,
    find_action,
    public_status,
    steps_of,
)


def test_six_steps_in_sop_order_with_their_roles_and_time_standards() -> None:
    assert [(s.number, s.step, s.role, s.standard) for s in STEPS.values()] == [
        (1, Step.VERIFICATION, Role.FRONT_OFFICE, timedelta(minutes=30)),
        (2, Step.REVIEW, Role.KASUBAG_UMUM, timedelta(minutes=30)),
        (3, Step.DISPOSITION, Role.SEKRETARIS, timedelta(minutes=30)),
        (4, Step.DRAFTING, Role.BIDANG, timedelta(days=1)),
        (5, Step.ANSWER_REVIEW, Role.KASUBAG_UMUM, timedelta(minutes=10)),
        (6, Step.DELIVERY, Role.FRONT_OFFICE, timedelta(days=1)),
    ]


def test_every_step_names_its_kelengkapan_and_output() -> None:
    for spec in STEPS.values():
        assert spec.kelengkapan and spec.output and spec.title and spec.public_label
    assert "surat disposisi" in STEPS[Step.DISPOSITION].output
    assert "arsip" in STEPS[Step.DELIVERY].output


def test_forward_path_visits_all_six_steps_in_order() -> None:
    path = [Step.VERIFICATION]
    forward = {
        Step.VERIFICATION: "forward",
        Step.REVIEW: "forward",
        Step.DISPOSITION: "dispose",
        Step.DRAFTING: "submit_answer",
        Step.ANSWER_REVIEW: "approve",
    }
    while path[-1] in forward:
        spec = find_action(path[-1], forward[path[-1]])
        assert spec is not None and isinstance(spec.to, Step)
        path.append(spec.to)
    assert path == list(STEPS)
    deliver = find_action(Step.DELIVERY, "deliver")
    assert deliver is not None and deliver.to == Outcome.ANSWERED


def test_back_edges_go_one_step_back() -> None:
    returns = {step: a.to for (step, name), a in ACTIONS.items() if name == "return"}
    assert returns == {
        Step.REVIEW: Step.VERIFICATION,
        Step.DISPOSITION: Step.REVIEW,
        Step.DRAFTING: Step.DISPOSITION,
        Step.ANSWER_REVIEW: Step.DRAFTING,
    }


def test_every_outcome_is_reachable_and_only_from_the_front_office() -> None:
    outcomes = {a.to: a for a in ACTIONS.values() if isinstance(a.to, Outcome)}
    assert set(outcomes) == set(Outcome)
    assert all(a.role == Role.FRONT_OFFICE for a in outcomes.values())


def test_deliver_routes_on_its_outcome() -> None:
    spec = find_action(Step.DELIVERY, "deliver")
    assert spec is not None
    reached = Deliver(method="phone", outcome="delivered")
    missed = Deliver(method="phone", outcome="unreachable")
    assert spec.target(reached) == Outcome.ANSWERED
    assert spec.target(missed) is None


def test_queues_per_role() -> None:
    assert steps_of(Role.FRONT_OFFICE) == (Step.VERIFICATION, Step.DELIVERY)
    assert steps_of(Role.KASUBAG_UMUM) == (Step.REVIEW, Step.ANSWER_REVIEW)
    assert steps_of(Role.SEKRETARIS) == (Step.DISPOSITION,)
    assert steps_of(Role.BIDANG) == (Step.DRAFTING,)
    assert steps_of(Role.KEPALA_DINAS) == ()


def test_unknown_action_is_not_in_the_table() -> None:
    assert find_action(Step.REVIEW, "dispose") is None
    assert [a.name for a in actions_at(Step.VERIFICATION)] == [
        "forward",
        "resolve",
        "reject",
        "refer",
        "close_duplicate",
        "request_info",
        "info_received",
    ]


def test_public_status_labels_are_indonesian_and_cover_every_state() -> None:
    assert public_status("verification", None)[0] == "received"
    assert public_status("drafting", None)[0] == "in_process"
    assert public_status("delivery", None)[0] == "answer_ready"
    for outcome in Outcome:
        code, label = public_status(None, outcome.value)
        assert code == "closed" and label.startswith(("Selesai", "Ditolak", "Dilimpahkan", "Digabung"))


def test_actions_that_stay_say_so_in_the_table_and_only_deliver_decides_on_its_inputs() -> None:
    stays = {name for (step, name), a in ACTIONS.items() if a.to is None}
    assert stays == {"request_info", "info_received"}
    assert [a.name for a in ACTIONS.values() if a.only_if is not None] == ["deliver"]
    deliver = find_action(Step.DELIVERY, "deliver")
    assert deliver is not None and not deliver.closes  # a gateway's result may keep it open
    assert deliver.target(Deliver(method="sms")) is None  # handed to the notify service
    closing = {a.name for a in ACTIONS.values() if a.closes}
    assert closing == {"resolve", "reject", "refer", "close_duplicate"}


def test_what_each_action_records_is_beside_it_in_the_table() -> None:
    recording = {(step.value, name) for (step, name), a in ACTIONS.items() if a.effect is not None}
    assert recording == {
        ("verification", "resolve"),
        ("verification", "request_info"),
        ("verification", "info_received"),
        ("verification", "close_duplicate"),
        ("disposition", "dispose"),
        ("drafting", "submit_answer"),
        ("drafting", "return"),
        ("delivery", "deliver"),
    }


def test_role_facts_live_in_the_sop_module() -> None:
    assert set(ROLE_LABELS) == set(Role)
    assert NOTIFICATION_ROLES == READ_ALL_ROLES == set(Role) - {Role.BIDANG}
    # Linking complaints: the roles that read them all and act (not the Kepala Dinas, not the admin).
    assert READ_ALL_ROLES - {Role.KEPALA_DINAS, Role.ADMIN} == LINK_ROLES
    users_add = build_parser().parse_args(["users", "add", "x", "--role", "kepala_dinas"])
    assert users_add.role == Role.KEPALA_DINAS
    with pytest.raises(SystemExit):
        build_parser().parse_args(["users", "add", "x", "--role", "lurah"])
