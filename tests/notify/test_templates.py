"""Message templates: the office overrides a wording with a file in ADUAN_TEMPLATES_DIR."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notify import messages
from shared.settings import ConfigError, Settings, get_settings

CONTEXT = {
    "office": "Disnakertrans Wonosobo",
    "ticket": "ADU-2026-000007",
    "tracking_code": "K7QX2M9P",
    "track_url": "http://127.0.0.1:8000/api/v1/track/ADU-2026-000007?code=K7QX2M9P&format=html",
    "feedback_url": "http://127.0.0.1:8000/api/v1/track/ADU-2026-000007/feedback?code=K7QX2M9P",
    "answer": "Perusahaan wajib membayar THR <segera>.",
    "full": True,
    "merged_into": "",  # closed as a duplicate: the original's ticket
}


def test_shipped_templates_render_every_citizen_event_in_indonesian() -> None:
    for event in ("receipt", "answer", "closing"):
        text = messages.render(event, CONTEXT, html=True)
        assert "ADU-2026-000007" in text.subject and "ADU-2026-000007" in text.text
        assert text.html is not None and '<html lang="id">' in text.html
    answer = messages.render("answer", CONTEXT, html=True)
    assert "<segera>" in answer.text  # plain text is not escaped
    assert answer.html is not None and "&lt;segera&gt;" in answer.html  # HTML is


def test_the_closing_message_of_a_duplicate_names_the_original_and_not_a_finished_matter() -> None:
    merged = messages.render("closing", {**CONTEXT, "merged_into": "ADU-2026-000005"}, html=True)
    assert merged.subject == "Pengaduan ADU-2026-000007 digabung dengan ADU-2026-000005"
    assert "sama dengan pengaduan ADU-2026-000005" in merged.text and "selesai ditangani" not in merged.text
    assert str(CONTEXT["track_url"]) in merged.text  # its own tracking page says where the original stands
    assert merged.html is not None and "ADU-2026-000005" in merged.html
    plain = messages.render("closing", {**CONTEXT, "merged_into": ""}, html=False)
    assert "telah selesai ditangani" in plain.text and "digabung" not in plain.text


def test_a_file_in_the_templates_dir_overrides_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "receipt.txt.j2").write_text("Nomor {{ ticket }} sudah kami catat. {{ track_url }}\n")
    base = get_settings()
    settings = Settings(
        data_dir=tmp_path, secret_key=base.secret_key, data_key=base.data_key, templates_dir=tmp_path
    )
    monkeypatch.setattr(messages, "get_settings", lambda: settings)
    text = messages.render("receipt", CONTEXT, html=False)
    assert text.text == f"Nomor ADU-2026-000007 sudah kami catat. {CONTEXT['track_url']}\n"
    assert text.subject == "Tanda terima pengaduan ADU-2026-000007"  # not overridden: shipped


def _settings(folder: Path | None) -> Settings:
    base = get_settings()
    return Settings(
        data_dir=base.data_dir, secret_key=base.secret_key, data_key=base.data_key, templates_dir=folder
    )


def test_every_template_is_compiled_at_start_up(tmp_path: Path) -> None:
    assert messages.check_templates(_settings(None)).endswith("berkas diperiksa")
    (tmp_path / "receipt.txt.j2").write_text("Nomor {{ ticket }} sudah kami catat.\n")
    (tmp_path / "catatan.md").write_text("not a template: ignored\n")
    assert messages.check_templates(_settings(tmp_path)).endswith(f", 1 dari {tmp_path}")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "answer.txt.j2",
            "{{ office }}\n{% if full %}\n{{ answer }\n{% endif %}\n",
            r"answer\.txt\.j2, baris 3: ",
        ),
        ("closing.txt.j2", "Terima kasih.\n{% if full %}\nselesai\n", r"closing\.txt\.j2, baris 3: .*endif"),
        (
            "receipt.subject.j2",
            "Tiket {{ ticket | tidak_ada }}\n",
            r"receipt\.subject\.j2, baris 1: .*tidak_ada",
        ),
        (
            "answer.html.j2",
            '{% extends "_surat.html.j2" %}\n',
            r"answer\.html\.j2: .*tidak ada: _surat\.html\.j2",
        ),
        ("receipt.txt.j2", b"Nomor tiket \xff\n", r"receipt\.txt\.j2: bukan teks UTF-8"),
        (
            "receipt.txt.j2",
            "Nomor tiket {{ tiket }}, kode {{ tracking_code }}\n",
            r"receipt\.txt\.j2: nama tidak dikenal: tiket \(yang tersedia: .*ticket",
        ),
        ("staff.txt.j2", "{{ tracking_code }}\n", r"staff\.txt\.j2: nama tidak dikenal: tracking_code"),
    ],
)
def test_a_broken_override_stops_start_up_naming_file_and_line(
    tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    target = tmp_path / name
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError, match=expected) as caught:
        messages.check_templates(_settings(tmp_path))
    assert str(tmp_path / name) in str(caught.value)


def test_a_missing_templates_dir_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ADUAN_TEMPLATES_DIR=.*folder tidak ada"):
        messages.check_templates(_settings(tmp_path / "tidak-ada"))
