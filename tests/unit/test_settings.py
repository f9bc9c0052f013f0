"""Settings the SLA clock runs on: a wrong one stops start-up with the variable named, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import ConfigError, load_settings


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ADUAN_ESCALATION_CHAIN", '{"bidang": "kepala"}', "ADUAN_ESCALATION_CHAIN 'bidang' -> 'kepala'"),
        ("ADUAN_ESCALATION_CHAIN", '{"penjaga": "sekretaris"}', "ADUAN_ESCALATION_CHAIN 'penjaga'"),
        ("ADUAN_ESCALATION_CHAIN", '{"sekretaris": "sekretaris"}', "'sekretaris' escalates to itself"),
        ("ADUAN_SLA_VERIFICATION", "PT0S", "ADUAN_SLA_VERIFICATION must be a positive duration"),
        ("ADUAN_SLA_DRAFTING", "-P1D", "ADUAN_SLA_DRAFTING must be a positive duration"),
        ("ADUAN_SLA_REVIEW", "setengah jam", "ADUAN_SLA_REVIEW: Input should be a valid timedelta"),
        ("ADUAN_REMINDER_SHARE", "1.5", "ADUAN_REMINDER_SHARE: Input should be less than 1"),
        ("ADUAN_LEGAL_DECISION", "P0D", "ADUAN_LEGAL_DECISION must be a positive duration"),
        ("ADUAN_OFFICE_HOURS", '{"mon": ["16:00-07:30"]}', "ADUAN_OFFICE_HOURS: office hours '16:00-07:30'"),
        ("ADUAN_RAMADAN", '[{"first": "2027-02-08", "last": "2027-02-01"}]', "last before first"),
    ],
)
def test_a_wrong_sla_setting_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("ADUAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)


def test_the_issue_settings_are_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADUAN_DATA_DIR", str(tmp_path))
    for variable, value in {
        "ADUAN_CALENDAR": "always_open",
        "ADUAN_SLA_VERIFICATION": "PT3S",
        "ADUAN_SLA_DRAFTING": "P1D",
        "ADUAN_SWEEP_INTERVAL": "1",
        "ADUAN_ESCALATION_CHAIN": '{"front_office": "sekretaris", "bidang": "kepala_dinas"}',
    }.items():
        monkeypatch.setenv(variable, value)
    settings = load_settings()
    assert settings.sla_verification is not None and settings.sla_verification.total_seconds() == 3
    assert settings.sla_drafting is not None and settings.sla_drafting.days == 1
    assert settings.escalation_chain["bidang"] == "kepala_dinas"
    # the roles the setting does not name keep their default
    assert settings.escalation_chain["kasubag_umum"] == "sekretaris"
    assert settings.sweep_interval == 1.0
