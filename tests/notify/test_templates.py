"""Message templates: the office overrides a wording with a file in ADUAN_TEMPLATES_DIR."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notify import messages
from shared.settings import Settings, get_settings

CONTEXT = {
    "office": "Disnakertrans Wonosobo",
    "ticket": "ADU-2026-000007",
    "tracking_code": "K7QX2M9P",
    "track_url": "http://127.0.0.1:8000/api/v1/track/ADU-2026-000007",
    "feedback_url": "http://127.0.0.1:8000/api/v1/track/ADU-2026-000007/feedback?code=K7QX2M9P",
    "answer": "Perusahaan wajib membayar THR <segera>.",
    "full": True,
}


def test_shipped_templates_render_every_citizen_event_in_indonesian() -> None:
    for event in ("receipt", "answer", "closing"):
        text = messages.render(event, CONTEXT, html=True)
        assert "ADU-2026-000007" in text.subject and "ADU-2026-000007" in text.text
        assert text.html is not None and '<html lang="id">' in text.html
    answer = messages.render("answer", CONTEXT, html=True)
    assert "<segera>" in answer.text  # plain text is not escaped
    assert answer.html is not None and "&lt;segera&gt;" in answer.html  # HTML is


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
